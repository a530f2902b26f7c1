// The participant's in-memory entries and the records and views made from them: the data
// side of the participant core (participant.ts holds the transitions).
import type { AbortReason, NodeId, PrepareMessage, TxId } from './messages.js';
import type { Effect, ParticipantRecord } from './ports.js';
import { invariant } from './invariants.js';
import type { StatusAnswer } from './durable-knowledge.js';
import { ballotView, type BallotRun, type BallotView } from './leader.js';

export type Waiting = { phase: 'waiting'; prepare: PrepareMessage; sinceMs: number; waitUntilMs: number; blockers: TxId[] };
export type Prepared = {
  phase: 'prepared';
  record: ParticipantRecord;
  nextQueryAtMs: number;
  queryIntervalMs: number;
  queried?: boolean;
  /** Cooperative termination: the last answer of the coordinator and of each other participant asked. */
  answers?: Record<NodeId, StatusAnswer | 'unreachable'>;
  askedPeers?: boolean;
  /** The recovery ballot this participant leads while its coordinator does not answer (docs/PROTOCOL.md §20). */
  run?: BallotRun;
  /** In-doubt queries since it may lead: the k-th participant leads at every k-th. */
  recoveryTurns?: number;
};
export type Finished = { phase: 'committed' | 'aborted'; record: ParticipantRecord };
export type Entry = Waiting | Prepared | Finished;

export interface ParticipantTxView {
  txId: TxId;
  phase: Entry['phase'];
  coordinatorId: NodeId;
  participants: NodeId[];
  kind: string;
  timestampMs: number;
  createdAtMs: number;
  /** While in doubt: what the coordinator and the other participants last answered when asked. */
  answers?: Record<NodeId, StatusAnswer | 'unreachable'>;
  /** The acceptors the prepare named. */
  acceptors?: NodeId[];
  /** While in doubt: the recovery ballot this participant leads, and who answered it. */
  ballot?: BallotView;
}

export function recordOf(prepare: PrepareMessage, state: ParticipantRecord['state'], nowMs: number): ParticipantRecord {
  invariant(prepare.participants.length > 0, 'a prepare names its participants');
  return {
    txId: prepare.txId,
    kind: prepare.kind,
    coordinatorId: prepare.coordinatorId,
    participants: prepare.participants,
    timestampMs: prepare.timestampMs,
    deadlineMs: prepare.deadlineMs,
    payload: prepare.payload,
    state,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
    ...(prepare.acceptors ? { acceptors: prepare.acceptors } : {}),
  };
}

export function abortedReason(): AbortReason {
  return { code: 'aborted', detail: 'the coordinator aborted the transaction' };
}

export function audit(event: Extract<Effect, { type: 'audit' }>['event'], txId: TxId, details: Record<string, unknown>): Effect {
  return { type: 'audit', event, txId, details };
}

export function toView(txId: TxId, entry: Entry): ParticipantTxView {
  const source = entry.phase === 'waiting' ? entry.prepare : entry.record;
  return {
    txId,
    phase: entry.phase,
    coordinatorId: source.coordinatorId,
    participants: source.participants,
    kind: source.kind,
    timestampMs: source.timestampMs,
    createdAtMs: entry.phase === 'waiting' ? entry.sinceMs : entry.record.createdAtMs,
    ...(entry.phase === 'prepared' && entry.answers ? { answers: { ...entry.answers } } : {}),
    ...(source.acceptors ? { acceptors: source.acceptors } : {}),
    ...(entry.phase === 'prepared' && entry.run ? { ballot: ballotView(entry.run) } : {}),
  };
}
