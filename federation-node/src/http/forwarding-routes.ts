// Reads and cancellations passed on by another observatory on a person's behalf (docs/PROTOCOL.md,
// "Forwarded requests"; docs/SECURITY.md): signed like every protocol request, limited per
// observatory, and the principal the sender vouches for is believed only from the observatory
// entitled to vouch for it (federation/principal-assertions.ts). Then exactly the checks of a
// request made here with that person's own token.
//   GET    /federation/v1/bookings/{id}?scientist=<id> | ?operator=<observatory id>
//   DELETE /federation/v1/bookings/{id}?scientist=<id>
import Router from '@koa/router';
import type { Context } from 'koa';
import { BookingAccess } from '../bookings/booking-access.js';
import { homesFromScientistsTable } from '../bookings/booking-forwarding.js';
import { FEDERATION_PREFIX } from '../federation/peer-client.js';
import { PrincipalAssertion, describePrincipal, fromAssertion, whyNotEntitled, type HomeOf } from '../federation/principal-assertions.js';
import type { NodeParts } from '../node-parts.js';
import type { Principal } from '../security/principals.js';
import { validate } from './body.js';
import { signingPeer, verifyPeerRequests } from './peer-signatures.js';
import { HttpProblem } from './problem.js';

export const FORWARDED_BOOKINGS_PATH = '/bookings';

export function forwardingRoutes(parts: NodeParts): Router {
  const router = new Router({ prefix: `${FEDERATION_PREFIX}${FORWARDED_BOOKINGS_PATH}` });
  router.use(verifyPeerRequests(parts.peerAuth, parts.config.BODY_BYTES_MAX));
  router.use(parts.rateLimits.peerTraffic());
  const access = new BookingAccess(parts);
  const homeOf = homesFromScientistsTable(parts);

  router.get('/:id', async (ctx) => {
    const principal = await vouchedPrincipal(ctx, parts, homeOf);
    ctx.body = await access.read(ctx.params.id!, principal);
  });

  router.delete('/:id', async (ctx) => {
    const principal = await vouchedPrincipal(ctx, parts, homeOf);
    parts.loggers.audit.event('FORWARDED_CANCEL_RECEIVED', { bookingId: ctx.params.id, peer: signingPeer(ctx), principal: describePrincipal(principal) });
    ctx.body = await access.cancel(ctx.params.id!, principal);
  });

  return router;
}

/** The principal named in the signed query string, once the signer is known to be entitled to name it. */
async function vouchedPrincipal(ctx: Context, parts: NodeParts, homeOf: HomeOf): Promise<Principal> {
  const bookingId = ctx.params.id!;
  if (bookingId.split('.')[0] !== parts.directory.selfId) throw new HttpProblem('not-found', `booking ${bookingId} is not coordinated by ${parts.directory.selfId}`);
  const principal = fromAssertion(validate(PrincipalAssertion, { ...ctx.query }, 'the query string (exactly one of scientist=<id> or operator=<observatory id>)'));
  const peer = signingPeer(ctx);
  const whyNot = await whyNotEntitled(peer, principal, homeOf);
  if (whyNot) {
    parts.loggers.audit.event('PRINCIPAL_ASSERTION_REFUSED', { peer, principal: describePrincipal(principal), method: ctx.method, bookingId, reason: whyNot });
    throw new HttpProblem('forbidden', whyNot);
  }
  return principal;
}
