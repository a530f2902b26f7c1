// What another member may ask of this node's acceptor, and what acceptor set a prepare may name
// (Paxos Commit, docs/PROTOCOL.md §20; docs/SECURITY.md). Checked before the engine sees the
// message; a refusal is a problem (403/400) naming the rule. The signature says who speaks;
// these rules say what that member may ask:
// - a leader speaks only for its own ballot (ballot.node is the signer);
// - round 0 is the coordinator's alone (the first part of the transaction id), and carries COMMIT;
// - a recovery ballot (round >= 1) is led by a participant of the transaction or its coordinator;
// - the acceptors are distinct members, the coordinator first, at most ACCEPTORS_MAX, and name
//   this node (an acceptor the transaction does not name takes no part).
import { ACCEPTORS_MAX, type AcceptMessage, type BallotMessage, type PrepareMessage } from '../../../coordinator-2pc/src/index.js';
import { HttpProblem } from '../http/problem.js';
import type { NodeParts } from '../node-parts.js';

export function checkAcceptorRequest<M extends BallotMessage | AcceptMessage>(parts: NodeParts, message: M, peer: string): M {
  const selfId = parts.directory.selfId;
  const coordinatorId = message.txId.split('.')[0]!;
  if (!parts.directory.members.has(message.from)) throw new HttpProblem('forbidden', `${message.from} is not a member of this federation`);
  if (message.from !== peer) throw new HttpProblem('forbidden', `the message claims to come from ${message.from} but is signed by ${peer}`);
  if (message.ballot.node !== message.from) throw new HttpProblem('forbidden', `${message.from} may lead only its own ballots, not one of ${message.ballot.node}`);
  checkMembers(parts, message.participants, message.acceptors, coordinatorId);
  if (!message.acceptors.includes(selfId)) throw new HttpProblem('forbidden', `${selfId} is not an acceptor of ${message.txId}`);
  if (message.ballot.round === 0) {
    if (message.from !== coordinatorId) throw new HttpProblem('forbidden', `round 0 of ${message.txId} belongs to its coordinator ${coordinatorId}`);
    if (message.type === 'ballot') throw new HttpProblem('invalid-request', 'round 0 has no phase 1: a recovery ballot starts at round 1');
    if (message.value !== 'commit') throw new HttpProblem('invalid-request', 'round 0 carries only COMMIT (an abort needs no acceptor)');
  } else if (message.from !== coordinatorId && !message.participants.includes(message.from)) {
    throw new HttpProblem('forbidden', `only a participant of ${message.txId} or its coordinator may lead a recovery ballot; ${message.from} is neither`);
  }
  return message;
}

/** A prepare's acceptor set, when it names one: the same rules as the acceptor's (400 otherwise). */
export function checkPrepareAcceptors(parts: NodeParts, prepare: PrepareMessage): void {
  if (!prepare.acceptors) return;
  checkMembers(parts, prepare.participants, prepare.acceptors, prepare.coordinatorId);
}

function checkMembers(parts: NodeParts, participants: string[], acceptors: string[], coordinatorId: string): void {
  const strangers = [...participants, ...acceptors].filter((node) => !parts.directory.members.has(node));
  if (strangers.length > 0) throw new HttpProblem('invalid-request', `not members of this federation: ${[...new Set(strangers)].join(', ')}`);
  if (new Set(acceptors).size !== acceptors.length) throw new HttpProblem('invalid-request', 'each acceptor appears once');
  if (acceptors.length > ACCEPTORS_MAX) throw new HttpProblem('invalid-request', `at most ${ACCEPTORS_MAX} acceptors (ACCEPTORS_MAX)`);
  if (acceptors[0] !== coordinatorId) throw new HttpProblem('invalid-request', `the first acceptor is the coordinator ${coordinatorId}`);
}
