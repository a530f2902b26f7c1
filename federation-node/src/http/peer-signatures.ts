// The HTTP side of the signatures between observatories (docs/SECURITY.md): every request
// under /federation/v1 must be signed by a member of the federation (401 otherwise, before
// anything else happens), and every answer to it is signed by this node, bound to the
// request it answers.
import type { Context, Next } from 'koa';
import { SignatureError, type SignedRequest } from '../security/message-signatures.js';
import type { PeerAuthenticator } from '../security/peer-authenticator.js';
import { readRawBody } from './body.js';
import { HttpProblem } from './problem.js';
import { FEDERATION_PREFIX, TIME_PATH } from '../federation/peer-wire.js';

const BODILESS_METHODS = new Set(['GET', 'HEAD', 'DELETE']);

const CLOCK_PATH = `${FEDERATION_PREFIX}${TIME_PATH}`;

/** Router middleware: reads the body, checks the signature, remembers who sent it. */
export function verifyPeerRequests(auth: PeerAuthenticator, bytesMax: number) {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (ctx.state.peer) return next(); // already checked by the router of an enclosing path: a nonce is good once
    const body = BODILESS_METHODS.has(ctx.method) ? Buffer.alloc(0) : await readRawBody(ctx, { bytesMax });
    const request: SignedRequest = { method: ctx.method, target: ctx.url, body, headers: ctx.headers };
    try {
      // The time reference's clock is what its time request measures: no time window there.
      ctx.state.peer = auth.verifyIncoming(request, ctx.method === 'GET' && ctx.path.endsWith(CLOCK_PATH));
    } catch (error) {
      if (error instanceof SignatureError) throw new HttpProblem('unauthorized', `protocol messages must be signed by a member of the federation: ${error.message}`);
      throw error;
    }
    ctx.state.rawBody = body;
    ctx.state.signedRequest = request;
    await next();
  };
}

/** App middleware, outside the error handler: signs the final answer (errors included) to a verified peer. */
export function signPeerAnswers(auth: PeerAuthenticator) {
  return async (ctx: Context, next: Next): Promise<void> => {
    await next();
    const peer = ctx.state.peer as string | undefined;
    const request = ctx.state.signedRequest as SignedRequest | undefined;
    if (!peer || !request) return;
    const text = ctx.body === undefined || ctx.body === null ? '' : typeof ctx.body === 'string' ? ctx.body : JSON.stringify(ctx.body);
    ctx.body = text;
    for (const [name, value] of Object.entries(auth.signAnswer(peer, request, ctx.status, text))) ctx.set(name, value);
  };
}

/** The observatory that signed this request (set by verifyPeerRequests). */
export function signingPeer(ctx: Context): string {
  return ctx.state.peer as string;
}
