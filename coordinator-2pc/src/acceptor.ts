// The acceptor's state machine (Paxos Commit, Gray & Lamport; docs/PROTOCOL.md §20): pure,
// deterministic, no I/O. Each transaction that names this node as one of its acceptors gets
// one Paxos instance on its decision. The acceptor promises never to take part in a ballot
// lower than the highest it has joined, and forces what it promised and accepted to disk
// before it answers (the driver holds every reply until the record is durable).
//
// Rules that the safety argument rests on:
// - round 0 belongs to the coordinator (the first part of the transaction id), which proposes
//   only COMMIT there and only after every participant voted yes; a round-0 ABORT is refused;
// - a phase-1 ballot is joined only when strictly higher than every ballot promised, so no
//   leader can run phase 1 twice under one ballot (a leader restarted without memory of its
//   ballot is refused and picks a higher one);
// - an acceptor whose store may have lost the transaction (restored, replaced, pruned) takes no
//   part at all: it answers `unknown`, never as though it had accepted nothing;
// - COMMIT is accepted at no ballot without the coordinator's proof that it proposed it
//   (commit-proof.ts): a recovery leader's claim that its promises forced COMMIT cannot be
//   checked here, the coordinator's signature can. A free instance is decided ABORT.
import { UNSIGNED_COMMIT_PROOFS, type CommitProofs } from './commit-proof.js';
import type { AcceptMessage, AcceptorRefusal, AcceptorValue, Ballot, BallotMessage, NodeId, ProtocolMessage, TxId } from './messages.js';
import type { AcceptorRecord, Effect } from './ports.js';
import type { DurableKnowledge } from './durable-knowledge.js';
import { invariant } from './invariants.js';

export interface AcceptorConfig {
  selfId: NodeId;
  /** How long a record stays in memory after its last change (later requests read it from the store). */
  retentionMs: number;
  /**
   * True when this node's store may have lost what its acceptor did for `txId` (it was restored
   * or replaced after the transaction began): then even a record it holds may be stale, and it
   * takes no part. Given by the driver from the store's identity (durable-knowledge.ts).
   */
  mayHaveLost?: (txId: TxId) => boolean;
  /** Checks the coordinator's commit proofs (the node: Ed25519; unit tests and simulator: UNSIGNED_COMMIT_PROOFS). */
  proofs?: CommitProofs;
}

export type AcceptorEvent =
  /** `knowledge`: what the store holds of a transaction not in memory (looked up by the driver). */
  | { type: 'receive'; message: ProtocolMessage; nowMs: number; knowledge?: DurableKnowledge }
  | { type: 'tick'; nowMs: number };

export interface AcceptorTxView {
  txId: TxId;
  promised: Ballot;
  accepted?: { ballot: Ballot; value: AcceptorValue };
  acceptors: NodeId[];
}

/** Ballot order: round first, then the leader's id (two leaders never share a ballot). */
export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.round !== b.round) return a.round - b.round;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** The coordinator's own ballot: round 0, its id. */
export function ballotZero(txId: TxId): Ballot {
  return { round: 0, node: txId.slice(0, txId.indexOf('.')) };
}

/** How many acceptors make a majority of `count`. */
export function majorityOf(count: number): number {
  return Math.floor(count / 2) + 1;
}

export class AcceptorCore {
  private readonly records = new Map<TxId, AcceptorRecord>();

  constructor(private readonly config: AcceptorConfig) {}

  /** Rebuild after a restart from the durable records kept recently enough. */
  restore(records: AcceptorRecord[]): void {
    for (const record of records) this.records.set(record.txId, record);
  }

  /** True when this transaction's acceptor state is in memory (else the driver looks it up). */
  holds(txId: TxId): boolean {
    return this.records.has(txId);
  }

  view(txId: TxId): AcceptorTxView | undefined {
    const record = this.records.get(txId);
    if (!record) return undefined;
    const accepted = record.accepted ? { accepted: { ballot: record.accepted.ballot, value: record.accepted.value } } : {};
    return { txId, promised: record.promised, acceptors: record.acceptors, ...accepted };
  }

  step(event: AcceptorEvent): Effect[] {
    if (event.type === 'tick') {
      this.forget(event.nowMs);
      return [];
    }
    const { message, nowMs, knowledge } = event;
    if (message.type !== 'ballot' && message.type !== 'accept') return [];
    if (!message.acceptors.includes(this.config.selfId)) return []; // the adapter refuses this before
    if (this.config.mayHaveLost?.(message.txId)) return [this.refusal(message, 'unknown')];
    if (!this.records.has(message.txId) && knowledge?.acceptor) this.records.set(message.txId, knowledge.acceptor);
    const known = this.records.get(message.txId);
    if (!known && knowledge && !(knowledge.acceptorComplete ?? knowledge.complete)) return [this.refusal(message, 'unknown')];
    return message.type === 'ballot' ? this.onBallot(message, known, nowMs) : this.onAccept(message, known, nowMs);
  }

  nextWakeAtMs(): number | undefined {
    return undefined; // forgetting waits for the next tick the other cores ask for
  }

  /** Phase 1: join a strictly higher ballot and report the value accepted so far. */
  private onBallot(message: BallotMessage, known: AcceptorRecord | undefined, nowMs: number): Effect[] {
    if (message.ballot.round === 0) return [this.refusal(message, 'outranked', known?.promised)]; // round 0 has no phase 1
    if (known && compareBallots(message.ballot, known.promised) <= 0) return [this.refusal(message, 'outranked', known.promised)];
    const record: AcceptorRecord = {
      ...(known ?? this.fresh(message, nowMs)),
      promised: message.ballot,
      updatedAtMs: nowMs,
    };
    this.records.set(message.txId, record);
    const reply = { type: 'promise' as const, txId: message.txId, from: this.config.selfId, ballot: message.ballot, ok: true, ...(record.accepted ? { accepted: record.accepted } : {}) };
    return [{ type: 'persist-acceptor', record }, { type: 'send', to: message.from, message: reply }];
  }

  /** Phase 2: accept the value of a ballot at least as high as the one promised. */
  private onAccept(message: AcceptMessage, known: AcceptorRecord | undefined, nowMs: number): Effect[] {
    const { ballot, value } = message;
    if (ballot.round === 0 && value !== 'commit') return [this.refusal(message, 'outranked', known?.promised ?? ballot)];
    if (known && compareBallots(ballot, known.promised) < 0) return [this.refusal(message, 'outranked', known.promised)];
    if (value === 'commit' && !(this.config.proofs ?? UNSIGNED_COMMIT_PROOFS).verify(message, message.proof)) return [this.refusal(message, 'unproven', known?.promised)];
    const repeated = known?.accepted && compareBallots(known.accepted.ballot, ballot) === 0;
    if (repeated && known.accepted!.value !== value) return [this.refusal(message, 'outranked', known.promised)]; // one value per ballot
    const reply = { type: 'accepted' as const, txId: message.txId, from: this.config.selfId, ballot, value, ok: true };
    if (repeated) return [{ type: 'send', to: message.from, message: reply }]; // durable already
    const accepted = value === 'commit' ? { ballot, value, proof: message.proof! } : { ballot, value };
    const record: AcceptorRecord = { ...(known ?? this.fresh(message, nowMs)), promised: ballot, accepted, updatedAtMs: nowMs };
    invariant(compareBallots(record.promised, ballot) === 0, 'an acceptor accepts only at the ballot it promised');
    this.records.set(message.txId, record);
    return [
      { type: 'persist-acceptor', record },
      { type: 'audit', event: 'TX_ACCEPTED', txId: message.txId, details: { ballot, value, leader: message.from } },
      { type: 'send', to: message.from, message: reply },
    ];
  }

  private fresh(message: BallotMessage | AcceptMessage, nowMs: number): AcceptorRecord {
    return { txId: message.txId, participants: message.participants, acceptors: message.acceptors, promised: { round: 0, node: '' }, createdAtMs: nowMs, updatedAtMs: nowMs };
  }

  private refusal(message: BallotMessage | AcceptMessage, refusal: AcceptorRefusal, promised?: Ballot): Effect {
    const base = { txId: message.txId, from: this.config.selfId, ballot: message.ballot, ok: false, refusal, ...(promised && promised.node ? { promised } : {}) };
    const reply: ProtocolMessage = message.type === 'ballot' ? { type: 'promise', ...base } : { type: 'accepted', value: message.value, ...base };
    return { type: 'send', to: message.from, message: reply };
  }

  /** Oldest first (the map keeps creation order); stops at the first one still kept, so a tick costs little. */
  private forget(nowMs: number): void {
    for (const [txId, record] of this.records) {
      if (nowMs - record.updatedAtMs <= this.config.retentionMs) return;
      this.records.delete(txId);
    }
  }
}
