// The durable transaction log: the protocol records of both roles, written through the
// serial writer together with the slot claims they change (one SQLite transaction, so a
// hold and its PREPARED record are durable together or not at all). A commit decision also
// sets its booking's status in that same transaction. Right before a write it asserts that
// every claim change belongs to the record it is written with (store-invariants.ts).
import type { DataSource } from 'typeorm';
import type { CoordinatorRecord, LogEntry, ParticipantRecord } from '../../../coordinator-2pc/src/index.js';
import type { Claim } from '../domain/slot-table.js';
import { canonicalInstant } from '../domain/slots.js';
import type { CoordinatorTxRow, ParticipantTxRow, SlotClaimRow } from './entities.js';
import type { GroupCommitWriter } from './group-commit-writer.js';
import { claimChangesOf } from './store-invariants.js';

export class TransactionLog {
  constructor(
    private readonly writer: GroupCommitWriter,
    private readonly reader: DataSource,
  ) {}

  /** Throws (before anything is staged) when a claim change does not belong to the entry's record. */
  write(entry: LogEntry): Promise<void> {
    const claimChanges = claimChangesOf(entry);
    return this.writer.write((batch) => {
      if (entry.role === 'participant') batch.participant(entry.record);
      else batch.coordinator(entry.record, canonicalInstant(entry.record.updatedAtMs));
      batch.claimChanges(claimChanges);
    });
  }

  /** In-doubt records, and those finished recently enough (or whose prepare deadline is still ahead) to answer duplicates. */
  async participantRecordsForRecovery(finishedSinceMs: number, nowMs: number): Promise<ParticipantRecord[]> {
    const rows: ParticipantTxRow[] = await this.reader.query(
      `SELECT tx_id AS txId, kind, coordinator_id AS coordinatorId, participants_json AS participantsJson,
        timestamp_ms AS timestampMs, deadline_ms AS deadlineMs, payload_json AS payloadJson, state,
        reason_json AS reasonJson, heuristic, created_at_ms AS createdAtMs, updated_at_ms AS updatedAtMs
       FROM participant_transactions WHERE state = 'prepared' OR updated_at_ms >= ? OR deadline_ms >= ? ORDER BY updated_at_ms`,
      [finishedSinceMs, nowMs],
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

  async claims(): Promise<Claim[]> {
    const rows: SlotClaimRow[] = await this.reader.query(
      `SELECT telescope_id AS telescopeId, slot_start AS slotStart, slot_end AS slotEnd, booking_id AS bookingId,
        tx_id AS txId, state FROM slot_claims`,
    );
    return rows.map((r) => ({ telescopeId: r.telescopeId, startMs: Date.parse(r.slotStart), endMs: Date.parse(r.slotEnd), bookingId: r.bookingId, txId: r.txId, state: r.state }));
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
