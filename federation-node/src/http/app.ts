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

/** Told of every answered request (metrics): the matched route template, never the raw path. */
export type ResponseObserver = (ctx: Koa.Context, route: string, seconds: number) => void;

/** `outermost` run before the error handler, so that they see the final answer (e.g. to sign it). */
export function createApp(routers: Router[], log: AppLogger, audit: AuditLogger, outermost: Koa.Middleware[] = [], observers: ResponseObserver[] = []): Koa {
  const app = new Koa();
  app.proxy = false;
  app.silent = true; // errors are answered and logged below, never printed as stack traces
  const root = new Router();
  for (const router of routers) root.use(router.routes(), router.allowedMethods({ throw: true }));
  app.use(requestId);
  app.use(accessLog(log, observers));
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

/** One line per answered request at INFO, refusals included (docs/LOGGING.md, "Access lines"). */
function accessLog(log: AppLogger, observers: ResponseObserver[]) {
  return async (ctx: Koa.Context, next: Koa.Next): Promise<void> => {
    const startedAt = performance.now();
    try {
      await next();
    } finally {
      const ms = performance.now() - startedAt;
      log.info(`${ctx.method} ${ctx.path} ${ctx.status} ${ms.toFixed(2)} ms ${principalOf(ctx)}`);
      const route = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
      for (const observe of observers) observe(ctx, typeof route === 'string' ? route : 'unmatched', ms / 1000);
    }
  };
}

/** Who asked, as far as the node knows: a verified peer, a token's holder, or nobody. */
function principalOf(ctx: Koa.Context): string {
  const peer = ctx.state.peer as string | undefined;
  if (peer) return `peer=${peer}`;
  const principal = ctx.state.principal as { kind: string; scientistId?: string; observatoryId?: string } | undefined;
  if (!principal) return 'anonymous';
  return principal.kind === 'scientist' ? `scientist=${principal.scientistId}` : `operator=${principal.observatoryId}`;
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
