// The driver of one node's two cores. It applies their effects in the order etcd raft
// prescribes: persist, then send, then reply. Every message that leaves the node, and every
// answer to a client, waits until all records written before it are durable (the log
// resolves writes in order, so waiting for the latest write is enough) — except prepares and
// aborts, which presumed abort lets go at once. Messages between this node's own
// coordinator and participant stay in memory and are not held back: anything they lead to
// that leaves the node is written after them and waits for them.
import type { NodeId, ProtocolMessage, TxId } from './messages.js';
import type { Outcome } from './messages.js';
import type { AcceptorRecord, CoordinatorRecord, Effect, ParticipantRecord } from './ports.js';
import { ParticipantCore } from './participant.js';
import { CoordinatorCore, type BeginTransaction, type InterruptedProposal } from './coordinator.js';
import { AcceptorCore } from './acceptor.js';
import type { DurableKnowledge } from './durable-knowledge.js';
import type { EnginePorts, FaultPoint, LogEntry, ReplyMessage, RequestMessage, TransactionResult } from './engine-ports.js';

export * from './engine-ports.js';

/** How long after handing a vote to the transport 'participant.voted-yes' fires: time for it to leave. */
const VOTE_FLUSH_MS = 20;


type Delivery = { message: ProtocolMessage; knowledge?: DurableKnowledge };

export class ProtocolEngine {
  private lastWrite: Promise<void> = Promise.resolve();
  private readonly outcomeWaiters = new Map<TxId, (result: TransactionResult) => void>();
  private readonly responders = new Map<string, Array<(reply: ReplyMessage | undefined) => void>>();
  private readonly localQueue: Delivery[] = [];
  private draining = false;

  readonly acceptor: AcceptorCore;

  constructor(
    readonly selfId: NodeId,
    readonly participant: ParticipantCore,
    readonly coordinator: CoordinatorCore,
    private readonly ports: EnginePorts,
    /** This node's acceptor (docs/PROTOCOL.md §20); by default one that keeps its records in memory for a minute. */
    acceptor?: AcceptorCore,
  ) {
    this.acceptor = acceptor ?? new AcceptorCore({ selfId, retentionMs: 60_000 });
  }

  /**
   * Start from the durable records after a restart. `proposals`: transactions this node had
   * proposed to commit to their acceptors without learning the decision: it leads them again.
   */
  restore(participantRecords: ParticipantRecord[], coordinatorRecords: CoordinatorRecord[], acceptorRecords: AcceptorRecord[] = [], proposals: InterruptedProposal[] = []): void {
    const nowMs = this.ports.nowMs();
    this.acceptor.restore(acceptorRecords);
    this.apply(this.participant.restore(participantRecords, nowMs));
    this.apply(this.coordinator.restore(coordinatorRecords, nowMs, proposals));
    this.drain();
    this.wake();
  }

  /** Run a new transaction as its coordinator; resolves once the outcome is durable. */
  begin(transaction: BeginTransaction): Promise<TransactionResult> {
    const result = new Promise<TransactionResult>((resolve) => this.outcomeWaiters.set(transaction.txId, resolve));
    this.run(() => this.coordinator.step({ type: 'begin', transaction, nowMs: this.ports.nowMs() }));
    return result;
  }

  /**
   * A request from another node. Resolves with the reply to send back, or undefined when the
   * request needs none (for example a commit for a transaction still waiting to prepare).
   */
  handleRequest(message: RequestMessage): Promise<ReplyMessage | undefined> {
    const forAcceptor = message.type === 'ballot' || message.type === 'accept';
    const lookUp = forAcceptor ? !this.acceptor.holds(message.txId) : message.type === 'status-query' && !this.inMemory(message.txId);
    if (lookUp && this.ports.knowledgeOf) {
      // Looked up after memory was found empty: a decision reaches the records before memory forgets it.
      return this.ports.knowledgeOf(message.txId).then((knowledge) => this.answerQuery(message, knowledge));
    }
    return this.answerQuery(message, undefined);
  }

  private answerQuery(message: RequestMessage, knowledge: DurableKnowledge | undefined): Promise<ReplyMessage | undefined> {
    const key = replyKey(message.txId, replyTypeOf(message), message.type === 'prepare' ? message.coordinatorId : message.from);
    const reply = new Promise<ReplyMessage | undefined>((resolve) => {
      const list = this.responders.get(key) ?? [];
      list.push(resolve);
      this.responders.set(key, list);
    });
    this.deliver(message, knowledge);
    const stillWaiting = message.type === 'prepare' && this.participant.view(message.txId)?.phase === 'waiting';
    if (!stillWaiting) this.resolveResponders(key, undefined);
    return reply;
  }

  /** An operator forces the outcome of an in-doubt transaction at this participant. */
  resolveInDoubt(txId: TxId, outcome: Outcome): boolean {
    if (this.participant.view(txId)?.phase !== 'prepared') return false;
    this.run(() => this.participant.step({ type: 'resolve', txId, outcome, nowMs: this.ports.nowMs() }));
    return true;
  }

  /** Reconciliation: apply again an outcome a peer recorded; resolves once it is durable. */
  reapply(record: ParticipantRecord): Promise<void> {
    this.run(() => this.participant.step({ type: 'reapply', record, nowMs: this.ports.nowMs() }));
    return this.lastWrite;
  }

  /** True when the core that answers status queries about `txId` still holds it in memory. */
  private inMemory(txId: TxId): boolean {
    return coordinatorOf(txId) === this.selfId ? this.coordinator.view(txId) !== undefined : this.participant.view(txId) !== undefined;
  }

  /** Timers are due: let both cores look at the clock. */
  wake(): void {
    const nowMs = this.ports.nowMs();
    this.run(() => [...this.coordinator.step({ type: 'tick', nowMs }), ...this.participant.step({ type: 'tick', nowMs }), ...this.acceptor.step({ type: 'tick', nowMs })]);
  }

  private deliver(message: ProtocolMessage, knowledge?: DurableKnowledge): void {
    this.localQueue.push(knowledge ? { message, knowledge } : { message });
    this.drain();
  }

  private run(step: () => Effect[]): void {
    try {
      this.apply(step());
      this.drain();
    } catch (error) {
      this.ports.fatal(error);
    }
  }

  /** Local messages are handled one after another, never recursively. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let next = this.localQueue.shift(); next; next = this.localQueue.shift()) {
        const nowMs = this.ports.nowMs();
        const event = { type: 'receive' as const, message: next.message, nowMs, ...(next.knowledge ? { knowledge: next.knowledge } : {}) };
        this.apply(this.coreFor(next.message).step(event));
      }
    } catch (error) {
      this.ports.fatal(error);
    } finally {
      this.draining = false;
    }
    const nowMs = this.ports.nowMs();
    this.ports.scheduleWake(earliest(this.coordinator.nextWakeAtMs(nowMs), this.participant.nextWakeAtMs(nowMs)));
  }

  private apply(effects: Effect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'persist-participant':
          this.write({ role: 'participant', record: effect.record, changes: effect.changes });
          break;
        case 'persist-coordinator':
          this.write({ role: 'coordinator', record: effect.record });
          break;
        case 'persist-acceptor':
          this.write({ role: 'acceptor', record: effect.record });
          break;
        case 'send':
          this.send(effect.to, effect.message);
          break;
        case 'outcome':
          this.afterDurable(() => this.settleOutcome(effect.txId, { outcome: effect.outcome, reasons: effect.reasons }));
          break;
        case 'audit':
          this.ports.audit(effect);
          break;
      }
    }
  }

  private write(entry: LogEntry): void {
    this.lastWrite = this.ports.writeLog(entry);
    this.lastWrite.catch((error) => this.ports.fatal(error));
  }

  private afterDurable(action: () => void): void {
    this.lastWrite.then(action, () => undefined);
  }

  private send(to: NodeId, message: ProtocolMessage): void {
    if (to === this.selfId && (message.type === 'accept' || message.type === 'ballot') && !this.acceptor.holds(message.txId) && this.ports.knowledgeOf) {
      // This node's own acceptor forgot the transaction (retention): its state comes from the store, as for a peer's request.
      this.ports.knowledgeOf(message.txId).then((knowledge) => this.deliver(message, knowledge), (error) => this.ports.fatal(error));
      return;
    }
    if (to === this.selfId && message.type === 'status-query' && !this.inMemory(message.txId) && this.ports.knowledgeOf) {
      // The participant asks its own coordinator, which holds nothing of it: the records answer (`unknown` after a restore), not presumed abort.
      this.ports.knowledgeOf(message.txId).then((knowledge) => this.deliver(message, knowledge), (error) => this.ports.fatal(error));
      return;
    }
    if (to === this.selfId) {
      this.localQueue.push({ message });
      return;
    }
    if (isReply(message)) {
      const key = replyKey(message.txId, message.type, to);
      const waiting = this.responders.get(key);
      if (!waiting) return; // its request is gone; the protocol re-drives what matters
      this.responders.delete(key);
      this.afterDurable(() => {
        this.replyFaultPoint(message, 'before');
        waiting.forEach((resolve) => resolve(message));
        this.replyFaultPoint(message, 'after');
      });
      return;
    }
    const request = message as RequestMessage;
    if (needsNoDurableState(request)) this.sendRequest(to, request);
    else this.afterDurable(() => this.sendRequest(to, request));
  }

  private sendRequest(to: NodeId, message: RequestMessage): void {
    if (message.type === 'commit') this.fault('coordinator.decided.before-commit', message.txId);
    this.ports.request(to, message).then(
      (reply) => {
        this.deliver(reply);
        if (message.type === 'commit') this.fault('coordinator.committed-at-one', message.txId);
      },
      (error: unknown) => {
        if (message.type === 'ballot' || message.type === 'accept') return; // the leader asks again at its next turn
        const detail = `observatory ${to} did not answer: ${error instanceof Error ? error.message : String(error)}`;
        this.run(() => this.coordinator.step({ type: 'unreachable', txId: message.txId, node: to, detail, nowMs: this.ports.nowMs() }));
      },
    );
  }

  private replyFaultPoint(reply: ReplyMessage, when: 'before' | 'after'): void {
    if (!this.ports.faultPoint) return;
    if (reply.type === 'vote' && reply.vote === 'yes') {
      if (when === 'before') this.fault('participant.prepared.before-vote', reply.txId);
      else setTimeout(() => this.fault('participant.voted-yes', reply.txId), VOTE_FLUSH_MS);
    }
    if (reply.type === 'ack' && when === 'before') {
      this.fault(reply.outcome === 'committed' ? 'participant.committed.before-ack' : 'participant.aborted.before-ack', reply.txId);
    }
  }

  private fault(point: FaultPoint, txId: TxId): void {
    if (!this.ports.faultPoint) return;
    const kind = this.participant.view(txId)?.kind ?? this.coordinator.view(txId)?.kind;
    this.ports.faultPoint(point, txId, kind);
  }

  /**
   * A status query goes to the coordinator of its transaction, or to a participant asked by
   * another (cooperative termination); ballots and accepts to the acceptor; promises and
   * accepted answers to the core leading the ballot: the coordinator of its own transactions,
   * else the participant leading a recovery ballot.
   */
  private coreFor(message: ProtocolMessage): { step(event: { type: 'receive'; message: ProtocolMessage; nowMs: number; knowledge?: DurableKnowledge }): Effect[] } {
    if (message.type === 'ballot' || message.type === 'accept') return this.acceptor;
    const coordinated = coordinatorOf(message.txId) === this.selfId;
    if (message.type === 'status-query') return coordinated ? this.coordinator : this.participant;
    // The coordinator leads while it drives the transaction; else the participant here may (after a restore).
    if (message.type === 'promise' || message.type === 'accepted') return coordinated && this.coordinator.view(message.txId) ? this.coordinator : this.participant;
    return message.type === 'vote' || message.type === 'ack' ? this.coordinator : this.participant;
  }

  private resolveResponders(key: string, reply: ReplyMessage | undefined): void {
    const waiting = this.responders.get(key);
    if (!waiting) return;
    this.responders.delete(key);
    waiting.forEach((resolve) => resolve(reply));
  }

  private settleOutcome(txId: TxId, result: TransactionResult): void {
    const resolve = this.outcomeWaiters.get(txId);
    this.outcomeWaiters.delete(txId);
    resolve?.(result);
  }
}

/**
 * Presumed abort needs nothing on disk before a prepare or an abort is sent: a coordinator
 * that crashes after sending either has decided nothing, and "no record" means aborted.
 * Votes, commits, acknowledgements and status replies speak for durable state and wait.
 */
function needsNoDurableState(message: RequestMessage): boolean {
  return message.type === 'prepare' || message.type === 'abort';
}

/** The coordinator's id is the first part of every transaction id. */
function coordinatorOf(txId: TxId): NodeId {
  return txId.slice(0, txId.indexOf('.'));
}

function isReply(message: ProtocolMessage): message is ReplyMessage {
  return message.type === 'vote' || message.type === 'ack' || message.type === 'status-reply' || message.type === 'promise' || message.type === 'accepted';
}

function replyTypeOf(request: RequestMessage): ReplyMessage['type'] {
  if (request.type === 'prepare') return 'vote';
  if (request.type === 'status-query') return 'status-reply';
  if (request.type === 'ballot') return 'promise';
  if (request.type === 'accept') return 'accepted';
  return 'ack';
}

/** Per asker too: two leaders' ballots at one acceptor must each get their own answer. */
function replyKey(txId: TxId, replyType: ReplyMessage['type'], asker: NodeId): string {
  return `${txId}/${replyType}/${asker}`;
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
