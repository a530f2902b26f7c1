// `npm run bench:compare`: this federation against PostgreSQL's own two-phase commit, on the
// same machine, the same workload (three-site bookings of fresh slots) and the same
// durability (fsync on everywhere), side by side in one run. For every client count, rounds
// are interleaved (PostgreSQL then the federation, then the other way round) and the medians
// of the rounds are reported; the last line is one JSON object with both and their ratios.
//   --clients 1,8,32,64,128   client counts
//   --rounds 3                interleaved rounds per client count (medians reported)
//   --seconds 8               length of each measured run
//   --plot FILE               SVG of throughput and p99 against clients (default: none)
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { readCatalog } from '../../seeds/catalog.js';
import { LocalFederation } from '../support/federation-harness.js';
import { benchCatalogFile } from './bench-catalog.js';
import { driveLoad, type LoadResult } from './load.js';
import { createSites, driveBaseline } from './pg-baseline.js';
import { startPostgres } from '../../federation-node/src/local/postgres-cluster.js';
import { renderPanels } from './svg-plot.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '1,8,32,64,128' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '8' },
    plot: { type: 'string' },
  },
});

interface Figures {
  bookingsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
  /** The federation's answers other than 201, by status and problem type (load.ts). */
  failures?: LoadResult['failures'];
}

interface Row {
  clients: number;
  federation: Figures;
  postgres: Figures;
  ratios: { bookingsPerSecond: number; p50: number; p99: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round2 = (x: number) => Math.round(x * 100) / 100;

function medianOf(runs: Figures[]): Figures {
  return {
    bookingsPerSecond: round2(median(runs.map((r) => r.bookingsPerSecond))),
    p50Ms: round2(median(runs.map((r) => r.p50Ms))),
    p99Ms: round2(median(runs.map((r) => r.p99Ms))),
    failed: runs.reduce((sum, r) => sum + r.failed, 0),
    ...(runs.some((r) => r.failures) ? { failures: mergeFailures(runs.map((r) => r.failures ?? {})) } : {}),
  };
}

async function main(): Promise<void> {
  const clientCounts = values.clients.split(',').map(Number);
  const rounds = Number(values.rounds);
  const seconds = Number(values.seconds);
  const clientsMax = Math.max(...clientCounts);
  console.log(`compare: ${os.cpus().length} cores, Node ${process.version}; clients ${clientCounts.join(', ')}; ${rounds} interleaved rounds of ${seconds} s`);
  const cluster = await startPostgres({ connectionsMax: clientsMax * 3 + 20, preparedMax: clientsMax * 3 + 20 });
  const catalogFile = benchCatalogFile();
  const federation = await LocalFederation.start({ env: { CATALOG_FILE: catalogFile, LOG_LEVEL: 'warn', BOOKING_HORIZON_DAYS: '3660' } });
  try {
    await createSites(cluster);
    const catalog = readCatalog(catalogFile);
    const urls = [...federation.nodes.values()].map((n) => n.url);
    const token = federation.tokens.scientists['vera-rubin'];
    let day = 1;
    const ours = async (concurrency: number): Promise<Figures> => {
      const result = await driveLoad({ urls, catalog, concurrency, seconds, firstDay: day, token });
      day += result.daysUsed;
      return { ...result, failed: result.failed + result.aborted };
    };
    await ours(8); // warm-up: connections, JIT
    const rows: Row[] = [];
    for (const clients of clientCounts) {
      const pgRuns: Figures[] = [];
      const ourRuns: Figures[] = [];
      for (let r = 0; r < rounds; r += 1) {
        const order = r % 2 === 0 ? ['pg', 'ours'] : ['ours', 'pg'];
        for (const which of order) {
          if (which === 'pg') pgRuns.push(await driveBaseline(cluster, clients, seconds));
          else ourRuns.push(await ours(clients));
        }
      }
      const postgres = medianOf(pgRuns);
      const federationFigures = medianOf(ourRuns);
      const ratios = {
        bookingsPerSecond: round2(federationFigures.bookingsPerSecond / postgres.bookingsPerSecond),
        p50: round2(federationFigures.p50Ms / postgres.p50Ms),
        p99: round2(federationFigures.p99Ms / postgres.p99Ms),
      };
      if (federationFigures.failed > 0) console.log(`${clients} clients: the federation's ${federationFigures.failed} failed bookings, by answer: ${JSON.stringify(federationFigures.failures)}`);
      console.log(`${clients} clients: federation ${federationFigures.bookingsPerSecond} bookings/s p50 ${federationFigures.p50Ms} ms p99 ${federationFigures.p99Ms} ms | postgres ${postgres.bookingsPerSecond} bookings/s p50 ${postgres.p50Ms} ms p99 ${postgres.p99Ms} ms | ratio throughput ${ratios.bookingsPerSecond}, p50 ${ratios.p50}, p99 ${ratios.p99}`);
      rows.push({ clients, federation: federationFigures, postgres, ratios });
    }
    if (values.plot) writeFileSync(values.plot, plot(rows));
    const at = (n: number) => rows.find((r) => r.clients === n);
    const targets = {
      throughputAt64AtLeastPostgres: at(64) ? at(64)!.ratios.bookingsPerSecond >= 1 : null,
      p99At64AtMostPostgres: at(64) ? at(64)!.ratios.p99 <= 1 : null,
      oneClientP50AtMost1_5xPostgres: at(1) ? at(1)!.ratios.p50 <= 1.5 : null,
    };
    console.log(JSON.stringify({ rounds, seconds, rows, targets }));
  } finally {
    await federation.stop();
    cluster.stop();
  }
}

function mergeFailures(all: Array<LoadResult['failures']>): LoadResult['failures'] {
  const merged: LoadResult['failures'] = {};
  for (const failures of all) {
    for (const [key, { count, detail }] of Object.entries(failures)) (merged[key] ??= { count: 0, detail }).count += count;
  }
  return merged;
}

function plot(rows: Row[]): string {
  const series = (pick: (f: Figures) => number) => [
    { name: 'federation (npm run bench)', colour: '#1f6feb', points: rows.map((r) => ({ x: r.clients, y: pick(r.federation) })) },
    { name: 'PostgreSQL PREPARE TRANSACTION', colour: '#d1242f', points: rows.map((r) => ({ x: r.clients, y: pick(r.postgres) })) },
  ];
  return renderPanels([
    { title: 'Throughput', unit: 'bookings/s', series: series((f) => f.bookingsPerSecond) },
    { title: 'p99 latency', unit: 'ms', series: series((f) => f.p99Ms) },
  ]);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
