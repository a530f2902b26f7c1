// Who may do what on the public API (docs/SECURITY.md): the bearer token names a scientist or
// an observatory's operator; reads of the catalog, the clock and health stay open; limits on
// request rate per token and per address answer 429 with Retry-After.
import type { Context, Next } from 'koa';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal, TokenDirectory } from '../security/principals.js';
import { HttpProblem } from './problem.js';

export interface RateLimits {
  perTokenPerMinute: number;
  perAddressPerMinute: number;
}

/** Reads the bearer token (if any) into ctx.state.principal; refuses a token it does not know. */
export function authenticate(tokens: TokenDirectory) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const header = ctx.get('Authorization');
    if (header) {
      const match = /^Bearer ([A-Za-z0-9._~+/=-]{10,200})$/.exec(header);
      const principal = match ? tokens.principalOf(match[1]!) : undefined;
      if (!principal) throw unauthorized(match ? 'the API token is not valid' : 'the Authorization header is not "Bearer <token>"');
      ctx.state.principal = principal;
    }
    await next();
  };
}

/** 429 once a token or an address has made too many requests in the last minute. */
export function rateLimit(limits: RateLimits) {
  const byToken = new RateLimiterMemory({ points: limits.perTokenPerMinute, duration: 60 });
  const byAddress = new RateLimiterMemory({ points: limits.perAddressPerMinute, duration: 60 });
  return async (ctx: Context, next: Next): Promise<void> => {
    const principal = ctx.state.principal as Principal | undefined;
    try {
      await byAddress.consume(ctx.ip);
      if (principal) await byToken.consume(principal.kind === 'scientist' ? `s:${principal.scientistId}` : `o:${principal.observatoryId}`);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const seconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      const which = principal ? 'this API token or this address' : 'this address';
      throw new HttpProblem('too-many-requests', `too many requests from ${which}; limits: ${limits.perTokenPerMinute}/min per token (RATE_LIMIT_PER_TOKEN_PER_MINUTE), ${limits.perAddressPerMinute}/min per address (RATE_LIMIT_PER_ADDRESS_PER_MINUTE)`, {}, { 'Retry-After': String(seconds) });
    }
    await next();
  };
}

export function requireScientist(ctx: Context): string {
  const principal = ctx.state.principal as Principal | undefined;
  if (!principal) throw unauthorized('send a scientist\'s API token: Authorization: Bearer <token>');
  if (principal.kind !== 'scientist') throw new HttpProblem('forbidden', 'only a scientist can do this');
  return principal.scientistId;
}

export function requireOperatorOf(ctx: Context, observatoryId: string): void {
  const principal = ctx.state.principal as Principal | undefined;
  if (!principal) throw unauthorized(`send the API token of ${observatoryId}'s operator: Authorization: Bearer <token>`);
  if (principal.kind !== 'operator' || principal.observatoryId !== observatoryId) throw new HttpProblem('forbidden', `only ${observatoryId}'s operator can do this`);
}

/** A scientist sees their own bookings; the coordinating observatory's operator sees all. */
export function requireBookingReader(ctx: Context, booking: { scientistId: string; id: string }, coordinatorId: string): void {
  const principal = ctx.state.principal as Principal | undefined;
  if (!principal) throw unauthorized('send an API token: Authorization: Bearer <token>');
  if (principal.kind === 'operator' && principal.observatoryId === coordinatorId) return;
  if (principal.kind === 'scientist' && principal.scientistId === booking.scientistId) return;
  throw new HttpProblem('forbidden', `booking ${booking.id} belongs to another scientist`);
}

function unauthorized(detail: string): HttpProblem {
  return new HttpProblem('unauthorized', detail, {}, { 'WWW-Authenticate': 'Bearer realm="observatory-federation"' });
}
