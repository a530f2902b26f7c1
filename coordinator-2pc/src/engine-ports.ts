// What the protocol engine (engine.ts) needs from its node and gives back: the messages it
// sends and answers, the durable log entries, the ports, the named fault points and a
// transaction's result. The node's adapters and the simulator implement these ports.
import type { NodeId, ProtocolMessage, TxId } from './messages.js';
import type { AbortReason, Outcome } from './messages.js';
import type { AcceptorRecord, CoordinatorRecord, Effect, ParticipantRecord, ResourceChanges } from './ports.js';
import type { DurableKnowledge } from './durable-knowledge.js';

export type RequestMessage = Extract<ProtocolMessage, { type: 'prepare' | 'commit' | 'abort' | 'status-query' | 'ballot' | 'accept' }>;
export type ReplyMessage = Extract<ProtocolMessage, { type: 'vote' | 'ack' | 'status-reply' | 'promise' | 'accepted' }>;

/** One durable write: a record, and for a participant record the resource changes of its step. */
export type LogEntry =
  | { role: 'participant'; record: ParticipantRecord; changes: ResourceChanges }
  | { role: 'coordinator'; record: CoordinatorRecord }
  | { role: 'acceptor'; record: AcceptorRecord };

export interface EnginePorts {
  /** Durable, first-in first-out: a write resolves only after every earlier write did. */
  writeLog(entry: LogEntry): Promise<void>;
  /** Deliver a request to another node and return its reply; rejects when it cannot. */
  request(to: NodeId, message: RequestMessage): Promise<ReplyMessage>;
  /** The synchronised clock. */
  nowMs(): number;
  /** Ask to be woken (wake()) at this time; a later call replaces an earlier one. */
  scheduleWake(atMs: number | undefined): void;
  audit(effect: Extract<Effect, { type: 'audit' }>): void;
  /** A write failed or a core broke an invariant: the process must stop at once. */
  fatal(error: unknown): void;
  /**
   * What the node's records say of a transaction (durable-knowledge.ts): looked up before a
   * status query about a transaction no longer in memory is answered. Without it, the
   * coordinator presumes abort and a participant answers other participants `unknown`.
   */
  knowledgeOf?(txId: TxId): Promise<DurableKnowledge>;
  /** Test-only fault injection: the named moment of a transaction has come (may kill the process). */
  faultPoint?(point: FaultPoint, txId: TxId, kind: string | undefined): void;
}

/** The named moments at which a test may make a node die (docs/OPERATIONS.md, crash points). */
export const FAULT_POINTS = [
  'participant.prepared.before-vote',
  'participant.voted-yes',
  'participant.committed.before-ack',
  'participant.aborted.before-ack',
  'coordinator.decided.before-commit',
  'coordinator.committed-at-one',
] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

export interface TransactionResult {
  outcome: Outcome;
  reasons: AbortReason[];
}
