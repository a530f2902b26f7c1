// Reconciliation, the side that asks (docs/PROTOCOL.md, "Reconciliation"). At every start the
// node asks each peer for the committed transactions that involve it since the newest record
// of its store, and applies again any it has lost. A store restored from a backup or a new
// disk (marked by `npm run store`), or one found to have lost a record, serves no booking
// until every peer has answered and every lost outcome is applied again — or an operator,
// with a recorded reason, overrides the reconciliation that cannot finish.
import type { NodeId, ProtocolEngine } from '../../../coordinator-2pc/src/index.js';
import type { PeerClient } from '../federation/peer-client.js';
import type { AuditLogger } from '../logging/logger.js';
import type { TransactionLog } from '../storage/transaction-log.js';
import { OwnTransactions, type OwnTransactionDeps } from './own-transactions.js';
import { ReconciliationPage, type ReconciledTransaction } from './reconciliation-pages.js';
import { ReconciliationProgress, applyUntilSettled, reconcileAction, type ReportedTransaction } from './reconciliation-step.js';
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

export class Reconciler {
  /** Peer states and what they reported of this node's participant side: the shared step (reconciliation-step.ts). */
  private readonly progress: ReconciliationProgress;
  private sinceMs = 0;
  private overridden: { reason: string; atMs: number; pending: NodeId[] } | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly own: OwnTransactions;
  /** This node's own cancellations that could not be applied again: an operator decides. */
  private ownConflicts: Array<{ txId: string; detail: string }> = [];

  constructor(private readonly deps: ReconcilerDeps) {
    this.progress = new ReconciliationProgress(deps.selfId, deps.peers);
    this.own = new OwnTransactions({ ...deps.own, selfId: deps.selfId, transactionLog: deps.transactionLog, engine: deps.engine, audit: deps.audit, nowMs: deps.nowMs });
  }

  /** Why bookings are refused now, or null when they are served. */
  refusalReason(): string | null {
    return this.progress.refusalReason(this.deps.identity.reconciliation);
  }

  status() {
    this.progress.followMembership();
    return {
      observatory: this.deps.selfId,
      storeId: this.deps.identity.storeId,
      incarnation: this.deps.identity.incarnation,
      completeSince: new Date(this.deps.identity.completeSinceMs).toISOString(),
      required: this.deps.identity.reconciliation,
      sinceMs: this.sinceMs,
      servingBookings: this.refusalReason() === null,
      overridden: this.overridden,
      peers: Object.fromEntries(this.progress.peers),
      ownConflicts: this.ownConflicts,
    };
  }

  async start(): Promise<void> {
    const required = this.deps.identity.reconciliation;
    this.sinceMs = required ? required.sinceMs : Math.max(0, (await this.deps.transactionLog.newestRecordMs()) - this.deps.marginMs);
    if (required) this.deps.audit.event('STORE_RECONCILIATION_STARTED', { reason: required.reason, sinceMs: this.sinceMs, incarnation: this.deps.identity.incarnation, peers: [...this.progress.peers.keys()] });
    void this.round();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** The operator ends a reconciliation that cannot finish; peers not yet heard from are still asked. */
  async override(reason: string): Promise<ReturnType<Reconciler['status']>> {
    const pending = this.progress.openPeers();
    this.overridden = { reason, atMs: this.deps.nowMs(), pending };
    const required = this.deps.identity.reconciliation;
    await this.deps.identityStore.reconciled(this.deps.identity);
    this.deps.audit.event('STORE_RECONCILIATION_OVERRIDDEN', { reason, pending, was: required, conflicts: this.conflicts() });
    return this.status();
  }

  private conflicts(): Array<{ peer: NodeId; txId: string; detail: string }> {
    return [...this.progress.conflicts(), ...this.ownConflicts.map((c) => ({ peer: this.deps.selfId, ...c }))];
  }

  private async round(): Promise<void> {
    for (const peer of this.progress.peersToAsk()) {
      if (this.stopped) return;
      await this.askPeer(peer).catch((error: unknown) => this.progress.unreachable(peer, error instanceof Error ? error.message : String(error)));
    }
    if (this.stopped) return;
    await applyUntilSettled(this.progress, (peer, transaction) => this.applyOne(peer, transaction), () => this.holdsInDoubt(), () => !this.stopped);
    if (this.stopped) return;
    if (this.progress.complete()) return this.finish();
    if (this.progress.waitsForOperator()) return; // an operator decides
    this.timer = setTimeout(() => void this.round(), this.deps.retryMs);
  }

  /**
   * One peer's whole answer: what it coordinated involving this node (applied by the shared step
   * once every peer's is in hand), and what this node coordinated that it took part in (a
   * restored coordinator's own bookings, own-transactions.ts).
   */
  private async askPeer(peer: NodeId): Promise<void> {
    const state = this.progress.peers.get(peer)!;
    const transactions: ReconciledTransaction[] = [];
    const undecided = await this.pages(peer, 'here', this.sinceMs, async (transaction) => { transactions.push(transaction); });
    await this.pages(peer, 'by-you', Math.max(0, this.sinceMs - this.deps.marginMs), async (transaction) => {
      state.checked += 1;
      if (await this.own.known(transaction)) return;
      await this.discontinuityFound(peer, transaction.txId);
      const outcome = await this.own.report(peer, transaction);
      if ('conflict' in outcome) state.conflicts.push({ txId: transaction.txId, detail: outcome.conflict });
      else if (outcome.applied) state.applied += 1;
    });
    this.progress.received(peer, transactions, undecided);
  }

  /** Every page of one peer's answer, each transaction handed to `apply` in order; the transactions the peer has not decided yet. */
  private async pages(peer: NodeId, coordinated: 'here' | 'by-you', sinceMs: number, apply: (transaction: ReconciledTransaction) => Promise<void>): Promise<string[]> {
    const undecided = new Set<string>();
    let cursor: { createdAtMs: number; txId: string } | null | undefined;
    do {
      const query = `node=${encodeURIComponent(this.deps.selfId)}&sinceMs=${sinceMs}&coordinated=${coordinated}${cursor ? `&afterMs=${cursor.createdAtMs}&afterTxId=${encodeURIComponent(cursor.txId)}` : ''}`;
      const answer = await this.deps.peerClient.signedGet(peer, `/reconciliation?${query}`);
      if (answer.status !== 200) throw new Error(`answered ${answer.status}: ${(answer.data as { detail?: string } | null)?.detail ?? ''}`);
      const page = ReconciliationPage.parse(answer.data);
      for (const transaction of page.transactions) await apply(transaction);
      for (const txId of page.undecided ?? []) undecided.add(txId);
      cursor = page.next;
    } while (cursor);
    return [...undecided];
  }

  /** The shared step decides (reconciliation-step.ts); here only the store read, the engine and the audit. */
  private async applyOne(peer: NodeId, transaction: ReportedTransaction): Promise<boolean> {
    const local = await this.deps.transactionLog.recordsOf(transaction.txId);
    const action = reconcileAction(local.participantState, transaction, peer, this.deps.nowMs());
    if (local.participantState === undefined) await this.discontinuityFound(peer, transaction.txId);
    if (action.action === 'reapply') await this.deps.engine.reapply(action.record);
    return this.progress.checked(peer, transaction.txId, action, this.deps.engine.participant.view(transaction.txId)?.phase);
  }

  /** A hold of this node still in doubt may free a slot a reported transaction needs. */
  private holdsInDoubt(): boolean {
    return this.deps.engine.participant.unfinished().some((view) => view.phase === 'prepared');
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
    if (!required || !this.progress.complete()) return;
    this.ownConflicts.push(...(await this.own.settleCancellations()));
    if (this.ownConflicts.length > 0) return; // an operator decides (override)
    await this.deps.identityStore.reconciled(this.deps.identity);
    this.deps.audit.event('STORE_RECONCILED', { reason: required.reason, sinceMs: this.sinceMs, applied: this.progress.applied(), peers: [...this.progress.peers.keys()] });
  }
}
