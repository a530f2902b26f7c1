// One simulated observatory: the real ParticipantCore, CoordinatorCore and ProtocolEngine,
// wired to the simulated disk, network and clock. Each boot is a new incarnation; the ports
// of an incarnation go dead when it crashes, so nothing it started can touch its successor.
import { CoordinatorCore } from '../../coordinator-2pc/src/coordinator.js';
import { ParticipantCore } from '../../coordinator-2pc/src/participant.js';
import { ProtocolEngine, type EnginePorts, type LogEntry, type ReplyMessage, type RequestMessage } from '../../coordinator-2pc/src/engine.js';
import type { NodeId } from '../../coordinator-2pc/src/messages.js';
import type { CoordinatorRecord, ParticipantRecord } from '../../coordinator-2pc/src/ports.js';
import type { SimulationProfile } from './profile.js';
import type { Prng } from './prng.js';
import { DiskWriteError, type Scheduler, type SimDisk } from './sim-disk.js';
import type { Endpoint, SimNetwork } from './sim-network.js';
import { SlotTable } from './slot-table.js';
import type { Trace } from './trace.js';

/** Test-only ways to break a node on purpose, to prove the checker is not blind. */
export type BugHook = 'none' | 'forgetful-participant' | 'forgetful-coordinator' | 'lying-disk';
export const BUG_HOOKS: readonly BugHook[] = ['none', 'forgetful-participant', 'forgetful-coordinator', 'lying-disk'];

export interface NodeHost {
  readonly scheduler: Scheduler;
  readonly trace: Trace;
  readonly network: SimNetwork;
  readonly profile: SimulationProfile;
  readonly bug: BugHook;
  report(problem: string): void;
  /** The node stopped itself (fail-stop on a failed write): crash it and restart it later. */
  failStop(node: SimNode): void;
  /** Counts audit events, for the run's statistics. */
  countAudit(event: string): void;
}

/** How many wakes at one instant mean the engine keeps asking for a time it has nothing to do at. */
const WAKES_AT_ONE_INSTANT_MAX = 100;

export class SimNode implements Endpoint {
  up = false;
  incarnation = 0;
  engine: ProtocolEngine | undefined;
  /** The live resource manager of the current incarnation. */
  slots: SlotTable | undefined;
  private wakeToken = 0;
  private lastWakeUs = -1;
  private wakesAtLastInstant = 0;

  /** This incarnation's clock offset from true time: each boot synchronises anew. */
  clockSkewMs = 0;

  constructor(
    readonly id: NodeId,
    readonly slotKeys: ReadonlySet<string>,
    private readonly prng: Prng,
    readonly disk: SimDisk,
    /** The durable ledger: this node's durable records replayed as they sync. Survives crashes. */
    readonly durableSlots: SlotTable,
    private readonly host: NodeHost,
  ) {}

  nowMs(): number {
    return Math.floor(this.host.scheduler.nowUs() / 1000) + this.clockSkewMs;
  }

  handleRequest(message: RequestMessage): Promise<ReplyMessage | undefined> {
    return this.engine!.handleRequest(message);
  }

  /** Boot a new incarnation from what the disk made durable. */
  start(): void {
    this.incarnation++;
    this.up = true;
    const skewMaxMs = this.host.profile.clockSkewMaxMs;
    this.clockSkewMs = this.prng.int(-skewMaxMs, skewMaxMs);
    const log: LogEntry[] = JSON.parse(JSON.stringify(this.disk.durable));
    const recovered = recoveryRecords(log, this.nowMs(), this.host.profile.participant.finishedRetentionMs);
    const forgetParticipant = this.host.bug === 'forgetful-participant';
    const participantRecords = forgetParticipant ? [] : recovered.participantRecords;
    const coordinatorRecords = this.host.bug === 'forgetful-coordinator' ? [] : recovered.coordinatorRecords;
    this.slots = new SlotTable(this.slotKeys, (problem) => this.host.report(`${this.id}: ${problem}`));
    if (!forgetParticipant) for (const entry of log) if (entry.role === 'participant') this.slots.applyRecord(entry.record);
    const selfId = this.id;
    const participant = new ParticipantCore({ selfId, ...this.host.profile.participant }, this.slots);
    const coordinator = new CoordinatorCore({ selfId, ...this.host.profile.coordinator });
    this.engine = new ProtocolEngine(selfId, participant, coordinator, this.portsOf(this.incarnation));
    this.host.trace.add(this.id, () => `start incarnation ${this.incarnation} (clock ${this.clockSkewMs} ms): ${participantRecords.length} participant and ${coordinatorRecords.length} coordinator records`);
    this.engine.restore(participantRecords, coordinatorRecords);
  }

  /** The machine dies: memory, timers and unsynced writes are gone. */
  crash(): void {
    const lost = this.disk.crash();
    this.up = false;
    this.engine = undefined;
    this.slots = undefined;
    this.wakeToken++;
    this.host.trace.add(this.id, () => `CRASH (incarnation ${this.incarnation}, ${lost} unsynced writes lost)`);
  }

  isAlive(incarnation: number): boolean {
    return this.up && this.incarnation === incarnation;
  }

  private portsOf(incarnation: number): EnginePorts {
    const alive = (): boolean => this.isAlive(incarnation);
    return {
      writeLog: (entry: LogEntry) => (alive() ? this.disk.write(entry) : new Promise<void>(() => undefined)),
      request: (to, message) => (alive() ? this.host.network.request(this, to, message) : new Promise<ReplyMessage>(() => undefined)),
      nowMs: () => this.nowMs(),
      scheduleWake: (atMs) => {
        if (alive()) this.scheduleWake(incarnation, atMs);
      },
      audit: (effect) => {
        if (!alive()) return;
        this.host.countAudit(effect.event);
        this.host.trace.add(this.id, () => `audit ${effect.event} ${effect.txId} ${JSON.stringify(effect.details)}`);
        if (effect.event === 'TX_HEURISTIC') this.host.report(`${this.id}: a participant reported another outcome than the coordinator decided: ${effect.txId} ${JSON.stringify(effect.details)}`);
      },
      fatal: (error) => {
        if (!alive()) return;
        if (error instanceof DiskWriteError) this.host.failStop(this);
        else this.host.report(`${this.id} stopped on a fatal error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      },
    };
  }

  private scheduleWake(incarnation: number, atMs: number | undefined): void {
    const token = ++this.wakeToken;
    if (atMs === undefined) return;
    const { scheduler } = this.host;
    const lateUs = Math.round(this.prng.between(0, this.host.profile.timerLateMaxMs * 1000));
    const atUs = Math.max(scheduler.nowUs(), (atMs - this.clockSkewMs) * 1000) + lateUs;
    scheduler.after((atUs - scheduler.nowUs()) / 1000, () => {
      if (!this.isAlive(incarnation) || token !== this.wakeToken) return;
      this.countWake(atMs);
      this.host.trace.add(this.id, () => `wake (asked for ${atMs})`);
      this.engine!.wake();
    });
  }

  private countWake(atMs: number): void {
    const nowUs = this.host.scheduler.nowUs();
    this.wakesAtLastInstant = nowUs === this.lastWakeUs ? this.wakesAtLastInstant + 1 : 1;
    this.lastWakeUs = nowUs;
    if (this.wakesAtLastInstant === WAKES_AT_ONE_INSTANT_MAX) {
      this.host.report(`${this.id} was woken ${WAKES_AT_ONE_INSTANT_MAX} times at one instant (${this.nowMs()} ms, asked for ${atMs} ms): the engine asks to be woken at a time its tick has nothing to do`);
    }
  }
}

/** The latest record of each transaction, per role, in log order. */
export function latestRecords(log: readonly LogEntry[]): { participantRecords: ParticipantRecord[]; coordinatorRecords: CoordinatorRecord[] } {
  const participants = new Map<string, ParticipantRecord>();
  const coordinators = new Map<string, CoordinatorRecord>();
  for (const entry of log) {
    if (entry.role === 'participant') participants.set(entry.record.txId, entry.record);
    else coordinators.set(entry.record.txId, entry.record);
  }
  return { participantRecords: [...participants.values()], coordinatorRecords: [...coordinators.values()] };
}

/**
 * What a restarted node hands to engine.restore(): the participant records still in doubt
 * or not yet forgettable (the participant core's own rule: a finished record is kept until
 * both its retention and its prepare deadline have passed), and the coordinator decisions
 * not yet ended.
 */
export function recoveryRecords(log: readonly LogEntry[], nowMs: number, finishedRetentionMs: number): { participantRecords: ParticipantRecord[]; coordinatorRecords: CoordinatorRecord[] } {
  const latest = latestRecords(log);
  const keep = (r: ParticipantRecord): boolean => r.state === 'prepared' || nowMs <= Math.max(r.updatedAtMs + finishedRetentionMs, r.deadlineMs);
  return {
    participantRecords: latest.participantRecords.filter(keep),
    coordinatorRecords: latest.coordinatorRecords.filter((r) => r.state === 'decided'),
  };
}
