// What another member may ask of this node's acceptor, and what acceptor set a prepare may name
// (Paxos Commit, docs/PROTOCOL.md §20; docs/SECURITY.md). Checked before the engine sees the
// message; a refusal is a problem (403/400) whose `rule` names the rule broken, audited as
// ACCEPTOR_REQUEST_REFUSED. The signature says who speaks; these rules say what that member may ask:
// - a leader speaks only for its own ballot (ballot.node is the signer);
// - round 0 is the coordinator's alone (the first part of the transaction id), and carries COMMIT;
// - a recovery ballot (round >= 1) is led by a participant of the transaction or its coordinator;
// - COMMIT, at any round, carries the coordinator's commit proof (commit-proofs.ts): a recovery
//   leader cannot make the acceptors choose COMMIT of a transaction its coordinator never proposed;
// - the acceptors are distinct members, the coordinator first, at most ACCEPTORS_MAX, and name
//   this node (an acceptor the transaction does not name takes no part).
import { ACCEPTORS_MAX, type AcceptMessage, type BallotMessage, type PrepareMessage } from '../../../coordinator-2pc/src/index.js';
import { HttpProblem } from '../http/problem.js';
import type { NodeParts } from '../node-parts.js';
import { commitProofFault } from './commit-proofs.js';

/** The rules' names, as a refusal's `rule` and its audit line give them. */
export type AcceptorRule =
  | 'acceptor-sender-is-member' | 'acceptor-sender-is-signer' | 'leader-own-ballot' | 'round-zero-coordinator-only'
  | 'round-zero-no-phase-one' | 'round-zero-commit-only' | 'recovery-leader-is-participant' | 'commit-proof'
  | 'acceptors-are-members' | 'acceptors-distinct' | 'acceptors-max' | 'acceptors-coordinator-first' | 'acceptors-name-receiver';

export function checkAcceptorRequest<M extends BallotMessage | AcceptMessage>(parts: NodeParts, message: M, peer: string): M {
  const rule = acceptorRuleBroken(parts, message, peer);
  if (!rule) return message;
  const ballot = `${message.ballot.round}/${message.ballot.node}`;
  parts.loggers.audit.event('ACCEPTOR_REQUEST_REFUSED', { peer, type: message.type, ballot, ...(message.type === 'accept' ? { value: message.value } : {}), rule: rule.rule, detail: rule.problem.detail }, { txId: message.txId });
  throw rule.problem;
}

/** A prepare's acceptor set, when it names one: the same rules as the acceptor's (400 otherwise). */
export function checkPrepareAcceptors(parts: NodeParts, prepare: PrepareMessage): void {
  if (!prepare.acceptors) return;
  const broken = membersRuleBroken(parts, prepare.participants, prepare.acceptors, prepare.coordinatorId);
  if (broken) throw broken.problem;
}

type Broken = { rule: AcceptorRule; problem: HttpProblem } | undefined;

function refused(type: 'forbidden' | 'invalid-request', rule: AcceptorRule, detail: string): Broken {
  return { rule, problem: new HttpProblem(type, detail, { rule }) };
}

function acceptorRuleBroken(parts: NodeParts, message: BallotMessage | AcceptMessage, peer: string): Broken {
  const selfId = parts.directory.selfId;
  const coordinatorId = message.txId.split('.')[0]!;
  if (!parts.directory.members.has(message.from)) return refused('forbidden', 'acceptor-sender-is-member', `${message.from} is not a member of this federation`);
  if (message.from !== peer) return refused('forbidden', 'acceptor-sender-is-signer', `the message claims to come from ${message.from} but is signed by ${peer}`);
  if (message.ballot.node !== message.from) return refused('forbidden', 'leader-own-ballot', `${message.from} may lead only its own ballots, not one of ${message.ballot.node}`);
  const members = membersRuleBroken(parts, message.participants, message.acceptors, coordinatorId);
  if (members) return members;
  if (!message.acceptors.includes(selfId)) return refused('forbidden', 'acceptors-name-receiver', `${selfId} is not an acceptor of ${message.txId}`);
  if (message.ballot.round === 0) {
    if (message.from !== coordinatorId) return refused('forbidden', 'round-zero-coordinator-only', `round 0 of ${message.txId} belongs to its coordinator ${coordinatorId}`);
    if (message.type === 'ballot') return refused('invalid-request', 'round-zero-no-phase-one', 'round 0 has no phase 1: a recovery ballot starts at round 1');
    if (message.value !== 'commit') return refused('invalid-request', 'round-zero-commit-only', 'round 0 carries only COMMIT (an abort needs no acceptor)');
  } else if (message.from !== coordinatorId && !message.participants.includes(message.from)) {
    return refused('forbidden', 'recovery-leader-is-participant', `only a participant of ${message.txId} or its coordinator may lead a recovery ballot; ${message.from} is neither`);
  }
  if (message.type === 'accept' && message.value === 'commit') {
    const fault = commitProofFault(parts.security.keyRing, message, message.proof);
    if (fault) return refused('forbidden', 'commit-proof', `${fault}: COMMIT is accepted only with the proof its coordinator signed when every participant voted yes (docs/PROTOCOL.md §20, "Commit proofs")`);
  }
  return undefined;
}

function membersRuleBroken(parts: NodeParts, participants: string[], acceptors: string[], coordinatorId: string): Broken {
  const strangers = [...participants, ...acceptors].filter((node) => !parts.directory.members.has(node));
  if (strangers.length > 0) return refused('invalid-request', 'acceptors-are-members', `not members of this federation: ${[...new Set(strangers)].join(', ')}`);
  if (new Set(acceptors).size !== acceptors.length) return refused('invalid-request', 'acceptors-distinct', 'each acceptor appears once');
  if (acceptors.length > ACCEPTORS_MAX) return refused('invalid-request', 'acceptors-max', `at most ${ACCEPTORS_MAX} acceptors (ACCEPTORS_MAX)`);
  if (acceptors[0] !== coordinatorId) return refused('invalid-request', 'acceptors-coordinator-first', `the first acceptor is the coordinator ${coordinatorId}`);
  return undefined;
}
