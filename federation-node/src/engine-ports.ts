// The ports through which one node's protocol engine touches the world: the transaction log
// (durable, in order), peers over signed HTTP, the clock and its timers, the audit trail, the
// records for status answers, fault points in tests; and the same ports timed for /metrics.
import type { EnginePorts } from '../../coordinator-2pc/src/index.js';
import type { ClaimChange } from './domain/slot-table.js';
import { durableKnowledge } from './durability/transaction-views.js';
import type { StoreIdentity } from './durability/store-identity.js';
import type { FaultInjector } from './faults.js';
import type { PeerClient } from './federation/peer-client.js';
import type { Loggers } from './logging/logger.js';
import type { NodeMetrics } from './metrics/metrics.js';
import type { TransactionLog } from './storage/transaction-log.js';

export interface PortDeps {
  transactionLog: TransactionLog;
  peers: PeerClient;
  nowMs: () => number;
  loggers: Loggers;
  fatal: (error: unknown) => void;
  faults: FaultInjector;
  wake: () => void;
  /** The app log keeps debug lines (LOG_LEVEL=debug). */
  debugLogged: boolean;
  identity: StoreIdentity;
  selfId: string;
  clockMarginMs: number;
  acceptorMarginMs: number;
  /** Slot changes, once written with the record that caused them (the event stream). */
  onDurableClaims: (changes: ClaimChange[]) => void;
}

export function enginePorts(deps: PortDeps): EnginePorts {
  let wakeTimer: NodeJS.Timeout | undefined;
  return {
    writeLog: (entry) => {
      const written = deps.transactionLog.write(entry);
      // Published beside the engine's own wait, not in front of it: the engine sees the same promise.
      if (entry.role === 'participant' && entry.changes.length > 0) written.then(() => deps.onDurableClaims(entry.changes as ClaimChange[]), () => undefined);
      return written;
    },
    request: (to, message) => deps.peers.request(to, message),
    nowMs: deps.nowMs,
    scheduleWake(atMs) {
      if (wakeTimer) clearTimeout(wakeTimer);
      wakeTimer = undefined;
      if (atMs === undefined) return;
      wakeTimer = setTimeout(deps.wake, Math.min(Math.max(0, atMs - deps.nowMs()), 2_147_000_000));
    },
    audit(effect) {
      deps.loggers.audit.event(effect.event, effect.details, { txId: effect.txId });
      // Built only when it is kept: winston formats even the lines its level then drops.
      if (deps.debugLogged) deps.loggers.app.debug(`${effect.event} ${effect.txId} ${JSON.stringify(effect.details)}`);
    },
    fatal: deps.fatal,
    knowledgeOf: (txId) => durableKnowledge(deps, txId),
    ...(deps.faults.enabled ? { faultPoint: (point, txId, kind) => deps.faults.hit(point, txId, kind) } : {}),
  };
}

/** The same ports, timed: log writes until durable, protocol requests until answered. */
export function instrumented(ports: EnginePorts, metrics: NodeMetrics): EnginePorts {
  return {
    ...ports,
    writeLog: (entry) => metrics.logWrite(entry.role, entry.role === 'acceptor' ? (entry.record.accepted ? 'accepted' : 'promised') : entry.record.state, ports.writeLog(entry)),
    request: (to, message) => metrics.peerRequest(to, message.type, ports.request(to, message)),
  };
}
