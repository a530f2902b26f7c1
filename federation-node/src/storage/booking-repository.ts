// The coordinator's booking records. Writes go through the serial writer (in order with the
// transaction log); reads use the read-only connection and see only committed rows.
import type { BookingItem } from '../domain/slots.js';
import type { BookingRow, BookingStatus } from './entities.js';
import type { GroupCommitWriter } from './group-commit-writer.js';
import type { SqlReader, SqlSession } from './sql.js';

export interface BookingRecord {
  id: string;
  scientistId: string;
  status: BookingStatus;
  createdAt: string;
  updatedAt: string;
  timestampMs: number;
  items: BookingItem[];
  reason: unknown;
  idempotencyKey: string | null;
  requestHash: string | null;
  cancelTxId: string | null;
}

const COLUMNS = `id, scientist_id AS scientistId, status, created_at AS createdAt, updated_at AS updatedAt,
  timestamp_ms AS timestampMs, items_json AS itemsJson, reason_json AS reasonJson, idempotency_key AS idempotencyKey,
  request_hash AS requestHash, cancel_tx_id AS cancelTxId`;

export class BookingRepository {
  constructor(
    private readonly writer: GroupCommitWriter,
    private readonly reader: SqlReader,
  ) {}

  /**
   * Deletes (in the caller's write transaction) bookings that ended REJECTED or CANCELLED
   * before `before` (ISO instant): their slots are free and their story is in the audit trail.
   * Confirmed bookings are never pruned.
   */
  static pruneFinished(session: SqlSession, before: string, rowsMax: number): Promise<number> {
    return session.execute(
      `DELETE FROM bookings WHERE id IN (SELECT id FROM bookings WHERE status IN ('REJECTED', 'CANCELLED') AND updated_at < ? LIMIT ?)`,
      [before, rowsMax],
    );
  }

  insert(booking: BookingRecord): Promise<void> {
    return this.writer.write((batch) => batch.insertBooking(booking));
  }

  /**
   * An aborted booking: only a PENDING one becomes REJECTED (a decided one never changes
   * back). `freeKey` releases its Idempotency-Key, so that a retry after an outage tries again.
   */
  markRejected(id: string, reason: unknown, at: string, freeKey = false): Promise<void> {
    const keyClause = freeKey ? ', idempotency_key = NULL' : '';
    return this.writer.write((batch) =>
      batch.updateBooking(id, `UPDATE bookings SET status = 'REJECTED', reason_json = ?, updated_at = ?${keyClause} WHERE id = ? AND status = 'PENDING'`,
        [JSON.stringify(reason), at, id],
        (b) => (b.status === 'PENDING' ? { ...b, status: 'REJECTED', reason, updatedAt: at, idempotencyKey: freeKey ? null : b.idempotencyKey } : undefined)),
    );
  }

  setCancellation(id: string, cancelTxId: string, at: string): Promise<void> {
    return this.writer.write((batch) =>
      batch.updateBooking(id, `UPDATE bookings SET cancel_tx_id = ?, updated_at = ? WHERE id = ?`, [cancelTxId, at, id], (b) => ({ ...b, cancelTxId, updatedAt: at })),
    );
  }

  /** A restored coordinator's own cancellation, applied again (durability/own-transactions.ts). */
  markCancelled(id: string, cancelTxId: string, at: string): Promise<void> {
    return this.writer.write((batch) =>
      batch.updateBooking(id, `UPDATE bookings SET status = 'CANCELLED', cancel_tx_id = ?, updated_at = ? WHERE id = ? AND status = 'CONFIRMED'`, [cancelTxId, at, id],
        (b) => (b.status === 'CONFIRMED' ? { ...b, status: 'CANCELLED', cancelTxId, updatedAt: at } : undefined)),
    );
  }

  recordCancellationRefused(id: string, reason: unknown, at: string): Promise<void> {
    return this.writer.write((batch) =>
      batch.updateBooking(id, `UPDATE bookings SET reason_json = ?, updated_at = ? WHERE id = ? AND status = 'CONFIRMED'`, [JSON.stringify(reason), at, id],
        (b) => (b.status === 'CONFIRMED' ? { ...b, reason, updatedAt: at } : undefined)),
    );
  }

  /** After a restart: bookings still PENDING were never decided, so they are aborted (presumed abort). */
  /**
   * Bookings still PENDING at start-up: rejected (presumed abort), except those in `kept`, whose
   * commit this coordinator had proposed to its acceptors (docs/PROTOCOL.md §20): they stay
   * PENDING and are led again. Returns every pending booking.
   */
  async rejectUndecided(reason: unknown, at: string, kept: ReadonlySet<string> = new Set()): Promise<BookingRecord[]> {
    const rows: BookingRow[] = await this.reader.query(`SELECT ${COLUMNS} FROM bookings WHERE status = 'PENDING'`);
    for (const { id } of rows) if (!kept.has(id)) await this.markRejected(id, reason, at, true);
    return rows.map(recordOf);
  }

  /** The transaction ids of every booking and cancellation begun here and not decided (start-up). */
  async undecidedTxIds(): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.reader.query(`SELECT id FROM bookings WHERE status = 'PENDING'`);
    return [...rows.map((r) => r.id), ...(await this.undecidedCancellations()).map((b) => b.cancelTxId!)];
  }

  /** Cancellations begun but never decided (no commit record, not recorded as refused): presumed aborted. */
  async undecidedCancellations(): Promise<BookingRecord[]> {
    const refusedFor = this.reader.dialect === 'postgres'
      ? "(reason_json::json ->> 'cancellation') IS DISTINCT FROM b.cancel_tx_id"
      : "json_extract(reason_json, '$.cancellation') IS NOT b.cancel_tx_id";
    const rows: BookingRow[] = await this.reader.query(
      `SELECT ${COLUMNS} FROM bookings b WHERE status = 'CONFIRMED' AND cancel_tx_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM coordinator_transactions c WHERE c.tx_id = b.cancel_tx_id)
         AND (reason_json IS NULL OR ${refusedFor})`,
    );
    return rows.map(recordOf);
  }

  async find(id: string): Promise<BookingRecord | undefined> {
    const rows: BookingRow[] = await this.reader.query(`SELECT ${COLUMNS} FROM bookings WHERE id = ?`, [id]);
    return rows[0] && recordOf(rows[0]);
  }

  /** The booking a cancellation transaction acted on. */
  async findByCancelTx(txId: string): Promise<BookingRecord | undefined> {
    const rows: BookingRow[] = await this.reader.query(`SELECT ${COLUMNS} FROM bookings WHERE cancel_tx_id = ?`, [txId]);
    return rows[0] && recordOf(rows[0]);
  }

  async findByIdempotencyKey(scientistId: string, key: string): Promise<BookingRecord | undefined> {
    const rows: BookingRow[] = await this.reader.query(`SELECT ${COLUMNS} FROM bookings WHERE scientist_id = ? AND idempotency_key = ?`, [scientistId, key]);
    return rows[0] && recordOf(rows[0]);
  }

  async list(filter: { scientistId?: string; status?: BookingStatus; limit: number; offset: number }): Promise<BookingRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.scientistId) {
      where.push('scientist_id = ?');
      params.push(filter.scientistId);
    }
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    const rows: BookingRow[] = await this.reader.query(
      `SELECT ${COLUMNS} FROM bookings ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id LIMIT ? OFFSET ?`,
      [...params, filter.limit, filter.offset],
    );
    return rows.map(recordOf);
  }
}

function recordOf(row: BookingRow): BookingRecord {
  return {
    id: row.id,
    scientistId: row.scientistId,
    status: row.status,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    timestampMs: Number(row.timestampMs),
    items: JSON.parse(row.itemsJson) as BookingItem[],
    reason: row.reasonJson ? (JSON.parse(row.reasonJson) as unknown) : null,
    idempotencyKey: row.idempotencyKey,
    requestHash: row.requestHash,
    cancelTxId: row.cancelTxId,
  };
}
