// The operator's view of the store's identity and reconciliation, and the override of a
// reconciliation that cannot finish (docs/OPERATIONS.md, "Restoring a backup"). Mounted on the
// operations router after its /admin authentication.
import type Router from '@koa/router';
import { z } from 'zod';
import type { NodeParts } from '../node-parts.js';
import { readJson } from '../http/body.js';
import { HttpProblem } from '../http/problem.js';

export const OverrideRequest = z.strictObject({
  reason: z.string().trim().min(10, 'say why (at least 10 characters): it goes to the audit trail').max(2000),
});

export function reconciliationRoutes(router: Router, parts: NodeParts): void {
  router.get('/admin/reconciliation', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = parts.reconciler.status();
  });

  router.post('/admin/reconciliation/override', async (ctx) => {
    const { value } = await readJson(ctx, OverrideRequest, { bytesMax: parts.config.BODY_BYTES_MAX }, 'the override request');
    if (parts.reconciler.refusalReason() === null) {
      throw new HttpProblem('booking-state-conflict', `${parts.directory.selfId} is not reconciling: there is nothing to override`);
    }
    const status = await parts.reconciler.override(value.reason);
    parts.loggers.app.warn(`operator overrode the reconciliation of ${parts.directory.selfId}: ${value.reason}`);
    ctx.body = status;
  });
}
