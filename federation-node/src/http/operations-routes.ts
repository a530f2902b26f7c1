// Health, readiness and the operator's transaction tools (docs/OPERATIONS.md).
import Router from '@koa/router';
import { TxId } from '../../../coordinator-2pc/src/index.js';
import type { NodeParts } from '../node-parts.js';
import type { Context, Next } from 'koa';
import { ResolveRequest } from './api-schemas.js';
import { authenticate, requireOperatorOf } from './auth.js';
import { readJson, validate } from './body.js';
import { HttpProblem } from './problem.js';


function localView(parts: NodeParts, txId: string) {
  const coordinatorOutcome = txId.split('.')[0] === parts.directory.selfId ? parts.engine.coordinator.outcomeOf(txId) : null;
  return { txId, observatory: parts.directory.selfId, coordinatorOutcome, participant: parts.engine.participant.view(txId) ?? null };
}

/** Prepared transactions waiting for their decision longer than IN_DOUBT_REPORT_AFTER_MS. */
function inDoubtCheck(parts: NodeParts) {
  const report = parts.admission.inDoubtReport();
  const boundMs = parts.admission.limits.inDoubtReportAfterMs;
  const detail = report.overBound === 0
    ? `no transaction in doubt longer than ${boundMs} ms`
    : `${report.overBound} transaction(s) in doubt longer than ${boundMs} ms (IN_DOUBT_REPORT_AFTER_MS); see GET /admin/transactions`;
  return { ok: report.overBound === 0, detail, ...report };
}

export function operationsRoutes(parts: NodeParts, checkPeer: (node: string) => Promise<string | null>): Router {
  const router = new Router();

  router.get('/health', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok', observatory: parts.directory.selfId, uptimeS: Math.round((Date.now() - parts.startedAtMs) / 1000) };
  });

  router.get('/ready', async (ctx) => {
    const database = await parts.database.reader.query('SELECT 1 AS ok').then(() => ({ ok: true, detail: 'open' }), (e: Error) => ({ ok: false, detail: e.message }));
    const recovery = { ok: parts.readiness.recoveryFinished, detail: parts.readiness.recoveryFinished ? 'finished' : 'in progress' };
    const peerIds = [...parts.directory.members.keys()].filter((id) => id !== parts.directory.selfId);
    const peerProblems = await Promise.all(peerIds.map(checkPeer));
    const peers = Object.fromEntries(peerIds.map((id, i) => [id, { ok: peerProblems[i] === null, detail: peerProblems[i] ?? 'reachable' }]));
    const clock = parts.clock.status();
    const inDoubt = inDoubtCheck(parts);
    const ready = database.ok && recovery.ok;
    // Holds in doubt too long degrade, never un-ready: a member that never decides must not take this node out of service.
    const degraded = Object.values(peers).some((p) => !p.ok) || !inDoubt.ok;
    ctx.set('Cache-Control', 'no-store');
    ctx.status = ready ? 200 : 503;
    if (!ready) ctx.type = 'application/json';
    ctx.body = { status: ready ? (degraded ? 'degraded' : 'ready') : 'not-ready', observatory: parts.directory.selfId, checks: { database, recovery, peers, clock, inDoubt } };
  });

  const operatorOnly = async (ctx: Context, next: Next) => {
    requireOperatorOf(ctx, parts.directory.selfId);
    await next();
  };
  router.use('/admin', authenticate(parts.security.tokens), operatorOnly);

  router.get('/admin/transactions', (ctx) => {
    const nowMs = parts.clock.nowMs();
    const participant = parts.engine.participant.unfinished().map((t) => ({ ...t, role: 'participant', ageMs: nowMs - t.createdAtMs, inDoubtOverBound: parts.admission.overBound(t, nowMs) }));
    const coordinator = parts.engine.coordinator.unfinished().map((t) => ({ ...t, role: 'coordinator', ageMs: nowMs - t.createdAtMs }));
    ctx.body = { observatory: parts.directory.selfId, transactions: [...coordinator, ...participant], peers: parts.admission.usage() };
  });

  /** What every observatory knows of one transaction: the first step with one whose coordinator is gone. */
  router.get('/admin/transactions/:txId', async (ctx) => {
    const txId = validate(TxId, ctx.params.txId, 'the transaction id');
    const views = await Promise.all([...parts.directory.members.keys()].map(async (id) => {
      if (id === parts.directory.selfId) return [id, localView(parts, txId)] as const;
      const answer = await parts.peers.transactionView(id, txId).catch((error: Error) => ({ status: 0, data: { detail: error.message } }));
      return [id, answer.status === 200 ? answer.data : { unavailable: answer.status === 0, status: answer.status, detail: (answer.data as { detail?: string })?.detail ?? null }] as const;
    }));
    ctx.body = { txId, observatories: Object.fromEntries(views) };
  });

  router.post('/admin/transactions/:txId/resolve', async (ctx) => {
    const txId = validate(TxId, ctx.params.txId, 'the transaction id');
    const { value } = await readJson(ctx, ResolveRequest, { bytesMax: parts.config.BODY_BYTES_MAX });
    if (!parts.engine.resolveInDoubt(txId, value.outcome)) {
      throw new HttpProblem('not-prepared', `${txId} is not in doubt at ${parts.directory.selfId}; only a prepared transaction can be resolved by hand`);
    }
    parts.loggers.audit.event('TX_HEURISTIC_RESOLVED', { outcome: value.outcome, reason: value.reason }, { txId });
    parts.loggers.app.warn(`operator resolved in-doubt ${txId} as ${value.outcome}: ${value.reason}`);
    ctx.body = { txId, outcome: value.outcome, heuristic: true };
  });

  return router;
}
