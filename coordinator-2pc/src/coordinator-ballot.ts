// The coordinator's side of the acceptors' ballot (Paxos Commit, docs/PROTOCOL.md §20): its
// round 0, and the recovery ballots it leads after a restart or once outranked. Pure rules;
// coordinator.ts decides with what they return.
import type { AbortReason, AcceptedMessage, AcceptorValue, NodeId, PromiseMessage, TxId } from './messages.js';
import { acceptRequests, ballotStillCurrent, onAcceptorReply, resendCurrent, roundZeroOthers, startRecovery, type BallotRun, type Members } from './leader.js';
import type { CommitProofs } from './commit-proof.js';
import type { Effect } from './ports.js';
import type { BeginTransaction } from './coordinator-types.js';

/** What a coordinator proposing COMMIT keeps between ticks. */
export interface ProposalTimer {
  run: BallotRun;
  nextSendAtMs: number;
  sendIntervalMs: number;
}

/** Who decides a transaction: its participants, and its acceptors (the coordinator alone when it named none). */
export function membersOf(begin: BeginTransaction, selfId: NodeId): Members {
  return { txId: begin.txId, participants: begin.parts.map((p) => p.node), acceptors: begin.acceptors ?? [selfId] };
}

export const ABORTED_BY_ACCEPTORS: AbortReason = {
  code: 'aborted',
  detail: 'the acceptors chose abort: a participant in doubt led a recovery ballot before this coordinator\'s commit was accepted',
};

/**
 * No majority yet: round 0 is asked again of the acceptors that did not answer (the same value
 * at the same ballot is safe to repeat); an outranked or stalled recovery ballot gives way to
 * a higher one. Never an abort of its own: COMMIT may already be chosen.
 */
export function driveProposal(txId: TxId, proposal: ProposalTimer, members: Members, config: { selfId: NodeId; resendMaxMs: number; proofs?: CommitProofs }, nowMs: number): Effect[] {
  proposal.nextSendAtMs = nowMs + proposal.sendIntervalMs;
  proposal.sendIntervalMs = Math.min(proposal.sendIntervalMs * 2, config.resendMaxMs);
  if (proposal.run.ballot.round === 0 && proposal.run.phase === 'accepting') {
    // Signed afresh with the current key: a proof made before a key rotation would be refused once the old key is retired.
    if (config.proofs) proposal.run.proof = config.proofs.sign(members);
    const ownMissing = !proposal.run.accepts.has(config.selfId);
    return acceptRequests(txId, proposal.run, config.selfId, true).filter((e) => !ownMissing || (e.type === 'send' && e.to === config.selfId));
  }
  if (proposal.run.phase === 'chosen') return [];
  if (ballotStillCurrent(proposal.run, nowMs)) return resendCurrent(txId, proposal.run, config.selfId);
  const { run, effects } = startRecovery(members, config.selfId, proposal.run, nowMs);
  proposal.run = run;
  return effects;
}

/**
 * An acceptor's answer to the coordinator's ballot: once its own acceptor accepted round 0, the
 * others are asked; once a majority accepted one value, that value is chosen.
 */
export function coordinatorBallotAnswer(run: BallotRun, reply: PromiseMessage | AcceptedMessage, selfId: NodeId, proofs?: CommitProofs): { effects: Effect[]; chosen?: AcceptorValue } {
  const { effects, chosen } = onAcceptorReply(reply.txId, run, reply, selfId, proofs);
  const ownAcceptance = reply.from === selfId && reply.ok && run.ballot.round === 0;
  if (ownAcceptance && !chosen) effects.push(...roundZeroOthers(reply.txId, run, selfId));
  return chosen ? { effects, chosen } : { effects };
}
