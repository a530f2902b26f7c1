// The durable transaction log: the protocol records of both roles, written through the
// serial writer together with the slot claims they change (one SQLite transaction, so a
// hold and its PREPARED record are durable together or not at all). A commit decision also
// sets its booking's status in that same transaction.
import type { DataSource, QueryRunner } from 'typeorm';
import type { CoordinatorRecord, LogEntry, ParticipantRecord } from '../../../coordinator-2pc/src/index.js';
import type { Claim, ClaimChange } from '../domain/slot-table.js';
import { canonicalInstant } from '../domain/slots.js';
import type { CoordinatorTxRow, ParticipantTxRow, SlotClaimRow } from './entities.js';
import type { SerialWriter } from './serial-writer.js';

export class TransactionLog {
  constructor(
    private readonly writer: SerialWriter,
    private readonly reader: DataSource,
  ) {}

  write(entry: LogEntry, claimChanges: ClaimChange[]): Promise<void> {
    return this.writer.write(async (runner) => {
      if (entry.role === 'participant') await writeParticipant(runner, entry.record);
      else await writeCoordinator(runner, entry.record);
      await applyClaimChanges(runner, claimChanges);
    });
  }

  /** In-doubt records, and those finished recently enough to answer duplicates. */
  async participantRecordsForRecovery(finishedSinceMs: number): Promise<ParticipantRecord[]> {
    const rows: ParticipantTxRow[] = await this.reader.query(
      `SELECT tx_id AS txId, kind, coordinator_id AS coordinatorId, participants_json AS participantsJson,
        timestamp_ms AS timestampMs, deadline_ms AS deadlineMs, payload_json AS payloadJson, state,
        reason_json AS reasonJson, heuristic, created_at_ms AS createdAtMs, updated_at_ms AS updatedAtMs
       FROM participant_transactions WHERE state = 'prepared' OR updated_at_ms >= ? ORDER BY updated_at_ms`,
      [finishedSinceMs],
    );
    return rows.map(participantRecordOf);
  }

  async coordinatorRecordsForRecovery(): Promise<CoordinatorRecord[]> {
    const rows: CoordinatorTxRow[] = await this.reader.query(
      `SELECT tx_id AS txId, kind, participants_json AS participantsJson, timestamp_ms AS timestampMs, decision,
        acked_json AS ackedJson, state, created_at_ms AS createdAtMs, updated_at_ms AS updatedAtMs
       FROM coordinator_transactions WHERE state = 'decided'`,
    );
    return rows.map(coordinatorRecordOf);
  }

  async coordinatorRecord(txId: string): Promise<CoordinatorRecord | undefined> {
    const rows: CoordinatorTxRow[] = await this.reader.query(
      `SELECT tx_id AS txId, kind, participants_json AS participantsJson, timestamp_ms AS timestampMs, decision,
        acked_json AS ackedJson, state, created_at_ms AS createdAtMs, updated_at_ms AS updatedAtMs
       FROM coordinator_transactions WHERE tx_id = ?`,
      [txId],
    );
    return rows[0] && coordinatorRecordOf(rows[0]);
  }

  async claims(): Promise<Claim[]> {
    const rows: SlotClaimRow[] = await this.reader.query(
      `SELECT telescope_id AS telescopeId, slot_start AS slotStart, slot_end AS slotEnd, booking_id AS bookingId,
        tx_id AS txId, state FROM slot_claims`,
    );
    return rows.map((r) => ({ telescopeId: r.telescopeId, startMs: Date.parse(r.slotStart), endMs: Date.parse(r.slotEnd), bookingId: r.bookingId, txId: r.txId, state: r.state }));
  }
}

/** Only a prepared record may still change: a decided outcome is final on disk too. */
async function writeParticipant(runner: QueryRunner, r: ParticipantRecord): Promise<void> {
  await runner.query(
    `INSERT INTO participant_transactions (tx_id, kind, coordinator_id, participants_json, timestamp_ms, deadline_ms,
       payload_json, state, reason_json, heuristic, created_at_ms, updated_at_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (tx_id) DO UPDATE SET state = excluded.state, reason_json = excluded.reason_json,
       heuristic = excluded.heuristic, updated_at_ms = excluded.updated_at_ms
     WHERE participant_transactions.state = 'prepared'`,
    [r.txId, r.kind, r.coordinatorId, JSON.stringify(r.participants), r.timestampMs, r.deadlineMs, JSON.stringify(r.payload ?? null),
      r.state, r.reason ? JSON.stringify(r.reason) : null, r.heuristic ? 1 : 0, r.createdAtMs, r.updatedAtMs],
  );
}

async function writeCoordinator(runner: QueryRunner, r: CoordinatorRecord): Promise<void> {
  await runner.query(
    `INSERT INTO coordinator_transactions (tx_id, kind, participants_json, timestamp_ms, decision, acked_json, state,
       created_at_ms, updated_at_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (tx_id) DO UPDATE SET acked_json = excluded.acked_json, state = excluded.state, updated_at_ms = excluded.updated_at_ms`,
    [r.txId, r.kind, JSON.stringify(r.participants), r.timestampMs, r.decision, JSON.stringify(r.acked), r.state, r.createdAtMs, r.updatedAtMs],
  );
  if (r.state !== 'decided' || r.decision !== 'committed') return;
  const now = canonicalInstant(r.updatedAtMs);
  if (r.kind === 'book') {
    await runner.query(`UPDATE bookings SET status = 'CONFIRMED', reason_json = NULL, updated_at = ? WHERE id = ?`, [now, r.txId]);
  } else {
    await runner.query(`UPDATE bookings SET status = 'CANCELLED', updated_at = ? WHERE cancel_tx_id = ?`, [now, r.txId]);
  }
}

async function applyClaimChanges(runner: QueryRunner, changes: ClaimChange[]): Promise<void> {
  for (const change of changes) {
    if (change.op === 'delete') {
      await runner.query(`DELETE FROM slot_claims WHERE telescope_id = ? AND slot_start = ?`, [change.telescopeId, canonicalInstant(change.startMs)]);
      continue;
    }
    const c = change.claim;
    if (change.op === 'update') {
      await runner.query(`UPDATE slot_claims SET tx_id = ?, state = ? WHERE telescope_id = ? AND slot_start = ? AND booking_id = ?`,
        [c.txId, c.state, c.telescopeId, canonicalInstant(c.startMs), c.bookingId]);
      continue;
    }
    // A plain INSERT: if the slot is somehow taken already, the primary key refuses it and
    // the write fails (the node then stops rather than record a slot twice).
    await runner.query(
      `INSERT INTO slot_claims (telescope_id, slot_start, slot_end, booking_id, tx_id, state) VALUES (?, ?, ?, ?, ?, ?)`,
      [c.telescopeId, canonicalInstant(c.startMs), canonicalInstant(c.endMs), c.bookingId, c.txId, c.state],
    );
  }
}

function participantRecordOf(row: ParticipantTxRow): ParticipantRecord {
  const record: ParticipantRecord = {
    txId: row.txId,
    kind: row.kind as ParticipantRecord['kind'],
    coordinatorId: row.coordinatorId,
    participants: JSON.parse(row.participantsJson) as string[],
    timestampMs: Number(row.timestampMs),
    deadlineMs: Number(row.deadlineMs),
    payload: JSON.parse(row.payloadJson) as unknown,
    state: row.state as ParticipantRecord['state'],
    createdAtMs: Number(row.createdAtMs),
    updatedAtMs: Number(row.updatedAtMs),
  };
  if (row.reasonJson) record.reason = JSON.parse(row.reasonJson) as ParticipantRecord['reason'];
  if (row.heuristic) record.heuristic = true;
  return record;
}

function coordinatorRecordOf(row: CoordinatorTxRow): CoordinatorRecord {
  return {
    txId: row.txId,
    kind: row.kind as CoordinatorRecord['kind'],
    participants: JSON.parse(row.participantsJson) as string[],
    timestampMs: Number(row.timestampMs),
    decision: row.decision as CoordinatorRecord['decision'],
    acked: JSON.parse(row.ackedJson) as string[],
    state: row.state as CoordinatorRecord['state'],
    createdAtMs: Number(row.createdAtMs),
    updatedAtMs: Number(row.updatedAtMs),
  };
}
