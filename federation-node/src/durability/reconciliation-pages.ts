// Reconciliation, the side that answers (docs/PROTOCOL.md, "Reconciliation"): the committed
// transactions this observatory coordinated that involve a peer, with the peer's own part
// (its slots), one page at a time. The peer applies them again after a restore or a new disk.
import { z } from 'zod';
import { NodeId, TxId, TxKind } from '../../../coordinator-2pc/src/index.js';
import type { BookingRecord, BookingRepository } from '../storage/booking-repository.js';
import type { TransactionLog } from '../storage/transaction-log.js';
import { reportedTransactionOf, undecidedInvolving } from './reconciliation-step.js';

export const ReconciliationCursor = z.object({ createdAtMs: z.number().int().nonnegative(), txId: z.string().max(100) });

export const ReconciledTransaction = z.object({
  txId: TxId,
  kind: TxKind,
  coordinatorId: NodeId,
  participants: z.array(NodeId),
  timestampMs: z.number().int().nonnegative(),
  createdAtMs: z.number().int().nonnegative(),
  outcome: z.literal('committed'),
  /** The asking observatory's part (booking id, scientist, its items); null when this node no longer has the booking. */
  payload: z.object({ bookingId: z.string(), scientistId: z.string(), items: z.array(z.object({ telescopeId: z.string(), start: z.string(), end: z.string() })) }).nullable(),
});
export type ReconciledTransaction = z.infer<typeof ReconciledTransaction>;

export const ReconciliationPage = z.object({
  observatory: NodeId,
  node: NodeId,
  sinceMs: z.number().int().nonnegative(),
  transactions: z.array(ReconciledTransaction),
  /** Where the next page starts; null on the last page. */
  next: ReconciliationCursor.nullable(),
  /** Transactions coordinated here that involve the asking node and are not decided yet: ask again later. */
  undecided: z.array(TxId).max(10_000).optional(),
});
export type ReconciliationPage = z.infer<typeof ReconciliationPage>;

export async function reconciliationPage(
  deps: { selfId: string; transactionLog: TransactionLog; bookings: BookingRepository; pageMax: number; undecided?: () => ReadonlyArray<{ txId: string; phase: string; participants: readonly string[] }> },
  node: string,
  sinceMs: number,
  after: z.infer<typeof ReconciliationCursor> | undefined,
): Promise<ReconciliationPage> {
  const records = await deps.transactionLog.committedInvolving(node, sinceMs, after, deps.pageMax);
  const transactions: ReconciledTransaction[] = [];
  for (const record of records) {
    const booking = record.kind === 'book' ? await deps.bookings.find(record.txId) : await deps.bookings.findByCancelTx(record.txId);
    transactions.push(reportedTransactionOf(deps.selfId, record, booking ? partOf(booking, node) : null) as ReconciledTransaction);
  }
  const last = records[records.length - 1];
  const next = records.length === deps.pageMax && last ? { createdAtMs: last.createdAtMs, txId: last.txId } : null;
  return { observatory: deps.selfId, node, sinceMs, transactions, next, undecided: next ? [] : await undecidedNow(deps, node) };
}

/** On the last page: what involves `node` and is not decided durably here yet (a commit decided in memory counts once its record is durable). */
async function undecidedNow(deps: { transactionLog: TransactionLog; undecided?: () => ReadonlyArray<{ txId: string; phase: string; participants: readonly string[] }> }, node: string): Promise<string[]> {
  const views = deps.undecided?.() ?? [];
  const durable = new Set<string>();
  for (const view of views) {
    if (view.phase === 'committing' && view.participants.includes(node) && (await deps.transactionLog.recordsOf(view.txId)).coordinatorDecision === 'committed') durable.add(view.txId);
  }
  return undecidedInvolving(views, node, durable);
}

function partOf(booking: BookingRecord, node: string): ReconciledTransaction['payload'] {
  const items = booking.items.filter((i) => i.observatoryId === node).map(({ telescopeId, start, end }) => ({ telescopeId, start, end }));
  return { bookingId: booking.id, scientistId: booking.scientistId, items };
}
