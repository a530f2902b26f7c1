// Credential requests to scientists' home observatories, batched per home (docs/PROTOCOL.md
// §12, "Batched credential requests"). A coordinator that books for another home's scientist
// needs that home's credential per booking; one signed HTTP exchange per booking roughly
// doubled the CPU a booking costs. Requests to one home issued in the same event-loop turn, or
// while a batch to that home is in flight, travel together in one signed
// POST /federation/v1/credentials/batch. Each request keeps the semantics of its own call: its
// own deadline and retries, its own answer (a credential or a problem): the home checks and
// answers every request of a batch on its own, so one bad request is refused alone.
import pRetry from 'p-retry';
import type { NodeId } from '../../../coordinator-2pc/src/index.js';

export const CREDENTIALS_PATH = '/credentials';
export const CREDENTIAL_BATCH_PATH = '/credentials/batch';

export interface CredentialAskBody {
  scientistId: string;
  bookingId: string;
  parts: Record<string, string>;
  token: string;
}

/** The home's answer to one request, as its single endpoint would have given it: 200 with `credential`, or a problem. */
export interface CredentialAnswer {
  status: number;
  data: unknown;
}

export interface CredentialBatcherOptions {
  /** One signed POST to a member's federation API (PeerClient.signedPost); throws on a transport failure. */
  post: (to: NodeId, path: string, body: string, timeoutMs: number) => Promise<CredentialAnswer>;
  nowMs: () => number;
  requestTimeoutMs: number;
  attemptsMax: number;
  /** false: one request per credential (PEER_BATCHING off). */
  batching: boolean;
  /** The most requests in one batch (CREDENTIAL_BATCH_ASKS_MAX). */
  asksMax: number;
  /** The largest batch body, in bytes (the peers' BODY_BYTES_MAX). */
  bytesMax: number;
  /** After this long unanswered, a batch no longer holds back the next (PEER_BATCH_STALL_MS). */
  stallMs: number;
}

interface Waiting {
  json: string;
  bytes: number;
  /** When this request stops waiting (federation clock): the batch carrying it waits at least as long. */
  expiresAtMs: number;
  done: boolean;
  timer: NodeJS.Timeout;
  resolve(answer: CredentialAnswer): void;
  reject(error: Error): void;
}

interface HomeQueue {
  queue: Waiting[];
  inFlight: boolean;
  flushScheduled: boolean;
}

const ENVELOPE_BYTES = 16;
/** Statuses by which a home says it does not serve the batch endpoint: ask it one request at a time. */
const NO_BATCH_ENDPOINT = new Set([404, 405, 501]);

export class CredentialBatcher {
  private readonly homes = new Map<NodeId, HomeQueue>();
  private readonly withoutBatching = new Set<NodeId>();

  constructor(private readonly options: CredentialBatcherOptions) {}

  /** A credential request, retried while its deadline allows (each answer is a fresh valid credential: safe to repeat). */
  request(home: NodeId, ask: CredentialAskBody, deadlineMs: number): Promise<CredentialAnswer> {
    const json = JSON.stringify(ask);
    const attempt = () => {
      // The whole budget, not PEER_REQUEST_TIMEOUT_MS: a home slow under load answers late rather than twice.
      const timeoutMs = Math.max(1, deadlineMs - this.options.nowMs());
      if (!this.options.batching || this.withoutBatching.has(home)) return this.options.post(home, CREDENTIALS_PATH, json, timeoutMs);
      return this.enqueue(home, json, timeoutMs);
    };
    return pRetry(attempt, { retries: this.options.attemptsMax - 1, minTimeout: 50, maxTimeout: 1_000, factor: 3, shouldRetry: () => this.options.nowMs() < deadlineMs });
  }

  private enqueue(home: NodeId, json: string, timeoutMs: number): Promise<CredentialAnswer> {
    let queue = this.homes.get(home);
    if (!queue) this.homes.set(home, (queue = { queue: [], inFlight: false, flushScheduled: false }));
    const lane = queue;
    return new Promise((resolve, reject) => {
      const waiting: Waiting = { json, bytes: Buffer.byteLength(json), expiresAtMs: this.options.nowMs() + timeoutMs, done: false, resolve, reject, timer: setTimeout(() => settle(waiting, new Error('timed out')), timeoutMs) };
      lane.queue.push(waiting);
      if (lane.queue.length >= this.options.asksMax) this.flush(home, lane);
      else this.scheduleFlush(home, lane);
    });
  }

  /** Send at the end of this event-loop turn, so that every request issued in it goes together. */
  private scheduleFlush(home: NodeId, lane: HomeQueue): void {
    if (lane.flushScheduled || lane.inFlight) return;
    lane.flushScheduled = true;
    setImmediate(() => {
      lane.flushScheduled = false;
      this.flush(home, lane);
    });
  }

  /** A full batch leaves at once; a partial one only while no batch to that home is in flight. */
  private flush(home: NodeId, lane: HomeQueue): void {
    while (lane.queue.length > 0 && (!lane.inFlight || lane.queue.length >= this.options.asksMax)) {
      const batch = this.takeBatch(lane);
      if (batch.length > 0) this.sendBatch(home, lane, batch);
    }
  }

  private takeBatch(lane: HomeQueue): Waiting[] {
    const batch: Waiting[] = [];
    let bytes = ENVELOPE_BYTES;
    while (lane.queue.length > 0 && batch.length < this.options.asksMax) {
      const next = lane.queue[0]!;
      if (batch.length > 0 && bytes + next.bytes + 1 > this.options.bytesMax) break;
      lane.queue.shift();
      if (next.done) continue; // timed out while it waited
      batch.push(next);
      bytes += next.bytes + 1;
    }
    return batch;
  }

  private sendBatch(home: NodeId, lane: HomeQueue, batch: Waiting[]): void {
    lane.inFlight = true;
    let counted = true;
    const release = () => {
      clearTimeout(stallTimer);
      if (!counted) return;
      counted = false;
      lane.inFlight = false;
      if (lane.queue.length > 0) this.scheduleFlush(home, lane);
    };
    // A slow batch must not hold back every later request to that home.
    const stallTimer = setTimeout(release, this.options.stallMs);
    const body = `{"asks":[${batch.map((w) => w.json).join(',')}]}`;
    const now = this.options.nowMs();
    const timeoutMs = Math.max(this.options.requestTimeoutMs, ...batch.map((w) => w.expiresAtMs - now));
    this.options.post(home, CREDENTIAL_BATCH_PATH, body, timeoutMs).then(
      (answer) => this.settleBatch(home, batch, answer),
      (error: Error) => batch.forEach((w) => settle(w, error)), // as each single request would have failed
    ).finally(release);
  }

  private settleBatch(home: NodeId, batch: Waiting[], answer: CredentialAnswer): void {
    const answers = (answer.data as { answers?: unknown } | null)?.answers;
    if (answer.status === 200 && Array.isArray(answers) && answers.length === batch.length) {
      batch.forEach((w, i) => settle(w, entryAnswer(answers[i])));
      return;
    }
    if (NO_BATCH_ENDPOINT.has(answer.status)) {
      this.withoutBatching.add(home);
      for (const w of batch) this.options.post(home, CREDENTIALS_PATH, w.json, this.options.requestTimeoutMs).then((single) => settle(w, single), (error: Error) => settle(w, error));
      return;
    }
    // The whole batch refused before any request was looked at (overloaded, starting, malformed): each gets that answer.
    const whole = answer.status === 200 ? { status: 502, data: { detail: 'answered with a malformed credential batch' } } : answer;
    batch.forEach((w) => settle(w, whole));
  }
}

/** One entry of a batch answer: `{credential}` is a 200, anything else a problem with its own status. */
function entryAnswer(entry: unknown): CredentialAnswer {
  if (typeof (entry as { credential?: unknown } | null)?.credential === 'string') return { status: 200, data: entry };
  const status = (entry as { status?: unknown } | null)?.status;
  return { status: typeof status === 'number' ? status : 502, data: entry };
}

function settle(waiting: Waiting, outcome: CredentialAnswer | Error): void {
  if (waiting.done) return;
  waiting.done = true;
  clearTimeout(waiting.timer);
  if (outcome instanceof Error) waiting.reject(outcome);
  else waiting.resolve(outcome);
}
