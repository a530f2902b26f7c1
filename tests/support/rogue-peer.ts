// A compromised member for the rogue-member tests: it holds a valid key of the federation and
// listens at that member's URL, so the honest nodes talk to it as to any peer. It signs its
// answers correctly but never decides: every status query about any transaction is answered
// `pending`, for ever.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PeerAuthenticator } from '../../federation-node/src/security/peer-authenticator.js';

export interface RoguePeer {
  /** Status queries answered `pending` so far, by transaction id. */
  readonly statusQueries: Map<string, number>;
  close(): Promise<void>;
}

const PREFIX = '/federation/v1';

/** A test's own answer to a protocol message: a reply, HOLD (never answer), or undefined (the default: pending / not found). */
export const HOLD = Symbol('hold');
export type RogueAnswer = (message: { type: string; txId: string } & Record<string, unknown>) => unknown;

export async function startRoguePeer(port: number, selfId: string, auth: PeerAuthenticator, custom?: RogueAnswer): Promise<RoguePeer> {
  const statusQueries = new Map<string, number>();
  const pending = (txId: string) => {
    statusQueries.set(txId, (statusQueries.get(txId) ?? 0) + 1);
    return { type: 'status-reply', txId, from: selfId, outcome: 'pending' };
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = req.url ?? '/';
      if (url === '/health') return send(res, 200, { status: 'ok', observatory: selfId });
      if (!url.startsWith(PREFIX)) return send(res, 404, problem(404, `no resource at ${url}`));
      const request = { method: req.method ?? 'GET', target: url, body, headers: req.headers };
      let peer: string;
      try {
        peer = auth.verifyIncoming(request);
      } catch (error) {
        return send(res, 401, problem(401, (error as Error).message));
      }
      const [status, answer] = answerTo(req.method ?? 'GET', url.slice(PREFIX.length), body, pending, custom);
      if (answer === HOLD) return; // held until the peer closes (closeAllConnections)
      const text = JSON.stringify(answer);
      res.writeHead(status, { 'content-type': 'application/json', ...auth.signAnswer(peer, request, status, text) });
      res.end(text);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  if ((server.address() as AddressInfo).port !== port) throw new Error('the rogue peer did not get its port');
  return {
    statusQueries,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** Status queries (alone or in a batch) get `pending`; anything else is not found. */
function answerTo(method: string, path: string, body: Buffer, pending: (txId: string) => unknown, custom?: RogueAnswer): [number, unknown] {
  const outcome = /^\/transactions\/([^/?]+)\/outcome\?/.exec(path);
  if (method === 'GET' && outcome) return [200, pending(decodeURIComponent(outcome[1]!))];
  type Message = { type: string; txId: string } & Record<string, unknown>;
  const own = (m: Message) => custom?.(m);
  if (method === 'POST' && path === '/messages') {
    const messages = (JSON.parse(body.toString('utf8')) as { messages: Message[] }).messages;
    const replies = messages.map((m) => own(m) ?? (m.type === 'status-query' ? pending(m.txId) : problem(404, `${m.type} is not served here`)));
    return [200, replies.includes(HOLD) ? HOLD : { replies }];
  }
  if (method === 'POST' && /^\/transactions\/[^/]+\/(prepare|ballot|accept)$/.test(path)) {
    const answer = own(JSON.parse(body.toString('utf8')) as Message);
    if (answer !== undefined) return [200, answer];
  }
  return [404, problem(404, `no resource at ${method} ${path}`)];
}

function problem(status: number, detail: string) {
  return { type: 'about:blank', title: status === 401 ? 'Unauthorized' : 'Not found', status, detail };
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' });
  res.end(JSON.stringify(body));
}
