// The scientists' web app and what it needs beyond the JSON API: `/` for a browser (content
// negotiation: API clients keep the JSON index), the bundled app under /app/, the event stream
// (/events), who the token belongs to (/me), and the iCalendar feed of one's bookings.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { authenticate, requireScientist } from '../http/auth.js';
import { HttpProblem } from '../http/problem.js';
import type { NodeParts } from '../node-parts.js';
import type { Principal } from '../security/principals.js';
import type { EventHub } from './event-hub.js';
import { EventStreamRefused } from './event-hub.js';
import { bookingsCalendar } from './icalendar.js';

/** Where `npm run build` writes the bundled app (dist/web). */
export const WEB_DIST_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));

const ASSETS: Record<string, string> = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8', 'index.html': 'text/html; charset=utf-8' };

/** The page's own scripts and styles only; it reads the other observatories' public APIs. */
export const APP_CSP = "default-src 'self'; connect-src 'self' http: https:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

export function webRoutes(parts: NodeParts, hub: EventHub): Router {
  const router = new Router();
  const assets = loadAssets();
  const limited = [authenticate(parts.security.tokens), parts.rateLimits.publicTraffic()];

  router.get('/', async (ctx, next) => {
    if (ctx.accepts('json', 'html') !== 'html') return next(); // API clients: the JSON index
    servePage(ctx, assets);
  });
  router.get('/app', (ctx) => servePage(ctx, assets));
  router.get('/app/:file', (ctx) => {
    const file = ctx.params.file!;
    const body = assets.get(file);
    if (!body || !ASSETS[file]) throw new HttpProblem('not-found', `no file ${file} in the web app`);
    ctx.type = ASSETS[file]!;
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = body;
  });
  router.get('/events', ...limited, (ctx) => openEventStream(ctx, hub));
  router.get('/me', ...limited, (ctx) => {
    const principal = ctx.state.principal as Principal | undefined;
    if (!principal) throw new HttpProblem('unauthorized', 'send an API token: Authorization: Bearer <token>', {}, { 'WWW-Authenticate': 'Bearer realm="observatory-federation"' });
    const base = parts.directory.self.url;
    ctx.body = {
      ...principal,
      observatory: parts.directory.selfId,
      _links: principal.kind === 'scientist'
        ? { bookings: { href: `${base}/bookings` }, calendar: { href: calendarUrl(parts, principal.scientistId) ?? `${base}/bookings.ics` } }
        : { bookings: { href: `${base}/bookings` }, transactions: { href: `${base}/admin/transactions` } },
    };
  });
  router.get('/bookings.ics', ...limited, async (ctx) => {
    await serveCalendar(ctx, parts, requireScientist(ctx));
  });
  router.get('/calendars/:file', ...limited, async (ctx) => {
    const match = /^([A-Za-z0-9._-]{1,64})\.ics$/.exec(ctx.params.file!);
    const key = typeof ctx.query.key === 'string' ? ctx.query.key : '';
    if (!match || !feedKeyMatches(parts, match[1]!, key)) throw new HttpProblem('not-found', 'no calendar at this address (the address changes when the API token does)');
    await serveCalendar(ctx, parts, match[1]!);
  });
  return router;
}

/** Public reads may be made from a page served by another observatory of the federation. */
export async function publicReadCors(ctx: Context, next: Next): Promise<void> {
  if (ctx.method === 'GET' && /^\/(time|observatories|telescopes|events)(\/|$)/.test(ctx.path)) ctx.set('Access-Control-Allow-Origin', '*');
  await next();
}

function servePage(ctx: Context, assets: Map<string, Buffer>): void {
  const page = assets.get('index.html');
  if (!page) throw new HttpProblem('not-found', 'the web app is not built on this node: run `npm run build`');
  ctx.set('Content-Security-Policy', APP_CSP);
  ctx.set('Vary', 'Accept');
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = page;
}

function openEventStream(ctx: Context, hub: EventHub): void {
  const lastEventId = ctx.get('Last-Event-ID') || (typeof ctx.query.lastEventId === 'string' ? ctx.query.lastEventId : undefined);
  let stream;
  try {
    stream = hub.open(lastEventId);
  } catch (error) {
    if (error instanceof EventStreamRefused) throw new HttpProblem('too-many-requests', error.message, {}, { 'Retry-After': '10' });
    throw error;
  }
  // Either side going away ends the other: a dropped slow client loses its socket too.
  stream.on('close', () => ctx.res.destroy());
  ctx.req.on('close', () => stream.destroy());
  ctx.req.socket.setTimeout(0);
  ctx.req.socket.setNoDelay(true);
  ctx.status = 200;
  ctx.type = 'text/event-stream';
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Accel-Buffering', 'no');
  ctx.body = stream;
}

async function serveCalendar(ctx: Context, parts: NodeParts, scientistId: string): Promise<void> {
  const bookings = await parts.bookings.list({ scientistId, limit: parts.config.CALENDAR_BOOKINGS_MAX, offset: 0 });
  const base = parts.directory.self.url;
  ctx.type = 'text/calendar; charset=utf-8';
  ctx.set('Content-Disposition', `inline; filename="${scientistId}-bookings.ics"`);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = bookingsCalendar(bookings, {
    scientistId,
    observatoryName: parts.directory.self.name,
    telescopeName: (id) => parts.directory.telescopes.get(id)?.name ?? id,
    bookingUrl: (id) => `${base}/bookings/${id}`,
    nowMs: parts.clock.nowMs(),
  });
}

/**
 * A calendar app subscribes by URL and cannot send a bearer token: the feed's address carries
 * a key derived from the scientist's token hash, so rotating the token moves the feed.
 */
function feedKey(parts: NodeParts, scientistId: string): string | undefined {
  const hash = parts.security.tokens.scientistHashes().find(([id]) => id === scientistId)?.[1];
  return hash ? createHmac('sha256', hash).update(`calendar-feed:${scientistId}`).digest('base64url') : undefined;
}

function calendarUrl(parts: NodeParts, scientistId: string): string | undefined {
  const key = feedKey(parts, scientistId);
  return key ? `${parts.directory.self.url}/calendars/${encodeURIComponent(scientistId)}.ics?key=${key}` : undefined;
}

function feedKeyMatches(parts: NodeParts, scientistId: string, given: string): boolean {
  const expected = feedKey(parts, scientistId);
  if (!expected || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

function loadAssets(): Map<string, Buffer> {
  const assets = new Map<string, Buffer>();
  for (const file of Object.keys(ASSETS)) {
    const path = `${WEB_DIST_DIR}${file}`;
    if (existsSync(path)) assets.set(file, readFileSync(path));
  }
  return assets;
}
