// The participant's in-memory entries and the records and views made from them: the data
// side of the participant core (participant.ts holds the transitions).
import type { AbortReason, NodeId, PrepareMessage, TxId } from './messages.js';
import type { Effect, ParticipantRecord } from './ports.js';
import { invariant } from './invariants.js';
import type { StatusAnswer } from './durable-knowledge.js';
import { ballotView, type BallotRun, type BallotView } from './leader.js';

export type Waiting = {
  phase: 'waiting';
  prepare: PrepareMessage;
  sinceMs: number;
  waitUntilMs: number;
  /** How long the wait may last, as set when it began (capTimers brings waitUntilMs back to at most this from now). */
  waitForMs: number;
  blockers: TxId[];
  /** Blockers waited for outside wait-die's age order (wait-die.ts): the booking a cancellation cancels. */
  awaitable?: TxId[];
};
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

/**
 * Forget finished transactions, oldest first, once no late prepare for them can still be
 * accepted (past both their retention and their deadline). `queue` lists them in finishing order.
 */
export function forgetFinished(queue: TxId[], entries: Map<TxId, Entry>, retentionMs: number, nowMs: number): void {
  while (queue.length > 0) {
    const txId = queue[0]!;
    const entry = entries.get(txId);
    const finished = entry && (entry.phase === 'committed' || entry.phase === 'aborted');
    if (finished && nowMs <= Math.max(entry.record.updatedAtMs + retentionMs, entry.record.deadlineMs)) return;
    queue.shift();
    if (finished) entries.delete(txId);
  }
}

/**
 * Bring a timer back to at most its longest interval from now. Timers are instants of the
 * federation clock: when a jumped clock is synchronised back, they would otherwise wait for
 * the size of the step as well (simulator seed 67054). A wait ends sooner, a query is sent
 * sooner: both are safe at any time.
 */
export function capTimers(entry: Entry, nowMs: number, limits: { inDoubtQueryAfterMs: number; queryBackoffMaxMs: number }): void {
  if (entry.phase === 'waiting') entry.waitUntilMs = Math.min(entry.waitUntilMs, nowMs + entry.waitForMs);
  else if (entry.phase === 'prepared') entry.nextQueryAtMs = Math.min(entry.nextQueryAtMs, nowMs + Math.max(limits.inDoubtQueryAfterMs, limits.queryBackoffMaxMs));
}
