// The public REST API (docs/API.md): time, observatories, telescopes and their availability,
// bookings. Thin adapters: parse, call the service, shape the answer with its links.
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { CreateBookingRequest, IDEMPOTENCY_KEY_PATTERN, ListBookingsQuery } from '../bookings/booking-schemas.js';
import { DAY_MS, MINUTE_MS, canonicalInstant, isBookableHour } from '../domain/slots.js';
import type { NodeParts } from '../node-parts.js';
import type { Principal } from '../security/principals.js';
import { BookingAccess } from '../bookings/booking-access.js';
import { BookingForwarder, homesFromScientistsTable } from '../bookings/booking-forwarding.js';
import { authenticate, requireScientist, unauthorized } from './auth.js';
import { readJson, validate } from './body.js';
import { HttpProblem } from './problem.js';
import { telescopeView } from './views.js';

const AvailabilityQuery = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});

export function publicRoutes(parts: NodeParts): Router {
  const router = new Router();
  const { directory, clock } = parts;
  // Middleware of this router runs for every route of the app (the routers are nested in one
  // root): the limits tell probes, signed traffic and public traffic apart themselves.
  router.use(authenticate(parts.security.tokens));
  router.use(parts.rateLimits.publicTraffic());
  const access = new BookingAccess(parts);
  const forwarder = new BookingForwarder(parts, homesFromScientistsTable(parts));

  router.get('/', (ctx) => {
    const base = directory.self.url;
    ctx.body = {
      observatory: directory.self,
      _links: {
        self: { href: `${base}/` },
        time: { href: `${base}/time` },
        observatories: { href: `${base}/observatories` },
        telescopes: { href: `${base}/telescopes` },
        bookings: { href: `${base}/bookings` },
        openapi: { href: `${base}/openapi.json` },
        health: { href: `${base}/health` },
        ready: { href: `${base}/ready` },
      },
    };
  });

  router.get('/time', (ctx) => {
    const epochMs = clock.nowMs();
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { utc: new Date(epochMs).toISOString(), epochMs, observatory: directory.selfId, clock: clock.status() };
  });

  router.get('/observatories', (ctx) => {
    ctx.body = { observatories: [...directory.members.values()].map((m) => observatoryView(m.id, parts)) };
  });

  router.get('/observatories/:id', (ctx) => {
    if (!directory.members.has(ctx.params.id!)) throw new HttpProblem('not-found', `no observatory ${ctx.params.id} in this federation`);
    ctx.body = observatoryView(ctx.params.id!, parts);
  });

  router.get('/telescopes', (ctx) => {
    const scope = ctx.query.scope === 'federation' ? 'federation' : 'local';
    const telescopes = [...directory.telescopes.values()].filter((t) => scope === 'federation' || t.observatoryId === directory.selfId);
    ctx.body = { observatory: directory.selfId, scope, telescopes: telescopes.map((t) => telescopeView(t, directory)) };
  });

  router.get('/telescopes/:id', (ctx) => {
    ctx.body = telescopeView(telescopeOr404(parts, ctx.params.id!), directory);
  });

  router.get('/telescopes/:id/availability', (ctx) => availability(ctx, parts));

  router.post('/bookings', async (ctx) => {
    const scientistId = requireScientist(ctx);
    const key = idempotencyKeyOf(ctx);
    const { value } = await readJson(ctx, CreateBookingRequest, { bytesMax: parts.config.BODY_BYTES_MAX });
    if (value.scientistId !== scientistId) throw new HttpProblem('forbidden', `this API token is ${scientistId}'s: a scientist books only as themselves, not as ${value.scientistId}`);
    const token = /^Bearer (\S+)$/i.exec(ctx.get('authorization'))?.[1];
    const { booking, replayed } = await parts.bookingService.create(value, key, token);
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.status = 201;
    ctx.set('Location', `${directory.self.url}/bookings/${booking.id}`);
    ctx.body = access.viewOf(booking);
  });

  router.get('/bookings', async (ctx) => {
    const query = validate(ListBookingsQuery, ctx.query, 'the query string');
    const scientistId = listableScientist(ctx, query.scientist, parts);
    const bookings = await parts.bookings.list({ scientistId, status: query.status, limit: query.limit, offset: query.offset });
    ctx.body = {
      coordinator: directory.selfId,
      bookings: bookings.map((b) => access.viewOf(b)),
      _links: { self: { href: `${directory.self.url}${ctx.url}` }, ...pageLinks(`${directory.self.url}${ctx.path}`, ctx.querystring, query, bookings.length) },
    };
  });

  router.get('/bookings/:id', async (ctx) => {
    if (await answeredByCoordinator(ctx, parts, forwarder)) return;
    ctx.body = await access.read(ctx.params.id!, ctx.state.principal as Principal | undefined);
  });

  router.delete('/bookings/:id', async (ctx) => {
    requireScientist(ctx);
    if (await answeredByCoordinator(ctx, parts, forwarder)) return;
    ctx.body = await access.cancel(ctx.params.id!, ctx.state.principal as Principal);
  });

  return router;
}

/** `next` when this page is full, `prev` when it is not the first: the same query with another offset. */
function pageLinks(base: string, querystring: string, query: { limit: number; offset: number }, count: number): Record<string, { href: string }> {
  const at = (offset: number) => {
    const params = new URLSearchParams(querystring);
    params.set('limit', String(query.limit));
    params.set('offset', String(offset));
    return { href: `${base}?${params.toString()}` };
  };
  return {
    ...(count === query.limit ? { next: at(query.offset + query.limit) } : {}),
    ...(query.offset > 0 ? { prev: at(Math.max(0, query.offset - query.limit)) } : {}),
  };
}

/** A scientist lists their own bookings; this observatory's operator lists anyone's. */
function listableScientist(ctx: Context, asked: string | undefined, parts: NodeParts): string | undefined {
  const principal = ctx.state.principal as Principal | undefined;
  if (principal?.kind === 'operator' && principal.observatoryId === parts.directory.selfId) return asked;
  const own = requireScientist(ctx);
  if (asked && asked !== own) throw new HttpProblem('forbidden', `a scientist lists only their own bookings (${own}), not ${asked}'s`);
  return own;
}

function observatoryView(id: string, parts: NodeParts) {
  const member = parts.directory.members.get(id)!;
  return {
    ...member,
    telescopes: [...parts.directory.telescopes.values()].filter((t) => t.observatoryId === id).map((t) => t.id),
    _links: {
      self: { href: `${member.url}/observatories/${id}` },
      telescopes: { href: `${member.url}/telescopes` },
      time: { href: `${member.url}/time` },
    },
  };
}

function telescopeOr404(parts: NodeParts, id: string) {
  const telescope = parts.directory.telescopes.get(id);
  if (!telescope) throw new HttpProblem('not-found', `no telescope ${id} in this federation`);
  return telescope;
}

function availability(ctx: Context, parts: NodeParts): void {
  const telescope = telescopeOr404(parts, ctx.params.id!);
  if (telescope.observatoryId !== parts.directory.selfId) {
    const owner = parts.directory.members.get(telescope.observatoryId)!;
    ctx.status = 307;
    ctx.set('Location', `${owner.url}${ctx.url}`);
    ctx.body = { detail: `${telescope.id} belongs to ${owner.id}; its schedule is at ${owner.url}` };
    return;
  }
  const query = validate(AvailabilityQuery, ctx.query, 'the query string');
  const slotMs = telescope.slotMinutes * MINUTE_MS;
  const nowMs = parts.clock.nowMs();
  const fromMs = query.from ? Date.parse(query.from) : nowMs - (nowMs % slotMs);
  const toMs = query.to ? Date.parse(query.to) : fromMs + DAY_MS;
  const rangeMaxDays = parts.config.AVAILABILITY_RANGE_MAX_DAYS;
  if (toMs <= fromMs) throw new HttpProblem('invalid-request', '`to` must come after `from`');
  if (toMs - fromMs > rangeMaxDays * DAY_MS) throw new HttpProblem('invalid-request', `the range is longer than ${rangeMaxDays} days (AVAILABILITY_RANGE_MAX_DAYS)`);
  const slots = [];
  for (let at = fromMs - (((fromMs % slotMs) + slotMs) % slotMs); at < toMs; at += slotMs) {
    if (!isBookableHour(telescope, new Date(at).getUTCHours())) continue;
    const claim = parts.slots.claimAt(telescope.id, at);
    const state = claim ? (claim.state === 'HELD' ? 'held' : claim.state === 'RELEASING' ? 'releasing' : 'booked') : at <= nowMs ? 'past' : 'free';
    slots.push({ start: canonicalInstant(at), end: canonicalInstant(at + slotMs), state, ...(claim ? { bookingId: claim.bookingId } : {}) });
  }
  ctx.body = {
    telescopeId: telescope.id,
    from: canonicalInstant(fromMs),
    to: canonicalInstant(toMs),
    slotMinutes: telescope.slotMinutes,
    slots,
    _links: { telescope: { href: `${parts.directory.self.url}/telescopes/${telescope.id}` }, book: { href: `${parts.directory.self.url}/bookings`, method: 'POST' } },
  };
}

function idempotencyKeyOf(ctx: Context): string | undefined {
  const key = ctx.get('Idempotency-Key');
  if (!key) return undefined;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new HttpProblem('invalid-request', 'Idempotency-Key must be 1-128 characters of letters, digits and . _ : -');
  }
  return key;
}

/**
 * A booking coordinated elsewhere is answered by its coordinator: asked in a signed call on
 * the caller's behalf (their token stays here), or the caller is redirected there.
 */
async function answeredByCoordinator(ctx: Context, parts: NodeParts, forwarder: BookingForwarder): Promise<boolean> {
  const bookingId = ctx.params.id!;
  const coordinator = bookingId.split('.')[0]!;
  if (coordinator === parts.directory.selfId) return false;
  if (!parts.directory.members.has(coordinator)) throw new HttpProblem('not-found', `no booking ${bookingId}: no observatory ${coordinator} coordinates bookings here`);
  const principal = ctx.state.principal as Principal | undefined;
  if (!principal) throw unauthorized('send an API token: Authorization: Bearer <token>');
  const answer = await forwarder.forward(ctx.method as 'GET' | 'DELETE', bookingId, coordinator, principal);
  if (answer.kind === 'redirect') {
    ctx.status = 307;
    ctx.set('Location', answer.location);
  } else {
    ctx.status = answer.status;
    ctx.type = answer.contentType;
  }
  ctx.body = answer.body;
  return true;
}
