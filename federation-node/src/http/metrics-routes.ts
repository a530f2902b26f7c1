// GET /metrics: the Prometheus exposition, for this observatory's operator (bearer token, as
// the admin endpoints). The observer below feeds the HTTP and booking figures from every
// answered request.
import Router from '@koa/router';
import type { Context } from 'koa';
import type { NodeMetrics } from '../metrics/metrics.js';
import type { TokenDirectory } from '../security/principals.js';
import type { ResponseObserver } from './app.js';
import { authenticate, requireOperatorOf } from './auth.js';

export function metricsRoutes(metrics: NodeMetrics, tokens: TokenDirectory, selfId: string): Router {
  const router = new Router();
  router.get('/metrics', authenticate(tokens), async (ctx) => {
    requireOperatorOf(ctx, selfId);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = metrics.contentType;
    ctx.body = await metrics.exposition();
  });
  return router;
}

/** Counts every answer, and bookings and cancellations by outcome and problem type. */
export function metricsObserver(metrics: NodeMetrics): ResponseObserver {
  return (ctx, route, seconds) => {
    metrics.httpRequest(ctx.method, route, ctx.status, seconds);
    if (ctx.method === 'POST' && route === '/bookings') metrics.bookingAction('book', ctx.status, problemTypeOf(ctx));
    if (ctx.method === 'DELETE' && route === '/bookings/:id') metrics.bookingAction('cancel', ctx.status, problemTypeOf(ctx));
  };
}

/** The problem type's short name (a fixed set, docs/API.md), or undefined for a success. */
function problemTypeOf(ctx: Context): string | undefined {
  const type = (ctx.body as { type?: unknown } | undefined)?.type;
  return typeof type === 'string' ? type.slice(type.lastIndexOf(':') + 1) : undefined;
}
