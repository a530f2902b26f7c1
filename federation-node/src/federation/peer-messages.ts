// The messages of the peer client, one by one: how each request maps to its endpoint, how a
// reply or a batch entry is checked and settles the message waiting for it.
import { AbortError } from 'p-retry';
import { isAxiosError } from 'axios';
import { AcceptedMessage, AckMessage, PromiseMessage, StatusReplyMessage, VoteMessage } from '../../../coordinator-2pc/src/index.js';
import type { ReplyMessage, RequestMessage } from '../../../coordinator-2pc/src/index.js';

/** One message on its way: settled exactly once, by its reply, its batch's failure or its own timeout. */
export interface Pending {
  message: RequestMessage;
  json: string;
  bytes: number;
  /** When this message stops waiting (federation clock): the batch carrying it waits at least as long. */
  expiresAtMs: number;
  timer: NodeJS.Timeout;
  done: boolean;
  resolve(reply: ReplyMessage): void;
  reject(error: Error): void;
}

export class TimedOut extends Error {}

export function succeed(pending: Pending, reply: ReplyMessage): void {
  if (pending.done) return;
  pending.done = true;
  clearTimeout(pending.timer);
  pending.resolve(reply);
}

export function fail(pending: Pending, error: Error): void {
  if (pending.done) return;
  pending.done = true;
  clearTimeout(pending.timer);
  pending.reject(error);
}

/** One entry of a batch answer: the reply to its message, or a problem as its single endpoint would have answered. */
export function settleFromEntry(pending: Pending, entry: unknown): void {
  const type = (entry as { type?: unknown } | null)?.type;
  if (type === 'vote' || type === 'ack' || type === 'status-reply' || type === 'promise' || type === 'accepted') {
    try {
      succeed(pending, parseReply(pending.message, entry));
    } catch (error) {
      fail(pending, error as Error);
    }
    return;
  }
  const status = (entry as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 500) fail(pending, new Error(`answered ${status}: ${problemDetail(entry)}`));
  else fail(pending, new AbortError(`refused with ${typeof status === 'number' ? status : 'a malformed entry'}: ${problemDetail(entry)}`));
}

export function routeOf(message: RequestMessage): { method: 'GET' | 'POST'; path: string } {
  const tx = `/transactions/${encodeURIComponent(message.txId)}`;
  switch (message.type) {
    case 'prepare':
      return { method: 'POST', path: `${tx}/prepare` };
    case 'commit':
      return { method: 'POST', path: `${tx}/commit` };
    case 'abort':
      return { method: 'POST', path: `${tx}/release` };
    case 'status-query':
      return { method: 'GET', path: `${tx}/outcome?from=${encodeURIComponent(message.from)}` };
    case 'ballot':
      return { method: 'POST', path: `${tx}/ballot` };
    case 'accept':
      return { method: 'POST', path: `${tx}/accept` };
  }
}

export function parseReply(request: RequestMessage, data: unknown): ReplyMessage {
  const schemas = { prepare: VoteMessage, 'status-query': StatusReplyMessage, commit: AckMessage, abort: AckMessage, ballot: PromiseMessage, accept: AcceptedMessage };
  const schema = schemas[request.type];
  const parsed = schema.safeParse(data);
  if (!parsed.success || parsed.data.txId !== request.txId) throw new AbortError(`answered with a malformed ${request.type} reply`);
  return parsed.data;
}

export function parseBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

export function describeTransportError(error: unknown): string {
  if (isAxiosError(error)) {
    if (error.code === 'ECONNREFUSED') return 'connection refused';
    if (error.code === 'ETIMEDOUT' || error.code === 'ECONNABORTED') return 'timed out';
    return error.code ? `${error.code}: ${error.message}` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export function problemDetail(data: unknown): string {
  const detail = (data as { detail?: unknown })?.detail;
  return typeof detail === 'string' ? detail : 'no detail';
}
