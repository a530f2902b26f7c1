// A throwaway PostgreSQL cluster for the tests, the benchmarks and `npm run demo:failover`:
// Debian's PostgreSQL binaries (apt-get install postgresql), a fresh data directory under the
// system's temporary folder, a free loopback port and a private socket directory, fsync and
// synchronous_commit on. Started and stopped by the caller; nothing of it outlives stop().
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './local-federation.js';

export interface PostgresCluster {
  host: string;
  port: number;
  user: string;
  /** A postgres:// URL of one database of this cluster. */
  urlOf(database: string): string;
  /** Creates an empty database (one per node) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): void;
}

export interface ClusterOptions {
  /** max_connections: every benchmark client holds one connection per database. */
  connectionsMax: number;
  /** max_prepared_transactions: at least one per client and database. */
  preparedMax: number;
}

/** A client program of the newest installed PostgreSQL (pg_dump, pg_restore): its path. */
export function postgresProgram(name: string): string {
  return path.join(binDir(), name);
}

/** The newest installed PostgreSQL's bin directory, or a clear error saying how to get one. */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed: apt-get install postgresql (its server binaries run the throwaway cluster)');
  return path.join(root, versions[0]!, 'bin');
}

/** initdb and postgres refuse to run as root: as root, run them as Debian's `postgres` user. */
function run(command: string, args: string[]): string {
  const asRoot = process.getuid?.() === 0;
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function startPostgres(options: ClusterOptions): Promise<PostgresCluster> {
  const bin = binDir();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ofed-pg-'));
  if (process.getuid?.() === 0) {
    const ids = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const gid = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    chownSync(dir, Number(ids), Number(gid));
  }
  const data = path.join(dir, 'data');
  const port = await freePort();
  run(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'bench', '--no-sync', '--data-checksums', '-E', 'UTF8']);
  writeFileSync(
    path.join(data, 'postgresql.auto.conf'),
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'fsync = on',
      'synchronous_commit = on',
      'full_page_writes = on',
      `max_connections = ${options.connectionsMax}`,
      `max_prepared_transactions = ${options.preparedMax}`,
      "shared_buffers = '256MB'",
      '',
    ].join('\n'),
  );
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres:', path.join(data, 'postgresql.auto.conf')]);
  run(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '120', 'start']);
  const urlOf = (database: string) => `postgres://bench@127.0.0.1:${port}/${database}`;
  return {
    host: '127.0.0.1',
    port,
    user: 'bench',
    urlOf,
    async createDatabase(name: string) {
      const client = new pg.Client({ connectionString: urlOf('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      } finally {
        await client.end();
      }
      return urlOf(name);
    },
    stop() {
      try {
        run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
