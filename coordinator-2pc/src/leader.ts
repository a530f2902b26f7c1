// The leader's side of one ballot (docs/PROTOCOL.md §20): pure data and rules, used by the
// coordinator (round 0, phase 2 only, value COMMIT) and by a participant in doubt that leads a
// recovery ballot (phase 1, then phase 2 with the value the promises force). A value is chosen
// once a majority of the acceptors accepted it at one ballot.
import type { AcceptedMessage, AcceptorValue, Ballot, CommitProof, NodeId, PromiseMessage, ProtocolMessage, TxId } from './messages.js';
import { compareBallots, majorityOf } from './acceptor.js';
import { UNSIGNED_COMMIT_PROOFS, type CommitProofs } from './commit-proof.js';
import type { Effect } from './ports.js';

export interface BallotRun {
  ballot: Ballot;
  phase: 'promising' | 'accepting' | 'chosen' | 'outranked';
  acceptors: NodeId[];
  participants: NodeId[];
  /** Phase 1: who promised, with what each had accepted. */
  promises: Map<NodeId, PromiseMessage['accepted']>;
  /** Phase 2: who accepted the value. */
  accepts: Set<NodeId>;
  value?: AcceptorValue;
  /** With COMMIT: the coordinator's proof, carried in every accept request (commit-proof.ts). */
  proof?: CommitProof;
  /** The highest ballot any acceptor reported (promised or accepted): a next ballot must exceed it. */
  highestSeen: Ballot;
  /** Acceptors that answered `unknown` (their store may have lost the transaction). */
  unknown: Set<NodeId>;
  startedAtMs: number;
  /** How many ballots this leader ran before this one for the transaction (0 for the first). */
  attempt: number;
}

/** How long a leader's first recovery ballot stays current before a next one may replace it. */
export const BALLOT_PATIENCE_INITIAL_MS = 1_000;
/** The longest a leader waits for its own ballot before starting a higher one (patience doubles up to this). */
export const BALLOT_PATIENCE_MAX_MS = 8_000;

/**
 * True while a leader's ballot may still finish and must not be replaced by the same leader's
 * next one: not chosen, not outranked, and younger than a patience that doubles with every
 * attempt. Without it a leader whose ballots take longer than its turn (slow disks) outranked
 * its own ballot at every turn and none ever finished (seeds 9060, 56631).
 */
export function ballotStillCurrent(run: BallotRun | undefined, nowMs: number): boolean {
  if (!run || (run.phase !== 'promising' && run.phase !== 'accepting')) return false;
  if (run.ballot.round === 0) return false; // round 0 is re-asked, never replaced by patience
  const patienceMs = Math.min(BALLOT_PATIENCE_MAX_MS, BALLOT_PATIENCE_INITIAL_MS * 2 ** Math.min(run.attempt, 16));
  return nowMs - run.startedAtMs < patienceMs;
}

export interface Members {
  txId: TxId;
  participants: NodeId[];
  acceptors: NodeId[];
}

export interface BallotView {
  ballot: { round: number; node: NodeId };
  phase: BallotRun['phase'];
  value?: AcceptorValue;
  acceptors: NodeId[];
  promisedBy: NodeId[];
  acceptedBy: NodeId[];
  unknownAt: NodeId[];
}

export function ballotView(run: BallotRun): BallotView {
  return {
    ballot: run.ballot,
    phase: run.phase,
    ...(run.value ? { value: run.value } : {}),
    acceptors: run.acceptors,
    promisedBy: [...run.promises.keys()],
    acceptedBy: [...run.accepts],
    unknownAt: [...run.unknown],
  };
}

/**
 * The coordinator's round 0: no phase 1 (nobody else may lead it), COMMIT to its own acceptor
 * first; the others are asked once it accepted (roundZeroOthers), so that a coordinator that
 * asked anyone has its own durable record of having proposed.
 */
export function startRoundZero(members: Members, selfId: NodeId, nowMs: number, proof: CommitProof): { run: BallotRun; effects: Effect[] } {
  const ballot = { round: 0, node: selfId };
  const run = newRun(members, ballot, 'accepting', nowMs);
  run.value = 'commit';
  run.proof = proof;
  return { run, effects: acceptRequests(members.txId, run, selfId).filter((e) => e.type === 'send' && e.to === selfId) };
}

/** Round 0 after the coordinator's own acceptor accepted: the other acceptors (their sends wait for its record). */
export function roundZeroOthers(txId: TxId, run: BallotRun, selfId: NodeId): Effect[] {
  if (run.ballot.round !== 0 || !run.accepts.has(selfId)) return [];
  return acceptRequests(txId, run, selfId, true);
}

/** A recovery ballot, one round above everything seen so far: phase 1 at every acceptor. */
export function startRecovery(members: Members, selfId: NodeId, previous: BallotRun | undefined, nowMs: number): { run: BallotRun; effects: Effect[] } {
  const round = Math.max(previous?.highestSeen.round ?? 0, previous?.ballot.round ?? 0) + 1;
  const run = newRun(members, { round, node: selfId }, 'promising', nowMs);
  run.attempt = previous && previous.ballot.round > 0 ? previous.attempt + 1 : 0;
  const effects: Effect[] = members.acceptors.map((to) => ({
    type: 'send',
    to,
    message: { type: 'ballot', txId: members.txId, from: selfId, ballot: run.ballot, participants: members.participants, acceptors: members.acceptors },
  }));
  effects.unshift({ type: 'audit', event: 'TX_BALLOT_STARTED', txId: members.txId, details: { ballot: run.ballot, acceptors: members.acceptors } });
  return { run, effects };
}

/** The current phase's requests again, to the acceptors that have not answered (same ballot: safe to repeat). */
export function resendCurrent(txId: TxId, run: BallotRun, selfId: NodeId): Effect[] {
  if (run.phase === 'accepting') return acceptRequests(txId, run, selfId, true);
  if (run.phase !== 'promising') return [];
  return run.acceptors.filter((to) => !run.promises.has(to)).map((to) => ({
    type: 'send' as const,
    to,
    message: { type: 'ballot' as const, txId, from: selfId, ballot: run.ballot, participants: run.participants, acceptors: run.acceptors },
  }));
}

/** The accept requests of a run's phase 2 (again, to those that have not answered, when re-sent). */
export function acceptRequests(txId: TxId, run: BallotRun, selfId: NodeId, onlyMissing = false): Effect[] {
  if (run.phase !== 'accepting' || !run.value) return [];
  const targets = onlyMissing ? run.acceptors.filter((a) => !run.accepts.has(a)) : run.acceptors;
  return targets.map((to) => ({
    type: 'send' as const,
    to,
    message: { type: 'accept' as const, txId, from: selfId, ballot: run.ballot, value: run.value!, participants: run.participants, acceptors: run.acceptors, ...(run.value === 'commit' && run.proof ? { proof: run.proof } : {}) },
  }));
}

/**
 * A promise or an accepted answer for this run. Returns the effects to carry out and, once a
 * majority accepted, the chosen value.
 */
export function onAcceptorReply(txId: TxId, run: BallotRun, reply: PromiseMessage | AcceptedMessage, selfId: NodeId, proofs: CommitProofs = UNSIGNED_COMMIT_PROOFS, testOnlyIgnoreAccepted = false): { effects: Effect[]; chosen?: AcceptorValue } {
  if (!run.acceptors.includes(reply.from) || compareBallots(reply.ballot, run.ballot) !== 0) return { effects: [] };
  if (!reply.ok) {
    if (reply.promised && compareBallots(reply.promised, run.highestSeen) > 0) run.highestSeen = reply.promised;
    if (reply.refusal === 'unknown') run.unknown.add(reply.from);
    else if (run.phase !== 'chosen') run.phase = 'outranked';
    return { effects: [] };
  }
  if (reply.type === 'promise') return onPromise(txId, run, reply, selfId, proofs, testOnlyIgnoreAccepted);
  if (run.phase !== 'accepting' || reply.value !== run.value) return { effects: [] };
  run.accepts.add(reply.from);
  if (run.accepts.size < majorityOf(run.acceptors.length)) return { effects: [] };
  run.phase = 'chosen';
  const audit: Effect = { type: 'audit', event: 'TX_CHOSEN', txId, details: { ballot: run.ballot, value: run.value, acceptedBy: [...run.accepts] } };
  return { effects: [audit], chosen: run.value };
}

function onPromise(txId: TxId, run: BallotRun, reply: PromiseMessage, selfId: NodeId, proofs: CommitProofs, ignoreAccepted: boolean): { effects: Effect[] } {
  if (run.phase !== 'promising') return { effects: [] };
  // An honest acceptor never holds COMMIT without its coordinator's proof: a report of one is a lie, and counts as nothing accepted.
  const unproven = reply.accepted?.value === 'commit' && proofs.forged({ txId, participants: run.participants, acceptors: run.acceptors }, reply.accepted.proof);
  const accepted = unproven ? undefined : reply.accepted;
  const effects: Effect[] = unproven ? [{ type: 'audit', event: 'TX_UNPROVEN_COMMIT', txId, details: { acceptor: reply.from, ballot: reply.accepted!.ballot } }] : [];
  run.promises.set(reply.from, accepted);
  if (accepted && compareBallots(accepted.ballot, run.highestSeen) > 0) run.highestSeen = accepted.ballot;
  if (run.promises.size < majorityOf(run.acceptors.length)) return { effects };
  const forced = forcedAccepted(run.promises);
  run.value = ignoreAccepted ? 'abort' : forced?.value ?? 'abort';
  if (run.value === 'commit') run.proof = forced!.proof;
  run.phase = 'accepting';
  return { effects: [...effects, ...acceptRequests(txId, run, selfId)] };
}

/** The value of the highest ballot any promise reports; ABORT when none accepted anything. */
export function valueForced(promises: Map<NodeId, PromiseMessage['accepted']>): AcceptorValue {
  return forcedAccepted(promises)?.value ?? 'abort';
}

/** The accepted value of the highest ballot any promise reports (with its proof), or undefined. */
function forcedAccepted(promises: Map<NodeId, PromiseMessage['accepted']>): PromiseMessage['accepted'] {
  let best: PromiseMessage['accepted'];
  for (const accepted of promises.values()) {
    if (accepted && (!best || compareBallots(accepted.ballot, best.ballot) > 0)) best = accepted;
  }
  return best;
}

/** The replies a leader waits for (the driver routes them to the core leading the ballot). */
export function isLeaderReply(message: ProtocolMessage): message is PromiseMessage | AcceptedMessage {
  return message.type === 'promise' || message.type === 'accepted';
}

function newRun(members: Members, ballot: Ballot, phase: BallotRun['phase'], nowMs: number): BallotRun {
  return {
    ballot,
    phase,
    acceptors: members.acceptors,
    participants: members.participants,
    promises: new Map(),
    accepts: new Set(),
    highestSeen: ballot,
    unknown: new Set(),
    startedAtMs: nowMs,
    attempt: 0,
  };
}

/**
 * The acceptors of a transaction, chosen the same way everywhere: the coordinator, then the
 * other participants, then other members in the membership's order, up to `count`. A
 * transaction of the coordinator's own resources only has the coordinator as acceptor: there
 * is nobody else to block, and no other node is made to answer for it.
 */
export function chooseAcceptors(coordinatorId: NodeId, participants: NodeId[], members: NodeId[], count: number): NodeId[] {
  if (participants.every((p) => p === coordinatorId)) return [coordinatorId];
  const ordered = [coordinatorId, ...participants, ...members].filter((node, index, all) => all.indexOf(node) === index);
  return ordered.slice(0, Math.max(1, count));
}
