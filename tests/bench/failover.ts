// `npm run bench:failover`: failover under load, measured as the marketplace report in seed
// 004 did it — detection time, failover time, requests failed during it, nothing acknowledged
// lost — over several rounds. Each round SIGKILLs whichever process of atacama's pair is
// active, then restarts it as the standby for the next round. One JSON line per round, then
// the medians. Needs Debian's postgresql package.
//   --rounds <n> (default 3)  --clients <n> (default 8)  --lease-ms <n> (default 3000)
import { parseArgs } from 'node:util';
import { runFailover, type FailoverReport } from '../../federation-node/src/local/failover-run.js';
import { LocalFederation, type Process } from '../../federation-node/src/local/local-federation.js';
import { startPostgres } from '../../federation-node/src/local/postgres-cluster.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, clients: { type: 'string', default: '8' }, 'lease-ms': { type: 'string', default: '3000' } } });
const rounds = Number(values.rounds);
const clients = Number(values.clients);
const leaseMs = Number(values['lease-ms']);

async function main(): Promise<void> {
  const cluster = await startPostgres({ connectionsMax: 100, preparedMax: 0 });
  const env = { LEASE_DURATION_MS: String(leaseMs), LEASE_RENEW_INTERVAL_MS: String(Math.floor(leaseMs / 6)), LEASE_POLL_INTERVAL_MS: '250', MEMBER_URL_PROBE_INTERVAL_MS: '250', IN_DOUBT_QUERY_AFTER_MS: '300', DECISION_RESEND_INITIAL_MS: '200', DECISION_RESEND_MAX_MS: '1000' };
  const federation = await LocalFederation.start({ postgres: cluster, pairs: ['atacama'], observatories: ['atacama', 'mauna-kea'], env });
  const reports: FailoverReport[] = [];
  try {
    await federation.launch('atacama', {}, 'standby');
    let active: Process = 'primary';
    for (let round = 1; round <= rounds; round += 1) {
      const report = await runFailover(federation, { observatory: 'atacama', peer: 'mauna-kea', clients, beforeKillMs: 5_000, afterTakeoverMs: 3_000, takeoverTimeoutMs: leaseMs + 60_000, active, requestOffset: (round - 1) * 1_000 });
      reports.push(report);
      console.log(JSON.stringify({ round, killed: active, leaseMs, clients, ...report, violations: report.violations.length }));
      await federation.launch('atacama', {}, active); // the killed process comes back as the standby
      active = active === 'primary' ? 'standby' : 'primary';
    }
  } finally {
    await federation.stop();
    cluster.stop();
  }
  const median = (pick: (r: FailoverReport) => number | null) => {
    const sorted = reports.map(pick).filter((v): v is number => v !== null).sort((a, b) => a - b);
    return sorted.length ? sorted[Math.floor(sorted.length / 2)]! : null;
  };
  console.log(JSON.stringify({
    summary: 'medians', rounds, clients, leaseMs,
    detectionMs: median((r) => r.detectionMs), failoverMs: median((r) => r.failoverMs),
    failedDuringFailover: median((r) => r.failedDuringFailover), failedOtherwise: median((r) => r.failedOtherwise),
    acknowledgedLost: reports.reduce((n, r) => n + r.lostAcknowledged.length, 0), violations: reports.reduce((n, r) => n + r.violations.length, 0),
  }));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
