// Wire schemas of the inter-node atomic-commit protocol. One module serves the HTTP
// server, the HTTP client, the simulator and the generated OpenAPI document.
import { z } from 'zod';

export const NODE_ID_PATTERN = /^[a-z][a-z0-9-]{1,31}$/;
export const TX_ID_PATTERN = /^[a-z][a-z0-9-]{1,31}\.[A-Za-z0-9_-]{8,64}$/;

export const NodeId = z.string().regex(NODE_ID_PATTERN, 'an observatory id: lowercase letters, digits and dashes, 2-32 characters');
export type NodeId = z.infer<typeof NodeId>;

export const TxId = z
  .string()
  .regex(TX_ID_PATTERN, 'a transaction id: "<coordinator id>.<unique suffix>"');
export type TxId = z.infer<typeof TxId>;

export const TxKind = z.enum(['book', 'cancel']);
export type TxKind = z.infer<typeof TxKind>;

/** Why a participant voted no, or why a transaction aborted. */
export const AbortReason = z.object({
  code: z.enum(['conflict', 'invalid', 'expired', 'unreachable', 'timeout', 'refused', 'aborted']),
  detail: z.string().max(2000),
  node: NodeId.optional(),
});
export type AbortReason = z.infer<typeof AbortReason>;

/** The coordinator asks a participant to hold its part of a transaction and vote. */
export const PrepareMessage = z.object({
  type: z.literal('prepare'),
  txId: TxId,
  kind: TxKind,
  coordinatorId: NodeId,
  participants: z.array(NodeId).min(1).max(16),
  /** Synchronised-clock time at which the client asked: smaller is older (wait-die). */
  timestampMs: z.number().int().nonnegative(),
  /** Synchronised-clock time after which the participant must refuse this prepare. */
  deadlineMs: z.number().int().nonnegative(),
  /** The participant's part of the work; its shape belongs to the booking domain. */
  payload: z.unknown(),
  /**
   * The members that accept the decision (Paxos Commit, docs/PROTOCOL.md §20): the coordinator
   * first. Absent: the decision is the coordinator's alone (a booking of the coordinator's own
   * telescopes, or a peer of an older version), and a lost coordinator blocks.
   */
  acceptors: z.array(NodeId).min(1).max(16).optional(),
});
export type PrepareMessage = z.infer<typeof PrepareMessage>;

export const VoteMessage = z.object({
  type: z.literal('vote'),
  txId: TxId,
  from: NodeId,
  vote: z.enum(['yes', 'no']),
  reason: AbortReason.optional(),
});
export type VoteMessage = z.infer<typeof VoteMessage>;

export const DecisionMessage = z.object({
  type: z.enum(['commit', 'abort']),
  txId: TxId,
  from: NodeId,
});
export type DecisionMessage = z.infer<typeof DecisionMessage>;

export const Outcome = z.enum(['committed', 'aborted']);
export type Outcome = z.infer<typeof Outcome>;

export const AckMessage = z.object({
  type: z.literal('ack'),
  txId: TxId,
  from: NodeId,
  outcome: Outcome,
});
export type AckMessage = z.infer<typeof AckMessage>;

export const StatusQueryMessage = z.object({
  type: z.literal('status-query'),
  txId: TxId,
  from: NodeId,
});
export type StatusQueryMessage = z.infer<typeof StatusQueryMessage>;

export const StatusReplyMessage = z.object({
  type: z.literal('status-reply'),
  txId: TxId,
  from: NodeId,
  /**
   * `pending`: not decided yet (the coordinator is collecting votes, or the answering
   * participant is itself in doubt); ask again later. `unknown`: this node's records cannot
   * say (its store was restored, replaced or pruned since): ask the other participants.
   */
  outcome: z.enum(['committed', 'aborted', 'pending', 'unknown']),
});
export type StatusReplyMessage = z.infer<typeof StatusReplyMessage>;

/** The most acceptors a transaction may name (F = 2: five acceptors). */
export const ACCEPTORS_MAX = 5;

/**
 * A Paxos ballot: ordered by round, then by the leader's id. Round 0 belongs to the
 * transaction's coordinator alone, which skips phase 1 there (it is the only leader of it).
 */
export const Ballot = z.object({ round: z.number().int().nonnegative().max(1_000_000_000), node: NodeId });
export type Ballot = z.infer<typeof Ballot>;

/** The value the acceptors agree on: the transaction's decision. */
export const AcceptorValue = z.enum(['commit', 'abort']);
export type AcceptorValue = z.infer<typeof AcceptorValue>;

const TransactionMembers = {
  /** The participants and acceptors the prepare named (an acceptor that is no participant learns them here). */
  participants: z.array(NodeId).min(1).max(16),
  acceptors: z.array(NodeId).min(1).max(ACCEPTORS_MAX),
};

/**
 * The coordinator's proof that it proposed COMMIT (docs/PROTOCOL.md §20, "Commit proofs"): a
 * compact JWS (EdDSA) signed with the coordinator's membership key over the transaction id, the
 * value and the members. Only the coordinator can make one, and it makes one only once every
 * participant voted yes; COMMIT is accepted at no ballot without it.
 */
export const CommitProof = z.string().min(1).max(2_048);
export type CommitProof = z.infer<typeof CommitProof>;

/** A value accepted at a ballot; COMMIT carries the coordinator's proof. */
export const AcceptedValue = z.object({ ballot: Ballot, value: AcceptorValue, proof: CommitProof.optional() });
export type AcceptedValue = z.infer<typeof AcceptedValue>;

/**
 * Why an acceptor did not take part: a higher ballot was promised, its records may have lost the
 * transaction, or a COMMIT came without a valid proof of its coordinator.
 */
export const AcceptorRefusal = z.enum(['outranked', 'unknown', 'unproven']);
export type AcceptorRefusal = z.infer<typeof AcceptorRefusal>;

/** Phase 1a: a recovery leader asks an acceptor to join a ballot and to report what it accepted. */
export const BallotMessage = z.object({ type: z.literal('ballot'), txId: TxId, from: NodeId, ballot: Ballot, ...TransactionMembers });
export type BallotMessage = z.infer<typeof BallotMessage>;

/** Phase 1b: the acceptor promises to take no lower ballot, and reports its accepted value; or refuses. */
export const PromiseMessage = z.object({
  type: z.literal('promise'),
  txId: TxId,
  from: NodeId,
  ballot: Ballot,
  ok: z.boolean(),
  accepted: AcceptedValue.optional(),
  /** On a refusal: the ballot promised instead (when outranked). */
  promised: Ballot.optional(),
  refusal: AcceptorRefusal.optional(),
});
export type PromiseMessage = z.infer<typeof PromiseMessage>;

/** Phase 2a: the leader of a ballot asks an acceptor to accept a value. */
export const AcceptMessage = z.object({ type: z.literal('accept'), txId: TxId, from: NodeId, ballot: Ballot, value: AcceptorValue, ...TransactionMembers, proof: CommitProof.optional() });
export type AcceptMessage = z.infer<typeof AcceptMessage>;

/** Phase 2b: the acceptor made the value durable at that ballot; or refuses. */
export const AcceptedMessage = z.object({
  type: z.literal('accepted'),
  txId: TxId,
  from: NodeId,
  ballot: Ballot,
  value: AcceptorValue,
  ok: z.boolean(),
  promised: Ballot.optional(),
  refusal: AcceptorRefusal.optional(),
});
export type AcceptedMessage = z.infer<typeof AcceptedMessage>;

export type ProtocolMessage =
  | BallotMessage
  | PromiseMessage
  | AcceptMessage
  | AcceptedMessage
  | PrepareMessage
  | VoteMessage
  | DecisionMessage
  | AckMessage
  | StatusQueryMessage
  | StatusReplyMessage;
