// `npm run demo:failover`: one observatory (atacama) run as an active/standby pair on one
// PostgreSQL database, mauna-kea on its own; scientists book two-observatory bookings through
// atacama's two URLs; the active is SIGKILLed mid-load; the standby takes the lease, recovers
// and serves. Shows detection and failover time, the requests that failed meanwhile, and
// checks that every acknowledged booking is still confirmed and every invariant holds on the
// databases. Ends with PASS or FAIL. Needs Debian's postgresql package (a throwaway cluster).
//   --lease-ms <n>   LEASE_DURATION_MS (default 3000)
//   --clients <n>    concurrent clients (default 4)
import { parseArgs } from 'node:util';
import { runFailover } from '../local/failover-run.js';
import { LocalFederation } from '../local/local-federation.js';
import { startPostgres } from '../local/postgres-cluster.js';

const { values } = parseArgs({ options: { 'lease-ms': { type: 'string', default: '3000' }, clients: { type: 'string', default: '4' } } });
const leaseMs = Number(values['lease-ms']);
const clients = Number(values.clients);
const say = (text: string) => console.log(`\n=== ${text}`);
const show = (text: string) => console.log(`    ${text}`);

async function main(): Promise<boolean> {
  if (!Number.isInteger(leaseMs) || leaseMs < 1_000 || !Number.isInteger(clients) || clients < 1) throw new Error('--lease-ms must be an integer ≥ 1000 and --clients an integer ≥ 1');
  const lease = { LEASE_DURATION_MS: String(leaseMs), LEASE_RENEW_INTERVAL_MS: String(Math.floor(leaseMs / 6)), LEASE_POLL_INTERVAL_MS: '250', MEMBER_URL_PROBE_INTERVAL_MS: '250' };
  say('1. A throwaway PostgreSQL cluster (Debian\'s binaries), one database per observatory');
  const cluster = await startPostgres({ connectionsMax: 100, preparedMax: 0 });
  show(`postgres://${cluster.user}@${cluster.host}:${cluster.port}`);
  let federation: LocalFederation | undefined;
  try {
    federation = await LocalFederation.start({ postgres: cluster, pairs: ['atacama'], observatories: ['atacama', 'mauna-kea'], env: { ...lease, IN_DOUBT_QUERY_AFTER_MS: '300', DECISION_RESEND_INITIAL_MS: '200', DECISION_RESEND_MAX_MS: '1000' } });
    await federation.launch('atacama', {}, 'standby');
    say(`2. atacama runs as two processes on one database; the membership lists both URLs (LEASE_DURATION_MS = ${leaseMs})`);
    show(`atacama-a (active)  ${federation.url('atacama')}`);
    show(`atacama-b (standby) ${federation.standbys.get('atacama')!.url}`);
    show(`mauna-kea           ${federation.url('mauna-kea')}`);
    const standbyAnswer = await fetch(`${federation.standbys.get('atacama')!.url}/bookings`).then((r) => r.json() as Promise<{ detail: string }>);
    show(`the standby answers 503: ${standbyAnswer.detail}`);
    say(`3. ${clients} clients book atacama + mauna-kea slots; after 3 s atacama-a is killed with SIGKILL`);
    const report = await runFailover(federation, { observatory: 'atacama', peer: 'mauna-kea', clients, beforeKillMs: 3_000, afterTakeoverMs: 2_000, takeoverTimeoutMs: leaseMs + 60_000 });
    say('4. What happened');
    show(`detection (kill → the standby took the lease): ${report.detectionMs ?? 'never'} ms`);
    show(`failover  (kill → first booking confirmed by the new active): ${report.failoverMs ?? 'never'} ms`);
    show(`requests ${report.requests}: ${report.acknowledged} confirmed, ${report.refused} refused (409/422), ${report.failedDuringFailover} failed during the failover (attempts, retried every 50 ms), ${report.failedOtherwise} failed otherwise`);
    show(`failed answers: ${JSON.stringify(report.failureStatuses)}`);
    say('5. Every acknowledged booking, and the invariants, checked on the databases');
    show(report.lostAcknowledged.length === 0 ? `all ${report.acknowledged} acknowledged bookings are CONFIRMED` : `LOST: ${report.lostAcknowledged.join(', ')}`);
    for (const line of report.violations) show(`violation: ${line}`);
    const pass = report.failoverMs !== null && report.lostAcknowledged.length === 0 && report.violations.length === 0;
    console.log(`\n${pass ? 'PASS' : 'FAIL'}: ${pass ? `atacama-b took over in ${report.failoverMs} ms and nothing acknowledged was lost` : 'see above'}`);
    return pass;
  } finally {
    await federation?.stop();
    cluster.stop();
  }
}

main().then(
  (pass) => process.exit(pass ? 0 : 1),
  (error: unknown) => {
    console.error(`FAIL: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
