// The question an institution asks first: why not let the databases do two-phase commit?
// This is that system, as the comparison runs it: three databases ("sites") in one PostgreSQL
// cluster with fsync and synchronous_commit on. Per booking, in parallel at each site,
// BEGIN; INSERT one slot row; PREPARE TRANSACTION — then the decision forced as a row in the
// first site's database — then COMMIT PREPARED at each site, in parallel. Every client has
// its own connection to each site, and every booking takes fresh slots, so nothing aborts
// (the same workload as tests/bench/load.ts drives through the federation).
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { percentile } from './floor.js';
import type { LoadResult } from './load.js';
import type { PostgresCluster } from '../../federation-node/src/local/postgres-cluster.js';

export const SITES = ['site_a', 'site_b', 'site_c'] as const;

/** The figures the federation's load driver reports, for the same workload. */
export type BaselineResult = Pick<LoadResult, 'committed' | 'failed' | 'seconds' | 'bookingsPerSecond' | 'p50Ms' | 'p95Ms' | 'p99Ms'>;

function connect(cluster: PostgresCluster, database: string): Promise<pg.Client> {
  const client = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.user, database });
  return client.connect().then(() => client);
}

/** One database per site with its slot table (primary key telescope × slot, as slot_claims). */
export async function createSites(cluster: PostgresCluster): Promise<void> {
  const admin = await connect(cluster, 'postgres');
  try {
    for (const site of SITES) await admin.query(`CREATE DATABASE ${site}`);
  } finally {
    await admin.end();
  }
  for (const site of SITES) {
    const client = await connect(cluster, site);
    await client.query('CREATE TABLE slots (telescope_id text NOT NULL, slot_start bigint NOT NULL, booking_id text NOT NULL, PRIMARY KEY (telescope_id, slot_start))');
    if (site === SITES[0]) await client.query('CREATE TABLE decisions (gid text PRIMARY KEY, outcome text NOT NULL)');
    await client.end();
  }
}

let nextSlot = 0;
let run = 0;

/** Closed loop: `concurrency` clients booking one slot at each site, for `seconds`. */
export async function driveBaseline(cluster: PostgresCluster, concurrency: number, seconds: number): Promise<BaselineResult> {
  run += 1;
  const clients = await Promise.all(Array.from({ length: concurrency }, () => Promise.all(SITES.map((site) => connect(cluster, site)))));
  const latencies: number[] = [];
  let committed = 0;
  let failed = 0;
  let firstError: Error | undefined;
  const startedAt = performance.now();
  const endAt = startedAt + seconds * 1000;
  const loop = async (sites: pg.Client[], index: number) => {
    for (let n = 0; performance.now() < endAt; n += 1) {
      const gid = `r${run}c${index}n${n}`;
      const slot = nextSlot++;
      const t0 = performance.now();
      try {
        // A prepared transaction's identifier is unique in the whole cluster: one per site.
        await Promise.all(sites.map((site, s) => site.query(`BEGIN; INSERT INTO slots VALUES ('t1', ${slot}, '${gid}'); PREPARE TRANSACTION '${gid}-${s}'`)));
        await sites[0]!.query(`INSERT INTO decisions VALUES ('${gid}', 'commit')`);
        await Promise.all(sites.map((site, s) => site.query(`COMMIT PREPARED '${gid}-${s}'`)));
        committed += 1;
      } catch (error) {
        failed += 1;
        firstError ??= error as Error;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(clients.map((sites, index) => loop(sites, index)));
  const elapsed = (performance.now() - startedAt) / 1000;
  await Promise.all(clients.flat().map((client) => client.end()));
  if (firstError) console.error(`postgres baseline: ${failed} booking(s) failed; the first: ${firstError.message}`);
  return {
    committed,
    failed,
    seconds: elapsed,
    bookingsPerSecond: committed / elapsed,
    p50Ms: percentile(latencies, 0.5),
    p95Ms: percentile(latencies, 0.95),
    p99Ms: percentile(latencies, 0.99),
  };
}
