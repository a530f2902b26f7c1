// The federation, crash-recovery and chaos suites run on both storage engines. On PostgreSQL
// they share ONE throwaway cluster per test run (Debian's binaries, tests/bench's recipe),
// started by the first suite that needs it and stopped after the last test; every node gets
// its own database in it (LocalFederation's `postgres` option).
import { after } from 'mocha';
import { startPostgres, type PostgresCluster } from '../../federation-node/src/local/postgres-cluster.js';
import type { FederationOptions } from './federation-harness.js';

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: Backend[] = ['sqlite', 'postgres'];

let cluster: Promise<PostgresCluster> | undefined;

/** The run's cluster: plenty of connections (each node holds a writer and a read pool). */
export function sharedCluster(): Promise<PostgresCluster> {
  cluster ??= startPostgres({ connectionsMax: 300, preparedMax: 0 });
  return cluster;
}

/** What LocalFederation.start needs to run on `backend`. */
export async function backendOptions(backend: Backend): Promise<Pick<FederationOptions, 'postgres'>> {
  return backend === 'postgres' ? { postgres: await sharedCluster() } : {};
}

// A root-level hook: runs once, after every suite of the run.
after(async () => {
  if (!cluster) return;
  const started = await cluster.catch(() => undefined);
  cluster = undefined;
  started?.stop();
});
