// `npm run bench:profile`: where a three-site booking's time and CPU go. Starts a fresh
// federation, warms it up, then for each client count drives the bench workload and reports,
// per booking: CPU ms of each node process (/proc/<pid>/stat, user + system) and of the load
// client, and the mean of every phase the nodes time on /metrics (public request, prepare
// and decision round trips, transaction-log writes by role and state, group commits).
//   --clients 1,64   client counts, one measured run each
//   --seconds 5      length of each run
//   --node-env K=V,K=V  extra settings for the nodes (e.g. PEER_BATCH_STALL_MS=100)
//   --via all|home|homes  send vera-rubin's bookings to every node in turn (as npm run bench
//                    does: two in three pay a credential round trip to her home), only to her
//                    home, or to every node in turn, each booked by a scientist of that node
// CPU profiles: start it as `node --cpu-prof --cpu-prof-dir=DIR dist/tests/bench/profile.js`;
// the nodes are forked with the same flags and stopped with SIGINT so that each writes its
// profile; summarise them with `node dist/tests/bench/cpuprofile-top.js DIR`.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { readCatalog } from '../../seeds/catalog.js';
import { LocalFederation } from '../support/federation-harness.js';
import { benchCatalogFile } from './bench-catalog.js';
import { driveLoad } from './load.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '1,64' },
    seconds: { type: 'string', default: '5' },
    via: { type: 'string', default: 'all' },
    'node-env': { type: 'string', default: '' },
  },
});

/** Histogram sums and counts by series (name + labels), from a Prometheus exposition. */
type Series = Map<string, { sum: number; count: number }>;

function parseHistograms(text: string): Series {
  const series: Series = new Map();
  for (const line of text.split('\n')) {
    const match = /^(ofed_\w+?)_(sum|count)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!match) continue;
    const key = `${match[1]}${match[3] ?? ''}`;
    const entry = series.get(key) ?? { sum: 0, count: 0 };
    entry[match[2] as 'sum' | 'count'] = Number(match[4]);
    series.set(key, entry);
  }
  return series;
}

/** Per series: how many observations in the window and their mean (ms for *_seconds). */
function phaseDelta(before: Series, after: Series): Record<string, { n: number; meanMs: number }> {
  const out: Record<string, { n: number; meanMs: number }> = {};
  for (const [key, a] of after) {
    const b = before.get(key) ?? { sum: 0, count: 0 };
    const n = a.count - b.count;
    if (n <= 0) continue;
    const scale = key.includes('_seconds') ? 1000 : 1;
    out[key.replace(/^ofed_/, '')] = { n, meanMs: Math.round(((a.sum - b.sum) / n) * scale * 1000) / 1000 };
  }
  return out;
}

/** User and system CPU of a process so far, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(fields[11]) * 10, system: Number(fields[12]) * 10 };
}

async function scrape(federation: LocalFederation, id: string): Promise<Series> {
  const response = await fetch(`${federation.url(id)}/metrics`, { headers: { authorization: `Bearer ${federation.tokens.operators[id]}` } });
  return parseHistograms(await response.text());
}

async function main(): Promise<void> {
  const clientCounts = values.clients.split(',').map(Number);
  const seconds = Number(values.seconds);
  const catalogFile = benchCatalogFile();
  const extraEnv = Object.fromEntries(values['node-env'].split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
  const federation = await LocalFederation.start({ env: { CATALOG_FILE: catalogFile, LOG_LEVEL: 'warn', BOOKING_HORIZON_DAYS: '3660', ...extraEnv } });
  const ids = [...federation.nodes.keys()];
  try {
    const catalog = readCatalog(catalogFile);
    // vera-rubin's home is the first seeded observatory (atacama).
    const urls = values.via === 'home' ? [federation.url(ids[0]!)] : ids.map((id) => federation.url(id));
    const scientistOf: Record<string, string> = { atacama: 'vera-rubin', 'mauna-kea': 'nancy-roman', 'la-palma': 'caroline-herschel' };
    const bookerAt = values.via === 'homes' ? Object.fromEntries(ids.map((id) => [federation.url(id), { scientistId: scientistOf[id]!, token: federation.tokens.scientists[scientistOf[id]!]! }])) : undefined;
    const token = federation.tokens.scientists['vera-rubin'];
    let day = 1;
    day += (await driveLoad({ urls, catalog, concurrency: 8, seconds: 2, firstDay: day, token })).daysUsed;
    for (const concurrency of clientCounts) {
      const pids = ids.map((id) => federation.node(id).child!.pid!);
      const before = { cpu: pids.map(cpuMs), self: process.cpuUsage(), metrics: await Promise.all(ids.map((id) => scrape(federation, id))) };
      const windowFromMs = Math.round(performance.now());
      const load = await driveLoad({ urls, catalog, concurrency, seconds, firstDay: day, token, ...(bookerAt ? { bookerAt } : {}) });
      day += load.daysUsed;
      const self = process.cpuUsage(before.self);
      const after = { cpu: pids.map(cpuMs), metrics: await Promise.all(ids.map((id) => scrape(federation, id))) };
      const per = (ms: number) => Math.round((ms / Math.max(1, load.committed)) * 1000) / 1000;
      const report = {
        concurrency,
        window: { fromMs: windowFromMs, toMs: Math.round(performance.now()) },
        loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
        committed: load.committed,
        bookingsPerSecond: Math.round(load.bookingsPerSecond),
        p50Ms: Math.round(load.p50Ms * 100) / 100,
        p99Ms: Math.round(load.p99Ms * 100) / 100,
        failed: load.failed + load.aborted,
        failures: load.failures,
        cpuMsPerBooking: Object.fromEntries([
          ...ids.map((id, i) => [id, { user: per(after.cpu[i]!.user - before.cpu[i]!.user), system: per(after.cpu[i]!.system - before.cpu[i]!.system) }]),
          ['loadClient', { user: per(self.user / 1000), system: per(self.system / 1000) }],
        ]),
        phases: Object.fromEntries(ids.map((id, i) => [id, phaseDelta(before.metrics[i]!, after.metrics[i]!)])),
      };
      console.log(JSON.stringify(report));
    }
  } finally {
    // SIGINT: a graceful stop, so that a node started with --cpu-prof writes its profile.
    await Promise.all(ids.map((id) => federation.kill(id, 'SIGINT')));
    await federation.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
