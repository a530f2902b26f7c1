// What the pure protocol cores need from the world, as data: the records they ask to be
// made durable, the effects they ask the driver to carry out, and the resource manager
// that holds, confirms and releases the participant's resources in memory.
import type {
  AbortReason,
  AcceptorValue,
  Ballot,
  NodeId,
  Outcome,
  ProtocolMessage,
  TxId,
  TxKind,
} from './messages.js';

/** A participant's durable record of one transaction (the transaction log's participant row). */
export interface ParticipantRecord {
  txId: TxId;
  kind: TxKind;
  coordinatorId: NodeId;
  participants: NodeId[];
  timestampMs: number;
  deadlineMs: number;
  payload: unknown;
  /** `prepared`: voted yes, in doubt until told. `aborted` without a prior prepare is a tombstone. */
  state: 'prepared' | 'committed' | 'aborted';
  /** When this node first saw the transaction (its own clock). */
  createdAtMs: number;
  updatedAtMs: number;
  /** Set when an operator forced the outcome of an in-doubt transaction. */
  heuristic?: boolean;
  reason?: AbortReason;
  /** The acceptors the prepare named (absent: the coordinator decides alone). */
  acceptors?: NodeId[];
}

/** An acceptor's durable state for one transaction (acceptor.ts; the acceptor_transactions row). */
export interface AcceptorRecord {
  txId: TxId;
  participants: NodeId[];
  acceptors: NodeId[];
  /** No ballot lower than this is taken part in any more. */
  promised: Ballot;
  /** The value accepted last, and at which ballot. */
  accepted?: { ballot: Ballot; value: AcceptorValue; proof?: string };
  createdAtMs: number;
  updatedAtMs: number;
}

/** The coordinator's durable record: written (and forced) only once commit is decided. */
export interface CoordinatorRecord {
  txId: TxId;
  kind: TxKind;
  participants: NodeId[];
  timestampMs: number;
  decision: Outcome;
  /** Participants that acknowledged the decision. */
  acked: NodeId[];
  /** `decided`: some participant still has to acknowledge; `ended`: all did. */
  state: 'decided' | 'ended';
  createdAtMs: number;
  updatedAtMs: number;
}

/**
 * What the resource manager changed for one transaction in one step (for the booking domain:
 * slot claims). Opaque to the protocol: it is carried, never read, and made durable in the
 * same write as that transaction's record — never swept up by whichever write comes next.
 */
export type ResourceChanges = readonly unknown[];

export type Effect =
  /**
   * Make this record durable, together with the resource changes of the same transaction and
   * step (raft's Ready: all that must be durable before a message leaves, in one struct).
   * Effects after it that leave the node wait until it is.
   */
  | { type: 'persist-participant'; record: ParticipantRecord; changes: ResourceChanges }
  | { type: 'persist-coordinator'; record: CoordinatorRecord }
  | { type: 'persist-acceptor'; record: AcceptorRecord }
  /** Deliver a protocol message to another node (or to this node's other role). */
  | { type: 'send'; to: NodeId; message: ProtocolMessage }
  /** The coordinator's answer for the client that began the transaction. */
  | { type: 'outcome'; txId: TxId; outcome: Outcome; reasons: AbortReason[] }
  /** A line for the audit trail: a business event of the protocol. */
  | { type: 'audit'; event: AuditEventType; txId: TxId; details: Record<string, unknown> };

export type AuditEventType =
  | 'TX_PREPARED'
  | 'TX_VOTED_NO'
  | 'TX_WAITING'
  | 'TX_COMMITTED'
  | 'TX_ABORTED'
  | 'TX_DECIDED'
  | 'TX_ENDED'
  | 'TX_IN_DOUBT'
  | 'TX_RECOVERED'
  | 'TX_HEURISTIC'
  /** Cooperative termination: an in-doubt participant asks the other participants. */
  | 'TX_TERMINATION_ASKED'
  /** Cooperative termination: another participant's record settled the outcome. */
  | 'TX_TERMINATED_BY_PEER'
  /** Reconciliation: a peer's record of a transaction this store had lost was applied again. */
  | 'TX_REAPPLIED'
  /** This node's acceptor accepted a value at a ballot (forced to disk before it answers). */
  | 'TX_ACCEPTED'
  /** A leader (the coordinator, or a participant in doubt) starts a ballot of the acceptors. */
  | 'TX_BALLOT_STARTED'
  /** A majority of the acceptors accepted one value at one ballot: the decision is chosen. */
  | 'TX_CHOSEN'
  /** A recovery leader ignored an acceptor's report of COMMIT that carried no valid proof of the coordinator. */
  | 'TX_UNPROVEN_COMMIT';

/** Result of trying to hold the resources of a transaction. */
export type HoldAttempt =
  /** Held: `changes` are what the hold changed, to be made durable with the PREPARED record. */
  | { ok: true; changes: ResourceChanges }
  /**
   * Held by other transactions: `blockers` are their ids; `final` when one of them is already
   * committed; `awaitable`: blockers this transaction may wait for whatever their age, because
   * their own decision never waits for it (a cancellation's own booking, not yet committed here).
   */
  | { ok: false; code: 'conflict'; detail: string; blockers: TxId[]; final: boolean; awaitable?: TxId[] }
  | { ok: false; code: 'invalid'; detail: string };

/**
 * The participant's resources, in memory, deterministic. The booking domain implements it
 * (hold/confirm/release of telescope slots). Each call returns what it changed; the core
 * puts those changes in the persist effect of the same transaction's record.
 */
export interface ResourceManager {
  /** Validate and, when possible, take the resources for this transaction. A refusal changes nothing. */
  tryHold(txId: TxId, kind: TxKind, payload: unknown, nowMs: number): HoldAttempt;
  /** The transaction committed: held resources become final. */
  confirm(txId: TxId, kind: TxKind, payload: unknown): ResourceChanges;
  /** The transaction aborted: give back whatever it held. Safe when it held nothing. */
  release(txId: TxId, kind: TxKind, payload: unknown): ResourceChanges;
}
