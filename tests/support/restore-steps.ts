// What the restore tests share: the store tool of docs/OPERATIONS.md, the settings that make a
// restored node settle quickly, and a bounded wait that a loaded machine does not break.
import path from 'node:path';
import { NODE_MAIN } from './federation-harness.js';

/** `npm run store` as built (dist/federation-node/src/cli/store.js). */
export const STORE_CLI = path.join(path.dirname(NODE_MAIN), 'cli', 'store.js');

/** In-doubt queries, decision re-sends and reconciliation retries in a fraction of a second. */
export const FAST_RECONCILIATION = { IN_DOUBT_QUERY_AFTER_MS: '300', DECISION_RESEND_INITIAL_MS: '200', DECISION_RESEND_MAX_MS: '1000', RECONCILIATION_RETRY_MS: '300' };

/** Polls `probe` every 100 ms until it is true (a probe that throws counts as false). */
export async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
