// One group commit's worth of writes, staged as rows and written with a handful of multi-row
// statements (an awaited statement through the driver costs ~0.2 ms; a row in a multi-row
// statement ~6 µs). Staging keeps each row's last state, so the order of writes to one row is kept;
// rows of different tables are independent within the one SQLite transaction.
import type { AcceptorRecord, CoordinatorRecord, ParticipantRecord } from '../../../coordinator-2pc/src/index.js';
import type { Claim, ClaimChange } from '../domain/slot-table.js';
import { canonicalInstant } from '../domain/slots.js';
import type { BookingRecord } from './booking-repository.js';
import type { Dialect, SqlSession } from './sql.js';

/** Rows per statement: keeps each statement of a script short. */
const ROWS_PER_STATEMENT = 400;

type BookingUpdate = { id: string; sql: string; params: unknown[]; patch: (b: BookingRecord) => BookingRecord | undefined };

/** One SQL statement with its bound parameters. */
export type Statement = [sql: string, params: unknown[]];

export class WriteBatch {
  size = 0;
  private readonly participantTxs = new Map<string, ParticipantRecord>();
  private readonly coordinatorTxs = new Map<string, CoordinatorRecord>();
  private readonly acceptorTxs = new Map<string, AcceptorRecord>();
  /** Per slot: did a row exist before this batch, and what is its final state (null: none). */
  private readonly claims = new Map<string, { existedBefore: boolean; final: Claim | null }>();
  private readonly bookingInserts = new Map<string, BookingRecord>();
  private readonly confirmedBookings = new Map<string, string>();
  private readonly cancelledByTx = new Map<string, string>();
  /** Aborted by the acceptors after its coordinator proposed commit (docs/PROTOCOL.md §20): a booking still PENDING is rejected. */
  private readonly rejectedBookings = new Map<string, string>();
  private readonly bookingUpdates: BookingUpdate[] = [];
  private readonly custom: Array<(session: SqlSession) => Promise<unknown>> = [];

  participant(record: ParticipantRecord): void {
    this.participantTxs.set(record.txId, record);
    this.size += 1;
  }

  coordinator(record: CoordinatorRecord, at: string): void {
    this.coordinatorTxs.set(record.txId, record);
    this.size += 1;
    if (record.decision === 'aborted' && record.kind === 'book') this.rejectedBookings.set(record.txId, at);
    if (record.state !== 'decided' || record.decision !== 'committed') return;
    if (record.kind === 'book') this.confirmBooking(record.txId, at);
    else this.cancelledByTx.set(record.txId, at);
  }

  acceptor(record: AcceptorRecord): void {
    this.acceptorTxs.set(record.txId, record);
    this.size += 1;
  }

  claimChanges(changes: ClaimChange[]): void {
    for (const change of changes) {
      const key = `${change.op === 'delete' ? change.telescopeId : change.claim.telescopeId}|${change.op === 'delete' ? change.startMs : change.claim.startMs}`;
      const existedBefore = this.claims.get(key)?.existedBefore ?? change.op !== 'insert';
      this.claims.set(key, { existedBefore, final: change.op === 'delete' ? null : change.claim });
    }
    this.size += changes.length;
  }

  insertBooking(booking: BookingRecord): void {
    this.bookingInserts.set(booking.id, booking);
    this.size += 1;
  }

  /** An update of one booking; applied to its staged insert when the insert is in this batch. */
  updateBooking(id: string, sql: string, params: unknown[], patch: BookingUpdate['patch']): void {
    this.size += 1;
    const staged = this.bookingInserts.get(id);
    if (staged) {
      const patched = patch(staged);
      if (patched) this.bookingInserts.set(id, patched);
      return;
    }
    this.bookingUpdates.push({ id, sql, params, patch });
  }

  /** Anything else (seeds, rare maintenance): run in order, before the staged rows. */
  statement(run: (session: SqlSession) => Promise<unknown>): void {
    this.custom.push(run);
    this.size += 1;
  }

  /** The writes that are not staged rows, to run first through TypeORM. */
  customWrites(): Array<(session: SqlSession) => Promise<unknown>> {
    return this.custom;
  }

  /** The staged rows as a few multi-row statements, in an order that keeps their meaning. */
  statements(): Statement[] {
    const out: Statement[] = [];
    this.bookingStatements(out);
    this.participantStatements(out);
    this.coordinatorStatements(out);
    this.acceptorStatements(out);
    this.claimStatements(out);
    return out;
  }

  private confirmBooking(id: string, at: string): void {
    const staged = this.bookingInserts.get(id);
    if (staged) this.bookingInserts.set(id, { ...staged, status: 'CONFIRMED', reason: null, updatedAt: at });
    else this.confirmedBookings.set(id, at);
  }

  private bookingStatements(out: Statement[]): void {
    multiRow(out, `INSERT INTO bookings (id, scientist_id, status, created_at, updated_at, timestamp_ms, items_json, reason_json,
      idempotency_key, request_hash, cancel_tx_id) VALUES`, [...this.bookingInserts.values()].map((b) => [
      b.id, b.scientistId, b.status, b.createdAt, b.updatedAt, b.timestampMs, JSON.stringify(b.items),
      b.reason === null ? null : JSON.stringify(b.reason), b.idempotencyKey, b.requestHash, b.cancelTxId]), '');
    for (const update of this.bookingUpdates) out.push([update.sql, update.params]);
    for (const [id, at] of this.confirmedBookings) {
      out.push([`UPDATE bookings SET status = 'CONFIRMED', reason_json = NULL, updated_at = ? WHERE id = ?`, [at, id]]);
    }
    for (const [id, at] of this.rejectedBookings) {
      const reason = JSON.stringify({ problem: 'booking-aborted', detail: 'the acceptors chose abort: the booking was not confirmed (docs/PROTOCOL.md §20)' });
      out.push([`UPDATE bookings SET status = 'REJECTED', reason_json = ?, updated_at = ? WHERE id = ? AND status = 'PENDING'`, [reason, at, id]]);
    }
    for (const [txId, at] of this.cancelledByTx) {
      out.push([`UPDATE bookings SET status = 'CANCELLED', updated_at = ? WHERE cancel_tx_id = ?`, [at, txId]]);
    }
  }

  private participantStatements(out: Statement[]): void {
    // Only a prepared record may still change: a decided outcome is final on disk too.
    multiRow(out, `INSERT INTO participant_transactions (tx_id, kind, coordinator_id, participants_json, timestamp_ms,
      deadline_ms, payload_json, state, reason_json, heuristic, created_at_ms, updated_at_ms, acceptors_json) VALUES`,
    [...this.participantTxs.values()].map((r) => [r.txId, r.kind, r.coordinatorId, JSON.stringify(r.participants), r.timestampMs,
      r.deadlineMs, JSON.stringify(r.payload ?? null), r.state, r.reason ? JSON.stringify(r.reason) : null, r.heuristic ? 1 : 0,
      r.createdAtMs, r.updatedAtMs, r.acceptors ? JSON.stringify(r.acceptors) : null]),
    `ON CONFLICT (tx_id) DO UPDATE SET state = excluded.state, reason_json = excluded.reason_json,
      heuristic = excluded.heuristic, updated_at_ms = excluded.updated_at_ms WHERE participant_transactions.state = 'prepared'`);
  }

  private coordinatorStatements(out: Statement[]): void {
    multiRow(out, `INSERT INTO coordinator_transactions (tx_id, kind, participants_json, timestamp_ms, decision, acked_json,
      state, created_at_ms, updated_at_ms) VALUES`,
    [...this.coordinatorTxs.values()].map((r) => [r.txId, r.kind, JSON.stringify(r.participants), r.timestampMs, r.decision,
      JSON.stringify(r.acked), r.state, r.createdAtMs, r.updatedAtMs]),
    `ON CONFLICT (tx_id) DO UPDATE SET acked_json = excluded.acked_json, state = excluded.state, updated_at_ms = excluded.updated_at_ms`);
  }

  /** An acceptor's row only ever moves to a higher ballot: the acceptor core guarantees it, the row keeps the last state. */
  private acceptorStatements(out: Statement[]): void {
    multiRow(out, `INSERT INTO acceptor_transactions (tx_id, participants_json, acceptors_json, promised_round, promised_node,
      accepted_round, accepted_node, accepted_value, accepted_proof, created_at_ms, updated_at_ms) VALUES`,
    [...this.acceptorTxs.values()].map((r) => [r.txId, JSON.stringify(r.participants), JSON.stringify(r.acceptors), r.promised.round,
      r.promised.node, r.accepted?.ballot.round ?? null, r.accepted?.ballot.node ?? null, r.accepted?.value ?? null, r.accepted?.proof ?? null, r.createdAtMs, r.updatedAtMs]),
    `ON CONFLICT (tx_id) DO UPDATE SET promised_round = excluded.promised_round, promised_node = excluded.promised_node,
      accepted_round = excluded.accepted_round, accepted_node = excluded.accepted_node, accepted_value = excluded.accepted_value,
      accepted_proof = excluded.accepted_proof, updated_at_ms = excluded.updated_at_ms`);
  }

  /**
   * Slots that existed are deleted, then every slot's final claim is inserted with a plain
   * INSERT: a slot taken by a row this batch did not touch makes the primary key refuse it.
   */
  private claimStatements(out: Statement[]): void {
    const deleted = [...this.claims.entries()].filter(([, c]) => c.existedBefore).map(([key]) => key.split('|'));
    for (let i = 0; i < deleted.length; i += ROWS_PER_STATEMENT) {
      const chunk = deleted.slice(i, i + ROWS_PER_STATEMENT);
      const keys = chunk.map(([telescopeId, startMs]) => `(${sqlLiteral(telescopeId)}, ${sqlLiteral(canonicalInstant(Number(startMs)))})`);
      out.push([`DELETE FROM slot_claims WHERE (telescope_id, slot_start) IN (VALUES ${keys.join(', ')})`, []]);
    }
    const finals = [...this.claims.values()].map((c) => c.final).filter((c): c is Claim => c !== null);
    multiRow(out, 'INSERT INTO slot_claims (telescope_id, slot_start, slot_end, booking_id, tx_id, state) VALUES',
      finals.map((c) => [c.telescopeId, canonicalInstant(c.startMs), canonicalInstant(c.endMs), c.bookingId, c.txId, c.state]), '');
  }
}

/**
 * Statements as one SQL script, each value written as the literal the engine would have stored
 * had it been bound (integers as integers, text as quoted text, booleans as 1/0), so that a
 * whole group commit runs in one sqlite3 `exec` (or one PostgreSQL round trip). The statements
 * are this module's own templates: a `?` outside quotes is always a placeholder.
 */
export function scriptOf(statements: Statement[], dialect: Dialect): string {
  let script = '';
  for (const [sql, params] of statements) script += `${withLiterals(sql, params)};\n`;
  // Text holding NUL is written as CAST(X'…' AS TEXT) (sqlLiteral); PostgreSQL text cannot hold NUL at all.
  if (dialect === 'postgres' && script.includes("CAST(X'")) throw new Error('PostgreSQL text cannot hold a NUL character: a value to write contains one');
  return script;
}

function withLiterals(sql: string, params: unknown[]): string {
  if (params.length === 0) return sql;
  const pieces = sql.split('?');
  if (pieces.length - 1 !== params.length) throw new Error(`a statement has ${pieces.length - 1} placeholders for ${params.length} values: ${sql.slice(0, 80)}`);
  let out = pieces[0]!;
  for (let i = 0; i < params.length; i += 1) out += sqlLiteral(params[i]) + pieces[i + 1]!;
  return out;
}

export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') {
    // sqlite3_exec reads the script as a C string: text holding NUL goes in as its UTF-8 bytes.
    if (value.includes('\0')) return `CAST(X'${Buffer.from(value, 'utf8').toString('hex')}' AS TEXT)`;
    return `'${value.replaceAll("'", "''")}'`;
  }
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NULL';
    if (!Number.isFinite(value)) return value > 0 ? '9e999' : '-9e999';
    return String(value);
  }
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) return `X'${value.toString('hex')}'`;
  throw new Error(`no SQL literal for a value of type ${typeof value}`);
}

/** Rows written straight in as literals (no placeholders to substitute later). */
function multiRow(out: Statement[], head: string, rows: unknown[][], tail: string): void {
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const values = rows.slice(i, i + ROWS_PER_STATEMENT).map((row) => `(${row.map(sqlLiteral).join(', ')})`);
    out.push([`${head} ${values.join(', ')} ${tail}`, []]);
  }
}
