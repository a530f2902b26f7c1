// Start-up recovery as one step, shared by the server (node.ts) and the deterministic
// simulator (tests/simulation): from what the store holds — participant and coordinator
// records, slot claims, the coordinator's undecided transactions — rebuild the slot table and
// hand every unfinished transaction back to the protocol engine. No I/O here: the caller
// reads the store before and writes what presumed abort settles after.
import type { AcceptorRecord, CoordinatorRecord, InterruptedProposal, ParticipantRecord, ProtocolEngine } from '../../coordinator-2pc/src/index.js';
import type { Claim, SlotTable } from './domain/slot-table.js';
import { checkLoadedStore } from './storage/store-invariants.js';

/** A transaction this node began as coordinator and never decided (its booking row is still open). */
export interface UndecidedTransaction {
  txId: string;
  kind: 'book' | 'cancel';
  participants: string[];
  timestampMs: number;
}

/** What the store holds that recovery needs (a superset is fine: recovery filters). */
export interface StoredState {
  participantRecords: ParticipantRecord[];
  /** Coordinator decisions not yet acknowledged by every participant. */
  decidedRecords: CoordinatorRecord[];
  claims: Claim[];
  undecided: UndecidedTransaction[];
  /** This node's acceptor records: recent ones, and those of every undecided transaction (§20). */
  acceptorRecords?: AcceptorRecord[];
}

export interface RecoverySummary {
  /** Participant transactions prepared and in doubt. */
  inDoubt: number;
  /** Coordinator decisions being driven again. */
  redriven: number;
  /** Undecided transactions aborted (presumed abort), to be recorded as such by the caller. */
  presumedAborted: string[];
  /** Undecided transactions whose COMMIT this node had proposed to the acceptors: led again, never presumed aborted. */
  proposals: string[];
}

/**
 * Restore `slots` and `engine` from the store. A finished participant record is kept for as
 * long as the participant core itself would keep it (its retention, and never before its
 * prepare deadline has passed), so that a late duplicate prepare still meets it. Throws a
 * StoreInvariantError, before restoring anything, when claims and records disagree.
 */
export function recoverFromStore(
  stored: StoredState,
  at: { nowMs: number; finishedRetentionMs: number; mayHaveLost?: (txId: string) => boolean },
  slots: SlotTable,
  engine: ProtocolEngine,
): RecoverySummary {
  const { nowMs, finishedRetentionMs } = at;
  const remembered = (r: ParticipantRecord): boolean => r.state === 'prepared' || nowMs <= Math.max(r.updatedAtMs + finishedRetentionMs, r.deadlineMs);
  const participantRecords = stored.participantRecords.filter(remembered);
  // Its own acceptor took part: the coordinator proposed COMMIT, so no abort of its own (§20).
  const acceptorRecords = new Map((stored.acceptorRecords ?? []).map((r) => [r.txId, r]));
  const proposals: InterruptedProposal[] = stored.undecided.filter((u) => acceptorRecords.has(u.txId)).map((u) => ({ ...u, acceptors: acceptorRecords.get(u.txId)!.acceptors }));
  // A store restored or replaced since the transaction began may have lost the proposal itself: no presumed abort then (§20).
  // A transaction of this node alone has no one else who could know a commit: presumed abort stays safe (seed 988, in doubt forever otherwise).
  const alone = (u: UndecidedTransaction): boolean => u.participants.every((p) => p === u.txId.split('.')[0]);
  const presumedAborted = stored.undecided.filter((u) => !acceptorRecords.has(u.txId) && (alone(u) || !at.mayHaveLost?.(u.txId))).map((u) => abortedRecord(u, nowMs));
  checkLoadedStore(stored.participantRecords, stored.claims, slots);
  slots.load(stored.claims);
  engine.restore(participantRecords, [...stored.decidedRecords, ...presumedAborted], [...acceptorRecords.values()], proposals);
  return {
    inDoubt: participantRecords.filter((r) => r.state === 'prepared').length,
    redriven: stored.decidedRecords.length,
    presumedAborted: presumedAborted.map((r) => r.txId),
    proposals: proposals.map((p) => p.txId),
  };
}

/**
 * An undecided transaction found at start-up, aborted: kept in memory only (presumed abort
 * needs no record), so that the abort is sent at once to its participants, who may be in
 * doubt, instead of waiting for them to ask.
 */
function abortedRecord(undecided: UndecidedTransaction, nowMs: number): CoordinatorRecord {
  const { txId, kind, participants, timestampMs } = undecided;
  return { txId, kind, participants, timestampMs, decision: 'aborted', acked: [], state: 'decided', createdAtMs: nowMs, updatedAtMs: nowMs };
}
