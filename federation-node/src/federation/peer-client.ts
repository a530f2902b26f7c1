// Talking to the other observatories over HTTP: protocol requests (prepare, commit,
// release, status) and the time reference. Keep-alive connections; every call has a
// timeout; commit, release and status are retried with backoff (p-retry) because they are
// idempotent. A prepare is retried only while its deadline allows.
import http from 'node:http';
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import pRetry, { AbortError } from 'p-retry';
import { AckMessage, StatusReplyMessage, VoteMessage, type NodeId } from '../../../coordinator-2pc/src/index.js';
import type { ReplyMessage, RequestMessage } from '../../../coordinator-2pc/src/index.js';

export const FEDERATION_PREFIX = '/federation/v1';

export interface PeerClientOptions {
  selfId: NodeId;
  peers: Map<NodeId, string>;
  requestTimeoutMs: number;
  attemptsMax: number;
  nowMs: () => number;
  /** Adds authentication headers to an outgoing protocol request (see docs/SECURITY.md). */
  sign?: (request: { method: string; url: string; body: string }) => Record<string, string>;
}

export class PeerClient {
  private readonly http: AxiosInstance;

  constructor(private readonly options: PeerClientOptions) {
    this.http = axios.create({
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: 256 }),
      timeout: options.requestTimeoutMs,
      validateStatus: () => true,
      transitional: { clarifyTimeoutError: true },
      maxRedirects: 0,
    });
  }

  urlOf(node: NodeId): string {
    const url = this.options.peers.get(node);
    if (!url) throw new Error(`observatory ${node} is not a member of this federation`);
    return url;
  }

  /** Deliver a protocol request and return the validated reply. */
  async request(to: NodeId, message: RequestMessage): Promise<ReplyMessage> {
    const deadlineMs = message.type === 'prepare' ? message.deadlineMs : undefined;
    return pRetry(() => this.attempt(to, message, deadlineMs), {
      retries: this.options.attemptsMax - 1,
      minTimeout: 50,
      maxTimeout: 1_000,
      factor: 3,
      shouldRetry: () => deadlineMs === undefined || this.options.nowMs() < deadlineMs,
    });
  }

  /**
   * Pass a public API request on to the observatory that coordinates the resource (a booking
   * is answered by its coordinator, whichever node the scientist asked).
   */
  async forward(to: NodeId, method: 'GET' | 'DELETE', path: string, headers: Record<string, string>): Promise<{ status: number; contentType: string; body: unknown }> {
    try {
      const response = await this.http.request({ method, url: `${this.urlOf(to)}${path}`, headers });
      return { status: response.status, contentType: String(response.headers['content-type'] ?? 'application/json'), body: response.data };
    } catch (error) {
      throw new Error(describeTransportError(error));
    }
  }

  /** The reference's synchronised time (for Cristian's algorithm). */
  async referenceTime(reference: NodeId): Promise<number> {
    const response = await this.http.get(`${this.urlOf(reference)}/time`);
    const epochMs = (response.data as { epochMs?: unknown })?.epochMs;
    if (response.status !== 200 || typeof epochMs !== 'number') throw new Error(`GET /time answered ${response.status}`);
    return epochMs;
  }

  private async attempt(to: NodeId, message: RequestMessage, deadlineMs: number | undefined): Promise<ReplyMessage> {
    const { method, path } = routeOf(message);
    const url = `${this.urlOf(to)}${FEDERATION_PREFIX}${path}`;
    const body = method === 'GET' ? '' : JSON.stringify(message);
    const timeout = deadlineMs === undefined ? this.options.requestTimeoutMs : Math.max(1, Math.min(this.options.requestTimeoutMs, deadlineMs - this.options.nowMs() + 250));
    const headers: Record<string, string> = { ...(body ? { 'content-type': 'application/json' } : {}), ...this.options.sign?.({ method, url, body }) };
    let response;
    try {
      response = await this.http.request({ method, url, data: body || undefined, headers, timeout, transformRequest: (d: unknown) => d });
    } catch (error) {
      throw new Error(describeTransportError(error));
    }
    if (response.status >= 500) throw new Error(`answered ${response.status}: ${problemDetail(response.data)}`);
    if (response.status !== 200) throw new AbortError(`refused with ${response.status}: ${problemDetail(response.data)}`);
    return parseReply(message, response.data);
  }
}

function routeOf(message: RequestMessage): { method: 'GET' | 'POST'; path: string } {
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
  }
}

function parseReply(request: RequestMessage, data: unknown): ReplyMessage {
  const schema = request.type === 'prepare' ? VoteMessage : request.type === 'status-query' ? StatusReplyMessage : AckMessage;
  const parsed = schema.safeParse(data);
  if (!parsed.success || parsed.data.txId !== request.txId) throw new AbortError(`answered with a malformed ${request.type} reply`);
  return parsed.data;
}

function describeTransportError(error: unknown): string {
  if (isAxiosError(error)) {
    if (error.code === 'ECONNREFUSED') return 'connection refused';
    if (error.code === 'ETIMEDOUT' || error.code === 'ECONNABORTED') return 'timed out';
    return error.code ? `${error.code}: ${error.message}` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

function problemDetail(data: unknown): string {
  const detail = (data as { detail?: unknown })?.detail;
  return typeof detail === 'string' ? detail : 'no detail';
}
