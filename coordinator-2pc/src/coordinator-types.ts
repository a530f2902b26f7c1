// The coordinator's settings, inputs and views (coordinator.ts holds the state machine).
import type { NodeId, ProtocolMessage, TxId, TxKind } from './messages.js';
import type { DurableKnowledge } from './durable-knowledge.js';
import type { BallotView } from './leader.js';
import type { CommitProofs } from './commit-proof.js';

export interface CoordinatorConfig {
  selfId: NodeId;
  /** First pause before a decision is sent again to a participant that has not acknowledged. */
  resendInitialMs: number;
  /** The longest pause between two sends of a decision. */
  resendMaxMs: number;
  /** How long an aborted transaction is remembered to re-send its abort (presumed abort needs none). */
  abortedRetentionMs: number;
  /** Signs this coordinator's round-0 COMMIT, checks the proofs promises report (commit-proof.ts); UNSIGNED_COMMIT_PROOFS when absent. */
  proofs?: CommitProofs;
  /** Test-only: tell commit before a majority of the acceptors accepted it (the simulator's `early-commit` bug). */
  testOnlyCommitBeforeMajority?: boolean;
}

export interface BeginTransaction {
  txId: TxId;
  kind: TxKind;
  timestampMs: number;
  deadlineMs: number;
  /** Each participant's part of the work, in the order the prepares are sent. */
  parts: Array<{ node: NodeId; payload: unknown }>;
  /** The acceptors of the decision, this coordinator first; absent or one: it decides alone (2PC). */
  acceptors?: NodeId[];
}

/** A transaction that proposed COMMIT to the acceptors before its coordinator restarted: it is led again. */
export interface InterruptedProposal {
  txId: TxId;
  kind: TxKind;
  participants: NodeId[];
  timestampMs: number;
  acceptors: NodeId[];
}

export type CoordinatorEvent =
  | { type: 'begin'; transaction: BeginTransaction; nowMs: number }
  /** `knowledge`: what the node's records say of a status query's transaction (looked up by the driver). */
  | { type: 'receive'; message: ProtocolMessage; nowMs: number; knowledge?: DurableKnowledge }
  /** The transport could not deliver to `node` (refused, timed out, answered an error). */
  | { type: 'unreachable'; txId: TxId; node: NodeId; detail: string; nowMs: number }
  | { type: 'tick'; nowMs: number };

export interface CoordinatorTxView {
  txId: TxId;
  phase: 'collecting' | 'proposing' | 'committing' | 'aborting';
  kind: TxKind;
  participants: NodeId[];
  timestampMs: number;
  createdAtMs: number;
  waitingFor: NodeId[];
  /** While the acceptors decide: the ballot this coordinator leads and who answered. */
  ballot?: BallotView;
}
