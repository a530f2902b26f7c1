// Work queued past its deadline is dropped before it is processed. A node that was paused
// (SIGSTOP, a frozen VM, a long stall) finds on resume every request its peers sent in the
// meantime waiting in its sockets; their senders gave up long ago. Processing them first
// (signature checks, engine steps, tombstone writes) would delay every fresh message behind
// them for seconds: head-of-line. Each protocol request carries the instant its sender stops
// waiting (federation clock); past it, plus a grace for clock error, the request is answered
// 503 at once, before Koa, the signature check or the body are touched. Dropping is always
// safe: a prepare never handled is a "no" vote (presumed abort), and decisions and status
// queries are re-sent until answered.
import type http from 'node:http';
import { REQUEST_DEADLINE_HEADER } from '../federation/peer-client.js';
import { PROBLEM_CONTENT_TYPE, problemTypeUri } from './problem.js';

export interface StaleRequestOptions {
  nowMs: () => number;
  /** STALE_REQUEST_GRACE_MS: how far past its deadline a request is still handled (clock error between nodes). */
  graceMs: number;
  /** Told once per burst of drops (after a second without one), for the app log. */
  onDropped: (count: number, latestLateMs: number) => void;
}

type Handler = (request: http.IncomingMessage, response: http.ServerResponse) => void;

/** Wraps the server's request handler: stale protocol requests never reach it. */
export function dropStaleRequests(handler: Handler, options: StaleRequestOptions): Handler {
  let burst = 0;
  let latestLateMs = 0;
  let burstTimer: NodeJS.Timeout | undefined;
  return (request, response) => {
    const header = request.headers[REQUEST_DEADLINE_HEADER];
    const deadlineMs = typeof header === 'string' ? Number(header) : NaN;
    const lateMs = Number.isFinite(deadlineMs) ? options.nowMs() - deadlineMs : 0;
    if (lateMs <= options.graceMs) {
      handler(request, response);
      return;
    }
    burst += 1;
    latestLateMs = lateMs;
    burstTimer ??= setTimeout(() => {
      options.onDropped(burst, latestLateMs);
      burst = 0;
      burstTimer = undefined;
    }, 1_000).unref();
    const body = JSON.stringify({
      type: problemTypeUri('observatory-unavailable'),
      title: 'Observatory unavailable',
      status: 503,
      detail: `the request waited ${lateMs} ms past its deadline before this node could read it (paused or overloaded); dropped unprocessed`,
    });
    // The sender is gone: answer without reading the body, and do not keep the connection.
    response.writeHead(503, { 'content-type': PROBLEM_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), connection: 'close' });
    response.end(body);
  };
}
