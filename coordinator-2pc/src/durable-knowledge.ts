// What a node's durable records say about a transaction its memory no longer holds, and how
// far back those records can be trusted. Presumed abort ("no record means aborted") is true
// only of a store that has been continuous since the transaction began: a restored backup, a
// new disk or pruned records may have lost a decision, and then the honest answer is
// `unknown` (docs/PROTOCOL.md, "Store identity, incarnation and unknown").
import type { NodeId, Outcome, TxId } from './messages.js';
import type { AcceptorRecord } from './ports.js';

/** Looked up by the driver in the node's records before a status query reaches a core. */
export interface DurableKnowledge {
  /** The decision recorded by this node as the transaction's coordinator (commit records are forced). */
  coordinatorDecision?: Outcome;
  /** This node's own participant record of the transaction, when it still keeps one. */
  participantState?: 'prepared' | 'committed' | 'aborted';
  /** This node's acceptor record of the transaction, when it is one of its acceptors. */
  acceptor?: AcceptorRecord;
  /**
   * False when this node's records of the transaction may be missing: the store was restored,
   * replaced or pruned after the transaction began. Then no record does not mean aborted.
   */
  complete: boolean;
  /**
   * The same judgement for this node's acceptor, with the tighter clock margin of live members
   * (ACCEPTOR_CLOCK_MARGIN_MS): absent, `complete` is used. False: the acceptor takes no part.
   */
  acceptorComplete?: boolean;
}

/** The answer a node gives to a status query for a transaction it holds nothing of in memory. */
export type StatusAnswer = 'committed' | 'aborted' | 'pending' | 'unknown';

/** The coordinator's answer from its records alone: a recorded decision, else presumed abort where it holds. */
export function coordinatorAnswer(knowledge: DurableKnowledge): StatusAnswer {
  if (knowledge.coordinatorDecision) return knowledge.coordinatorDecision;
  // Its own acceptor took part: the coordinator proposed commit, and only the acceptors can say.
  if (knowledge.acceptor) return 'unknown';
  return knowledge.complete ? 'aborted' : 'unknown';
}

/** Where a transaction id came from: its coordinator, when it was made and in which incarnation. */
export interface TxOrigin {
  coordinatorId: NodeId;
  /** The coordinator's clock when it made the id (milliseconds since the epoch). */
  createdAtMs: number;
  /** The coordinator's store incarnation, when the id carries it (ids made before incarnations do not). */
  incarnation?: number;
}

const TIME_DIGITS = 8; // Date.now() in base 36 has 8 digits until 2059
const WITH_INCARNATION = /^([0-9a-z]{8})_i([0-9a-z]{1,6})_/;

/** `<coordinator>.<time, base 36>_i<incarnation, base 36>_<random>`, the id a node makes. */
export function makeTxId(coordinatorId: NodeId, nowMs: number, incarnation: number, random: string): TxId {
  return `${coordinatorId}.${nowMs.toString(36).padStart(TIME_DIGITS, '0')}_i${incarnation.toString(36)}_${random}`;
}

/** Reads an id made by makeTxId, or an older one that starts with the time only. */
export function txOrigin(txId: TxId): TxOrigin | undefined {
  const dot = txId.indexOf('.');
  if (dot < 0) return undefined;
  const coordinatorId = txId.slice(0, dot);
  const suffix = txId.slice(dot + 1);
  const full = WITH_INCARNATION.exec(suffix);
  if (full) return { coordinatorId, createdAtMs: parseInt(full[1]!, 36), incarnation: parseInt(full[2]!, 36) };
  const time = suffix.slice(0, TIME_DIGITS);
  if (!/^[0-9a-z]{8}$/.test(time)) return undefined;
  return { coordinatorId, createdAtMs: parseInt(time, 36) };
}

/**
 * The part of the past a store can answer for. `completeSinceMs`: records of transactions
 * begun before it may be missing (the store's creation, its restore, or the prune horizon,
 * whichever is latest). `completeSinceIncarnation`: the same for this node's own ids, by
 * incarnation, which no clock error can blur.
 */
export interface StoreHorizon {
  completeSinceMs: number;
  completeSinceIncarnation: number;
  /** Clock difference tolerated between the id's maker and this node. */
  marginMs: number;
}

/** True when the store holds every record this node ever wrote about `txId`. */
export function recordsComplete(txId: TxId, selfId: NodeId, horizon: StoreHorizon): boolean {
  const origin = txOrigin(txId);
  if (!origin) return false;
  if (origin.coordinatorId === selfId && origin.incarnation !== undefined && origin.incarnation < horizon.completeSinceIncarnation) return false;
  const margin = origin.coordinatorId === selfId ? 0 : horizon.marginMs;
  return origin.createdAtMs >= horizon.completeSinceMs + margin;
}
