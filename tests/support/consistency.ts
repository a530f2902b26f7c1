import type { Snapshot } from '../../federation-node/src/local/federation-audit.js';
export * from '../../federation-node/src/local/federation-audit.js';

/**
 * What each coordinator holds at each node, on disk: slots not BOOKED (HELD or RELEASING) and
 * participant transactions still prepared — to check them against the per-peer limits.
 */
export function holdsByCoordinator(snap: Snapshot): Map<string, Map<string, { slots: number; inDoubt: number }>> {
  const result = new Map<string, Map<string, { slots: number; inDoubt: number }>>();
  for (const [node, s] of snap) {
    const byCoordinator = new Map<string, { slots: number; inDoubt: number }>();
    const entry = (coordinator: string) => byCoordinator.get(coordinator) ?? byCoordinator.set(coordinator, { slots: 0, inDoubt: 0 }).get(coordinator)!;
    for (const c of s.claims) if (c.state !== 'BOOKED') entry(c.tx_id.split('.')[0]!).slots += 1;
    for (const t of s.participantTxs) if (t.state === 'prepared') entry(t.coordinator_id).inDoubt += 1;
    result.set(node, byCoordinator);
  }
  return result;
}
