// What a participant lets another member ask of it (docs/PROTOCOL.md §14). The signature says
// who speaks; these rules say what that member may ask: only for transactions it coordinates,
// only of bookings it coordinates, with a timestamp and a deadline this node's own clock finds
// plausible, and no more open transactions, held slots or prepares per second than the named
// limits. A refused prepare gets a vote no with code `refused`; every refusal is audited.
import { performance } from 'node:perf_hooks';
import type { AbortReason, DecisionMessage, ParticipantTxView, PrepareMessage, ProtocolEngine, TxId, VoteMessage } from '../../../coordinator-2pc/src/index.js';
import type { Config } from '../config/config.js';
import type { PartPayload, SlotTable } from '../domain/slot-table.js';
import type { Loggers } from '../logging/logger.js';
import type { NodeMetrics } from '../metrics/metrics.js';
import type { Directory } from './directory.js';
import { MINUTE_MS, type Telescope } from '../domain/slots.js';
import { HttpProblem } from '../http/problem.js';

export interface AdmissionLimits {
  /** A prepare's timestamp may be at most this far ahead of the receiver's federation time. */
  clockSkewMaxMs: number;
  /** ...and at most this far behind it: the most a sender can gain in the wait-die queue. */
  timestampAgeMaxMs: number;
  /** A prepare's deadline may be at most this far ahead: bounds how long a refusal is remembered. */
  deadlineAheadMaxMs: number;
  /** Waiting or prepared transactions of one coordinator at this participant. */
  openTransactionsMax: number;
  /** Slots held (or being released) here by one coordinator's unfinished transactions. */
  heldSlotsMax: number;
  /** Sustained prepares per second from one peer, and the burst allowed above it. */
  preparesPerSecondMax: number;
  prepareBurstMax: number;
  /** A prepared transaction older than this is reported (GET /ready, GET /admin/transactions). */
  inDoubtReportAfterMs: number;
}

export interface AdmissionDeps {
  selfId: string;
  telescopes: Map<string, Telescope>;
  /** The participant's waiting and prepared transactions. */
  unfinished(): ParticipantTxView[];
  /** Whether the participant knows this transaction already (a duplicate prepare gets its earlier vote). */
  knows(txId: TxId): boolean;
  /** Slots this transaction holds here (HELD or RELEASING). */
  slotsHeldBy(txId: TxId): number;
  /** The federation clock. */
  nowMs(): number;
  /** A monotonic clock for rates (the federation clock may be corrected backwards). */
  monotonicMs(): number;
  audit(event: string, details: Record<string, unknown>, txId: TxId): void;
  /** Counts a refusal (metrics), after it is audited. */
  counted?(peer: string, rule: string): void;
}

export interface PeerUsage {
  openTransactions: number;
  heldSlots: number;
  inDoubtOverBound: number;
}

export interface InDoubtReport {
  /** Prepared transactions older than inDoubtReportAfterMs, by coordinator. */
  overBound: number;
  oldestAgeMs: number | null;
  byCoordinator: Record<string, number>;
}

export class PeerAdmission {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    readonly limits: AdmissionLimits,
    private readonly deps: AdmissionDeps,
  ) {}

  /**
   * Rules on the message itself, whatever this node's state: a refusal is 403 (every copy of
   * the message is as wrong), audited as ACCESS_REFUSED by the HTTP adapter. The sender is
   * already known to be `prepare.coordinatorId`.
   */
  authorize(prepare: PrepareMessage, part: PartPayload): void {
    if (prepare.kind === 'book' && part.bookingId !== prepare.txId) {
      throw new HttpProblem('forbidden', `a book transaction's booking id is its transaction id (${prepare.txId}), not ${part.bookingId}`);
    }
    if (prepare.kind === 'cancel' && coordinatorOf(part.bookingId) !== prepare.coordinatorId) {
      throw new HttpProblem('forbidden', `only ${coordinatorOf(part.bookingId)}, the coordinator of booking ${part.bookingId}, may cancel it; ${prepare.coordinatorId} may not`);
    }
  }

  /**
   * Rules that depend on this node's clock and load: the vote no to send instead of letting the
   * prepare reach the engine, or undefined to admit it. A duplicate of a transaction the
   * participant knows is always admitted, so that it gets the vote already given.
   */
  admit(prepare: PrepareMessage, part: PartPayload): VoteMessage | undefined {
    if (this.deps.knows(prepare.txId)) return undefined;
    const refusal = this.timeRefusal(prepare) ?? this.rateRefusal(prepare.coordinatorId) ?? this.loadRefusal(prepare, part);
    if (!refusal) return undefined;
    const reason: AbortReason = { code: 'refused', detail: refusal.detail, node: this.deps.selfId };
    this.deps.audit('TX_VOTED_NO', { coordinator: prepare.coordinatorId, reason: 'refused', rule: refusal.rule, detail: refusal.detail }, prepare.txId);
    this.deps.counted?.(prepare.coordinatorId, refusal.rule);
    return { type: 'vote', txId: prepare.txId, from: this.deps.selfId, vote: 'no', reason };
  }

  /**
   * An abort of a transaction this participant does not know leaves a durable tombstone, so it
   * costs a token of the sender's prepare rate: past it, 429 (the coordinator re-sends later;
   * nothing is held for an unknown transaction, so waiting is safe).
   */
  admitAbort(abort: DecisionMessage): void {
    if (this.deps.knows(abort.txId)) return;
    const refusal = this.rateRefusal(abort.from);
    if (!refusal) return;
    this.deps.audit('PEER_RATE_LIMITED', { peer: abort.from, message: 'abort', rule: refusal.rule, detail: refusal.detail }, abort.txId);
    this.deps.counted?.(abort.from, refusal.rule);
    throw new HttpProblem('too-many-requests', `${refusal.detail}; an abort of a transaction unknown here counts as a prepare`, {}, { 'Retry-After': '1' });
  }

  /** What each coordinator has open here now (for the operator). */
  usage(): Record<string, PeerUsage> {
    const nowMs = this.deps.nowMs();
    const usage: Record<string, PeerUsage> = {};
    for (const tx of this.deps.unfinished()) {
      const entry = (usage[tx.coordinatorId] ??= { openTransactions: 0, heldSlots: 0, inDoubtOverBound: 0 });
      entry.openTransactions += 1;
      entry.heldSlots += this.deps.slotsHeldBy(tx.txId);
      if (this.overBound(tx, nowMs)) entry.inDoubtOverBound += 1;
    }
    return usage;
  }

  inDoubtReport(): InDoubtReport {
    const nowMs = this.deps.nowMs();
    const over = this.deps.unfinished().filter((tx) => this.overBound(tx, nowMs));
    const byCoordinator: Record<string, number> = {};
    for (const tx of over) byCoordinator[tx.coordinatorId] = (byCoordinator[tx.coordinatorId] ?? 0) + 1;
    const oldestAgeMs = over.length === 0 ? null : Math.max(...over.map((tx) => nowMs - tx.createdAtMs));
    return { overBound: over.length, oldestAgeMs, byCoordinator };
  }

  /** True when this prepared transaction has been in doubt longer than the reporting bound. */
  overBound(tx: ParticipantTxView, nowMs: number): boolean {
    return tx.phase === 'prepared' && nowMs - tx.createdAtMs > this.limits.inDoubtReportAfterMs;
  }

  private timeRefusal(prepare: PrepareMessage): Refusal | undefined {
    const nowMs = this.deps.nowMs();
    const { clockSkewMaxMs, timestampAgeMaxMs, deadlineAheadMaxMs } = this.limits;
    if (prepare.timestampMs > nowMs + clockSkewMaxMs) {
      return { rule: 'PEER_CLOCK_SKEW_MAX_MS', detail: `timestampMs is ${prepare.timestampMs - nowMs} ms ahead of ${this.deps.selfId}'s federation time; at most ${clockSkewMaxMs} ms is accepted (PEER_CLOCK_SKEW_MAX_MS)` };
    }
    if (prepare.timestampMs < nowMs - timestampAgeMaxMs) {
      return { rule: 'PEER_TIMESTAMP_AGE_MAX_MS', detail: `timestampMs is ${nowMs - prepare.timestampMs} ms behind ${this.deps.selfId}'s federation time; at most ${timestampAgeMaxMs} ms is accepted (PEER_TIMESTAMP_AGE_MAX_MS)` };
    }
    if (prepare.deadlineMs > nowMs + deadlineAheadMaxMs) {
      return { rule: 'PEER_DEADLINE_AHEAD_MAX_MS', detail: `deadlineMs is ${prepare.deadlineMs - nowMs} ms ahead of ${this.deps.selfId}'s federation time; at most ${deadlineAheadMaxMs} ms is accepted (PEER_DEADLINE_AHEAD_MAX_MS)` };
    }
    if (prepare.deadlineMs < prepare.timestampMs) {
      return { rule: 'deadline-before-timestamp', detail: 'deadlineMs is earlier than timestampMs' };
    }
    return undefined;
  }

  /** A token bucket per peer: a burst of prepareBurstMax, refilled at preparesPerSecondMax. */
  private rateRefusal(peer: string): Refusal | undefined {
    const { preparesPerSecondMax, prepareBurstMax } = this.limits;
    const atMs = this.deps.monotonicMs();
    const bucket = this.buckets.get(peer) ?? { tokens: prepareBurstMax, atMs };
    bucket.tokens = Math.min(prepareBurstMax, bucket.tokens + ((atMs - bucket.atMs) * preparesPerSecondMax) / 1000);
    bucket.atMs = atMs;
    this.buckets.set(peer, bucket);
    if (bucket.tokens < 1) {
      return { rule: 'PEER_PREPARES_PER_SECOND_MAX', detail: `${peer} sends prepares faster than ${preparesPerSecondMax}/s (burst ${prepareBurstMax}; PEER_PREPARES_PER_SECOND_MAX, PEER_PREPARE_BURST_MAX)` };
    }
    bucket.tokens -= 1;
    return undefined;
  }

  private loadRefusal(prepare: PrepareMessage, part: PartPayload): Refusal | undefined {
    const peer = prepare.coordinatorId;
    const open = this.deps.unfinished().filter((tx) => tx.coordinatorId === peer);
    const { openTransactionsMax, heldSlotsMax } = this.limits;
    if (open.length >= openTransactionsMax) {
      return { rule: 'PEER_OPEN_TRANSACTIONS_MAX', detail: `${peer} already has ${open.length} unfinished transactions at ${this.deps.selfId}; the limit is ${openTransactionsMax} (PEER_OPEN_TRANSACTIONS_MAX)` };
    }
    const held = open.reduce((sum, tx) => sum + this.deps.slotsHeldBy(tx.txId), 0);
    const wanted = this.slotCount(part);
    if (held + wanted > heldSlotsMax) {
      return { rule: 'PEER_HELD_SLOTS_MAX', detail: `${peer} holds ${held} slots at ${this.deps.selfId} and asks for ${wanted} more; the limit is ${heldSlotsMax} (PEER_HELD_SLOTS_MAX)` };
    }
    return undefined;
  }

  /** Slots the part would hold, counted without expanding them (an item may be absurdly long; the core refuses it). */
  private slotCount(part: PartPayload): number {
    let count = 0;
    for (const item of part.items) {
      const slotMinutes = this.deps.telescopes.get(item.telescopeId)?.slotMinutes;
      const spanMs = Date.parse(item.end) - Date.parse(item.start);
      if (slotMinutes && spanMs > 0) count += Math.ceil(spanMs / (slotMinutes * MINUTE_MS));
    }
    return count;
  }

}

interface Refusal {
  rule: string;
  detail: string;
}

/** Transaction and booking ids start with their coordinator's id (docs/PROTOCOL.md §1). */
export function coordinatorOf(id: string): string {
  return id.split('.')[0]!;
}

/** The node's admission, from its configuration and parts. */
export function createAdmission(config: Config, directory: Directory, engine: ProtocolEngine, slots: SlotTable, nowMs: () => number, loggers: Loggers, metrics: NodeMetrics): PeerAdmission {
  const limits: AdmissionLimits = {
    clockSkewMaxMs: config.PEER_CLOCK_SKEW_MAX_MS,
    timestampAgeMaxMs: config.PEER_TIMESTAMP_AGE_MAX_MS,
    deadlineAheadMaxMs: config.PEER_DEADLINE_AHEAD_MAX_MS,
    openTransactionsMax: config.PEER_OPEN_TRANSACTIONS_MAX,
    heldSlotsMax: config.PEER_HELD_SLOTS_MAX,
    preparesPerSecondMax: config.PEER_PREPARES_PER_SECOND_MAX,
    prepareBurstMax: config.PEER_PREPARE_BURST_MAX,
    inDoubtReportAfterMs: config.IN_DOUBT_REPORT_AFTER_MS,
  };
  return new PeerAdmission(limits, {
    selfId: directory.selfId,
    telescopes: directory.ownTelescopes(),
    unfinished: () => engine.participant.unfinished(),
    knows: (txId) => engine.participant.view(txId) !== undefined,
    slotsHeldBy: (txId) => slots.slotsHeldBy(txId),
    nowMs,
    monotonicMs: () => performance.now(),
    audit: (event, details, txId) => loggers.audit.event(event, details, { txId }),
    counted: (peer, rule) => metrics.peerRefusal(peer, rule),
  });
}
