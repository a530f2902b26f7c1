// What a node admits, decided before Koa, the signature check or the body are touched.
//
// 1. Work queued past its deadline is dropped before it is processed. A node that was paused
//    (SIGSTOP, a frozen VM, a long stall) finds on resume every request its peers sent in the
//    meantime waiting in its sockets; their senders gave up long ago. Processing them first
//    would delay every fresh message behind them for seconds: head-of-line. Each protocol
//    request carries the instant its sender stops waiting (federation clock); past it, plus
//    STALE_REQUEST_GRACE_MS for clock error, it is answered 503 unread. Dropping is always
//    safe: a prepare never handled is a "no" vote (presumed abort), and decisions and status
//    queries are re-sent until answered.
// 2. While the node must not take new work (its own clock jumped, its disk is nearly full),
//    every request that may write (any method but GET/HEAD/OPTIONS) is answered 503 with the
//    reason, naming this node; reads go on.
import type http from 'node:http';
import { REQUEST_DEADLINE_HEADER } from '../federation/peer-client.js';
import { PROBLEM_CONTENT_TYPE, problemTypeUri } from './problem.js';

export interface AdmissionOptions {
  nowMs: () => number;
  /** STALE_REQUEST_GRACE_MS: how far past its deadline a request is still handled (clock error between nodes). */
  graceMs: number;
  /** Why new writes are refused now (one sentence naming this node), or null. */
  writeRefusal: () => string | null;
  /** Told once per burst of drops (after a second without one), for the app log. */
  onDropped: (count: number, latestLateMs: number) => void;
}

/** Koa's callback returns the promise of the request's handling; a plain handler returns nothing. */
type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => unknown;

export interface AdmittingHandler extends Handler {
  /**
   * Answers every request still in progress with 503 and this detail, synchronously: called
   * when the node must stop at once (a failed write), so that its clients get an answer
   * rather than a reset connection.
   */
  answerInFlight(detail: string): void;
  /** Requests whose handler has not finished yet (a graceful stop waits for them before closing the store). */
  handling(): number;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Wraps the server's request handler: stale protocol requests and refused writes never reach it. */
export function admitRequests(handler: Handler, options: AdmissionOptions): AdmittingHandler {
  let burst = 0;
  let latestLateMs = 0;
  let burstTimer: NodeJS.Timeout | undefined;
  const inFlight = new Set<http.ServerResponse>();
  let handling = 0;
  const admitting = (request: http.IncomingMessage, response: http.ServerResponse) => {
    const header = request.headers[REQUEST_DEADLINE_HEADER];
    const deadlineMs = typeof header === 'string' ? Number(header) : NaN;
    const lateMs = Number.isFinite(deadlineMs) ? options.nowMs() - deadlineMs : 0;
    if (lateMs > options.graceMs) {
      burst += 1;
      latestLateMs = lateMs;
      burstTimer ??= setTimeout(() => {
        options.onDropped(burst, latestLateMs);
        burst = 0;
        burstTimer = undefined;
      }, 1_000).unref();
      // The sender is gone: answer without reading the body, and do not keep the connection.
      unavailable(response, `the request waited ${lateMs} ms past its deadline before this node could read it (paused or overloaded); dropped unprocessed`, true);
      return;
    }
    const refusal = READ_METHODS.has(request.method ?? 'GET') ? null : options.writeRefusal();
    if (refusal) {
      request.resume(); // drain the body so that the connection stays usable
      unavailable(response, refusal, false);
      return;
    }
    inFlight.add(response);
    response.once('close', () => inFlight.delete(response));
    const done = handler(request, response);
    if (done instanceof Promise) {
      handling += 1;
      done.finally(() => (handling -= 1)).catch(() => undefined);
    }
  };
  return Object.assign(admitting, {
    answerInFlight(detail: string) {
      for (const response of inFlight) if (!response.headersSent) unavailable(response, detail, true);
    },
    handling: () => handling,
  });
}

function unavailable(response: http.ServerResponse, detail: string, close: boolean): void {
  const body = JSON.stringify({ type: problemTypeUri('observatory-unavailable'), title: 'Observatory unavailable', status: 503, detail });
  response.writeHead(503, {
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...(close ? { connection: 'close' } : { 'retry-after': '5' }),
  });
  response.end(body);
}
