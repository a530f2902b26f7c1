// The Koa application: a request path of three short steps — give the request an id (and
// carry it into every log line), turn any error into problem+json, then route.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Koa from 'koa';
import Router from '@koa/router';
import type { AppLogger, AuditLogger } from '../logging/logger.js';
import { withLogContext } from '../logging/logger.js';
import { HttpProblem, PROBLEM_CONTENT_TYPE } from './problem.js';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

/** `outermost` run before the error handler, so that they see the final answer (e.g. to sign it). */
export function createApp(routers: Router[], log: AppLogger, audit: AuditLogger, outermost: Koa.Middleware[] = []): Koa {
  const app = new Koa();
  app.proxy = false;
  app.silent = true; // errors are answered and logged below, never printed as stack traces
  const root = new Router();
  for (const router of routers) root.use(router.routes(), router.allowedMethods({ throw: true }));
  app.use(requestId);
  app.use(accessLog(log));
  for (const middleware of outermost) app.use(middleware);
  app.use(problems(log, audit));
  app.use(wellFormedPath);
  app.use(root.routes());
  app.use(root.allowedMethods({ throw: true }));
  return app;
}

async function wellFormedPath(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  try {
    decodeURIComponent(ctx.path);
  } catch {
    throw new HttpProblem('invalid-request', 'the URL is not correctly percent-encoded');
  }
  await next();
  if (ctx.status === 404 && ctx.body === undefined) throw new HttpProblem('not-found', `no resource at ${ctx.method} ${ctx.path}`);
}

async function requestId(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  const given = ctx.get('X-Request-Id');
  const id = REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
  ctx.state.requestId = id;
  ctx.set('X-Request-Id', id);
  await withLogContext({ requestId: id }, next);
}

function accessLog(log: AppLogger) {
  return async (ctx: Koa.Context, next: Koa.Next): Promise<void> => {
    const startedAt = performance.now();
    try {
      await next();
    } finally {
      log.debug(`${ctx.method} ${ctx.path} ${ctx.status} ${(performance.now() - startedAt).toFixed(2)} ms`);
    }
  };
}

function problems(log: AppLogger, audit: AuditLogger) {
  return async (ctx: Koa.Context, next: Koa.Next): Promise<void> => {
    try {
      await next();
    } catch (error) {
      const problem = toProblem(error, ctx);
      if (problem.status === 401 || problem.status === 403) {
        audit.event('ACCESS_REFUSED', { status: problem.status, method: ctx.method, path: ctx.path, address: ctx.ip, detail: problem.detail });
      }
      if (problem.status >= 500) log.error(`${ctx.method} ${ctx.path} failed: ${describe(error)}`);
      else log.debug(`${ctx.method} ${ctx.path} refused with ${problem.status}: ${problem.detail}`);
      ctx.status = problem.status;
      for (const [name, value] of Object.entries(problem.headers)) ctx.set(name, value);
      ctx.type = PROBLEM_CONTENT_TYPE;
      ctx.body = problem.body(ctx.path);
    }
  };
}

function toProblem(error: unknown, ctx: Koa.Context): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof URIError) return new HttpProblem('invalid-request', 'the URL is not correctly percent-encoded');
  const status = (error as { status?: number }).status;
  if (status === 405) {
    const allowed = ctx.response.get('Allow');
    return new HttpProblem('method-not-allowed', `${ctx.method} is not allowed on ${ctx.path}${allowed ? `; allowed: ${allowed}` : ''}`);
  }
  if (status === 501) return new HttpProblem('method-not-allowed', `${ctx.method} is not implemented by this node`);
  if (status === 404) return new HttpProblem('not-found', `no resource at ${ctx.method} ${ctx.path}`);
  return new HttpProblem('internal-error', 'the node could not complete this request; it has been logged with its request id', { requestId: ctx.state.requestId });
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}${error.stack ? `\n${error.stack}` : ''}` : String(error);
}
