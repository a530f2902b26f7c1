// Reconciliation, the side that answers (docs/PROTOCOL.md, "Reconciliation"): the committed
// transactions this observatory coordinated that involve a peer, with the peer's own part
// (its slots), one page at a time. The peer applies them again after a restore or a new disk.
import { z } from 'zod';
import { NodeId, TxId, TxKind } from '../../../coordinator-2pc/src/index.js';
import type { BookingRecord, BookingRepository } from '../storage/booking-repository.js';
import { PartPayload } from '../domain/slot-table.js';
import type { TransactionLog } from '../storage/transaction-log.js';

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
  payload: z.object({
    bookingId: z.string(),
    scientistId: z.string(),
    items: z.array(z.object({ telescopeId: z.string(), start: z.string(), end: z.string() })),
    /** Transactions the asker coordinated (`coordinated=by-you`), a booking: every item of it and the credential that proves them. */
    bookingItems: PartPayload.shape.bookingItems,
    credential: PartPayload.shape.credential,
  }).nullable(),
});
export type ReconciledTransaction = z.infer<typeof ReconciledTransaction>;

export const ReconciliationPage = z.object({
  observatory: NodeId,
  node: NodeId,
  sinceMs: z.number().int().nonnegative(),
  transactions: z.array(ReconciledTransaction),
  /** Where the next page starts; null on the last page. */
  next: ReconciliationCursor.nullable(),
});
export type ReconciliationPage = z.infer<typeof ReconciliationPage>;

export async function reconciliationPage(
  deps: { selfId: string; transactionLog: TransactionLog; bookings: BookingRepository; pageMax: number },
  node: string,
  sinceMs: number,
  after: z.infer<typeof ReconciliationCursor> | undefined,
): Promise<ReconciliationPage> {
  const records = await deps.transactionLog.committedInvolving(node, sinceMs, after, deps.pageMax);
  const transactions: ReconciledTransaction[] = [];
  for (const record of records) {
    const booking = record.kind === 'book' ? await deps.bookings.find(record.txId) : await deps.bookings.findByCancelTx(record.txId);
    transactions.push({
      txId: record.txId,
      kind: record.kind,
      coordinatorId: deps.selfId,
      participants: record.participants,
      timestampMs: record.timestampMs,
      createdAtMs: record.createdAtMs,
      outcome: 'committed',
      payload: booking ? partOf(booking, node) : null,
    });
  }
  const last = records[records.length - 1];
  const next = records.length === deps.pageMax && last ? { createdAtMs: last.createdAtMs, txId: last.txId } : null;
  return { observatory: deps.selfId, node, sinceMs, transactions, next };
}

/**
 * The committed transactions the asking peer coordinated and this node took part in, from this
 * node's participant records: what a coordinator restored from a backup has lost of its own.
 * A booking's prepare carried every item and the scientist's credential; both are passed on for
 * the asker to check, never believed here.
 */
export async function coordinatedByPage(
  deps: { selfId: string; transactionLog: TransactionLog; pageMax: number },
  node: string,
  sinceMs: number,
  after: z.infer<typeof ReconciliationCursor> | undefined,
): Promise<ReconciliationPage> {
  const records = await deps.transactionLog.committedCoordinatedBy(node, sinceMs, after, deps.pageMax);
  const transactions: ReconciledTransaction[] = records.map((record) => {
    const part = PartPayload.safeParse(record.payload);
    const payload = part.success
      ? {
          bookingId: part.data.bookingId,
          scientistId: part.data.scientistId,
          items: (part.data.bookingItems ?? []).filter((i) => i.observatoryId === node).map(({ telescopeId, start, end }) => ({ telescopeId, start, end })),
          ...(part.data.bookingItems ? { bookingItems: part.data.bookingItems } : {}),
          ...(part.data.credential ? { credential: part.data.credential } : {}),
        }
      : null;
    return { txId: record.txId, kind: record.kind, coordinatorId: node, participants: record.participants, timestampMs: record.timestampMs, createdAtMs: record.createdAtMs, outcome: 'committed', payload };
  });
  const last = records[records.length - 1];
  const next = records.length === deps.pageMax && last ? { createdAtMs: last.createdAtMs, txId: last.txId } : null;
  return { observatory: deps.selfId, node, sinceMs, transactions, next };
}

function partOf(booking: BookingRecord, node: string): ReconciledTransaction['payload'] {
  const items = booking.items.filter((i) => i.observatoryId === node).map(({ telescopeId, start, end }) => ({ telescopeId, start, end }));
  return { bookingId: booking.id, scientistId: booking.scientistId, items };
}
