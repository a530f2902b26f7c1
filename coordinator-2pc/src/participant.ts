// The participant's state machine: pure, deterministic, no I/O. Time arrives in events.
// It holds resources through the ResourceManager and asks the driver, through effects, to
// persist records and to send messages. Every handler is idempotent and order-proof.
import type {
  AbortReason,
  DecisionMessage,
  NodeId,
  PrepareMessage,
  ProtocolMessage,
  StatusReplyMessage,
  TxId,
} from './messages.js';
import type { DurableKnowledge } from './durable-knowledge.js';
import { onPeerQuery, onStatusReply, reapply, type TerminationHost } from './participant-termination.js';
import { queryInDoubt } from './participant-in-doubt.js';
import type { Effect, ParticipantRecord, ResourceChanges, ResourceManager } from './ports.js';
import { invariant, isOlder } from './invariants.js';
import { mayWait, waitingEntry, waitOverReason, waitUntilMs as waitUntilFor } from './wait-die.js';
import { abortedReason, audit, capTimers, forgetFinished, recordOf, toView, type Entry, type ParticipantTxView, type Prepared, type Waiting } from './participant-entries.js';
import { onRecoveryAnswer } from './participant-recovery.js';
import type { CommitProofs } from './commit-proof.js';

export type { ParticipantTxView } from './participant-entries.js';

export interface ParticipantConfig {
  selfId: NodeId;
  /** How long a transaction may wait for a holder that is not younger (wait-die's exception, wait-die.ts); for younger holders it waits until its deadline. */
  waitMaxMs: number;
  /** How long a prepared transaction waits for the decision before asking the coordinator. */
  inDoubtQueryAfterMs: number;
  /** The longest pause between two status queries of one in-doubt transaction. */
  queryBackoffMaxMs: number;
  /** How long a finished transaction is remembered in memory to answer duplicates. */
  finishedRetentionMs: number;
  /**
   * How long a transaction with acceptors stays in doubt, its coordinator silent or unsure,
   * before this participant leads a recovery ballot of the acceptors (docs/PROTOCOL.md §20).
   * Absent: from its second in-doubt query on (always safe; the node sets RECOVERY_BALLOT_AFTER_MS).
   */
  recoveryBallotAfterMs?: number;
  /** Checks the commit proofs acceptors report to this node's recovery ballots (commit-proof.ts). */
  proofs?: CommitProofs;
  /** Test-only: a recovery leader that ignores the values the promises report (the simulator's `blind-leader` bug). */
  testOnlyIgnoreAcceptedValues?: boolean;
}

export type ParticipantEvent =
  /** `knowledge`: what the node's records say of a status query's transaction (looked up by the driver). */
  | { type: 'receive'; message: ProtocolMessage; nowMs: number; knowledge?: DurableKnowledge }
  | { type: 'tick'; nowMs: number }
  /** Reconciliation: a peer's records say how a transaction this node's store has lost ended here. */
  | { type: 'reapply'; record: ParticipantRecord; nowMs: number }
  /** An operator forces the outcome of an in-doubt transaction whose coordinator is gone. */
  | { type: 'resolve'; txId: TxId; outcome: 'committed' | 'aborted'; nowMs: number };

export class ParticipantCore {
  private readonly entries = new Map<TxId, Entry>();
  /** Finished transactions in the order they finished, to forget them cheaply. */
  private readonly finishedQueue: TxId[] = [];
  /** Transactions waiting for a hold or prepared: the only ones a tick looks at. */
  private readonly active = new Set<TxId>();

  /** What cooperative termination and reconciliation (participant-termination.ts) may do here. */
  private readonly host: TerminationHost = {
    selfId: () => this.config.selfId,
    entry: (txId) => this.entries.get(txId),
    resources: () => this.resources,
    finish: (txId, entry, outcome, nowMs) => this.finish(txId, entry, outcome, nowMs, false),
    refuse: (prepare, nowMs, reason) => this.refuse(prepare, nowMs, reason),
    abandonWait: (txId, entry, nowMs, reason) => this.abandonWait(txId, entry, nowMs, reason),
    tombstone: (txId, coordinatorId, nowMs, reason, askedBy) => this.tombstone(txId, coordinatorId, nowMs, reason, askedBy),
    setFinished: (record) => this.setFinished(record),
  };

  constructor(
    private readonly config: ParticipantConfig,
    private readonly resources: ResourceManager,
  ) {}

  /** Rebuild after a restart from the durable records (the resources are restored by their owner). */
  restore(records: ParticipantRecord[], nowMs: number): Effect[] {
    const effects: Effect[] = [];
    for (const record of records) {
      if (record.state === 'prepared') {
        this.setActive(record.txId, {
          phase: 'prepared',
          record,
          nextQueryAtMs: nowMs,
          queryIntervalMs: this.config.inDoubtQueryAfterMs,
        });
        effects.push(audit('TX_RECOVERED', record.txId, { role: 'participant', state: 'prepared', coordinator: record.coordinatorId }));
      } else {
        this.setFinished(record);
      }
    }
    return effects;
  }

  step(event: ParticipantEvent): Effect[] {
    switch (event.type) {
      case 'receive':
        return this.receive(event.message, event.nowMs, event.knowledge);
      case 'reapply':
        return reapply(this.host, event.record, event.nowMs);
      case 'tick':
        return this.tick(event.nowMs);
      case 'resolve':
        return this.resolve(event.txId, event.outcome, event.nowMs);
    }
  }

  /**
   * The earliest time at which a tick has something to do, or undefined. Given the clock, a
   * timer further ahead than its longest interval is brought back first (capTimers).
   */
  nextWakeAtMs(nowMs?: number): number | undefined {
    let earliest: number | undefined;
    for (const txId of this.active) {
      const entry = this.entries.get(txId);
      if (entry && nowMs !== undefined) capTimers(entry, nowMs, this.config);
      const at = entry?.phase === 'waiting' ? entry.waitUntilMs : entry?.phase === 'prepared' ? entry.nextQueryAtMs : undefined;
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
    }
    return earliest;
  }

  view(txId: TxId): ParticipantTxView | undefined {
    const entry = this.entries.get(txId);
    return entry && toView(txId, entry);
  }

  /** Transactions not yet finished here: waiting for a hold, or prepared and in doubt. */
  unfinished(): ParticipantTxView[] {
    return [...this.active].map((txId) => toView(txId, this.entries.get(txId)!));
  }

  private receive(message: ProtocolMessage, nowMs: number, knowledge?: DurableKnowledge): Effect[] {
    switch (message.type) {
      case 'prepare':
        return this.onPrepare(message, nowMs);
      case 'commit':
      case 'abort':
        return this.onDecision(message, nowMs);
      case 'status-reply':
        return this.onStatusReply(message, nowMs);
      case 'status-query':
        return onPeerQuery(this.host, message, nowMs, knowledge);
      case 'promise':
      case 'accepted':
        return onRecoveryAnswer(this.config, this.host, message, nowMs);
      default:
        return []; // votes and acks are for the coordinator role
    }
  }

  private onPrepare(prepare: PrepareMessage, nowMs: number): Effect[] {
    const entry = this.entries.get(prepare.txId);
    if (entry) return this.repeatVote(prepare.txId, entry);
    if (nowMs > prepare.deadlineMs) {
      // Refused without a record: every copy of this prepare is as late, and it may be a stale
      // duplicate of a transaction finished here (even committed) and since forgotten, whose
      // durable record a tombstone would overwrite.
      const reason: AbortReason = { code: 'expired', detail: `prepare arrived after its deadline (${nowMs - prepare.deadlineMs} ms late)`, node: this.config.selfId };
      return [
        audit('TX_VOTED_NO', prepare.txId, { coordinator: prepare.coordinatorId, reason: reason.code, detail: reason.detail }),
        this.vote(prepare.coordinatorId, prepare.txId, 'no', reason),
      ];
    }
    return this.attemptHold(prepare, nowMs, nowMs);
  }

  /** A duplicate prepare gets the vote already given (a waiting one gets its vote later). */
  private repeatVote(txId: TxId, entry: Entry): Effect[] {
    if (entry.phase === 'waiting') return [];
    if (entry.phase === 'aborted') return [this.vote(entry.record.coordinatorId, txId, 'no', entry.record.reason ?? abortedReason())];
    return [this.vote(entry.record.coordinatorId, txId, 'yes')];
  }

  /**
   * Wait-die (wait-die.ts): blocked only by younger holders, or by the transaction it undoes,
   * a transaction waits (bounded); blocked by an older or a committed holder, it gives up at once.
   */
  private attemptHold(prepare: PrepareMessage, nowMs: number, sinceMs: number): Effect[] {
    if (nowMs > prepare.deadlineMs) {
      return this.refuse(prepare, nowMs, { code: 'expired', detail: `the prepare deadline passed while waiting (${nowMs - prepare.deadlineMs} ms ago)` });
    }
    const attempt = this.resources.tryHold(prepare.txId, prepare.kind, prepare.payload, nowMs);
    if (attempt.ok) return this.prepared(prepare, nowMs, attempt.changes);
    if (attempt.code === 'invalid') return this.refuse(prepare, nowMs, { code: 'invalid', detail: attempt.detail });
    const entryOf = (txId: TxId) => this.entries.get(txId);
    if (!mayWait(attempt, prepare, entryOf)) return this.refuse(prepare, nowMs, { code: 'conflict', detail: attempt.detail });
    const waitUntilMs = waitUntilFor(attempt, prepare, entryOf, sinceMs + this.config.waitMaxMs);
    if (waitUntilMs <= nowMs) {
      return this.refuse(prepare, nowMs, waitOverReason(attempt.blockers, attempt.awaitable, nowMs - sinceMs, { code: 'conflict', detail: attempt.detail }));
    }
    const alreadyWaiting = this.entries.get(prepare.txId)?.phase === 'waiting';
    this.setActive(prepare.txId, waitingEntry(prepare, attempt, sinceMs, waitUntilMs));
    if (alreadyWaiting) return [];
    return [audit('TX_WAITING', prepare.txId, { blockers: attempt.blockers, waitUntilMs, detail: attempt.detail })];
  }

  private prepared(prepare: PrepareMessage, nowMs: number, changes: ResourceChanges): Effect[] {
    const record = recordOf(prepare, 'prepared', nowMs);
    this.setActive(prepare.txId, {
      phase: 'prepared',
      record,
      nextQueryAtMs: nowMs + this.config.inDoubtQueryAfterMs,
      queryIntervalMs: this.config.inDoubtQueryAfterMs,
    });
    return [
      { type: 'persist-participant', record, changes },
      audit('TX_PREPARED', prepare.txId, { coordinator: prepare.coordinatorId, kind: prepare.kind }),
      this.vote(prepare.coordinatorId, prepare.txId, 'yes'),
    ];
  }

  /** Vote no and remember it (a tombstone), so that a duplicate prepare is refused too. */
  private refuse(prepare: PrepareMessage, nowMs: number, reason: AbortReason): Effect[] {
    const record = { ...recordOf(prepare, 'aborted', nowMs), reason: { ...reason, node: this.config.selfId } };
    this.setFinished(record);
    return [
      { type: 'persist-participant', record, changes: [] },
      audit('TX_VOTED_NO', prepare.txId, { coordinator: prepare.coordinatorId, reason: reason.code, detail: reason.detail }),
      this.vote(prepare.coordinatorId, prepare.txId, 'no', record.reason),
    ];
  }

  private onDecision(message: DecisionMessage, nowMs: number): Effect[] {
    const outcome = message.type === 'commit' ? 'committed' : 'aborted';
    const entry = this.entries.get(message.txId);
    if (!entry) return this.decisionForUnknown(message, nowMs);
    const coordinatorId = entry.phase === 'waiting' ? entry.prepare.coordinatorId : entry.record.coordinatorId;
    if (message.from !== coordinatorId) return []; // only the transaction's coordinator decides
    if (entry.phase === 'prepared') return this.finish(message.txId, entry, outcome, nowMs, false);
    if (entry.phase === 'waiting') {
      // No vote was given yet, so a correct coordinator can only be aborting.
      if (outcome === 'committed') return [];
      return this.abandonWait(message.txId, entry, nowMs, abortedReason());
    }
    return [this.ack(message.from, message.txId, entry.phase)];
  }

  /**
   * A commit for a transaction we do not know was prepared and finished here and then
   * forgotten (a coordinator commits only after every participant voted yes). An abort for
   * one we never saw leaves a tombstone so that a late prepare is refused.
   */
  private decisionForUnknown(message: DecisionMessage, nowMs: number): Effect[] {
    if (message.type === 'commit') return [this.ack(message.from, message.txId, 'committed')];
    return [...this.tombstone(message.txId, message.from, nowMs, abortedReason()), this.ack(message.from, message.txId, 'aborted')];
  }

  /** Remember a transaction never prepared here as aborted, so that a late prepare is refused. */
  private tombstone(txId: TxId, coordinatorId: NodeId, nowMs: number, reason: AbortReason, askedBy?: NodeId): Effect[] {
    const record: ParticipantRecord = {
      txId,
      kind: 'book',
      coordinatorId,
      participants: [],
      timestampMs: 0,
      deadlineMs: 0,
      payload: null,
      state: 'aborted',
      createdAtMs: nowMs,
      updatedAtMs: nowMs,
      reason,
    };
    this.setFinished(record);
    return [{ type: 'persist-participant', record, changes: [] }, audit('TX_ABORTED', txId, { role: 'participant', tombstone: true, ...(askedBy ? { askedBy } : {}) })];
  }

  private finish(txId: TxId, entry: Prepared, outcome: 'committed' | 'aborted', nowMs: number, heuristic: boolean): Effect[] {
    const { record: prepared } = entry;
    const changes = outcome === 'committed' ? this.resources.confirm(txId, prepared.kind, prepared.payload) : this.resources.release(txId, prepared.kind, prepared.payload);
    const record: ParticipantRecord = { ...prepared, state: outcome, updatedAtMs: nowMs };
    if (heuristic) record.heuristic = true;
    this.setFinished(record);
    const event = heuristic ? 'TX_HEURISTIC' : outcome === 'committed' ? 'TX_COMMITTED' : 'TX_ABORTED';
    return [
      { type: 'persist-participant', record, changes },
      audit(event, txId, { role: 'participant', outcome, kind: prepared.kind }),
      this.ack(prepared.coordinatorId, txId, outcome),
      ...this.retryWaitersOf(txId, nowMs),
    ];
  }

  private abandonWait(txId: TxId, entry: Waiting, nowMs: number, reason: AbortReason): Effect[] {
    return this.refuse(entry.prepare, nowMs, reason).concat(this.ack(entry.prepare.coordinatorId, txId, 'aborted'));
  }

  /** A holder finished: waiters blocked by it try again, oldest first. */
  private retryWaitersOf(finishedTxId: TxId, nowMs: number): Effect[] {
    // Only active entries can wait: scanning every remembered transaction would cost more with uptime.
    const waiters = [...this.active]
      .map((txId) => this.entries.get(txId))
      .filter((e): e is Waiting => e?.phase === 'waiting' && e.blockers.includes(finishedTxId))
      .sort((a, b) => (isOlder(a.prepare, b.prepare) ? -1 : 1));
    return waiters.flatMap((waiter) => this.attemptHold(waiter.prepare, nowMs, waiter.sinceMs));
  }

  private onStatusReply(reply: StatusReplyMessage, nowMs: number): Effect[] {
    return onStatusReply(this.host, reply, nowMs);
  }

  private resolve(txId: TxId, outcome: 'committed' | 'aborted', nowMs: number): Effect[] {
    const entry = this.entries.get(txId);
    if (!entry || entry.phase !== 'prepared') return [];
    return this.finish(txId, entry, outcome, nowMs, true);
  }

  private setActive(txId: TxId, entry: Waiting | Prepared): void {
    this.entries.set(txId, entry);
    this.active.add(txId);
  }

  private setFinished(record: ParticipantRecord): void {
    invariant(record.state !== 'prepared', 'a finished record is committed or aborted');
    this.entries.set(record.txId, { phase: record.state, record });
    this.active.delete(record.txId);
    this.finishedQueue.push(record.txId);
  }

  private tick(nowMs: number): Effect[] {
    const effects: Effect[] = [];
    forgetFinished(this.finishedQueue, this.entries, this.config.finishedRetentionMs, nowMs);
    for (const txId of [...this.active]) {
      const entry = this.entries.get(txId);
      if (entry?.phase === 'waiting' && entry.waitUntilMs <= nowMs) {
        const waitedMs = nowMs - entry.sinceMs;
        const reason = waitOverReason(entry.blockers, entry.awaitable, waitedMs, { code: 'conflict', detail: `still held by ${entry.blockers.join(', ')} after waiting ${waitedMs} ms` });
        effects.push(...this.refuse(entry.prepare, nowMs, reason));
      } else if (entry?.phase === 'prepared' && entry.nextQueryAtMs <= nowMs) {
        effects.push(...queryInDoubt(this.config, this.host, txId, entry, nowMs));
      }
    }
    return effects;
  }

  private vote(to: NodeId, txId: TxId, vote: 'yes' | 'no', reason?: AbortReason): Effect {
    const message = { type: 'vote' as const, txId, from: this.config.selfId, vote, ...(reason ? { reason } : {}) };
    return { type: 'send', to, message };
  }

  private ack(to: NodeId, txId: TxId, outcome: 'committed' | 'aborted'): Effect {
    return { type: 'send', to, message: { type: 'ack', txId, from: this.config.selfId, outcome } };
  }
}
