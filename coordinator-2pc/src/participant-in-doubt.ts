// What a prepared participant does each time its wait for the decision runs out: ask the
// coordinator (backing off up to queryBackoffMaxMs), and from the second time on also ask the
// other participants (participant-termination.ts) and, with acceptors, lead a recovery ballot
// (participant-recovery.ts). participant.ts calls it from its tick. Pure, no I/O.
import type { NodeId, TxId } from './messages.js';
import { audit, type Prepared } from './participant-entries.js';
import { leadRecovery, type RecoveryConfig } from './participant-recovery.js';
import { askPeers, type TerminationHost } from './participant-termination.js';
import type { Effect } from './ports.js';

export interface InDoubtConfig extends RecoveryConfig {
  selfId: NodeId;
  queryBackoffMaxMs: number;
}

export function queryInDoubt(config: InDoubtConfig, host: TerminationHost, txId: TxId, entry: Prepared, nowMs: number): Effect[] {
  // Not inferred from the interval: it never grows when inDoubtQueryAfterMs >= queryBackoffMaxMs.
  const firstQuery = !entry.queried;
  entry.queried = true;
  entry.nextQueryAtMs = nowMs + entry.queryIntervalMs;
  entry.queryIntervalMs = Math.min(entry.queryIntervalMs * 2, config.queryBackoffMaxMs);
  const query: Effect = { type: 'send', to: entry.record.coordinatorId, message: { type: 'status-query', txId, from: config.selfId } };
  if (!firstQuery) return [query, ...askPeers(host, txId, entry, nowMs), ...leadRecovery(config, txId, entry, nowMs)];
  return [audit('TX_IN_DOUBT', txId, { coordinator: entry.record.coordinatorId, preparedForMs: nowMs - entry.record.updatedAtMs }), query];
}
