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

export type ProtocolMessage =
  | PrepareMessage
  | VoteMessage
  | DecisionMessage
  | AckMessage
  | StatusQueryMessage
  | StatusReplyMessage;
