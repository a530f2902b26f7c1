// One simulated observatory: the real ParticipantCore, CoordinatorCore and ProtocolEngine,
// the production SlotTable, and the server's own start-up recovery (federation-node/src/
// recovery.ts), wired to the simulated disk, network and clock. Each boot is a new
// incarnation; the ports of an incarnation go dead when it crashes, so nothing it started can
// touch its successor. A node can also be paused (SIGSTOP): nothing of it runs until it
// resumes, while its clock and the world go on.
import { CoordinatorCore } from '../../coordinator-2pc/src/coordinator.js';
import { ParticipantCore } from '../../coordinator-2pc/src/participant.js';
import { AcceptorCore } from '../../coordinator-2pc/src/acceptor.js';
import type { DurableKnowledge } from '../../coordinator-2pc/src/durable-knowledge.js';
import { ProtocolEngine, type EnginePorts, type LogEntry, type ReplyMessage, type RequestMessage } from '../../coordinator-2pc/src/engine.js';
import type { NodeId } from '../../coordinator-2pc/src/messages.js';
import type { SlotTable } from '../../federation-node/src/domain/slot-table.js';
import { recoverFromStore, type StoredState, type UndecidedTransaction } from '../../federation-node/src/recovery.js';
import type { SimulationProfile } from './profile.js';
import type { Prng } from './prng.js';
import { DiskWriteError, type Scheduler, type SimDisk } from './sim-disk.js';
import { NoAwaitableBlockers, SweptChanges, UncappedCoordinator, UncappedParticipant, slotTableOf } from './sim-domain.js';
import { claimChangesOf } from '../../federation-node/src/storage/store-invariants.js';
import type { Endpoint, SimNetwork } from './sim-network.js';
import type { Trace } from './trace.js';
import { SimReconciler, reconciliationAnswer } from './sim-reconciler.js';
import type { ReportedTransaction } from '../../federation-node/src/durability/reconciliation-step.js';

/** Test-only ways to break a node on purpose, to prove the checker is not blind. */
export type BugHook = 'none' | 'forgetful-participant' | 'forgetful-coordinator' | 'lying-disk' | 'writer-continues-after-failure' | 'swept-changes' | 'cancel-dies-behind-own-booking' | 'uncapped-timers'
  | 'early-commit' | 'blind-leader' | 'forgetful-acceptor' | 'acceptor-ignores-horizon' | 'skips-reconciliation'
  /** Not a bug put back: what the simulated node cannot get back after a restore (it does not model §16's restored-coordinator pass), let in to show the checker sees it. */
  | 'coordinates-after-backup';
export const BUG_HOOKS: readonly BugHook[] = ['none', 'forgetful-participant', 'forgetful-coordinator', 'lying-disk', 'writer-continues-after-failure', 'swept-changes', 'cancel-dies-behind-own-booking', 'uncapped-timers',
  'early-commit', 'blind-leader', 'forgetful-acceptor', 'acceptor-ignores-horizon', 'skips-reconciliation', 'coordinates-after-backup'];

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
  /** Simulated time at which a transaction began (undefined: unknown here). */
  begunAtUs(txId: string): number | undefined;
  /** The booking row's part for `node` of a transaction (what reconciliation pages carry), or null. */
  partOf(txId: string, node: NodeId): unknown;
  /** The members now (the reconciler follows the membership). */
  members(): NodeId[];
}

/** How many wakes at one instant mean the engine keeps asking for a time it has nothing to do at. */
const WAKES_AT_ONE_INSTANT_MAX = 100;

export class SimNode implements Endpoint {
  up = false;
  /** Lost for good: crashed, never restarted, its disk gone. */
  lost = false;
  /** Its acceptor table, or its whole store, came back older or empty at this simulated time: it may have lost what it did before. */
  storeHorizonUs: number | undefined;
  /** Its whole store (coordinator records and booking rows included) came back older or empty at this simulated time. */
  storeReplacedAtUs: number | undefined;
  /**
   * Between the backup of its whole store and its restore (for a new disk: from the start), this
   * node begins no transaction of its own: what it coordinates then is lost with its store — its
   * own part, and its cancellations of other nodes' bookings — which the simulated node cannot get
   * back (it does not model docs/PROTOCOL.md §16's restored-coordinator pass; `coordinates-after-backup` lifts it).
   */
  beginsNothing = false;
  incarnation = 0;
  engine: ProtocolEngine | undefined;
  /** Reconciling after a restore or a new disk (the shared step, sim-reconciler.ts), or undefined. */
  reconciler: SimReconciler | undefined;
  /** The live slot table of the current incarnation (the production SlotTable). */
  slots: SlotTable | undefined;
  private wakeToken = 0;
  private lastWakeUs = -1;
  private wakesAtLastInstant = 0;
  /** Only with the 'swept-changes' bug: the journal of old that the next write swept up. */
  private sweptJournal: SweptChanges | undefined;
  /** Until then the process is stopped (SIGSTOP): what it would do waits. */
  private pausedUntilUs = 0;
  private readonly onResume: Array<() => void> = [];

  /** This incarnation's clock offset from true time: each boot synchronises anew. */
  clockSkewMs = 0;
  /** The node saw its own clock jump and holds back writes until it resynchronises (node-resilience's clock guard). */
  clockHeld = false;

  constructor(
    readonly id: NodeId,
    readonly slotKeys: ReadonlySet<string>,
    private readonly prng: Prng,
    readonly disk: SimDisk,
    private readonly host: NodeHost,
  ) {}

  nowMs(): number {
    return Math.floor(this.host.scheduler.nowUs() / 1000) + this.clockSkewMs;
  }

  get paused(): boolean {
    return this.host.scheduler.nowUs() < this.pausedUntilUs;
  }

  /** Run `action` now, or when the process resumes if it is stopped. */
  whenAwake(action: () => void): void {
    if (this.paused) this.onResume.push(action);
    else action();
  }

  /** SIGSTOP for `durationMs`, then SIGCONT: everything that waited runs, in order. */
  pause(durationMs: number): void {
    if (this.paused) return;
    const { scheduler } = this.host;
    this.pausedUntilUs = scheduler.nowUs() + Math.round(durationMs * 1000);
    const incarnation = this.incarnation;
    this.host.trace.add(this.id, () => `PAUSE for ${durationMs.toFixed(0)} ms`);
    scheduler.after(durationMs, () => this.resume(incarnation));
  }

  /**
   * Why the node refuses every request that may write (503), or undefined: its disk is nearly
   * full, or it saw its own clock jump (http/admission.ts). Reads would still be served.
   */
  get refusal(): string | undefined {
    if (this.disk.low) return `${this.id}'s disk is nearly full`;
    if (this.clockHeld) return `${this.id}'s own clock jumped`;
    return undefined;
  }

  /** Why it refuses bookings (public and protocol prepares: 503) while it reconciles, or undefined. */
  get bookingRefusal(): string | undefined {
    const required = this.disk.reconcileRequired;
    return required && this.reconciler ? this.reconciler.progress.refusalReason(required) ?? undefined : undefined;
  }

  /** The side that answers (reconciliation-pages.ts): committed transactions coordinated here that involve `node`. */
  reconciliationPage(node: NodeId, sinceMs: number): { transactions: ReportedTransaction[]; undecided: string[] } {
    return reconciliationAnswer(this.id, [...this.disk.tables.coordinators.values()], this.engine!.coordinator.unfinished(), (txId) => this.host.partOf(txId, node), node, sinceMs);
  }

  handleRequest(message: RequestMessage): Promise<ReplyMessage | undefined> {
    return this.engine!.handleRequest(message);
  }

  /** Boot a new incarnation from what the disk made durable; false when it could not start. */
  start(): boolean {
    this.incarnation++;
    this.pausedUntilUs = 0;
    this.onResume.length = 0;
    this.clockHeld = false;
    if (this.disk.full || this.disk.low) {
      // The real node waits at start for free space (or, full, fails its first write: exit 70).
      this.host.trace.add(this.id, () => `start incarnation ${this.incarnation} held back: disk ${this.disk.full ? 'full' : 'nearly full'}`);
      return false;
    }
    this.up = true;
    const skewMaxMs = this.host.profile.clockSkewMaxMs;
    this.clockSkewMs = this.prng.int(-skewMaxMs, skewMaxMs);
    const stored = this.storedState();
    this.slots = slotTableOf(this.id);
    const selfId = this.id;
    this.sweptJournal = this.host.bug === 'swept-changes' ? new SweptChanges(this.slots) : undefined;
    const { bug, profile } = this.host;
    const ownBookingIgnored = bug === 'cancel-dies-behind-own-booking' ? new NoAwaitableBlockers(this.slots) : undefined;
    const uncapped = bug === 'uncapped-timers';
    const participant = new (uncapped ? UncappedParticipant : ParticipantCore)({ selfId, ...profile.participant, ...(bug === 'blind-leader' ? { testOnlyIgnoreAcceptedValues: true } : {}) }, this.sweptJournal ?? ownBookingIgnored ?? this.slots);
    const coordinator = new (uncapped ? UncappedCoordinator : CoordinatorCore)({ selfId, ...profile.coordinator, ...(bug === 'early-commit' ? { testOnlyCommitBeforeMajority: true } : {}) });
    const mayHaveLost = (txId: string): boolean => this.storeHorizonUs !== undefined && (this.host.begunAtUs(txId) ?? 0) <= this.storeHorizonUs;
    const acceptor = new AcceptorCore({ selfId, retentionMs: profile.participant.finishedRetentionMs, ...(bug === 'acceptor-ignores-horizon' ? {} : { mayHaveLost }) });
    this.engine = new ProtocolEngine(selfId, participant, coordinator, this.portsOf(this.incarnation), acceptor);
    this.host.trace.add(this.id, () => `start incarnation ${this.incarnation} (clock ${this.clockSkewMs} ms): ${stored.participantRecords.length} participant records, ${stored.decidedRecords.length} decided, ${stored.claims.length} claims, ${stored.undecided.length} undecided`);
    try {
      const summary = recoverFromStore(stored, { nowMs: this.nowMs(), finishedRetentionMs: this.host.profile.participant.finishedRetentionMs, mayHaveLost }, this.slots, this.engine);
      for (const txId of summary.presumedAborted) void this.disk.write({ type: 'booking-settled', txId }).catch(() => undefined);
    } catch (error) {
      this.host.report(`${this.id} refused to start: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.startReconciliation();
    return true;
  }

  /** A store marked by the restore or new-disk procedure reconciles with every peer before it serves bookings. */
  private startReconciliation(): void {
    this.reconciler = undefined;
    const required = this.disk.reconcileRequired;
    if (!required) return;
    if (this.host.bug === 'skips-reconciliation') {
      this.disk.reconcileRequired = undefined;
      return;
    }
    this.host.trace.add(this.id, () => `reconciliation required (${required.reason}) since ${required.sinceMs}: no booking served until every peer has answered`);
    const incarnation = this.incarnation;
    this.reconciler = new SimReconciler(this, incarnation, required.sinceMs, this.host.profile.reconciliationRetryMs, this.host, () => {
      if (this.isAlive(incarnation)) this.disk.reconcileRequired = undefined;
    });
    const reconciler = this.reconciler;
    this.host.scheduler.after(0, () => this.whenAwake(() => void reconciler.round()));
  }

  /** The machine dies: memory, timers and unsynced writes are gone. */
  crash(): void {
    const lost = this.disk.crash();
    this.up = false;
    this.engine = undefined;
    this.slots = undefined;
    this.wakeToken++;
    this.pausedUntilUs = 0;
    this.onResume.length = 0;
    this.host.trace.add(this.id, () => `CRASH (incarnation ${this.incarnation}, ${lost} unsynced writes lost)`);
  }

  isAlive(incarnation: number): boolean {
    return this.up && this.incarnation === incarnation;
  }

  /** The client's booking row, written before the transaction begins (not awaited, as in BookingService). */
  recordBookingBegun(booking: UndecidedTransaction): void {
    void this.disk.write({ type: 'booking-begun', booking }).catch(() => undefined);
  }

  /** The client was told "aborted": the booking row is no longer pending. */
  recordBookingSettled(txId: string): void {
    void this.disk.write({ type: 'booking-settled', txId }).catch(() => undefined);
  }

  /** A clock jump of this node alone (an NTP step, a VM restored): its clock is off until it resynchronises. */
  jumpClock(byMs: number, detected: boolean): void {
    this.clockSkewMs += byMs;
    this.clockHeld ||= detected;
    this.host.trace.add(this.id, () => `CLOCK JUMP ${byMs > 0 ? '+' : ''}${byMs} ms (clock now ${this.clockSkewMs} ms off${detected ? ', detected: writes refused until resynchronised' : ', unnoticed'})`);
  }

  /** The periodic clock synchronisation brings this node's clock back near true time. */
  resynchroniseClock(): void {
    const skewMaxMs = this.host.profile.clockSkewMaxMs;
    this.clockSkewMs = this.prng.int(-skewMaxMs, skewMaxMs);
    this.clockHeld = false;
    this.host.trace.add(this.id, () => `clock resynchronised (${this.clockSkewMs} ms off)`);
  }

  private resume(incarnation: number): void {
    if (!this.isAlive(incarnation)) return;
    this.host.trace.add(this.id, () => `RESUME: ${this.onResume.length} deferred actions`);
    const waiting = this.onResume.splice(0);
    for (const action of waiting) action();
  }

  private storedState(): StoredState {
    const read = this.disk.read();
    const decided = new Set(read.coordinatorRecords.map((r) => r.txId));
    const stored: StoredState = {
      participantRecords: read.participantRecords,
      decidedRecords: read.coordinatorRecords.filter((r) => r.state === 'decided'),
      claims: read.claims,
      undecided: read.pendingBookings.filter((b) => !decided.has(b.txId)),
      acceptorRecords: this.host.bug === 'forgetful-acceptor' ? [] : read.acceptorRecords,
    };
    if (this.host.bug === 'forgetful-participant') {
      stored.participantRecords = [];
      stored.claims = [];
    }
    if (this.host.bug === 'forgetful-coordinator') stored.decidedRecords = [];
    return stored;
  }

  private portsOf(incarnation: number): EnginePorts {
    const alive = (): boolean => this.isAlive(incarnation);
    return {
      writeLog: (entry: LogEntry) => (alive() ? this.writeLog(entry) : new Promise<void>(() => undefined)),
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
      knowledgeOf: (txId) => Promise.resolve(this.knowledgeOf(txId)),
      fatal: (error) => {
        if (!alive()) return;
        if (error instanceof DiskWriteError) this.host.failStop(this);
        else this.host.report(`${this.id} stopped on a fatal error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      },
    };
  }

  /** What the store says of a transaction (as durability/transaction-views.ts): complete unless begun before its acceptor table was lost. */
  private knowledgeOf(txId: string): DurableKnowledge {
    const complete = !(this.storeHorizonUs !== undefined && (this.host.begunAtUs(txId) ?? 0) <= this.storeHorizonUs);
    const { coordinators, participants, acceptors } = this.disk.tables;
    const decision = coordinators.get(txId)?.decision;
    const state = participants.get(txId)?.state;
    const acceptor = this.host.bug === 'forgetful-acceptor' ? undefined : acceptors.get(txId);
    const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
    // The broken variant ignores the horizon in both places: the core's own test and the store's look-up.
    const ignoresHorizon = this.host.bug === 'acceptor-ignores-horizon' ? { acceptorComplete: true } : {};
    return { complete, ...ignoresHorizon, ...(decision ? { coordinatorDecision: decision } : {}), ...(state ? { participantState: state } : {}), ...(acceptor ? { acceptor: copy(acceptor) } : {}) };
  }

  /** As TransactionLog.write: the pair assertion, then the write (the old code had neither the one nor the other's shape). */
  private writeLog(entry: LogEntry): Promise<void> {
    if (this.sweptJournal) return this.disk.write({ type: 'log', entry: { ...entry, changes: this.sweptJournal.take() } as LogEntry });
    claimChangesOf(entry); // throws StoreInvariantError: the engine stops the node, the simulator reports it
    return this.disk.write({ type: 'log', entry });
  }

  private scheduleWake(incarnation: number, atMs: number | undefined): void {
    const token = ++this.wakeToken;
    if (atMs === undefined) return;
    this.checkTimerBound(atMs);
    const { scheduler } = this.host;
    const lateUs = Math.round(this.prng.between(0, this.host.profile.timerLateMaxMs * 1000));
    const atUs = Math.max(scheduler.nowUs(), (atMs - this.clockSkewMs) * 1000) + lateUs;
    scheduler.after((atUs - scheduler.nowUs()) / 1000, () => {
      this.whenAwake(() => {
        if (!this.isAlive(incarnation) || token !== this.wakeToken) return;
        this.countWake(atMs);
        this.host.trace.add(this.id, () => `wake (asked for ${atMs})`);
        this.engine!.wake();
      });
    });
  }

  /**
   * No core timer is further ahead than its longest interval: otherwise a clock stepped back
   * (a jump undone by synchronisation) makes the node wait for the step as well (seed 67054).
   */
  private checkTimerBound(atMs: number): void {
    const { participant, coordinator, prepareTimeoutMs } = this.host.profile;
    const longestMs = Math.max(participant.waitMaxMs, participant.inDoubtQueryAfterMs, participant.queryBackoffMaxMs, coordinator.resendMaxMs, prepareTimeoutMs) + 1;
    const aheadMs = atMs - this.nowMs();
    if (aheadMs > longestMs) this.host.report(`${this.id} asked to be woken ${Math.round(aheadMs)} ms ahead, more than its longest protocol interval (${longestMs} ms): after a clock step back its timers wait for the step as well`);
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
