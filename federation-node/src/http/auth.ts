// Who may do what on the public API (docs/SECURITY.md): the bearer token names a scientist or
// an observatory's operator; reads of the catalog, the clock and health stay open. The limits
// on request rates are in rate-limits.ts.
import type { Context, Next } from 'koa';
import type { Principal, TokenDirectory } from '../security/principals.js';
import { HttpProblem } from './problem.js';

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

export interface BookingAccessFacts {
  id: string;
  scientistId: string;
  items: Array<{ observatoryId: string }>;
}

/** A scientist sees their own bookings; the operators of its coordinator and of the observatories it holds telescopes of see it too. */
export function checkBookingReader(principal: Principal | undefined, booking: BookingAccessFacts, coordinatorId: string): void {
  if (!principal) throw unauthorized('send an API token: Authorization: Bearer <token>');
  if (principal.kind === 'scientist' && principal.scientistId === booking.scientistId) return;
  if (principal.kind === 'scientist') throw new HttpProblem('forbidden', `booking ${booking.id} belongs to another scientist`);
  if (principal.observatoryId === coordinatorId || booking.items.some((i) => i.observatoryId === principal.observatoryId)) return;
  throw new HttpProblem('forbidden', `booking ${booking.id} is coordinated by ${coordinatorId} and holds no telescope of ${principal.observatoryId}: its operator may not read it`);
}

/** Only the scientist a booking belongs to may cancel it. */
export function checkBookingCanceller(principal: Principal | undefined, booking: BookingAccessFacts): void {
  if (!principal) throw unauthorized('send a scientist\'s API token: Authorization: Bearer <token>');
  if (principal.kind !== 'scientist') throw new HttpProblem('forbidden', 'only a scientist can do this');
  if (principal.scientistId !== booking.scientistId) throw new HttpProblem('forbidden', `booking ${booking.id} belongs to another scientist`);
}

export function unauthorized(detail: string): HttpProblem {
  return new HttpProblem('unauthorized', detail, {}, { 'WWW-Authenticate': 'Bearer realm="observatory-federation"' });
}
