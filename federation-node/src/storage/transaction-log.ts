// The durable transaction log: the protocol records of both roles, written through the
// serial writer together with the slot claims they change (one SQLite transaction, so a
// hold and its PREPARED record are durable together or not at all). A commit decision also
// sets its booking's status in that same transaction. Right before a write it asserts that
// every claim change belongs to the record it is written with (store-invariants.ts).
import type { AcceptorRecord, CoordinatorRecord, LogEntry, ParticipantRecord } from '../../../coordinator-2pc/src/index.js';
import type { Claim } from '../domain/slot-table.js';
import { canonicalInstant } from '../domain/slots.js';
import type { AcceptorTxRow, CoordinatorTxRow, ParticipantTxRow, SlotClaimRow } from './entities.js';
import type { GroupCommitWriter } from './group-commit-writer.js';
import type { SqlReader, SqlSession } from './sql.js';
import { claimChangesOf } from './store-invariants.js';

const PARTICIPANT_COLUMNS = `tx_id AS txId, kind, coordinator_id AS coordinatorId, participants_json AS participantsJson,
  timestamp_ms AS timestampMs, deadline_ms AS deadlineMs, payload_json AS payloadJson, state,
  reason_json AS reasonJson, heuristic, created_at_ms AS createdAtMs, updated_at_ms AS updatedAtMs, acceptors_json AS acceptorsJson`;

export class TransactionLog {
  constructor(
    private readonly writer: GroupCommitWriter,
    private readonly reader: SqlReader,
  ) {}

  /** Throws (before anything is staged) when a claim change does not belong to the entry's record. */
  write(entry: LogEntry): Promise<void> {
    const claimChanges = claimChangesOf(entry);
    return this.writer.write((batch) => {
      if (entry.role === 'participant') batch.participant(entry.record);
      else if (entry.role === 'acceptor') batch.acceptor(entry.record);
      else batch.coordinator(entry.record, canonicalInstant(entry.record.updatedAtMs));
      batch.claimChanges(claimChanges);
    });
  }

  /** In-doubt records, and those finished recently enough (or whose prepare deadline is still ahead) to answer duplicates. */
  async participantRecordsForRecovery(finishedSinceMs: number, nowMs: number): Promise<ParticipantRecord[]> {
    const rows: ParticipantTxRow[] = await this.reader.query(
      `SELECT ${PARTICIPANT_COLUMNS}
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

  /** What this store recorded of one transaction, in every role (for status answers from the records). */
  async recordsOf(txId: string): Promise<{ coordinatorDecision?: 'committed' | 'aborted'; participantState?: ParticipantRecord['state']; acceptor?: AcceptorRecord }> {
    const [coordinator]: Array<{ decision: 'committed' | 'aborted' }> = await this.reader.query('SELECT decision FROM coordinator_transactions WHERE tx_id = ?', [txId]);
    const [participant]: Array<{ state: ParticipantRecord['state'] }> = await this.reader.query('SELECT state FROM participant_transactions WHERE tx_id = ?', [txId]);
    const [acceptor] = await this.acceptorRecords('tx_id = ?', [txId]);
    return { ...(coordinator ? { coordinatorDecision: coordinator.decision } : {}), ...(participant ? { participantState: participant.state } : {}), ...(acceptor ? { acceptor } : {}) };
  }

  /** Acceptor records changed since `sinceMs` (memory after a restart), or of the given transactions. */
  async acceptorRecordsForRecovery(sinceMs: number): Promise<AcceptorRecord[]> {
    return this.acceptorRecords('updated_at_ms >= ? ORDER BY created_at_ms', [sinceMs]);
  }

  /** This node's acceptor records of the given transactions, however old (start-up: did the coordinator propose?). */
  async acceptorRecordsOf(txIds: string[]): Promise<AcceptorRecord[]> {
    const found: AcceptorRecord[] = [];
    for (let i = 0; i < txIds.length; i += 400) {
      const chunk = txIds.slice(i, i + 400);
      found.push(...(await this.acceptorRecords(`tx_id IN (${chunk.map(() => '?').join(', ')})`, chunk)));
    }
    return found;
  }

  private async acceptorRecords(where: string, params: unknown[]): Promise<AcceptorRecord[]> {
    const rows: AcceptorTxRow[] = await this.reader.query(
      `SELECT tx_id AS txId, participants_json AS participantsJson, acceptors_json AS acceptorsJson, promised_round AS promisedRound,
        promised_node AS promisedNode, accepted_round AS acceptedRound, accepted_node AS acceptedNode, accepted_value AS acceptedValue,
        accepted_proof AS acceptedProof, created_at_ms AS createdAtMs, updated_at_ms AS updatedAtMs FROM acceptor_transactions WHERE ${where}`,
      params,
    );
    return rows.map(acceptorRecordOf);
  }

  /** The time of the newest protocol record: a restored store knows nothing after it. */
  async newestRecordMs(): Promise<number> {
    const [row]: Array<{ newest: number | null }> = await this.reader.query(
      `SELECT MAX(m) AS newest FROM (SELECT MAX(created_at_ms) AS m FROM participant_transactions
       UNION ALL SELECT MAX(created_at_ms) FROM coordinator_transactions) AS newest_of_each`,
    );
    return Number(row?.newest ?? 0);
  }

  /**
   * Committed transactions coordinated here that involve `node`, begun at or after `sinceMs`,
   * in (creation time, id) order after the cursor: what a restored peer must apply again.
   */
  async committedInvolving(node: string, sinceMs: number, after: { createdAtMs: number; txId: string } | undefined, limit: number): Promise<CoordinatorRecord[]> {
    const cursor = after ?? { createdAtMs: sinceMs, txId: '' };
    const rows: CoordinatorTxRow[] = await this.reader.query(
      `SELECT tx_id AS txId, kind, participants_json AS participantsJson, timestamp_ms AS timestampMs, decision,
        acked_json AS ackedJson, state, created_at_ms AS createdAtMs, updated_at_ms AS updatedAtMs
       FROM coordinator_transactions
       WHERE decision = 'committed' AND participants_json LIKE ? AND created_at_ms >= ?
         AND (created_at_ms > ? OR (created_at_ms = ? AND tx_id > ?))
       ORDER BY created_at_ms, tx_id LIMIT ?`,
      [`%"${node}"%`, sinceMs, cursor.createdAtMs, cursor.createdAtMs, cursor.txId, limit],
    );
    return rows.map(coordinatorRecordOf);
  }

  /**
   * Committed transactions that `coordinator` coordinated and this node took part in, begun at
   * or after `sinceMs`, in (creation time, id) order after the cursor: what a coordinator
   * restored from a backup must be told of its own bookings.
   */
  async committedCoordinatedBy(coordinator: string, sinceMs: number, after: { createdAtMs: number; txId: string } | undefined, limit: number): Promise<ParticipantRecord[]> {
    const cursor = after ?? { createdAtMs: sinceMs, txId: '' };
    const rows: ParticipantTxRow[] = await this.reader.query(
      `SELECT ${PARTICIPANT_COLUMNS} FROM participant_transactions
       WHERE coordinator_id = ? AND state = 'committed' AND created_at_ms >= ?
         AND (created_at_ms > ? OR (created_at_ms = ? AND tx_id > ?))
       ORDER BY created_at_ms, tx_id LIMIT ?`,
      [coordinator, sinceMs, cursor.createdAtMs, cursor.createdAtMs, cursor.txId, limit],
    );
    return rows.map(participantRecordOf);
  }

  /**
   * The prune horizon: finished records of transactions that ended before it may have been
   * deleted (storage/record-pruner.ts); every transaction begun at or after it still has all
   * its records. Null: nothing was ever pruned. A missing record of a transaction begun before
   * it means "pruned, unknown", not "never decided".
   */
  async pruneHorizonMs(): Promise<number | null> {
    const [row]: Array<{ prunedBeforeMs: number }> = await this.reader.query('SELECT pruned_before_ms AS prunedBeforeMs FROM prune_horizon WHERE singleton = 1');
    return row ? Number(row.prunedBeforeMs) : null;
  }

  /**
   * Deletes (in the caller's write transaction) finished records that ended before `beforeMs`:
   * participant records committed or aborted (tombstones included) whose deadline has passed
   * too, and coordinator records every participant acknowledged. At most `rowsMax` of each.
   */
  static async pruneFinished(session: SqlSession, beforeMs: number, rowsMax: number): Promise<{ participant: number; coordinator: number }> {
    const participant = await session.execute(`DELETE FROM participant_transactions WHERE tx_id IN (SELECT tx_id FROM participant_transactions
      WHERE updated_at_ms < ? AND state IN ('committed', 'aborted') AND deadline_ms < ? LIMIT ?)`, [beforeMs, beforeMs, rowsMax]);
    const coordinator = await session.execute(`DELETE FROM coordinator_transactions WHERE tx_id IN (SELECT tx_id FROM coordinator_transactions
      WHERE state = 'ended' AND updated_at_ms < ? LIMIT ?)`, [beforeMs, rowsMax]);
    // An acceptor's record is kept as long as the records of the transaction it decided: past the horizon the answer is `unknown`.
    await session.execute(`DELETE FROM acceptor_transactions WHERE tx_id IN (SELECT tx_id FROM acceptor_transactions WHERE updated_at_ms < ? LIMIT ?)`, [beforeMs, rowsMax]);
    return { participant, coordinator };
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
  if (row.acceptorsJson) record.acceptors = JSON.parse(row.acceptorsJson) as string[];
  return record;
}

function acceptorRecordOf(row: AcceptorTxRow): AcceptorRecord {
  const record: AcceptorRecord = {
    txId: row.txId,
    participants: JSON.parse(row.participantsJson) as string[],
    acceptors: JSON.parse(row.acceptorsJson) as string[],
    promised: { round: Number(row.promisedRound), node: row.promisedNode },
    createdAtMs: Number(row.createdAtMs),
    updatedAtMs: Number(row.updatedAtMs),
  };
  if (row.acceptedValue && row.acceptedNode !== null && row.acceptedRound !== null) {
    record.accepted = { ballot: { round: Number(row.acceptedRound), node: row.acceptedNode }, value: row.acceptedValue as 'commit' | 'abort', ...(row.acceptedProof ? { proof: row.acceptedProof } : {}) };
  }
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
