// `npm run bench`: a fresh three-observatory federation (real processes, real SQLite with
// fsync), driven with three-observatory bookings; prints throughput, latency percentiles,
// abort rate and, measured in the same run, the floor: one loopback HTTP round trip plus one
// durable SQLite commit. The last line is one JSON object with every figure.
//   --concurrency N   clients for the main run (default 64)
//   --seconds S       length of each measured run (default 10)
//   --single-seconds S length of the one-client run (default 5)
import os from 'node:os';
import { parseArgs } from 'node:util';
import { readCatalog } from '../../seeds/catalog.js';
import { LocalFederation } from '../support/federation-harness.js';
import { benchCatalogFile } from './bench-catalog.js';
import { measureFloor } from './floor.js';
import { driveLoad, type LoadResult } from './load.js';

const { values } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '10' },
    'single-seconds': { type: 'string', default: '5' },
  },
});

function report(label: string, r: LoadResult): void {
  console.log(`${label}: ${r.committed} committed, ${r.aborted} aborted, ${r.failed} failed in ${r.seconds.toFixed(1)} s -> ${r.bookingsPerSecond.toFixed(0)} bookings/s; latency p50 ${r.p50Ms.toFixed(2)} ms, p95 ${r.p95Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms; abort rate ${(r.abortRate * 100).toFixed(2)} %`);
  if (r.aborted + r.failed > 0) console.log(`${label}: answers other than 201, by status and problem type: ${JSON.stringify(r.failures)}`);
}

async function main(): Promise<void> {
  const concurrency = Number(values.concurrency);
  const seconds = Number(values.seconds);
  const singleSeconds = Number(values['single-seconds']);
  const catalogFile = benchCatalogFile();
  console.log(`bench: machine ${os.cpus().length} cores, Node ${process.version}; starting three observatories (real processes, SQLite synchronous=FULL)`);
  const federation = await LocalFederation.start({ env: { CATALOG_FILE: catalogFile, LOG_LEVEL: 'warn', BOOKING_HORIZON_DAYS: '3660' } });
  try {
    const floor = await measureFloor(federation.url('atacama'));
    console.log(`floor: loopback HTTP round trip p50 ${floor.httpRoundTripMs.toFixed(3)} ms + durable SQLite commit p50 ${floor.sqliteCommitMs.toFixed(3)} ms = ${floor.floorMs.toFixed(3)} ms`);
    const catalog = readCatalog(catalogFile);
    const urls = [...federation.nodes.values()].map((n) => n.url);
    const token = federation.tokens.scientists['vera-rubin'];
    let dayOffset = 1;
    const warmup = await driveLoad({ urls, catalog, concurrency, seconds: 1, firstDay: dayOffset, token });
    dayOffset += warmup.daysUsed;
    const single = await driveLoad({ urls, catalog, concurrency: 1, seconds: singleSeconds, firstDay: dayOffset, token });
    dayOffset += single.daysUsed;
    report('one client', single);
    const loaded = await driveLoad({ urls, catalog, concurrency, seconds, firstDay: dayOffset, token });
    report(`${concurrency} clients`, loaded);
    const summary = {
      concurrency,
      bookingsPerSecond: round(loaded.bookingsPerSecond),
      p50Ms: round(loaded.p50Ms),
      p95Ms: round(loaded.p95Ms),
      p99Ms: round(loaded.p99Ms),
      abortRate: round(loaded.abortRate, 4),
      failed: loaded.failed,
      singleClientP50Ms: round(single.p50Ms),
      floorMs: round(floor.floorMs, 3),
      httpRoundTripMs: round(floor.httpRoundTripMs, 3),
      sqliteCommitMs: round(floor.sqliteCommitMs, 3),
      singleClientP50OverFloor: round(single.p50Ms / floor.floorMs),
      targets: { bookingsPerSecond: 1000, p99Ms: 50, singleClientP50OverFloor: 3 },
    };
    console.log(JSON.stringify(summary));
  } finally {
    await federation.stop();
  }
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
