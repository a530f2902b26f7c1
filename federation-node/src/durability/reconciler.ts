// Reconciliation, the side that asks (docs/PROTOCOL.md, "Reconciliation"). At every start the
// node asks each peer for the committed transactions that involve it since the newest record
// of its store, and applies again any it has lost. A store restored from a backup or a new
// disk (marked by `npm run store`), or one found to have lost a record, serves no booking
// until every peer has answered and every lost outcome is applied again — or an operator,
// with a recorded reason, overrides the reconciliation that cannot finish.
import type { NodeId, ParticipantRecord, ProtocolEngine } from '../../../coordinator-2pc/src/index.js';
import type { PeerClient } from '../federation/peer-client.js';
import type { AuditLogger } from '../logging/logger.js';
import type { TransactionLog } from '../storage/transaction-log.js';
import { OwnTransactions, type OwnTransactionDeps } from './own-transactions.js';
import { ReconciliationPage, type ReconciledTransaction } from './reconciliation-pages.js';
import type { StoreIdentity, StoreIdentityStore } from './store-identity.js';

export interface ReconcilerDeps {
  selfId: NodeId;
  /** The other members now: read at every round, so that a member that joins later is asked too. */
  peers: () => NodeId[];
  identity: StoreIdentity;
  identityStore: StoreIdentityStore;
  transactionLog: TransactionLog;
  engine: ProtocolEngine;
  peerClient: PeerClient;
  audit: AuditLogger;
  warn: (line: string) => void;
  nowMs: () => number;
  /** Pause before asking again a peer that did not answer. */
  retryMs: number;
  /** How far before its newest record a continuous store asks (clock differences, in-flight decisions). */
  marginMs: number;
  /** What a restored coordinator needs to apply its own transactions again (own-transactions.ts). */
  own: Pick<OwnTransactionDeps, 'bookings' | 'unproven'>;
}

type PeerState = { state: 'pending' | 'done' | 'unreachable' | 'conflict'; detail: string; applied: number; checked: number; conflicts: Array<{ txId: string; detail: string }> };

export class Reconciler {
  private readonly peerStates = new Map<NodeId, PeerState>();
  private sinceMs = 0;
  private overridden: { reason: string; atMs: number; pending: NodeId[] } | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly own: OwnTransactions;
  /** This node's own cancellations that could not be applied again: an operator decides. */
  private ownConflicts: Array<{ txId: string; detail: string }> = [];

  constructor(private readonly deps: ReconcilerDeps) {
    this.followMembership();
    this.own = new OwnTransactions({ ...deps.own, selfId: deps.selfId, transactionLog: deps.transactionLog, engine: deps.engine, audit: deps.audit, nowMs: deps.nowMs });
  }

  /** Members that joined are asked too; members that left are no longer waited for. */
  private followMembership(): void {
    const members = new Set(this.deps.peers().filter((peer) => peer !== this.deps.selfId));
    for (const peer of members) if (!this.peerStates.has(peer)) this.peerStates.set(peer, { state: 'pending', detail: 'not asked yet', applied: 0, checked: 0, conflicts: [] });
    for (const peer of [...this.peerStates.keys()]) if (!members.has(peer)) this.peerStates.delete(peer);
  }

  /** Why bookings are refused now, or null when they are served. */
  refusalReason(): string | null {
    const required = this.deps.identity.reconciliation;
    if (!required) return null;
    const open = this.openPeers();
    return `${this.deps.selfId} is reconciling its store (${required.reason}) and serves no booking until every peer has told it the outcomes it lost; waiting for ${open.join(', ') || 'nobody'}`;
  }

  status() {
    this.followMembership();
    return {
      observatory: this.deps.selfId,
      storeId: this.deps.identity.storeId,
      incarnation: this.deps.identity.incarnation,
      completeSince: new Date(this.deps.identity.completeSinceMs).toISOString(),
      required: this.deps.identity.reconciliation,
      sinceMs: this.sinceMs,
      servingBookings: this.refusalReason() === null,
      overridden: this.overridden,
      peers: Object.fromEntries(this.peerStates),
      ownConflicts: this.ownConflicts,
    };
  }

  async start(): Promise<void> {
    const required = this.deps.identity.reconciliation;
    this.sinceMs = required ? required.sinceMs : Math.max(0, (await this.deps.transactionLog.newestRecordMs()) - this.deps.marginMs);
    if (required) this.deps.audit.event('STORE_RECONCILIATION_STARTED', { reason: required.reason, sinceMs: this.sinceMs, incarnation: this.deps.identity.incarnation, peers: [...this.peerStates.keys()] });
    void this.round();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** The operator ends a reconciliation that cannot finish; peers not yet heard from are still asked. */
  async override(reason: string): Promise<ReturnType<Reconciler['status']>> {
    const pending = this.openPeers();
    this.overridden = { reason, atMs: this.deps.nowMs(), pending };
    const required = this.deps.identity.reconciliation;
    await this.deps.identityStore.reconciled(this.deps.identity);
    this.deps.audit.event('STORE_RECONCILIATION_OVERRIDDEN', { reason, pending, was: required, conflicts: this.conflicts() });
    return this.status();
  }

  private openPeers(): NodeId[] {
    this.followMembership();
    return [...this.peerStates].filter(([, s]) => s.state !== 'done').map(([peer]) => peer);
  }

  private conflicts(): Array<{ peer: NodeId; txId: string; detail: string }> {
    return [...[...this.peerStates].flatMap(([peer, s]) => s.conflicts.map((c) => ({ peer, ...c }))), ...this.ownConflicts.map((c) => ({ peer: this.deps.selfId, ...c }))];
  }

  private async round(): Promise<void> {
    for (const peer of this.openPeers()) {
      if (this.stopped) return;
      if (this.peerStates.get(peer)!.state === 'conflict') continue; // needs an operator
      await this.reconcileWith(peer).catch((error: unknown) => {
        const state = this.peerStates.get(peer)!;
        state.state = 'unreachable';
        state.detail = error instanceof Error ? error.message : String(error);
      });
    }
    if (this.stopped) return;
    const open = this.openPeers();
    if (open.length === 0) return this.finish();
    if (open.every((peer) => this.peerStates.get(peer)!.state === 'conflict')) return; // an operator decides
    this.timer = setTimeout(() => void this.round(), this.deps.retryMs);
  }

  private async reconcileWith(peer: NodeId): Promise<void> {
    const state = this.peerStates.get(peer)!;
    await this.pages(peer, 'here', this.sinceMs, (transaction) => this.applyOne(peer, state, transaction));
    // What this node coordinated and the peer took part in: a restored coordinator's own bookings.
    await this.pages(peer, 'by-you', Math.max(0, this.sinceMs - this.deps.marginMs), async (transaction) => {
      state.checked += 1;
      if (await this.own.known(transaction)) return;
      await this.discontinuityFound(peer, transaction.txId);
      const outcome = await this.own.report(peer, transaction);
      if ('conflict' in outcome) state.conflicts.push({ txId: transaction.txId, detail: outcome.conflict });
      else if (outcome.applied) state.applied += 1;
    });
    state.state = state.conflicts.length > 0 ? 'conflict' : 'done';
    state.detail = state.conflicts.length > 0 ? `${state.conflicts.length} outcome(s) could not be applied again: an operator must decide` : 'reconciled';
  }

  /** Every page of one peer's answer, each transaction handed to `apply` in order. */
  private async pages(peer: NodeId, coordinated: 'here' | 'by-you', sinceMs: number, apply: (transaction: ReconciledTransaction) => Promise<void>): Promise<void> {
    let cursor: { createdAtMs: number; txId: string } | null | undefined;
    do {
      const query = `node=${encodeURIComponent(this.deps.selfId)}&sinceMs=${sinceMs}&coordinated=${coordinated}${cursor ? `&afterMs=${cursor.createdAtMs}&afterTxId=${encodeURIComponent(cursor.txId)}` : ''}`;
      const answer = await this.deps.peerClient.signedGet(peer, `/reconciliation?${query}`);
      if (answer.status !== 200) throw new Error(`answered ${answer.status}: ${(answer.data as { detail?: string } | null)?.detail ?? ''}`);
      const page = ReconciliationPage.parse(answer.data);
      for (const transaction of page.transactions) await apply(transaction);
      cursor = page.next;
    } while (cursor);
  }

  private async applyOne(peer: NodeId, state: PeerState, transaction: ReconciledTransaction): Promise<void> {
    state.checked += 1;
    const local = await this.deps.transactionLog.recordsOf(transaction.txId);
    if (local.participantState === 'committed' || local.participantState === 'aborted') return;
    if (!local.participantState) await this.discontinuityFound(peer, transaction.txId);
    if (!transaction.payload) {
      state.conflicts.push({ txId: transaction.txId, detail: `${peer} no longer has the booking: the slots are unknown` });
      return;
    }
    const record: ParticipantRecord = {
      txId: transaction.txId, kind: transaction.kind, coordinatorId: transaction.coordinatorId, participants: transaction.participants,
      timestampMs: transaction.timestampMs, deadlineMs: transaction.timestampMs, payload: transaction.payload, state: 'committed',
      createdAtMs: this.deps.nowMs(), updatedAtMs: this.deps.nowMs(),
    };
    await this.deps.engine.reapply(record);
    if (this.deps.engine.participant.view(transaction.txId)?.phase === 'committed') state.applied += 1;
    else state.conflicts.push({ txId: transaction.txId, detail: 'its slots could not be taken again (taken since, or no longer valid): see TX_REAPPLIED in the audit trail' });
  }

  /** A peer knows of a committed transaction this store has no record of: the store lost part of its past. */
  private async discontinuityFound(peer: NodeId, txId: string): Promise<void> {
    if (this.deps.identity.reconciliation) return;
    const reason = `${peer} holds committed ${txId}, which this store has no record of (restored or replaced without the procedure)`;
    this.deps.warn(reason);
    this.deps.audit.event('STORE_DISCONTINUITY_DETECTED', { peer, txId, sinceMs: this.sinceMs });
    await this.deps.identityStore.requireReconciliation(this.deps.identity, reason, this.sinceMs, this.deps.nowMs());
  }

  private async finish(): Promise<void> {
    const required = this.deps.identity.reconciliation;
    if (!required || this.openPeers().length > 0) return;
    this.ownConflicts.push(...(await this.own.settleCancellations()));
    if (this.ownConflicts.length > 0) return; // an operator decides (override)
    await this.deps.identityStore.reconciled(this.deps.identity);
    const applied = [...this.peerStates.values()].reduce((sum, s) => sum + s.applied, 0);
    this.deps.audit.event('STORE_RECONCILED', { reason: required.reason, sinceMs: this.sinceMs, applied, peers: [...this.peerStates.keys()] });
  }
}
