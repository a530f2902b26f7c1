// A participant in doubt that leads a recovery ballot of the acceptors (Paxos Commit,
// docs/PROTOCOL.md §20): the rules; participant.ts carries them out. Pure, no I/O.
import type { AcceptedMessage, NodeId, PromiseMessage, TxId } from './messages.js';
import { ballotStillCurrent, onAcceptorReply, resendCurrent, startRecovery } from './leader.js';
import type { CommitProofs } from './commit-proof.js';
import type { Prepared } from './participant-entries.js';
import type { TerminationHost } from './participant-termination.js';
import type { Effect, ParticipantRecord } from './ports.js';

/** The participant's settings these rules read (ParticipantConfig has them). */
export interface RecoveryConfig {
  selfId: NodeId;
  recoveryBallotAfterMs?: number;
  /** Checks the commit proofs acceptors report (commit-proof.ts); UNSIGNED_COMMIT_PROOFS when absent. */
  proofs?: CommitProofs;
  testOnlyIgnoreAcceptedValues?: boolean;
}

/**
 * In doubt for long enough, with acceptors named: lead a ballot above every one seen so far
 * (a new one at every turn while none is chosen; a ballot is never run twice). Safe at any
 * time, with the coordinator alive or not: Paxos lets one value be chosen whatever the leaders.
 */
export function leadRecovery(config: RecoveryConfig, txId: TxId, entry: Prepared, nowMs: number): Effect[] {
  const acceptors = entry.record.acceptors ?? [];
  // At the coordinator's own node its coordinator core leads (one leader per node and ballot id),
  // unless it answered `unknown`: it holds nothing of the transaction (its store was restored).
  if (entry.record.coordinatorId === config.selfId && entry.answers?.[config.selfId] !== 'unknown') return [];
  if (acceptors.length <= 1 || nowMs - entry.record.updatedAtMs < (config.recoveryBallotAfterMs ?? 0)) return [];
  // Leaders that start together at every query duel for ever (seed 51103): the k-th participant
  // leads only at every k-th in-doubt query, so the first one's ballots get through; the others
  // still lead, less often, when it is gone.
  if (entry.run && ballotStillCurrent(entry.run, nowMs)) return resendCurrent(txId, entry.run, config.selfId);
  entry.recoveryTurns = (entry.recoveryTurns ?? 0) + 1;
  if (entry.recoveryTurns % (recoveryRank(entry.record, config.selfId) + 1) !== 0) return [];
  const members = { txId, participants: entry.record.participants, acceptors };
  const { run, effects } = startRecovery(members, config.selfId, entry.run, nowMs);
  entry.run = run;
  return effects;
}

/** A promise or an accepted answer for the recovery ballot this participant leads; a chosen value finishes it. */
export function onRecoveryAnswer(config: RecoveryConfig, host: TerminationHost, reply: PromiseMessage | AcceptedMessage, nowMs: number): Effect[] {
  const entry = host.entry(reply.txId);
  if (!entry || entry.phase !== 'prepared' || !entry.run) return [];
  const { effects, chosen } = onAcceptorReply(reply.txId, entry.run, reply, config.selfId, config.proofs, config.testOnlyIgnoreAcceptedValues);
  if (!chosen) return effects;
  return [...effects, ...host.finish(reply.txId, entry, chosen === 'commit' ? 'committed' : 'aborted', nowMs)];
}

/** 0 for the first participant other than the coordinator, 1 for the next...; the coordinator's own node last. */
function recoveryRank(record: ParticipantRecord, selfId: string): number {
  const others = record.participants.filter((node) => node !== record.coordinatorId);
  const index = others.indexOf(selfId);
  return index >= 0 ? index : others.length;
}
