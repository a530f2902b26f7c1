// A simulated network behind EnginePorts.request(): every request and reply is copied
// through JSON and checked against its wire schema (as the HTTP adapter would), then may be
// lost, delayed, duplicated (so reordered) or cut off by a partition. A request whose reply
// does not come back in time rejects, as an HTTP client's timeout does. Requests and replies
// of a node incarnation that has since crashed are never delivered to the new incarnation.
// A paused node (SIGSTOP) handles what reaches it only when it resumes. Every message is
// signed at the sender's clock and refused (401, as PeerAuthenticator does) when the
// receiver's clock differs by more than the signature window.
import type { ZodType } from 'zod';
import {
  AcceptMessage,
  AcceptedMessage,
  BallotMessage,
  PromiseMessage,
  AckMessage,
  DecisionMessage,
  PrepareMessage,
  StatusQueryMessage,
  StatusReplyMessage,
  VoteMessage,
  type NodeId,
  type ProtocolMessage,
} from '../../coordinator-2pc/src/messages.js';
import type { ReplyMessage, RequestMessage } from '../../coordinator-2pc/src/engine.js';
import type { NetworkProfile } from './profile.js';
import type { Prng } from './prng.js';
import type { Scheduler } from './sim-disk.js';
import type { Trace } from './trace.js';

/** What the network needs to know of a node. */
export interface Endpoint {
  readonly id: NodeId;
  readonly up: boolean;
  readonly incarnation: number;
  /** Why it refuses every request that may write (503), or undefined. */
  readonly refusal: string | undefined;
  /** Why it refuses bookings only (a prepare, and a commit it may have lost the record of: 503) while it reconciles its store, or undefined. */
  readonly bookingRefusal?: string | undefined;
  nowMs(): number;
  /** Run the action now, or when the process resumes if it is stopped. */
  whenAwake(action: () => void): void;
  handleRequest(message: RequestMessage): Promise<ReplyMessage | undefined>;
}

interface Call {
  from: Endpoint;
  fromIncarnation: number;
  to: NodeId;
  message: RequestMessage;
  /** The sender's clock when it signed the request. */
  signedAtMs: number;
  settled: boolean;
  resolve: (reply: ReplyMessage) => void;
  reject: (error: Error) => void;
}

const SCHEMAS: Record<ProtocolMessage['type'], ZodType> = {
  prepare: PrepareMessage,
  vote: VoteMessage,
  commit: DecisionMessage,
  abort: DecisionMessage,
  ack: AckMessage,
  'status-query': StatusQueryMessage,
  'status-reply': StatusReplyMessage,
  ballot: BallotMessage,
  promise: PromiseMessage,
  accept: AcceptMessage,
  accepted: AcceptedMessage,
};

export class SimNetwork {
  /** Faults happen only while this is true; healing the network sets it to false. */
  faulty = true;
  /** During a partition, each node's side; messages between sides are lost. */
  private sides: Map<NodeId, number> | undefined;

  constructor(
    private readonly endpoints: Map<NodeId, Endpoint>,
    private readonly profile: NetworkProfile,
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    private readonly trace: Trace,
    private readonly report: (problem: string) => void,
    /** Told of every message as it leaves its node (to check it was preceded by its durable record). */
    private readonly onLeave: (from: NodeId, message: ProtocolMessage) => void,
  ) {}

  request(from: Endpoint, to: NodeId, message: RequestMessage): Promise<ReplyMessage> {
    this.checkSchema(message, from.id);
    this.onLeave(from.id, message);
    return new Promise<ReplyMessage>((resolve, reject) => {
      const call: Call = { from, fromIncarnation: from.incarnation, to, message, signedAtMs: from.nowMs(), settled: false, resolve, reject };
      this.scheduler.after(this.profile.requestTimeoutMs, () => from.whenAwake(() => this.fail(call, 'timed out')));
      this.transmit(from.id, to, () => `${describe(message)} -> ${to}`, () => this.arrive(call));
      if (this.faulty && this.prng.chance(this.profile.duplicateProbability)) {
        this.transmit(from.id, to, () => `${describe(message)} -> ${to} (duplicate)`, () => this.arrive(call));
      }
    });
  }

  /**
   * A signed GET of the federation API other than a protocol message (the reconciliation pages):
   * the same wire (loss, delay, partitions, timeouts, a node down or stopped), answered by
   * `answer` at the target, in its own incarnation.
   */
  query<T>(from: Endpoint, to: NodeId, label: string, answer: (target: Endpoint) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fromIncarnation = from.incarnation;
      let settled = false;
      const settle = (action: () => void): void => from.whenAwake(() => {
        if (settled || !from.up || from.incarnation !== fromIncarnation) return;
        settled = true;
        action();
      });
      this.scheduler.after(this.profile.requestTimeoutMs, () => settle(() => reject(new Error('timed out'))));
      this.transmit(from.id, to, () => `${label} -> ${to}`, () => {
        const target = this.endpoints.get(to)!;
        if (!target.up) return this.transmit(to, from.id, () => `connection refused -> ${from.id}`, () => settle(() => reject(new Error('connection refused'))));
        const incarnation = target.incarnation;
        target.whenAwake(() => {
          if (!target.up || target.incarnation !== incarnation) return;
          const value = JSON.parse(JSON.stringify(answer(target))) as T;
          this.transmit(to, from.id, () => `reply to ${label} -> ${from.id}`, () => settle(() => resolve(value)));
        });
      });
    });
  }

  /** Cut the federation in two for a while; repeats until the network is healed. */
  startPartitions(): void {
    if (!Number.isFinite(this.profile.partitionEveryMs)) return;
    this.scheduler.after(this.prng.between(0, 2 * this.profile.partitionEveryMs), () => {
      if (!this.faulty) return;
      this.partition();
      this.scheduler.after(this.prng.between(1, this.profile.partitionLastsMaxMs), () => {
        this.healPartition();
        this.startPartitions();
      });
    });
  }

  /** Faults stop: no more loss, duplication, long delays or partitions. */
  heal(): void {
    this.faulty = false;
    this.healPartition();
  }

  private partition(): void {
    const ids = [...this.endpoints.keys()];
    const cut = this.prng.int(1, ids.length - 1);
    const shuffled = this.prng.sample(ids, ids.length);
    this.sides = new Map(shuffled.map((id, index) => [id, index < cut ? 0 : 1]));
    const side = shuffled.slice(0, cut);
    this.trace.add('network', () => `partition: [${side.join(', ')}] | [${shuffled.slice(cut).join(', ')}]`);
  }

  private healPartition(): void {
    if (!this.sides) return;
    this.sides = undefined;
    this.trace.add('network', () => 'partition healed');
  }

  private arrive(call: Call): void {
    const target = this.endpoints.get(call.to)!;
    const label = describe(call.message);
    if (!target.up) {
      this.trace.add(call.to, () => `refused ${label} from ${call.from.id}: node is down`);
      this.transmit(call.to, call.from.id, () => `connection refused -> ${call.from.id}`, () => call.from.whenAwake(() => this.fail(call, 'connection refused')));
      return;
    }
    const incarnation = target.incarnation;
    target.whenAwake(() => {
      if (!target.up || target.incarnation !== incarnation) return;
      const refusal = target.refusal ?? (call.message.type === 'prepare' || call.message.type === 'commit' ? target.bookingRefusal : undefined);
      if (refusal) {
        this.trace.add(call.to, () => `refused ${label} from ${call.from.id}: 503, ${refusal}`);
        this.transmit(call.to, call.from.id, () => `503 -> ${call.from.id}`, () => call.from.whenAwake(() => this.fail(call, `answered 503: ${refusal}`)));
        return;
      }
      const skewMs = Math.abs(target.nowMs() - call.signedAtMs);
      if (skewMs > this.profile.signatureWindowMs) {
        this.trace.add(call.to, () => `refused ${label} from ${call.from.id}: signed ${skewMs} ms away from this clock (401)`);
        this.transmit(call.to, call.from.id, () => `401 -> ${call.from.id}`, () => call.from.whenAwake(() => this.fail(call, 'answered 401: signature outside the time window')));
        return;
      }
      this.trace.add(call.to, () => `recv ${label} from ${call.from.id}`);
      const aheadMs = call.message.type === 'prepare' ? call.message.deadlineMs - target.nowMs() : 0;
      if (aheadMs > this.profile.deadlineAheadMaxMs) return this.refuseAdmission(call, target, aheadMs);
      this.handle(call, target, incarnation, label);
    });
  }

  /** Peer admission: a vote no ('refused') before the core, without a record (as peer-admission.ts). */
  private refuseAdmission(call: Call, target: Endpoint, aheadMs: number): void {
    const detail = `deadlineMs is ${aheadMs} ms ahead of ${target.id}'s clock; at most ${this.profile.deadlineAheadMaxMs} ms is accepted`;
    const reply: ReplyMessage = { type: 'vote', txId: call.message.txId, from: target.id, vote: 'no', reason: { code: 'refused', detail, node: target.id } };
    this.trace.add(call.to, () => `refused ${describe(call.message)} from ${call.from.id}: ${detail}`);
    const signedAtMs = target.nowMs();
    this.transmit(call.to, call.from.id, () => `reply ${describe(reply)} -> ${call.from.id}`, () => call.from.whenAwake(() => this.answer(call, reply, signedAtMs)));
  }

  private handle(call: Call, target: Endpoint, incarnation: number, label: string): void {
    target.handleRequest(copy(call.message)).then((reply) => {
      if (!target.up || target.incarnation !== incarnation) return; // the server died with the connection
      if (reply === undefined) {
        this.transmit(call.to, call.from.id, () => `no reply to ${label} -> ${call.from.id}`, () => call.from.whenAwake(() => this.fail(call, 'no reply')));
        return;
      }
      this.checkSchema(reply, call.to);
      this.onLeave(call.to, reply);
      const signedAtMs = target.nowMs();
      this.transmit(call.to, call.from.id, () => `reply ${describe(reply)} -> ${call.from.id}`, () => call.from.whenAwake(() => this.answer(call, copy(reply), signedAtMs)));
    });
  }

  private answer(call: Call, reply: ReplyMessage, signedAtMs: number): void {
    if (call.settled || !this.callerAlive(call)) {
      this.trace.add(call.from.id, () => `late reply ${describe(reply)} from ${call.to} ignored`);
      return;
    }
    if (Math.abs(call.from.nowMs() - signedAtMs) > this.profile.signatureWindowMs) {
      this.fail(call, `reply from ${call.to} signed outside the time window`);
      return;
    }
    call.settled = true;
    this.trace.add(call.from.id, () => `recv ${describe(reply)} from ${call.to}`);
    call.resolve(reply);
  }

  private fail(call: Call, why: string): void {
    if (call.settled) return;
    call.settled = true;
    if (!this.callerAlive(call)) return; // a dead incarnation hears nothing more
    this.trace.add(call.from.id, () => `request ${describe(call.message)} to ${call.to} failed: ${why}`);
    call.reject(new Error(why));
  }

  private callerAlive(call: Call): boolean {
    return call.from.up && call.from.incarnation === call.fromIncarnation;
  }

  /** One message on the wire: maybe lost, otherwise delivered after a random delay. */
  private transmit(from: NodeId, to: NodeId, label: () => string, onArrival: () => void): void {
    if (this.sides && this.sides.get(from) !== this.sides.get(to)) {
      this.trace.add(from, () => `send ${label()}: lost in the partition`);
      return;
    }
    if (this.faulty && this.prng.chance(this.profile.lossProbability)) {
      this.trace.add(from, () => `send ${label()}: lost`);
      return;
    }
    const delayMs = this.drawDelayMs(from, to);
    this.trace.add(from, () => `send ${label()} (${delayMs.toFixed(3)} ms)`);
    this.scheduler.after(delayMs, onArrival);
  }

  private drawDelayMs(from: NodeId, to: NodeId): number {
    const { delayMinMs, delayMaxMs, longDelayProbability, longDelayMaxMs, pairDelayMs } = this.profile;
    if (this.faulty && this.prng.chance(longDelayProbability)) return this.prng.between(delayMaxMs, longDelayMaxMs);
    return pairDelayMs ? pairDelayMs(from, to) : this.prng.between(delayMinMs, delayMaxMs);
  }

  private checkSchema(message: ProtocolMessage, sender: NodeId): void {
    const result = SCHEMAS[message.type].safeParse(JSON.parse(JSON.stringify(message)));
    if (!result.success) this.report(`${sender} sent a ${message.type} that fails its wire schema: ${result.error.message}`);
  }
}

export function describe(message: ProtocolMessage): string {
  switch (message.type) {
    case 'vote':
      return `vote ${message.vote}${message.reason ? `(${message.reason.code})` : ''} ${message.txId}`;
    case 'ack':
      return `ack ${message.outcome} ${message.txId}`;
    case 'status-reply':
      return `status-reply ${message.outcome} ${message.txId}`;
    case 'accept':
      return `accept ${message.value}@${message.ballot.round}/${message.ballot.node} ${message.txId}`;
    case 'ballot':
      return `ballot ${message.ballot.round}/${message.ballot.node} ${message.txId}`;
    case 'accepted':
    case 'promise':
      return `${message.type}${message.ok ? '' : `-refused(${message.refusal ?? ''})`} ${message.ballot.round}/${message.ballot.node} ${message.txId}`;
    default:
      return `${message.type} ${message.txId}`;
  }
}

function copy<T>(message: T): T {
  return JSON.parse(JSON.stringify(message)) as T;
}
