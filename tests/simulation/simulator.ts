// The deterministic simulation of a federation: N real protocol engines over a simulated
// network, disks and clock, run as a discrete-event loop. After each event the microtask
// queue is flushed (the engine is promise-based), so that one seed always gives the same
// run. Faults (loss, delay, duplication, partitions, crashes) happen during the fault
// phase, with pauses (SIGSTOP), clock jumps and full disks; then the network heals, clocks
// resynchronise, disks have room, every node restarts and the federation must settle.
import type { NodeId, ProtocolMessage } from '../../coordinator-2pc/src/messages.js';
import { Checker } from './checker.js';
import { Clients } from './clients.js';
import { EventQueue } from './event-queue.js';
import { Prng } from './prng.js';
import { drawProfile, drawStoreLoss, type SimulationProfile } from './profile.js';
import { SimDisk, type Scheduler } from './sim-disk.js';
import { StoreLoss } from './store-loss.js';
import type { AcceptorRecord } from '../../coordinator-2pc/src/ports.js';
import { SimNetwork } from './sim-network.js';
import { SimNode, type BugHook } from './sim-node.js';
import { Trace } from './trace.js';

export interface RunOptions {
  seed: number;
  /** Keep the readable trace (off for soaking: it costs time). */
  trace?: boolean;
  /** Receives each trace line as it is made. */
  onTraceLine?: (line: string) => void;
  /** Break the simulated nodes on purpose (the checker's own test). */
  bug?: BugHook;
}

export interface RunStats {
  nodes: number;
  steps: number;
  simulatedMs: number;
  begun: number;
  committed: number;
  aborted: number;
  cancelsCommitted: number;
  /** Cancels sent right after their booking's 201, and how many of them committed. */
  cancelsRightAfter: number;
  cancelsRightAfterCommitted: number;
  crashes: number;
  pauses: number;
  clockJumps: number;
  diskFull: number;
  /** Restarts that failed because the disk was still full (exit 70 again). */
  refusedStarts: number;
  /** Nodes lost for good (never restarted), and of them those that were coordinating an unfinished transaction. */
  lostNodes: number;
  lostCoordinators: number;
  /** Acceptor tables restored from an older backup or replaced by an empty one. */
  acceptorStoresLost: number;
  /** Whole stores restored from an older snapshot, or replaced by an empty one (new disk). */
  storesRestored: number;
  storesEmptied: number;

  /** How many times each audit event happened: which protocol paths the run went through. */
  audits: Record<string, number>;
}

export interface RunResult {
  seed: number;
  violation?: string;
  trace: string[];
  stats: RunStats;
}

/** Simulated time starts here so that every node's clock reads positive. */
const START_US = 1_000_000_000;
/** A run that takes more steps than this is stuck in a loop. */
const STEPS_MAX = 2_000_000;

export class SimulationViolation extends Error {
  override name = 'SimulationViolation';
  constructor(readonly seed: number, readonly problem: string) {
    super(`seed ${seed}: ${problem}`);
  }
}

export async function runSimulation(options: RunOptions): Promise<RunResult> {
  return new Simulation(options).run();
}

class Simulation implements Scheduler {
  private readonly queue = new EventQueue();
  private timeUs = START_US;
  readonly scheduler: Scheduler = this;
  private readonly faultPrng: Prng;
  readonly profile: SimulationProfile;
  readonly trace: Trace;
  readonly network: SimNetwork;
  readonly bug: BugHook;
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly clients: Clients;
  private readonly checker: Checker;
  private violation: string | undefined;
  private faultPhase = true;
  private readonly stats: RunStats;
  private readonly storeLoss: StoreLoss;

  constructor(private readonly options: RunOptions) {
    const root = new Prng(options.seed);
    this.profile = drawProfile(root.fork());
    this.faultPrng = root.fork();
    this.bug = options.bug ?? 'none';
    this.trace = new Trace(options.trace ?? false, () => this.timeUs - START_US, options.onTraceLine);
    const onLeave = (from: NodeId, message: ProtocolMessage): void => this.checker.onLeave(from, message);
    this.network = new SimNetwork(this.nodes, this.profile.network, this, root.fork(), this.trace, (p) => this.report(p), onLeave);
    this.clients = new Clients(this.nodes, this.profile, this, root.fork(), this.trace, (info) => this.checker.onTold(info));
    this.checker = new Checker(this.nodes, this.clients.transactions, (p) => this.report(p));
    this.stats = { nodes: this.profile.nodeCount, steps: 0, simulatedMs: 0, begun: 0, committed: 0, aborted: 0, cancelsCommitted: 0, cancelsRightAfter: 0, cancelsRightAfterCommitted: 0, crashes: 0, pauses: 0, clockJumps: 0, diskFull: 0, refusedStarts: 0, lostNodes: 0, lostCoordinators: 0, acceptorStoresLost: 0, storesRestored: 0, storesEmptied: 0, audits: {} };
    this.createNodes(root.fork());
    this.clients.cancelRightAfterWith(root.fork());
    const storeLossPrng = root.fork();
    drawStoreLoss(storeLossPrng, this.profile);
    const host = { profile: this.profile, bug: this.bug, trace: this.trace, nodes: () => this.nodes, nowUs: () => this.timeUs, after: (ms: number, action: () => void) => this.after(ms, action), failStop: (node: SimNode) => this.failStop(node), counted: (restored: boolean) => void (restored ? this.stats.storesRestored++ : this.stats.storesEmptied++) };
    this.storeLoss = new StoreLoss(host, storeLossPrng);
  }

  nowUs(): number {
    return this.timeUs;
  }

  after(delayMs: number, action: () => void): void {
    this.queue.push(this.timeUs + Math.max(0, Math.round(delayMs * 1000)), action);
  }

  report(problem: string): void {
    this.violation ??= `${problem} (at ${((this.timeUs - START_US) / 1000).toFixed(3)} ms)`;
  }

  async run(): Promise<RunResult> {
    this.trace.add('sim', () => `seed ${this.options.seed}: ${JSON.stringify(this.profile)}`);
    for (const node of this.nodes.values()) node.start();
    this.clients.scheduleAll();
    this.network.startPartitions();
    this.startNodeFaults();
    if (Number.isFinite(this.profile.loseNodeAtMs)) this.after(this.profile.loseNodeAtMs, () => this.loseNode());
    if (this.profile.acceptorStoreLoss !== 'none') this.scheduleAcceptorStoreLoss();
    if (this.profile.storeLoss !== 'none') this.storeLoss.schedule();
    this.after(this.profile.faultPhaseMs, () => this.endFaults());
    await this.loop();
    if (!this.violation) this.checker.final();
    return this.result();
  }

  private async loop(): Promise<void> {
    let quiescentEndUs = Infinity;
    for (let event = this.queue.pop(); event && !this.violation; event = this.queue.pop()) {
      if (this.faultPhase) quiescentEndUs = Infinity;
      else if (quiescentEndUs === Infinity) quiescentEndUs = this.timeUs + this.profile.quiescentMaxMs * 1000;
      if (event.timeUs > quiescentEndUs) break;
      this.timeUs = event.timeUs;
      event.run();
      await flushMicrotasks();
      this.checker.afterStep();
      if (this.faultPhase) this.maybeCrash();
      if (++this.stats.steps > STEPS_MAX) this.report(`more than ${STEPS_MAX} steps: the federation never settles`);
    }
  }

  countAudit(event: string): void {
    this.stats.audits[event] = (this.stats.audits[event] ?? 0) + 1;
  }

  failStop(node: SimNode): void {
    node.crash();
    this.stats.crashes++;
    this.restartLater(node);
  }

  /** A supervisor restarts a stopped node; a start that fails (full disk) is tried again later. */
  private restartLater(node: SimNode): void {
    this.after(this.faultPrng.between(0, this.profile.downtimeMaxMs), () => {
      if (node.lost || node.up || node.start()) return;
      this.stats.refusedStarts++;
      this.restartLater(node);
    });
  }

  /** Pauses, clock jumps and full disks, each repeating at its own pace while faults last. */
  private startNodeFaults(): void {
    const { pauseEveryMs, pauseMaxMs, clockJumpEveryMs, clockJumpMaxMs, clockResyncAfterMaxMs, diskFullEveryMs, diskFullLastsMaxMs } = this.profile;
    this.repeatFault(pauseEveryMs, (node) => {
      if (!node.up || node.paused) return;
      node.pause(this.faultPrng.between(10, pauseMaxMs));
      this.stats.pauses++;
    });
    this.repeatFault(clockJumpEveryMs, (node) => {
      // Jumps may pile up unsynchronised: the next sync steps the clock back by their sum, and the
      // cores' timers must not wait for that step as well (seed 67054, bug hook uncapped-timers).
      if (!node.up) return;
      node.jumpClock(this.faultPrng.pick([-1, 1]) * this.faultPrng.int(1, clockJumpMaxMs), this.faultPrng.chance(0.5));
      this.stats.clockJumps++;
      const incarnation = node.incarnation;
      this.after(this.faultPrng.between(1, clockResyncAfterMaxMs), () => {
        if (node.isAlive(incarnation)) node.resynchroniseClock();
      });
    });
    this.repeatFault(diskFullEveryMs, (node) => {
      // Mostly the free-space guard trips first (503, commits still fit); sometimes the disk
      // fills faster than the guard looks, and then, or after the guard, commits fail.
      const guarded = this.faultPrng.chance(0.7);
      node.disk.low = guarded;
      node.disk.full = !guarded || this.faultPrng.chance(0.2);
      this.stats.diskFull++;
      this.trace.add(node.id, () => (node.disk.full ? 'DISK FULL' : 'DISK NEARLY FULL (guard: 503)'));
      this.after(this.faultPrng.between(1, diskFullLastsMaxMs), () => this.freeDisk(node));
    });
  }

  private repeatFault(everyMs: number, inflict: (node: SimNode) => void): void {
    if (!Number.isFinite(everyMs)) return;
    this.after(this.faultPrng.between(0, 2 * everyMs), () => {
      if (!this.faultPhase) return;
      inflict(this.faultPrng.pick([...this.nodes.values()]));
      this.repeatFault(everyMs, inflict);
    });
  }

  private freeDisk(node: SimNode): void {
    if (!node.disk.full && !node.disk.low) return;
    node.disk.full = false;
    node.disk.low = false;
    this.trace.add(node.id, () => 'disk has room again');
  }

  private createNodes(prng: Prng): void {
    const { nodeCount, slotsPerNode } = this.profile;
    const behaviour = {
      syncMaxMs: this.profile.diskSyncMaxMs,
      batchMax: this.profile.writeBatchMax,
      writeFailureProbability: () => (this.faultPhase ? this.profile.writeFailureProbability : 0),
      acknowledgeBeforeSync: this.bug === 'lying-disk',
      commitsAfterFailure: this.bug === 'writer-continues-after-failure',
    };
    for (let i = 0; i < nodeCount; i++) {
      const id = `obs-${String.fromCharCode(97 + i)}`;
      const slotKeys = new Set(Array.from({ length: slotsPerNode }, (_, s) => `s${s}`));
      const disk = new SimDisk(id, this, prng.fork(), behaviour, this.trace, (writes) => {
        for (const write of writes) this.checker.onDurable(node, write);
        for (const write of writes) this.storeLoss.onDurable(node, write);
        this.checker.onCommit(node);
      }, (p) => this.report(p));
      const node: SimNode = new SimNode(id, slotKeys, prng.fork(), disk, this);
      disk.gate = (action) => node.whenAwake(action);
      this.nodes.set(id, node);
    }
  }

  private maybeCrash(): void {
    if (!this.faultPrng.chance(this.profile.crashProbabilityPerStep)) return;
    const live = [...this.nodes.values()].filter((n) => n.up);
    if (live.length === 0) return;
    this.failStop(this.faultPrng.pick(live));
  }

  /**
   * One node is lost for good: it dies and never comes back, its disk with it. Mostly one that
   * is coordinating something unfinished at that instant (a coordinator lost at any point of a
   * transaction); the others must still decide every transaction (docs/PROTOCOL.md §20).
   */
  private loseNode(): void {
    const live = [...this.nodes.values()].filter((n) => n.up && !n.lost);
    const coordinating = live.filter((n) => n.engine!.coordinator.unfinished().length > 0);
    const pool = this.profile.loseCoordinatorFirst && coordinating.length > 0 ? coordinating : live;
    if (pool.length === 0) return;
    const node = this.faultPrng.pick(pool);
    const open = node.engine!.coordinator.unfinished().map((v) => `${v.txId} ${v.phase}`);
    this.stats.lostNodes++;
    if (open.length > 0) this.stats.lostCoordinators++;
    this.trace.add(node.id, () => `LOST FOR GOOD (coordinating: ${open.join(', ') || 'nothing'})`);
    node.lost = true;
    node.crash();
  }

  /**
   * One node's acceptor table is backed up, then the node crashes and comes back with that older
   * table (restore) or an empty one (new disk). Its store identity tells it so: for every
   * transaction begun before, its acceptor answers `unknown` (docs/PROTOCOL.md §20).
   */
  private scheduleAcceptorStoreLoss(): void {
    const node = this.faultPrng.pick([...this.nodes.values()]);
    let backup: Map<string, AcceptorRecord> | undefined;
    this.after(this.profile.acceptorSnapshotAtMs, () => {
      backup = node.disk.snapshot().acceptors;
      this.trace.add(node.id, () => `backup of the acceptor table (${backup!.size} records)`);
    });
    this.after(this.profile.acceptorLossAtMs, () => {
      if (node.up) this.failStop(node);
      const restored = this.profile.acceptorStoreLoss === 'restore' ? backup : undefined;
      node.disk.replaceAcceptors(restored);
      node.storeHorizonUs = this.timeUs;
      this.stats.acceptorStoresLost++;
      this.trace.add(node.id, () => `ACCEPTOR TABLE ${restored ? `RESTORED from the backup (${restored.size} records)` : 'LOST (new disk)'}: unknown for transactions begun before`);
    });
  }

  partOf(txId: string, node: NodeId): unknown {
    return this.clients.transactions.get(txId)?.parts.find((p) => p.node === node)?.payload ?? null;
  }

  members(): NodeId[] {
    return [...this.nodes.keys()];
  }

  begunAtUs(txId: string): number | undefined {
    return this.clients.transactions.get(txId)?.begunAtUs;
  }

  /** Faults stop: heal the network, restart every crashed node, let the federation settle. */
  private endFaults(): void {
    this.storeLoss.loseIfArmed();
    this.faultPhase = false;
    this.network.heal();
    this.trace.add('sim', () => 'faults stop: network healed, disks have room, clocks resynchronised, crashed nodes restart');
    for (const node of this.nodes.values()) {
      this.freeDisk(node);
      if (node.up) node.resynchroniseClock();
      else if (!node.lost) node.start();
    }
  }

  private result(): RunResult {
    const transactions = [...this.clients.transactions.values()];
    this.stats.begun = transactions.length;
    this.stats.committed = transactions.filter((t) => t.told === 'committed').length;
    this.stats.aborted = transactions.filter((t) => t.told === 'aborted').length;
    this.stats.cancelsCommitted = transactions.filter((t) => t.kind === 'cancel' && t.told === 'committed').length;
    this.stats.cancelsRightAfter = transactions.filter((t) => t.rightAfter).length;
    this.stats.cancelsRightAfterCommitted = transactions.filter((t) => t.rightAfter && t.told === 'committed').length;
    this.stats.simulatedMs = Math.round((this.timeUs - START_US) / 1000);
    const result: RunResult = { seed: this.options.seed, trace: this.trace.lines, stats: this.stats };
    if (this.violation) result.violation = this.violation;
    this.trace.add('sim', () => (this.violation ? `VIOLATION: ${this.violation}` : `ok: ${JSON.stringify(this.stats)}`));
    return result;
  }
}

/** Let every promise callback the last event caused run to completion. */
function flushMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Run one seed and throw a SimulationViolation naming the seed when an invariant broke. */
export async function checkSeed(options: RunOptions): Promise<RunResult> {
  const result = await runSimulation(options);
  if (result.violation) throw new SimulationViolation(options.seed, result.violation);
  return result;
}
