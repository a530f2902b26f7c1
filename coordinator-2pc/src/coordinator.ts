// The coordinator's state machine: pure, deterministic, no I/O. Presumed abort: nothing is
// written before the decision; a commit decision is persisted before anyone hears of it
// (the driver holds every later send until the record is durable); a transaction this
// coordinator does not know is answered as aborted.
import type { AbortReason, NodeId, ProtocolMessage, TxId, TxKind, VoteMessage } from './messages.js';
import type { CoordinatorRecord, Effect } from './ports.js';
import { invariant } from './invariants.js';
import { coordinatorAnswer, type DurableKnowledge, type StatusAnswer } from './durable-knowledge.js';

export interface CoordinatorConfig {
  selfId: NodeId;
  /** First pause before a decision is sent again to a participant that has not acknowledged. */
  resendInitialMs: number;
  /** The longest pause between two sends of a decision. */
  resendMaxMs: number;
  /** How long an aborted transaction is remembered to re-send its abort (presumed abort needs none). */
  abortedRetentionMs: number;
}

export interface BeginTransaction {
  txId: TxId;
  kind: TxKind;
  timestampMs: number;
  deadlineMs: number;
  /** Each participant's part of the work, in the order the prepares are sent. */
  parts: Array<{ node: NodeId; payload: unknown }>;
}

/** `timeoutAtMs`: when the vote collection times out, `deadlineMs + 1` or sooner (nextWakeAtMs caps it). */
type Collecting = { phase: 'collecting'; votes: Map<NodeId, VoteMessage>; timeoutAtMs: number };
type Deciding = { phase: 'committing' | 'aborting'; acked: Set<NodeId>; nextSendAtMs: number; sendIntervalMs: number; decidedAtMs: number };
type Entry = { begin: BeginTransaction; createdAtMs: number } & (Collecting | Deciding);

export type CoordinatorEvent =
  | { type: 'begin'; transaction: BeginTransaction; nowMs: number }
  /** `knowledge`: what the node's records say of a status query's transaction (looked up by the driver). */
  | { type: 'receive'; message: ProtocolMessage; nowMs: number; knowledge?: DurableKnowledge }
  /** The transport could not deliver to `node` (refused, timed out, answered an error). */
  | { type: 'unreachable'; txId: TxId; node: NodeId; detail: string; nowMs: number }
  | { type: 'tick'; nowMs: number };

export interface CoordinatorTxView {
  txId: TxId;
  phase: Entry['phase'];
  kind: TxKind;
  participants: NodeId[];
  timestampMs: number;
  createdAtMs: number;
  waitingFor: NodeId[];
}

export class CoordinatorCore {
  private readonly entries = new Map<TxId, Entry>();

  constructor(private readonly config: CoordinatorConfig) {}

  /** Rebuild after a restart: every decided but unfinished transaction is driven again. */
  restore(records: CoordinatorRecord[], nowMs: number): Effect[] {
    const effects: Effect[] = [];
    for (const record of records) {
      if (record.state === 'ended') continue;
      const begin: BeginTransaction = {
        txId: record.txId,
        kind: record.kind,
        timestampMs: record.timestampMs,
        deadlineMs: record.timestampMs,
        parts: record.participants.map((node) => ({ node, payload: null })),
      };
      this.entries.set(record.txId, {
        begin,
        createdAtMs: record.createdAtMs,
        phase: record.decision === 'committed' ? 'committing' : 'aborting',
        acked: new Set(record.acked),
        nextSendAtMs: nowMs,
        sendIntervalMs: this.config.resendInitialMs,
        decidedAtMs: record.updatedAtMs,
      });
      effects.push({ type: 'audit', event: 'TX_RECOVERED', txId: record.txId, details: { role: 'coordinator', decision: record.decision, waitingFor: this.unacked(record.txId) } });
    }
    return effects;
  }

  step(event: CoordinatorEvent): Effect[] {
    switch (event.type) {
      case 'begin':
        return this.begin(event.transaction, event.nowMs);
      case 'receive':
        return this.receive(event.message, event.nowMs, event.knowledge);
      case 'unreachable':
        return this.onUnreachable(event.txId, event.node, event.detail, event.nowMs);
      case 'tick':
        return this.tick(event.nowMs);
    }
  }

  /**
   * The earliest time at which a tick has something to do, or undefined. Given the clock, a
   * timer further ahead than its longest interval (a re-send's `resendMaxMs`, a vote
   * collection's prepare window) is brought back first: the clock was stepped back, and the
   * timer must not wait for the step as well (simulator seed 67054). Sooner is always safe.
   */
  nextWakeAtMs(nowMs?: number): number | undefined {
    let earliest: number | undefined;
    for (const entry of this.entries.values()) {
      if (nowMs !== undefined) this.capTimer(entry, nowMs);
      // A collecting transaction times out once the clock is past its deadline (see tick).
      const at = entry.phase === 'collecting' ? entry.timeoutAtMs : entry.nextSendAtMs;
      if (earliest === undefined || at < earliest) earliest = at;
    }
    return earliest;
  }

  /**
   * The answer to a status query: from memory while the transaction is unfinished, else from
   * the records (`knowledge`); presumed abort only when no knowledge was looked up.
   */
  outcomeOf(txId: TxId, knowledge?: DurableKnowledge): StatusAnswer {
    const entry = this.entries.get(txId);
    if (!entry) return knowledge ? coordinatorAnswer(knowledge) : 'aborted';
    if (entry.phase === 'collecting') return 'pending';
    return entry.phase === 'committing' ? 'committed' : 'aborted';
  }

  unfinished(): CoordinatorTxView[] {
    return [...this.entries.keys()].map((txId) => this.view(txId)!);
  }

  /** One unfinished transaction, or undefined once it has ended (or was never begun here). */
  view(txId: TxId): CoordinatorTxView | undefined {
    const entry = this.entries.get(txId);
    if (!entry) return undefined;
    return {
      txId,
      phase: entry.phase,
      kind: entry.begin.kind,
      participants: entry.begin.parts.map((p) => p.node),
      timestampMs: entry.begin.timestampMs,
      createdAtMs: entry.createdAtMs,
      waitingFor: this.unacked(txId),
    };
  }

  private begin(transaction: BeginTransaction, nowMs: number): Effect[] {
    invariant(!this.entries.has(transaction.txId), `transaction ${transaction.txId} begun twice`);
    const participants = transaction.parts.map((p) => p.node);
    invariant(participants.length > 0, 'a transaction has at least one participant');
    invariant(new Set(participants).size === participants.length, 'each participant appears once');
    this.entries.set(transaction.txId, { begin: transaction, createdAtMs: nowMs, phase: 'collecting', votes: new Map(), timeoutAtMs: transaction.deadlineMs + 1 });
    return transaction.parts.map(({ node, payload }) => ({
      type: 'send' as const,
      to: node,
      message: {
        type: 'prepare' as const,
        txId: transaction.txId,
        kind: transaction.kind,
        coordinatorId: this.config.selfId,
        participants,
        timestampMs: transaction.timestampMs,
        deadlineMs: transaction.deadlineMs,
        payload,
      },
    }));
  }

  private receive(message: ProtocolMessage, nowMs: number, knowledge?: DurableKnowledge): Effect[] {
    switch (message.type) {
      case 'vote':
        return this.onVote(message, nowMs);
      case 'ack':
        return this.onAck(message.txId, message.from, message.outcome, nowMs);
      case 'status-query':
        return [{ type: 'send', to: message.from, message: { type: 'status-reply', txId: message.txId, from: this.config.selfId, outcome: this.outcomeOf(message.txId, knowledge) } }];
      default:
        return []; // prepare, decisions and status replies are for the participant role
    }
  }

  private onVote(vote: VoteMessage, nowMs: number): Effect[] {
    const entry = this.entries.get(vote.txId);
    if (!entry || !this.isParticipant(entry, vote.from)) return [];
    if (entry.phase === 'aborting' && vote.vote === 'yes') return [this.decision(vote.from, vote.txId, 'abort')];
    if (entry.phase !== 'collecting') return [];
    if (vote.vote === 'no') {
      const reason = vote.reason ?? { code: 'refused' as const, detail: 'participant voted no' };
      return this.decideAbort(vote.txId, entry, [{ ...reason, node: vote.from }], nowMs, vote.from);
    }
    entry.votes.set(vote.from, vote);
    if (entry.votes.size < entry.begin.parts.length) return [];
    return this.decideCommit(vote.txId, entry, nowMs);
  }

  private decideCommit(txId: TxId, entry: Entry & Collecting, nowMs: number): Effect[] {
    const record = this.recordOf(entry, 'committed', [], 'decided', nowMs);
    this.entries.set(txId, { ...this.deciding(entry, 'committing', nowMs) });
    return [
      { type: 'persist-coordinator', record },
      { type: 'audit', event: 'TX_DECIDED', txId, details: { decision: 'commit', participants: record.participants } },
      { type: 'outcome', txId, outcome: 'committed', reasons: [] },
      ...this.sendDecision(txId, nowMs),
    ];
  }

  /** No record: under presumed abort an unknown transaction is an aborted one. */
  private decideAbort(txId: TxId, entry: Entry & Collecting, reasons: AbortReason[], nowMs: number, alreadyAborted?: NodeId): Effect[] {
    const deciding = this.deciding(entry, 'aborting', nowMs);
    if (alreadyAborted) deciding.acked.add(alreadyAborted);
    this.entries.set(txId, deciding);
    const sends = this.sendDecision(txId, nowMs);
    if (sends.length === 0) this.entries.delete(txId); // nobody left to tell
    return [
      { type: 'audit', event: 'TX_ABORTED', txId, details: { role: 'coordinator', reasons } },
      { type: 'outcome', txId, outcome: 'aborted', reasons },
      ...sends,
    ];
  }

  private deciding(entry: Entry, phase: Deciding['phase'], nowMs: number): Entry & Deciding {
    return {
      begin: entry.begin,
      createdAtMs: entry.createdAtMs,
      phase,
      acked: new Set(),
      nextSendAtMs: nowMs + this.config.resendInitialMs,
      sendIntervalMs: this.config.resendInitialMs,
      decidedAtMs: nowMs,
    };
  }

  private sendDecision(txId: TxId, nowMs: number): Effect[] {
    const entry = this.entries.get(txId);
    invariant(entry && entry.phase !== 'collecting', 'a decision is sent only once decided');
    if (entry.phase === 'aborting' && nowMs - entry.decidedAtMs > this.config.abortedRetentionMs) {
      this.entries.delete(txId); // participants still in doubt will ask, and hear "aborted"
      return [];
    }
    const type = entry.phase === 'committing' ? 'commit' : 'abort';
    return this.unacked(txId).map((node) => this.decision(node, txId, type));
  }

  private onAck(txId: TxId, from: NodeId, outcome: 'committed' | 'aborted', nowMs: number): Effect[] {
    const entry = this.entries.get(txId);
    if (!entry || entry.phase === 'collecting' || !this.isParticipant(entry, from)) return [];
    const expected = entry.phase === 'committing' ? 'committed' : 'aborted';
    const effects: Effect[] = [];
    if (outcome !== expected) {
      effects.push({ type: 'audit', event: 'TX_HEURISTIC', txId, details: { participant: from, expected, reported: outcome } });
    }
    entry.acked.add(from);
    if (this.unacked(txId).length > 0) return effects;
    this.entries.delete(txId);
    if (entry.phase === 'aborting') return effects;
    const record = this.recordOf(entry, 'committed', [...entry.acked], 'ended', nowMs);
    return [...effects, { type: 'persist-coordinator', record }, { type: 'audit', event: 'TX_ENDED', txId, details: { decision: 'commit' } }];
  }

  private onUnreachable(txId: TxId, node: NodeId, detail: string, nowMs: number): Effect[] {
    const entry = this.entries.get(txId);
    if (!entry || entry.phase !== 'collecting' || entry.votes.has(node) || !this.isParticipant(entry, node)) return [];
    return this.decideAbort(txId, entry, [{ code: 'unreachable', detail, node }], nowMs);
  }

  private tick(nowMs: number): Effect[] {
    const effects: Effect[] = [];
    for (const [txId, entry] of [...this.entries]) {
      if (entry.phase === 'collecting' && (nowMs > entry.begin.deadlineMs || nowMs >= entry.timeoutAtMs)) {
        const silent = entry.begin.parts.map((p) => p.node).filter((node) => !entry.votes.has(node));
        const detail = `no vote before the prepare deadline from ${silent.join(', ')}`;
        effects.push(...this.decideAbort(txId, entry, silent.map((node) => ({ code: 'timeout' as const, detail, node })), nowMs));
      } else if (entry.phase !== 'collecting' && entry.nextSendAtMs <= nowMs) {
        entry.nextSendAtMs = nowMs + entry.sendIntervalMs;
        entry.sendIntervalMs = Math.min(entry.sendIntervalMs * 2, this.config.resendMaxMs);
        effects.push(...this.sendDecision(txId, nowMs));
      }
    }
    return effects;
  }

  private capTimer(entry: Entry, nowMs: number): void {
    if (entry.phase !== 'collecting') entry.nextSendAtMs = Math.min(entry.nextSendAtMs, nowMs + this.config.resendMaxMs);
    else entry.timeoutAtMs = Math.min(entry.timeoutAtMs, nowMs + Math.max(0, entry.begin.deadlineMs - entry.begin.timestampMs) + 1);
  }

  private unacked(txId: TxId): NodeId[] {
    const entry = this.entries.get(txId);
    if (!entry) return [];
    const acked = entry.phase === 'collecting' ? new Set<NodeId>() : entry.acked;
    return entry.begin.parts.map((p) => p.node).filter((node) => !acked.has(node));
  }

  private isParticipant(entry: Entry, node: NodeId): boolean {
    return entry.begin.parts.some((p) => p.node === node);
  }

  private decision(to: NodeId, txId: TxId, type: 'commit' | 'abort'): Effect {
    return { type: 'send', to, message: { type, txId, from: this.config.selfId } };
  }

  private recordOf(entry: Entry, decision: 'committed', acked: NodeId[], state: CoordinatorRecord['state'], nowMs: number): CoordinatorRecord {
    return {
      txId: entry.begin.txId,
      kind: entry.begin.kind,
      participants: entry.begin.parts.map((p) => p.node),
      timestampMs: entry.begin.timestampMs,
      decision,
      acked,
      state,
      createdAtMs: entry.createdAtMs,
      updatedAtMs: nowMs,
    };
  }
}
