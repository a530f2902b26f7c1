// The coordinator's state machine: pure, deterministic, no I/O. Presumed abort: nothing is
// written before the decision; a commit decision is persisted before anyone hears of it
// (the driver holds every later send until the record is durable); a transaction this
// coordinator does not know is answered as aborted.
//
// With acceptors (Paxos Commit, docs/PROTOCOL.md §20) the commit decision is not the
// coordinator's alone: once every participant voted yes it leads round 0 and asks the acceptors
// (its own first, durable before the others are asked) to accept COMMIT; the decision is
// taken only when a majority did. From that moment on it may no longer abort on its own.
import type { AbortReason, AcceptedMessage, NodeId, PromiseMessage, ProtocolMessage, TxId, VoteMessage } from './messages.js';
import { ballotView, isLeaderReply, startRecovery, startRoundZero, type BallotRun } from './leader.js';
import { ABORTED_BY_ACCEPTORS, coordinatorBallotAnswer, driveProposal, membersOf } from './coordinator-ballot.js';
import { UNSIGNED_COMMIT_PROOFS } from './commit-proof.js';
import type { CoordinatorRecord, Effect } from './ports.js';
import type { BeginTransaction, CoordinatorConfig, CoordinatorEvent, CoordinatorTxView, InterruptedProposal } from './coordinator-types.js';
import { invariant } from './invariants.js';
import { coordinatorAnswer, type DurableKnowledge, type StatusAnswer } from './durable-knowledge.js';

export type { BeginTransaction, CoordinatorConfig, CoordinatorEvent, CoordinatorTxView, InterruptedProposal } from './coordinator-types.js';

/** `timeoutAtMs`: when the vote collection times out, `deadlineMs + 1` or sooner (nextWakeAtMs caps it). */
type Collecting = { phase: 'collecting'; votes: Map<NodeId, VoteMessage>; timeoutAtMs: number };
type Deciding = { phase: 'committing' | 'aborting'; acked: Set<NodeId>; nextSendAtMs: number; sendIntervalMs: number; decidedAtMs: number };
/** COMMIT proposed to the acceptors: waiting for a majority (or leading a higher ballot after being outranked). */
type Proposing = { phase: 'proposing'; run: BallotRun; nextSendAtMs: number; sendIntervalMs: number };
type Entry = { begin: BeginTransaction; createdAtMs: number } & (Collecting | Deciding | Proposing);

export class CoordinatorCore {
  private readonly entries = new Map<TxId, Entry>();

  constructor(private readonly config: CoordinatorConfig) {}

  /**
   * Rebuild after a restart: every decided but unfinished transaction is driven again, and
   * every transaction whose COMMIT this coordinator had proposed to the acceptors (its own
   * acceptor's record says so) is led again, by a recovery ballot: it may not abort it alone.
   */
  restore(records: CoordinatorRecord[], nowMs: number, proposals: InterruptedProposal[] = []): Effect[] {
    const effects: Effect[] = [];
    for (const proposal of proposals) {
      const begin: BeginTransaction = { txId: proposal.txId, kind: proposal.kind, timestampMs: proposal.timestampMs, deadlineMs: proposal.timestampMs, parts: proposal.participants.map((node) => ({ node, payload: null })), acceptors: proposal.acceptors };
      const { run, effects: sends } = startRecovery(membersOf(begin, this.config.selfId), this.config.selfId, undefined, nowMs);
      this.entries.set(proposal.txId, { begin, createdAtMs: nowMs, phase: 'proposing', run, nextSendAtMs: nowMs + this.config.resendInitialMs, sendIntervalMs: this.config.resendInitialMs });
      effects.push({ type: 'audit', event: 'TX_RECOVERED', txId: proposal.txId, details: { role: 'coordinator', decision: 'proposed commit to the acceptors', acceptors: proposal.acceptors } }, ...sends);
    }
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
    if (entry.phase === 'collecting' || entry.phase === 'proposing') return 'pending';
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
      waitingFor: entry.phase === 'proposing' ? entry.run.acceptors.filter((a) => !entry.run.accepts.has(a)) : this.unacked(txId),
      ...(entry.phase === 'proposing' ? { ballot: ballotView(entry.run) } : {}),
    };
  }

  private begin(transaction: BeginTransaction, nowMs: number): Effect[] {
    invariant(!this.entries.has(transaction.txId), `transaction ${transaction.txId} begun twice`);
    const participants = transaction.parts.map((p) => p.node);
    invariant(participants.length > 0, 'a transaction has at least one participant');
    invariant(new Set(participants).size === participants.length, 'each participant appears once');
    const acceptors = transaction.acceptors ?? [];
    invariant(acceptors.length <= 1 || acceptors[0] === this.config.selfId, 'the coordinator is the first acceptor (its own acceptance is durable before it asks the others)');
    invariant(new Set(acceptors).size === acceptors.length, 'each acceptor appears once');
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
        ...(acceptors.length > 1 ? { acceptors } : {}),
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
      case 'promise':
      case 'accepted':
        return this.onAcceptorAnswer(message, nowMs);
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
    if ((entry.begin.acceptors?.length ?? 0) <= 1) return this.decideCommit(vote.txId, entry, nowMs);
    return this.proposeCommit(vote.txId, entry, nowMs);
  }

  /**
   * Round 0: COMMIT to this node's own acceptor first, to the others once it accepted (their
   * requests also wait for its record to be durable), so that a restarted coordinator knows it
   * proposed, and without that record knows that no acceptor can hold COMMIT.
   */
  private proposeCommit(txId: TxId, entry: Entry & Collecting, nowMs: number): Effect[] {
    const members = membersOf(entry.begin, this.config.selfId);
    const { run, effects } = startRoundZero(members, this.config.selfId, nowMs, (this.config.proofs ?? UNSIGNED_COMMIT_PROOFS).sign(members));
    this.entries.set(txId, { begin: entry.begin, createdAtMs: entry.createdAtMs, phase: 'proposing', run, nextSendAtMs: nowMs + this.config.resendInitialMs, sendIntervalMs: this.config.resendInitialMs });
    if (this.config.testOnlyCommitBeforeMajority) {
      const proposing = this.entries.get(txId) as Entry & Proposing;
      return [...effects, ...this.decideCommit(txId, proposing, nowMs)];
    }
    return effects;
  }

  private onAcceptorAnswer(reply: PromiseMessage | AcceptedMessage, nowMs: number): Effect[] {
    const entry = this.entries.get(reply.txId);
    if (!entry || entry.phase !== 'proposing' || !isLeaderReply(reply)) return [];
    const { effects, chosen } = coordinatorBallotAnswer(entry.run, reply, this.config.selfId, this.config.proofs);
    if (chosen === 'commit') return [...effects, ...this.decideCommit(reply.txId, entry, nowMs)];
    if (chosen === 'abort') return [...effects, ...this.decideAbortByAcceptors(reply.txId, entry, [ABORTED_BY_ACCEPTORS], nowMs)];
    return effects;
  }

  /** Recorded (the coordinator had proposed COMMIT, so "no record" would no longer mean aborted), then as any abort. */
  private decideAbortByAcceptors(txId: TxId, entry: Entry, reasons: AbortReason[], nowMs: number): Effect[] {
    const record: CoordinatorRecord = { ...this.recordOf(entry, 'committed', [], 'ended', nowMs), decision: 'aborted' };
    this.entries.set(txId, this.deciding(entry, 'aborting', nowMs));
    return [
      { type: 'persist-coordinator', record },
      { type: 'audit', event: 'TX_ABORTED', txId, details: { role: 'coordinator', reasons } },
      { type: 'outcome', txId, outcome: 'aborted', reasons },
      ...this.sendDecision(txId, nowMs),
    ];
  }

  private decideCommit(txId: TxId, entry: Entry, nowMs: number): Effect[] {
    if (this.entries.get(txId)?.phase === 'committing') return []; // told already (the early-commit bug)
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
    invariant(entry && (entry.phase === 'committing' || entry.phase === 'aborting'), 'a decision is sent only once decided');
    if (entry.phase === 'aborting' && nowMs - entry.decidedAtMs > this.config.abortedRetentionMs) {
      this.entries.delete(txId); // participants still in doubt will ask, and hear "aborted"
      return [];
    }
    const type = entry.phase === 'committing' ? 'commit' : 'abort';
    return this.unacked(txId).map((node) => this.decision(node, txId, type));
  }

  private onAck(txId: TxId, from: NodeId, outcome: 'committed' | 'aborted', nowMs: number): Effect[] {
    const entry = this.entries.get(txId);
    if (!entry || (entry.phase !== 'committing' && entry.phase !== 'aborting') || !this.isParticipant(entry, from)) return [];
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
      } else if (entry.phase === 'proposing' && entry.nextSendAtMs <= nowMs) {
        effects.push(...driveProposal(txId, entry, membersOf(entry.begin, this.config.selfId), this.config, nowMs));
      } else if (entry.phase !== 'collecting' && entry.phase !== 'proposing' && entry.nextSendAtMs <= nowMs) {
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
    const acked = entry.phase === 'committing' || entry.phase === 'aborting' ? entry.acked : new Set<NodeId>();
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
