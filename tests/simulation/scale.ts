// The scale profile: the simulator's real cores (SimNode: ParticipantCore, CoordinatorCore,
// ProtocolEngine, the production SlotTable) at 10, 30 or 100 observatories, far apart, with
// no faults, to see how the protocol's cost grows with the size of the federation and with
// the number of sites one booking touches. The network gives every pair of sites a fixed
// one-way latency drawn between WAN_ONE_WAY_MIN_MS and WAN_ONE_WAY_MAX_MS (geography) plus a
// jitter per message; the disk makes a group commit durable 0.01-DISK_SYNC_MAX_MS after it
// starts. Scientists are closed loops: each books at its home observatory (the coordinator,
// one of the booking's sites, acting as its own local participant) fresh slots at
// `sitesPerBooking` sites, one after another.
//
// Counted per booking: protocol messages (every request and reply that leaves a node, by
// transaction id, through the network's own onLeave hook), transaction-log records made
// durable (by role and state, through the disk's onDurable hook) and group commits (fsyncs,
// all nodes). Latency is simulated: from the coordinator's begin to the answer, without the
// scientist's own round trip to the coordinator and without CPU (the simulator models none).
import type { NodeId, TxId } from '../../coordinator-2pc/src/messages.js';
import type { LogEntry } from '../../coordinator-2pc/src/engine.js';
import { EventQueue } from './event-queue.js';
import { Prng } from './prng.js';
import { drawProfile, type SimulationProfile } from './profile.js';
import { SimDisk, type DiskWrite, type Scheduler } from './sim-disk.js';
import { partPayloadOf } from './sim-domain.js';
import { SimNetwork } from './sim-network.js';
import { SimNode, type NodeHost } from './sim-node.js';
import { Trace } from './trace.js';

export interface ScaleOptions {
  observatories: number;
  sitesPerBooking: number;
  /** Bookings begun in all; the run ends when every one is answered. */
  bookings: number;
  clientsPerObservatory: number;
  seed: number;
  wanOneWayMinMs?: number;
  wanOneWayMaxMs?: number;
  /** Each message's delay varies by up to ± this much around its pair's latency. */
  jitterMs?: number;
  diskSyncMaxMs?: number;
}

export interface ScaleResult {
  observatories: number;
  sitesPerBooking: number;
  bookings: number;
  committed: number;
  aborted: number;
  simulatedSeconds: number;
  commitsPerSimulatedSecond: number;
  messagesPerBooking: number;
  /** Messages per booking by type (prepare, vote, commit, ack, status-query, ...). */
  messagesByType: Record<string, number>;
  /** Transaction-log records made durable per booking, by `role/state`. */
  recordsPerBooking: Record<string, number>;
  forcedRecordsPerBooking: number;
  /** Group commits (one fsync each) over all nodes, per booking. */
  fsyncsPerBooking: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
}

const START_US = 1_000_000_000;
/** A slot index past this would leave the booking horizon of the simulated domain (365 days). */
const SLOT_INDEX_MAX = 8_000;
const STEPS_MAX = 20_000_000;
/** After the last answer, this long for the last decisions to be acknowledged (a few round trips). */
const DRAIN_MS = 2_000;

/** The production defaults (config.ts), so that the cores time out and resend as a real node does. */
const PRODUCTION_TIMERS = {
  prepareTimeoutMs: 3_000, // PREPARE_TIMEOUT_MS
  participant: { waitMaxMs: 250, inDoubtQueryAfterMs: 2_000, queryBackoffMaxMs: 30_000 /* IN_DOUBT_QUERY_MAX_INTERVAL_MS */, finishedRetentionMs: 600_000 },
  coordinator: { resendInitialMs: 500, resendMaxMs: 30_000, abortedRetentionMs: 600_000 }, // DECISION_RESEND_*_MS
};

export async function runScale(options: ScaleOptions): Promise<ScaleResult> {
  return new ScaleRun(options).run();
}

class ScaleRun implements NodeHost, Scheduler {
  private readonly queue = new EventQueue();
  private timeUs = START_US;
  readonly scheduler: Scheduler = this;
  readonly trace = new Trace(false, () => this.timeUs - START_US);
  readonly network: SimNetwork;
  readonly profile: SimulationProfile;
  readonly bug = 'none' as const;
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly ids: NodeId[];
  private readonly prng: Prng;
  private readonly pairLatencyMs = new Map<string, number>();
  private readonly nextSlot = new Map<NodeId, number>();
  private violation: string | undefined;
  private begun = 0;
  private committed = 0;
  private aborted = 0;
  private lastAnswerUs = START_US;
  private readonly latenciesMs: number[] = [];
  private readonly ours = new Set<TxId>();
  private readonly messages = new Map<string, number>();
  private fsyncs = 0;
  private readonly records = new Map<string, number>();

  constructor(private readonly options: ScaleOptions) {
    if (options.sitesPerBooking > options.observatories) throw new Error(`a booking cannot touch ${options.sitesPerBooking} of ${options.observatories} observatories`);
    this.prng = new Prng(options.seed);
    this.ids = Array.from({ length: options.observatories }, (_, i) => `obs-${String(i + 1).padStart(3, '0')}`);
    this.profile = scaleProfile(options, (from, to) => this.delayMs(from, to));
    this.network = new SimNetwork(this.nodes, this.profile.network, this, this.prng.fork(), this.trace, (p) => this.report(p), (_from, message) => this.countMessage(message.txId, message.type));
    this.network.heal(); // no loss, duplication or partition: a calm, wide federation
    for (const id of this.ids) this.addNode(id);
  }

  nowUs(): number {
    return this.timeUs;
  }

  after(delayMs: number, action: () => void): void {
    this.queue.push(this.timeUs + Math.max(0, Math.round(delayMs * 1000)), action);
  }

  report(problem: string): void {
    this.violation ??= problem;
  }

  failStop(node: SimNode): void {
    this.report(`${node.id} stopped itself (a failed write) in a run without faults`);
  }

  countAudit(): void {}

  /** No store is ever lost in a scale run, so no node asks when a transaction began. */
  begunAtUs(): number | undefined {
    return undefined;
  }

  /** No store is lost in a scale run: nothing reconciles. */
  partOf(): unknown {
    return null;
  }

  members(): string[] {
    return [...this.nodes.keys()];
  }

  async run(): Promise<ScaleResult> {
    for (const node of this.nodes.values()) node.start();
    const clients = this.options.observatories * this.options.clientsPerObservatory;
    for (let c = 0; c < clients; c += 1) this.after(this.prng.between(0, 10), () => this.bookFrom(this.ids[c % this.ids.length]!));
    // After the last answer, decisions and acknowledgements still travel: count them too.
    let steps = 0;
    for (let event = this.queue.pop(); event && !this.violation; event = this.queue.pop()) {
      if (this.committed + this.aborted === this.options.bookings && event.timeUs > this.lastAnswerUs + DRAIN_MS * 1000) break;
      this.timeUs = event.timeUs;
      event.run();
      await new Promise((resolve) => setImmediate(resolve));
      if (++steps > STEPS_MAX) this.report(`more than ${STEPS_MAX} steps`);
    }
    if (this.violation) throw new Error(`scale run ${JSON.stringify(this.options)}: ${this.violation}`);
    if (this.committed + this.aborted !== this.options.bookings) throw new Error(`scale run ended with ${this.options.bookings - this.committed - this.aborted} bookings unanswered`);
    return this.result();
  }

  private addNode(id: NodeId): void {
    const behaviour = { syncMaxMs: this.profile.diskSyncMaxMs, batchMax: this.profile.writeBatchMax, writeFailureProbability: () => 0, acknowledgeBeforeSync: false, commitsAfterFailure: false };
    const disk = new SimDisk(id, this, this.prng.fork(), behaviour, this.trace, (writes) => this.countDurable(writes), (p) => this.report(p));
    const node = new SimNode(id, new Set(), this.prng.fork(), disk, this);
    this.nodes.set(id, node);
    this.nextSlot.set(id, 0);
  }

  /** One scientist at `home`: a booking of fresh slots at home and sitesPerBooking - 1 others, then the next. */
  private bookFrom(home: NodeId): void {
    if (this.begun >= this.options.bookings) return;
    this.begun += 1;
    const others = this.prng.sample(this.ids.filter((id) => id !== home), this.options.sitesPerBooking - 1);
    const txId = `${home}.tx${String(this.begun).padStart(7, '0')}`;
    this.ours.add(txId);
    const parts = [home, ...others].map((node) => ({ node, payload: partPayloadOf(node, [this.freshSlot(node)], txId) }));
    const coordinator = this.nodes.get(home)!;
    const nowMs = coordinator.nowMs();
    const beganUs = this.timeUs;
    coordinator.recordBookingBegun({ txId, kind: 'book', participants: parts.map((p) => p.node), timestampMs: nowMs });
    void coordinator.engine!.begin({ txId, kind: 'book', timestampMs: nowMs, deadlineMs: nowMs + this.profile.prepareTimeoutMs, parts }).then((result) => {
      if (result.outcome === 'committed') this.committed += 1;
      else this.aborted += 1;
      this.latenciesMs.push((this.timeUs - beganUs) / 1000);
      this.lastAnswerUs = this.timeUs;
      this.bookFrom(home);
    });
  }

  private freshSlot(node: NodeId): string {
    const index = this.nextSlot.get(node)!;
    if (index >= SLOT_INDEX_MAX) throw new Error(`${node} ran out of fresh slots: fewer bookings or more observatories`);
    this.nextSlot.set(node, index + 1);
    return `s${index}`;
  }

  /** The pair's fixed latency (the same both ways) and a jitter per message. */
  private delayMs(from: NodeId, to: NodeId): number {
    const key = from < to ? `${from}|${to}` : `${to}|${from}`;
    let base = this.pairLatencyMs.get(key);
    if (base === undefined) this.pairLatencyMs.set(key, (base = this.prng.between(this.options.wanOneWayMinMs ?? 10, this.options.wanOneWayMaxMs ?? 80)));
    const jitter = this.options.jitterMs ?? 2;
    return Math.max(0.1, base + this.prng.between(-jitter, jitter));
  }

  private countMessage(txId: TxId, type: string): void {
    if (this.ours.has(txId)) this.messages.set(type, (this.messages.get(type) ?? 0) + 1);
  }

  private countDurable(writes: DiskWrite[]): void {
    this.fsyncs += 1;
    for (const write of writes) {
      if (write.type !== 'log' || !this.ours.has(write.entry.record.txId)) continue;
      const key = `${write.entry.role}/${stateOf(write.entry)}`;
      this.records.set(key, (this.records.get(key) ?? 0) + 1);
    }
  }

  private result(): ScaleResult {
    const n = this.options.bookings;
    const per = (x: number) => Math.round((x / n) * 100) / 100;
    const sorted = [...this.latenciesMs].sort((a, b) => a - b);
    const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 10) / 10;
    const simulatedSeconds = (this.lastAnswerUs - START_US) / 1e6;
    const recordsPerBooking = Object.fromEntries([...this.records].sort().map(([k, v]) => [k, per(v)]));
    return {
      observatories: this.options.observatories,
      sitesPerBooking: this.options.sitesPerBooking,
      bookings: n,
      committed: this.committed,
      aborted: this.aborted,
      simulatedSeconds: Math.round(simulatedSeconds * 100) / 100,
      commitsPerSimulatedSecond: Math.round(this.committed / simulatedSeconds),
      messagesPerBooking: per([...this.messages.values()].reduce((sum, v) => sum + v, 0)),
      messagesByType: Object.fromEntries([...this.messages].sort().map(([k, v]) => [k, per(v)])),
      recordsPerBooking,
      forcedRecordsPerBooking: per([...this.records.values()].reduce((s, v) => s + v, 0)),
      fsyncsPerBooking: per(this.fsyncs),
      latencyMs: { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) },
    };
  }
}

function stateOf(entry: LogEntry): string {
  return (entry.record as { state: string }).state;
}

/**
 * A calm profile: production timers, no faults, wide-area latencies by pair. It starts from a
 * drawn profile so that fields this file does not know of (added to the simulator later) are
 * present, then sets every one it relies on; the protocol variant is plain two-phase commit.
 */
function scaleProfile(options: ScaleOptions, pairDelayMs: (from: string, to: string) => number): SimulationProfile {
  const drawn = drawProfile(new Prng(options.seed));
  const oneWayMaxMs = options.wanOneWayMaxMs ?? 80;
  const calm: SimulationProfile = {
    ...drawn,
    nodeCount: options.observatories,
    slotsPerNode: SLOT_INDEX_MAX,
    clockSkewMaxMs: 0,
    timerLateMaxMs: 0,
    faultPhaseMs: 0,
    transactionCount: options.bookings,
    cancelProbability: 0,
    prepareTimeoutMs: PRODUCTION_TIMERS.prepareTimeoutMs,
    participant: { ...drawn.participant, ...PRODUCTION_TIMERS.participant },
    coordinator: { ...drawn.coordinator, ...PRODUCTION_TIMERS.coordinator },
    network: {
      ...drawn.network,
      delayMinMs: options.wanOneWayMinMs ?? 10,
      delayMaxMs: oneWayMaxMs,
      lossProbability: 0,
      duplicateProbability: 0,
      longDelayProbability: 0,
      longDelayMaxMs: oneWayMaxMs,
      partitionEveryMs: Infinity,
      partitionLastsMaxMs: 0,
      requestTimeoutMs: 2_000, // PEER_REQUEST_TIMEOUT_MS
      signatureWindowMs: Infinity,
      deadlineAheadMaxMs: 60_000, // PEER_DEADLINE_AHEAD_MAX_MS
      pairDelayMs,
    },
    crashProbabilityPerStep: 0,
    downtimeMaxMs: 0,
    diskSyncMaxMs: options.diskSyncMaxMs ?? 2,
    writeBatchMax: 512, // WRITE_BATCH_MAX
    writeFailureProbability: 0,
    pauseEveryMs: Infinity,
    pauseMaxMs: 0,
    clockJumpEveryMs: Infinity,
    clockJumpMaxMs: 0,
    clockResyncAfterMaxMs: 0,
    diskFullEveryMs: Infinity,
    diskFullLastsMaxMs: 0,
    quiescentMaxMs: 0,
  };
  // Plain 2PC and no node lost, when the simulator knows of acceptors (Paxos Commit) and lost nodes.
  return Object.assign(calm, 'acceptorsPerTransaction' in drawn ? { acceptorsPerTransaction: 1, loseNodeAtMs: Infinity } : {});
}
