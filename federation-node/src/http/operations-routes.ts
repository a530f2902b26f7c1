// Health, readiness and the operator's transaction tools (docs/OPERATIONS.md).
import Router from '@koa/router';
import { TxId } from '../../../coordinator-2pc/src/index.js';
import type { NodeParts } from '../node-parts.js';
import type { Context, Next } from 'koa';
import { ResolveRequest } from './api-schemas.js';
import { authenticate, requireOperatorOf } from './auth.js';
import { readJson, validate } from './body.js';
import { HttpProblem } from './problem.js';
import { transactionViewHere, whereStuck } from '../durability/transaction-views.js';
import { reconciliationRoutes } from '../durability/reconciliation-routes.js';

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
    const trust = parts.clock.trust();
    const clock = { ok: trust.ok, detail: trust.ok ? parts.clock.status().referenceWarning ?? trust.detail : `${parts.directory.selfId}: ${trust.detail}`, ...parts.clock.status() };
    const disk = parts.disk.status();
    const inDoubt = inDoubtCheck(parts);
    const refusal = parts.reconciler.refusalReason();
    const reconciliation = { ok: refusal === null, detail: refusal ?? 'continuous or reconciled' };
    const ready = database.ok && recovery.ok && reconciliation.ok && clock.ok && disk.ok;
    // Holds in doubt too long degrade, never un-ready: a member that never decides must not take this node out of service.
    const degraded = Object.values(peers).some((p) => !p.ok) || !inDoubt.ok || clock.referenceWarning !== null;
    ctx.set('Cache-Control', 'no-store');
    ctx.status = ready ? 200 : 503;
    if (!ready) ctx.type = 'application/json';
    ctx.body = { status: ready ? (degraded ? 'degraded' : 'ready') : 'not-ready', observatory: parts.directory.selfId, checks: { database, recovery, reconciliation, peers, clock, disk, inDoubt } };
  });

  const operatorOnly = async (ctx: Context, next: Next) => {
    requireOperatorOf(ctx, parts.directory.selfId);
    await next();
  };
  router.use('/admin', authenticate(parts.security.tokens), operatorOnly);

  router.get('/admin/transactions', (ctx) => {
    const nowMs = parts.clock.nowMs();
    const acceptorOf = (txId: string) => parts.engine.acceptor.view(txId) ?? null;
    const participant = parts.engine.participant.unfinished().map((t) => ({ ...t, role: 'participant', ageMs: nowMs - t.createdAtMs, inDoubtOverBound: parts.admission.overBound(t, nowMs), acceptor: acceptorOf(t.txId), stuck: whereStuck(t) }));
    const coordinator = parts.engine.coordinator.unfinished().map((t) => ({ ...t, role: 'coordinator', ageMs: nowMs - t.createdAtMs, acceptor: acceptorOf(t.txId), stuck: whereStuck(t) }));
    ctx.body = { observatory: parts.directory.selfId, transactions: [...coordinator, ...participant], peers: parts.admission.usage() };
  });

  /** What every observatory knows of one transaction: the first step with one whose coordinator is gone. */
  router.get('/admin/transactions/:txId', async (ctx) => {
    const txId = validate(TxId, ctx.params.txId, 'the transaction id');
    const views = await Promise.all([...parts.directory.members.keys()].map(async (id) => {
      if (id === parts.directory.selfId) return [id, await transactionViewHere(parts, txId)] as const;
      const answer = await parts.peers.transactionView(id, txId).catch((error: Error) => ({ status: 0, data: { detail: error.message } }));
      return [id, answer.status === 200 ? answer.data : { unavailable: answer.status === 0, status: answer.status, detail: (answer.data as { detail?: string })?.detail ?? null }] as const;
    }));
    ctx.body = { txId, observatories: Object.fromEntries(views) };
  });

  /** The membership this node runs: version, members, the key it signs with, the keys it accepts. */
  router.get('/admin/membership', (ctx) => {
    ctx.body = parts.membership.status();
  });

  /** Re-read the membership document and the signing key now (they are also polled, MEMBERSHIP_POLL_INTERVAL_MS). */
  router.post('/admin/membership/reload', (ctx) => {
    const status = parts.membership.reload(true);
    if (status.lastError) throw new HttpProblem('invalid-request', `the membership was not reloaded (version ${status.version} stays): ${status.lastError}`);
    ctx.body = status;
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

  reconciliationRoutes(router, parts);
  return router;
}
