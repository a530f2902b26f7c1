// Reconciliation as one step (docs/PROTOCOL.md §16), shared by the server and the deterministic
// simulator the way start-up recovery is (recovery.ts): which peers must still answer, what a
// reconciled transaction a peer reports does to this store (nothing, apply it again, or a
// conflict for an operator), and when the node may serve bookings again. No I/O here: the
// server's Reconciler asks over signed HTTP on a timer; the simulator over its network.
import type { CoordinatorRecord, NodeId, ParticipantRecord, TxKind } from '../../../coordinator-2pc/src/index.js';

/** What a peer reports of one committed transaction it coordinated that involves this node. */
export interface ReportedTransaction {
  txId: string;
  kind: TxKind;
  coordinatorId: NodeId;
  participants: NodeId[];
  timestampMs: number;
  /** This node's part (booking id, scientist, items); null when the peer no longer has the booking. */
  payload: unknown;
}

export type ReconcileAction =
  /** The store has this outcome already. */
  | { action: 'keep' }
  /** Apply the outcome again (participant event `reapply`); `recordLost`: the store had no record at all. */
  | { action: 'reapply'; record: ParticipantRecord; recordLost: boolean }
  | { action: 'conflict'; detail: string };

/** What to do with one transaction a peer reports, given this store's participant record of it. */
export function reconcileAction(local: ParticipantRecord['state'] | undefined, reported: ReportedTransaction, peer: NodeId, nowMs: number): ReconcileAction {
  if (local === 'committed' || local === 'aborted') return { action: 'keep' };
  if (reported.payload === null || reported.payload === undefined) return { action: 'conflict', detail: `${peer} no longer has the booking: the slots are unknown` };
  const record: ParticipantRecord = {
    txId: reported.txId, kind: reported.kind, coordinatorId: reported.coordinatorId, participants: reported.participants,
    timestampMs: reported.timestampMs, deadlineMs: reported.timestampMs, payload: reported.payload, state: 'committed',
    createdAtMs: nowMs, updatedAtMs: nowMs,
  };
  return { action: 'reapply', record, recordLost: local === undefined };
}

/** The answering side: a committed coordinator record and the asking node's part of its booking. */
export function reportedTransactionOf(selfId: NodeId, record: CoordinatorRecord, part: unknown): ReportedTransaction & { createdAtMs: number; outcome: 'committed' } {
  return { txId: record.txId, kind: record.kind, coordinatorId: selfId, participants: record.participants, timestampMs: record.timestampMs, createdAtMs: record.createdAtMs, outcome: 'committed', payload: part ?? null };
}

/**
 * Transactions coordinated here, not decided yet, that involve `node`: a reconciling node may
 * have lost its yes vote on one of them (and with it its hold), so it is not reconciled with
 * this peer until they are decided (and, if committed, reported and applied again).
 */
export function undecidedInvolving(views: ReadonlyArray<{ txId: string; phase: string; participants: readonly NodeId[] }>, node: NodeId, reported: ReadonlySet<string>): string[] {
  // A commit decided in memory whose record is not durable yet is not in the report either (seed 536).
  const open = (v: { txId: string; phase: string }): boolean => v.phase === 'collecting' || v.phase === 'proposing' || (v.phase === 'committing' && !reported.has(v.txId));
  return views.filter((v) => open(v) && v.participants.includes(node)).map((v) => v.txId);
}

/** Whether a coordinator record is one a peer reconciling since `sinceMs` must be told of. */
export function reportedTo(record: CoordinatorRecord, node: NodeId, sinceMs: number): boolean {
  return record.decision === 'committed' && record.participants.includes(node) && record.createdAtMs >= sinceMs;
}

export interface PeerReconciliation {
  /** `answered`: its transactions are in hand, but not all applied yet (one may wait for another peer's). */
  state: 'pending' | 'answered' | 'done' | 'unreachable' | 'conflict';
  detail: string;
  applied: number;
  checked: number;
  conflicts: Array<{ txId: string; detail: string }>;
}

const REAPPLY_FAILED = 'its slots could not be taken again (taken since, or no longer valid): see TX_REAPPLIED in the audit trail';

/**
 * The progress of one reconciliation. Every peer's report is gathered first, then applied in
 * the order the transactions began (timestamp, then id), again and again while anything new
 * applies: a booking may need a slot that another peer's cancellation frees (found by the
 * simulator, seed 6: one peer's booking of a slot was applied before another peer's
 * cancellation of the booking the backup had there). What still cannot apply once every peer
 * has answered, and no in-doubt hold of this node may yet free a slot, is a conflict.
 */
export class ReconciliationProgress {
  readonly peers = new Map<NodeId, PeerReconciliation>();
  private readonly toApply = new Map<string, { peer: NodeId; transaction: ReportedTransaction }>();

  constructor(private readonly selfId: NodeId, private readonly members: () => NodeId[]) {
    this.followMembership();
  }

  /** Members that joined are asked too; members that left are no longer waited for. */
  followMembership(): void {
    const members = new Set(this.members().filter((peer) => peer !== this.selfId));
    for (const peer of members) if (!this.peers.has(peer)) this.peers.set(peer, { state: 'pending', detail: 'not asked yet', applied: 0, checked: 0, conflicts: [] });
    for (const peer of [...this.peers.keys()]) if (!members.has(peer)) this.peers.delete(peer);
  }

  /** Peers not done yet (a peer in conflict stays open until an operator overrides). */
  openPeers(): NodeId[] {
    this.followMembership();
    return [...this.peers].filter(([, s]) => s.state !== 'done').map(([peer]) => peer);
  }

  /** Peers to ask in the next round: not heard from yet, or unreachable last time. */
  peersToAsk(): NodeId[] {
    return this.openPeers().filter((peer) => ['pending', 'unreachable'].includes(this.peers.get(peer)!.state));
  }

  /** Every open peer needs an operator: asking again would change nothing. */
  waitsForOperator(): boolean {
    const open = this.openPeers();
    return open.length > 0 && open.every((peer) => this.peers.get(peer)!.state === 'conflict');
  }

  complete(): boolean {
    return this.openPeers().length === 0;
  }

  unreachable(peer: NodeId, detail: string): void {
    const state = this.peers.get(peer);
    if (!state) return;
    state.state = 'unreachable';
    state.detail = detail;
  }

  /**
   * A peer told everything it has for this node (its last page), and which transactions
   * involving this node it has not decided yet: while there are any, it is asked again.
   */
  received(peer: NodeId, transactions: readonly ReportedTransaction[], undecided: readonly string[] = []): void {
    const state = this.peers.get(peer);
    if (!state) return;
    for (const transaction of transactions) if (!this.toApply.has(transaction.txId)) this.toApply.set(transaction.txId, { peer, transaction });
    state.state = undecided.length > 0 ? 'pending' : 'answered';
    state.detail = undecided.length > 0 ? `told ${transactions.length} transaction(s); ${undecided.length} involving this node still undecided there (${undecided.slice(0, 5).join(', ')}): asked again` : `told ${transactions.length} transaction(s)`;
  }

  /**
   * What is still to apply, in the order the transactions began — nothing until every peer has
   * answered: applied early, a later booking of a slot would take it before another peer's
   * earlier booking and cancellation of it were known (seed 1680).
   */
  inOrder(): Array<{ peer: NodeId; transaction: ReportedTransaction }> {
    if (this.openPeers().some((peer) => this.peers.get(peer)!.state !== 'answered')) return [];
    // A cancellation comes after the booking it gives back, whatever their coordinators' clocks say (seed 517488).
    const begun = new Map([...this.toApply.values()].map(({ transaction }) => [transaction.txId, transaction.timestampMs]));
    const at = (t: ReportedTransaction): number => {
      const booking = t.kind === 'cancel' ? (t.payload as { bookingId?: string } | null)?.bookingId : undefined;
      return Math.max(t.timestampMs, booking !== undefined && begun.has(booking) ? begun.get(booking)! + 0.5 : -Infinity);
    };
    return [...this.toApply.values()].sort((a, b) => at(a.transaction) - at(b.transaction) || a.transaction.txId.localeCompare(b.transaction.txId));
  }

  /**
   * One reported transaction tried; after a reapply, `phaseAfter` is the participant's phase of
   * it. True when it is settled (kept, applied, or a conflict no retry can change).
   */
  checked(peer: NodeId, txId: string, action: ReconcileAction, phaseAfter?: string): boolean {
    const state = this.peers.get(peer);
    if (!state) return false;
    if (action.action === 'reapply' && phaseAfter !== 'committed') return false; // tried again after the others
    this.toApply.delete(txId);
    state.checked += 1;
    if (action.action === 'conflict') state.conflicts.push({ txId, detail: action.detail });
    if (action.action === 'reapply') state.applied += 1;
    return true;
  }

  /**
   * After a pass in which nothing more applied: once every peer has answered and no in-doubt
   * hold of this node may still free a slot (`holdsInDoubt`), what is left is a conflict, and
   * each peer is done or in conflict.
   */
  settle(holdsInDoubt: () => boolean): void {
    const open = this.openPeers();
    if (open.some((peer) => this.peers.get(peer)!.state !== 'answered') || (this.toApply.size > 0 && holdsInDoubt())) return;
    // A booking whose cancellation is reported committed too ends with its slots free either way:
    // its slot taken since by a later booking is no conflict (seed 850259).
    const cancelled = new Set([...this.toApply.values()].filter(({ transaction }) => transaction.kind === 'cancel').map(({ transaction }) => (transaction.payload as { bookingId?: string } | null)?.bookingId));
    for (const { peer, transaction } of this.toApply.values()) {
      const state = this.peers.get(peer);
      if (!state) continue;
      state.checked += 1;
      // Nothing more applies, so the booking a cancellation gives back is not booked here (this
      // store lost it, e.g. a booking it coordinated itself): the cancellation's outcome holds already.
      const bookingId = (transaction.payload as { bookingId?: string } | null)?.bookingId ?? transaction.txId;
      if (transaction.kind !== 'cancel' && !cancelled.has(bookingId)) state.conflicts.push({ txId: transaction.txId, detail: REAPPLY_FAILED });
    }
    this.toApply.clear();
    for (const peer of open) {
      const state = this.peers.get(peer)!;
      state.state = state.conflicts.length > 0 ? 'conflict' : 'done';
      state.detail = state.conflicts.length > 0 ? `${state.conflicts.length} outcome(s) could not be applied again: an operator must decide` : 'reconciled';
    }
  }

  conflicts(): Array<{ peer: NodeId; txId: string; detail: string }> {
    return [...this.peers].flatMap(([peer, s]) => s.conflicts.map((c) => ({ peer, ...c })));
  }

  applied(): number {
    return [...this.peers.values()].reduce((sum, s) => sum + s.applied, 0);
  }

  /** Why bookings (public and protocol prepares) are refused now, or null when they are served. */
  refusalReason(required: { reason: string } | null): string | null {
    if (!required) return null;
    return `${this.selfId} is reconciling its store (${required.reason}) and serves no booking until every peer has told it the outcomes it lost; waiting for ${this.openPeers().join(', ') || 'nobody'}`;
  }
}

/**
 * One pass after another over what is still to apply, until a pass applies nothing more; then
 * settle. `applyOne` reads the store, applies through the engine and reports to `progress`.
 */
export async function applyUntilSettled(
  progress: ReconciliationProgress,
  applyOne: (peer: NodeId, transaction: ReportedTransaction) => Promise<boolean>,
  holdsInDoubt: () => boolean,
  alive: () => boolean = () => true,
): Promise<void> {
  for (let moved = true; moved && alive();) {
    moved = false;
    for (const { peer, transaction } of progress.inOrder()) {
      if (!alive()) return;
      if (await applyOne(peer, transaction)) moved = true;
    }
  }
  if (alive()) progress.settle(holdsInDoubt);
}
