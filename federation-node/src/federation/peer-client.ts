// Talking to the other observatories over HTTP: protocol requests (prepare, commit,
// release, status) and the time reference. Keep-alive connections; every call has a
// timeout; commit, release and status are retried with backoff (p-retry) because they are
// idempotent. A prepare is retried only while its deadline allows.
//
// Batching (docs/PERFORMANCE.md, "Batched protocol messages"): protocol messages to one peer
// issued in the same event-loop turn, or while earlier batches to that peer are in flight,
// travel together in one POST /federation/v1/messages. An HTTP exchange costs far more CPU
// than the handling of one message, so under load this divides the cost of the traffic
// between nodes by the batch size. Each message keeps the semantics of its own call: its own
// timeout, its own retries, its own reply or problem. Prepares and decisions travel in
// separate lanes so that a prepare kept waiting by wait-die never holds up a commit.
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import pRetry, { AbortError } from 'p-retry';
import type { NodeId } from '../../../coordinator-2pc/src/index.js';
import type { ReplyMessage, RequestMessage } from '../../../coordinator-2pc/src/index.js';
import type { PeerAuthenticator } from '../security/peer-authenticator.js';
import { describeTransportError, fail, parseReply, problemDetail, routeOf, settleFromEntry, succeed, type Pending } from './peer-messages.js';

import { BATCH_PATH, FEDERATION_PREFIX, PeerCallError, REQUEST_DEADLINE_HEADER, TIME_PATH } from './peer-wire.js';
import { SingleFlight } from './single-flight.js';
import { sendHttp, type HttpAnswer } from './peer-http.js';
import { CredentialBatcher, type CredentialAskBody } from './credential-batcher.js';

export { BATCH_PATH, FEDERATION_PREFIX, PeerCallError, REQUEST_DEADLINE_HEADER, TIME_PATH } from './peer-wire.js';

export interface PeerClientOptions {
  selfId: NodeId;
  peers: Map<NodeId, string>;
  requestTimeoutMs: number;
  attemptsMax: number;
  nowMs: () => number;
  /** Signs every protocol request and checks every answer (docs/SECURITY.md). */
  auth: PeerAuthenticator;
  /** Coalesce protocol messages into batches (PEER_BATCHING); off: one HTTP request per message. */
  batching?: boolean;
  /** The most messages in one batch (PEER_BATCH_MESSAGES_MAX). */
  batchMessagesMax?: number;
  /** Batches of one lane in flight before further messages wait to be coalesced (PEER_BATCHES_IN_FLIGHT_MAX). */
  batchesInFlightMax?: number;
  /** After this long unanswered, a batch no longer holds back the next one (PEER_BATCH_STALL_MS). */
  batchStallMs?: number;
  /** The largest batch body, in bytes (the peers' BODY_BYTES_MAX). */
  batchBytesMax?: number;
  /** The most credential requests in one batch to a home (CREDENTIAL_BATCH_ASKS_MAX). */
  credentialBatchAsksMax?: number;
}

/** The messages of one kind for one peer that wait for a batch. */
interface Lane {
  to: NodeId;
  queue: Pending[];
  inFlight: number;
  flushScheduled: boolean;
}

const BATCH_ENVELOPE_BYTES = 64;
/** Statuses by which a peer says it does not serve the batch endpoint: talk to it one message at a time. */
const NO_BATCH_ENDPOINT = new Set([404, 405, 501]);

export class PeerClient {
  private readonly http: AxiosInstance;
  private readonly agents = { 'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }), 'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }) };
  private readonly targets = new Map<NodeId, URL>();
  private readonly lanes = new Map<string, Lane>();
  /** Peers that answered the batch endpoint with 404/405/501. */
  private readonly withoutBatching = new Set<NodeId>();
  /** Requests on their way, by peer and exact message: an identical one joins instead of going again. */
  private readonly identical = new SingleFlight<ReplyMessage>();
  private readonly credentials: CredentialBatcher;
  private readonly limits: Required<Pick<PeerClientOptions, 'batchMessagesMax' | 'batchesInFlightMax' | 'batchStallMs' | 'batchBytesMax'>>;

  constructor(private readonly options: PeerClientOptions) {
    this.http = axios.create({
      httpAgent: this.agents['http:'],
      httpsAgent: this.agents['https:'],
      timeout: options.requestTimeoutMs,
      validateStatus: () => true,
      transitional: { clarifyTimeoutError: true },
      maxRedirects: 0,
    });
    const { batchMessagesMax = 64, batchesInFlightMax = 1, batchStallMs = 25, batchBytesMax = 65_536 } = options;
    this.limits = { batchMessagesMax, batchesInFlightMax, batchStallMs, batchBytesMax };
    const post = async (to: NodeId, path: string, body: string, timeoutMs: number) => {
      const answer = await this.exchange(to, 'POST', `${FEDERATION_PREFIX}${path}`, body, timeoutMs);
      return { status: answer.status, data: answer.data };
    };
    const { requestTimeoutMs, attemptsMax, nowMs } = options;
    this.credentials = new CredentialBatcher({ post, nowMs, requestTimeoutMs, attemptsMax, batching: options.batching !== false, asksMax: options.credentialBatchAsksMax ?? 64, bytesMax: batchBytesMax, stallMs: batchStallMs });
  }

  urlOf(node: NodeId): string {
    const url = this.options.peers.get(node);
    if (!url) throw new Error(`observatory ${node} is not a member of this federation`);
    return url;
  }

  /** Deliver a protocol request and return the validated reply; an identical one still unanswered by that peer is joined. */
  request(to: NodeId, message: RequestMessage): Promise<ReplyMessage> {
    return this.identical.run(`${to} ${JSON.stringify(message)}`, () => this.deliver(to, message));
  }

  private async deliver(to: NodeId, message: RequestMessage): Promise<ReplyMessage> {
    const deadlineMs = message.type === 'prepare' ? message.deadlineMs : undefined;
    const attempt = () => this.attempt(to, message, deadlineMs);
    let firstError: unknown;
    try {
      return await attempt(); // almost every message: one attempt, without p-retry's bookkeeping
    } catch (error) {
      firstError = error;
    }
    // p-retry takes over as though it had made the first attempt: same backoff, same AbortError rule.
    return pRetry((attemptNumber) => (attemptNumber === 1 ? Promise.reject(firstError) : attempt()), {
      retries: this.options.attemptsMax - 1,
      minTimeout: 50,
      maxTimeout: 1_000,
      factor: 3,
      shouldRetry: () => deadlineMs === undefined || this.options.nowMs() < deadlineMs,
    });
  }

  /**
   * An unsigned request to another observatory's public API (its /health). It carries no
   * credentials of anyone: requests on a person's behalf go signed, through call().
   */
  async forward(to: NodeId, method: 'GET', path: string): Promise<{ status: number; contentType: string; body: unknown }> {
    try {
      const response = await this.http.request({ method, url: `${this.urlOf(to)}${path}` });
      return { status: response.status, contentType: String(response.headers['content-type'] ?? 'application/json'), body: response.data };
    } catch (error) {
      throw new Error(describeTransportError(error));
    }
  }

  /**
   * One signed request to another observatory's /federation/v1 (a read or a cancellation
   * passed on for a person, http/forwarding-routes.ts), with its own timeout. Throws
   * PeerCallError saying whether the request may have reached the peer.
   */
  async call(to: NodeId, method: 'GET' | 'DELETE', path: string, timeoutMs: number): Promise<{ status: number; contentType: string; data: unknown }> {
    const answer = await this.exchange(to, method, `${FEDERATION_PREFIX}${path}`, '', timeoutMs);
    return { status: answer.status, contentType: String(answer.headers['content-type'] ?? 'application/json'), data: answer.data };
  }

  /** What another observatory knows of a transaction (its signed GET /federation/v1/transactions/{txId}). */
  async transactionView(to: NodeId, txId: string): Promise<{ status: number; data: unknown }> {
    const answer = await this.exchange(to, 'GET', `${FEDERATION_PREFIX}/transactions/${encodeURIComponent(txId)}`, '', this.options.requestTimeoutMs);
    return { status: answer.status, data: answer.data };
  }

  /** A signed GET of another observatory's federation API (reconciliation pages, durability/reconciliation.ts). */
  async signedGet(to: NodeId, pathAndQuery: string): Promise<{ status: number; data: unknown }> {
    const answer = await this.exchange(to, 'GET', `${FEDERATION_PREFIX}${pathAndQuery}`, '', this.options.requestTimeoutMs);
    return { status: answer.status, data: answer.data };
  }

  /** Ask a scientist's home observatory to vouch for a booking (batched per home: federation/credential-batcher.ts). */
  requestCredential(home: NodeId, ask: CredentialAskBody, deadlineMs: number): Promise<{ status: number; data: unknown }> {
    return this.credentials.request(home, ask, deadlineMs);
  }

  /**
   * The reference's time (for Cristian's algorithm), from its signed GET /federation/v1/time:
   * the answer is signed by the reference and bound to this very request (a nonce), so no one
   * on the path can shift the federation's clock.
   */
  async referenceTime(reference: NodeId): Promise<number> {
    const answer = await this.exchange(reference, 'GET', `${FEDERATION_PREFIX}${TIME_PATH}`, '', this.options.requestTimeoutMs, true);
    const epochMs = (answer.data as { epochMs?: unknown })?.epochMs;
    if (answer.status !== 200 || typeof epochMs !== 'number') throw new Error(`GET ${FEDERATION_PREFIX}${TIME_PATH} answered ${answer.status}`);
    return epochMs;
  }

  private attempt(to: NodeId, message: RequestMessage, deadlineMs: number | undefined): Promise<ReplyMessage> {
    // A prepare waits for its whole deadline (and a little grace), not PEER_REQUEST_TIMEOUT_MS: on
    // an overloaded peer, giving up early and sending it again only queues a duplicate behind the
    // first, and the peer drops a request it reads after its sender stopped waiting.
    const timeoutMs = deadlineMs === undefined ? this.options.requestTimeoutMs : Math.max(1, deadlineMs - this.options.nowMs() + 250);
    if (this.options.batching === false || this.withoutBatching.has(to)) return this.sendOne(to, message, timeoutMs);
    return new Promise((resolve, reject) => {
      const json = JSON.stringify(message);
      const pending: Pending = { message, json, bytes: Buffer.byteLength(json), expiresAtMs: this.options.nowMs() + timeoutMs, done: false, resolve, reject, timer: setTimeout(() => fail(pending, new Error('timed out')), timeoutMs) };
      this.enqueue(to, pending);
    });
  }

  private enqueue(to: NodeId, pending: Pending): void {
    const kind = pending.message.type === 'prepare' ? 'prepare' : 'decision';
    const key = `${to}/${kind}`;
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { to, queue: [], inFlight: 0, flushScheduled: false }));
    lane.queue.push(pending);
    if (lane.queue.length >= this.limits.batchMessagesMax) this.flush(lane);
    else this.scheduleFlush(lane);
  }

  /** Send at the end of this event-loop turn, so that every message issued in it goes together. */
  private scheduleFlush(lane: Lane): void {
    if (lane.flushScheduled || lane.inFlight >= this.limits.batchesInFlightMax) return;
    lane.flushScheduled = true;
    setImmediate(() => {
      lane.flushScheduled = false;
      this.flush(lane);
    });
  }

  /** A full batch leaves at once; a partial one only while fewer than the limit are in flight. */
  private flush(lane: Lane): void {
    while (lane.queue.length > 0 && (lane.inFlight < this.limits.batchesInFlightMax || lane.queue.length >= this.limits.batchMessagesMax)) {
      const batch = this.takeBatch(lane);
      if (batch.length > 0) this.sendBatch(lane, batch);
    }
  }

  private takeBatch(lane: Lane): Pending[] {
    const batch: Pending[] = [];
    let bytes = BATCH_ENVELOPE_BYTES;
    while (lane.queue.length > 0 && batch.length < this.limits.batchMessagesMax) {
      const next = lane.queue[0]!;
      if (batch.length > 0 && bytes + next.bytes + 1 > this.limits.batchBytesMax) break;
      lane.queue.shift();
      if (next.done) continue; // timed out while it waited
      batch.push(next);
      bytes += next.bytes + 1;
    }
    return batch;
  }

  private sendBatch(lane: Lane, batch: Pending[]): void {
    const body = `{"from":${JSON.stringify(this.options.selfId)},"messages":[${batch.map((p) => p.json).join(',')}]}`;
    const release = this.occupy(lane);
    const now = this.options.nowMs();
    const timeoutMs = Math.max(this.options.requestTimeoutMs, ...batch.map((p) => p.expiresAtMs - now));
    this.exchange(lane.to, 'POST', `${FEDERATION_PREFIX}${BATCH_PATH}`, body, timeoutMs).then(
      (answer) => this.settleBatch(lane.to, batch, answer),
      (error: Error) => batch.forEach((p) => fail(p, error)), // as each single call would have failed
    ).finally(release);
  }

  /**
   * Count a batch as in flight until it is answered or stalls: a prepare kept waiting by
   * wait-die (up to WAIT_DIE_MAX_WAIT_MS) must not hold back every later prepare to that peer.
   */
  private occupy(lane: Lane): () => void {
    lane.inFlight += 1;
    let counted = true;
    const release = () => {
      clearTimeout(stallTimer);
      if (!counted) return;
      counted = false;
      lane.inFlight -= 1;
      if (lane.queue.length > 0) this.scheduleFlush(lane);
    };
    const stallTimer = setTimeout(release, this.limits.batchStallMs);
    return release;
  }

  private settleBatch(to: NodeId, batch: Pending[], answer: HttpAnswer): void {
    if (answer.status === 200) {
      const replies = (answer.data as { replies?: unknown })?.replies;
      if (!Array.isArray(replies) || replies.length !== batch.length) {
        batch.forEach((p) => fail(p, new AbortError('answered with a malformed batch reply')));
        return;
      }
      batch.forEach((p, i) => settleFromEntry(p, replies[i]));
      return;
    }
    if (NO_BATCH_ENDPOINT.has(answer.status) || answer.status === 413) {
      if (answer.status !== 413) this.withoutBatching.add(to);
      for (const p of batch) this.sendOne(to, p.message, this.options.requestTimeoutMs).then((reply) => succeed(p, reply), (error: Error) => fail(p, error));
      return;
    }
    const error = answer.status >= 500 || answer.status === 429
      ? new Error(`answered ${answer.status}: ${problemDetail(answer.data)}`)
      : new AbortError(`refused with ${answer.status}: ${problemDetail(answer.data)}`);
    batch.forEach((p) => fail(p, error));
  }

  /** One message, one request, at the message's own endpoint (peers without batching, or batching off). */
  private async sendOne(to: NodeId, message: RequestMessage, timeoutMs: number): Promise<ReplyMessage> {
    const { method, path } = routeOf(message);
    const answer = await this.exchange(to, method, `${FEDERATION_PREFIX}${path}`, method === 'GET' ? '' : JSON.stringify(message), timeoutMs);
    if (answer.status >= 500 || answer.status === 429) throw new Error(`answered ${answer.status}: ${problemDetail(answer.data)}`); // worth retrying
    if (answer.status !== 200) throw new AbortError(`refused with ${answer.status}: ${problemDetail(answer.data)}`);
    return parseReply(message, answer.data);
  }

  /**
   * One signed HTTP exchange on a kept-alive connection (node:http directly: a third of
   * axios's CPU per call). An answer whose signature does not check counts as no answer.
   * `clockExchange`: the time reference's clock is what is being measured, so its answer is
   * checked without the signature time window and the request carries no deadline — both
   * would refuse exactly the reference whose clock moved, which must be seen and reported
   * (federation/clock.ts). The answer stays bound to this very request.
   */
  private async exchange(to: NodeId, method: 'GET' | 'POST' | 'DELETE', path: string, body: string, timeoutMs: number, clockExchange = false): Promise<HttpAnswer> {
    const target = this.targetOf(to);
    const fullPath = `${target.pathname.replace(/\/$/, '')}${path}`;
    const signature = this.options.auth.signRequest(to, method, fullPath, body);
    // The instant this sender stops waiting: a receiver that reads the request later drops it unprocessed.
    const deadline: Record<string, number> = clockExchange ? {} : { [REQUEST_DEADLINE_HEADER]: this.options.nowMs() + timeoutMs };
    const answer = await sendHttp(target, this.agents[target.protocol as 'http:'], method, fullPath, body, { ...deadline, ...signature }, timeoutMs);
    try {
      this.options.auth.verifyAnswer(to, { method, target: fullPath, body, headers: signature }, answer, clockExchange);
    } catch (error) {
      // A node that refuses work before reading it (stale, clock jumped, disk full) answers 503
      // unsigned. Its reason is shown, marked unverified: it can only make this call fail, and
      // since it is unverified the call counts as possibly delivered (outcome unknown).
      if (answer.status === 503 && !answer.headers.signature) throw new PeerCallError(`answered 503 (unsigned, so unverified): ${problemDetail(answer.data)}`, true);
      throw new PeerCallError(`answered ${answer.status} without a valid signature of ${to}: ${(error as Error).message}`, true);
    }
    return answer;
  }

  private targetOf(to: NodeId): URL {
    const url = this.urlOf(to);
    let target = this.targets.get(to);
    // A reloaded membership may move a member: the cached URL must be the current one.
    if (!target || target.href !== new URL(url).href) this.targets.set(to, (target = new URL(url)));
    return target;
  }

}
