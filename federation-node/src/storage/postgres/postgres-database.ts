// The node's tables on PostgreSQL (DATABASE_URL=postgres://…): one database per observatory,
// shared by the processes of an active/standby pair. The writer DataSource runs the
// migrations (under an advisory lock, so that two processes starting together do not run
// them twice) and lends the group commit its one connection; the reader is a pool of
// read-only connections. synchronous_commit=on is set on every connection, whatever the
// server's default: an acknowledged commit is on disk.
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../migrations/index.js';
import type { Database, EngineCheck, LeaseFence } from '../store-ports.js';
import { ALL_ENTITIES } from '../entities.js';
import { readerOf, type SqlReader } from '../sql.js';
import { PostgresCommitter } from './postgres-committer.js';

/** Any fixed number: the key of the advisory lock that serialises migrations between processes. */
const MIGRATION_LOCK_KEY = 7_101_013;

/** postgres://user:secret@host/db → postgres://user:***@host/db, for log lines. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

export async function openPostgres(url: string, readPoolMax: number): Promise<Database> {
  const common = { type: 'postgres' as const, url, entities: ALL_ENTITIES, synchronize: false, logging: false };
  const writer = new DataSource({ ...common, migrations: MIGRATIONS, migrationsTransactionMode: 'each', extra: { max: 3, options: '-c synchronous_commit=on', application_name: 'observatory-node-writer' } });
  await writer.initialize();
  let migrated: string[];
  try {
    migrated = await migrateLocked(writer);
  } catch (error) {
    await writer.destroy();
    throw error;
  }
  const readerSource = new DataSource({ ...common, extra: { max: readPoolMax, options: '-c default_transaction_read_only=on', application_name: 'observatory-node-reader' } });
  await readerSource.initialize();
  const reader = readerOf(readerSource, 'postgres');
  const committers: PostgresCommitter[] = [];
  return {
    dialect: 'postgres',
    writer,
    reader,
    file: redactedUrl(url),
    migrated,
    committer(fence?: () => LeaseFence) {
      const committer = new PostgresCommitter(writer, fence);
      committers.push(committer);
      return committer;
    },
    engineCheck: () => indexCheck(reader),
    async close() {
      for (const committer of committers) await committer.release();
      await readerSource.destroy();
      await writer.destroy();
    },
  };
}

/** Runs the migrations under an advisory lock: two processes of a pair may start together. */
export async function migrateLocked(writer: DataSource): Promise<string[]> {
  const runner = writer.createQueryRunner('master');
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    return (await writer.runMigrations()).map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
  }
}

/**
 * SQLite's integrity_check has no one-call counterpart in PostgreSQL. Where the operator has
 * installed amcheck in the node's database (CREATE EXTENSION amcheck), every B-tree index of
 * the node's tables is verified against its ordering invariants; otherwise this check is
 * skipped (said in the log line) and damaged pages are caught by PostgreSQL's data checksums
 * when they are read (initdb --data-checksums, docs/OPERATIONS.md). The node's own domain
 * invariants run on both engines (store-check.ts).
 */
async function indexCheck(reader: SqlReader): Promise<EngineCheck> {
  const [checksums] = await reader.query<{ dataChecksums: string }>('SHOW data_checksums');
  const pages = `data checksums ${Object.values(checksums ?? {})[0] === 'on' ? 'on' : 'off'}`;
  const installed = await reader.query("SELECT 1 AS present FROM pg_extension WHERE extname = 'amcheck'");
  if (installed.length === 0) return { problems: [], checked: `PostgreSQL (${pages}; amcheck not installed: index check skipped)` };
  const indexes = await reader.query<{ oid: string; name: string }>(
    `SELECT c.oid::bigint AS oid, c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND a.amname = 'btree'`,
  );
  const problems: string[] = [];
  let skipped: string | undefined;
  for (const { oid, name } of indexes) {
    await reader.query('SELECT bt_index_check(?::oid::regclass)', [oid]).catch((error: Error & { code?: string }) => {
      // Only amcheck's corruption codes mean damage; anything else (no EXECUTE grant) leaves the check undone.
      if (error.code === 'XX001' || error.code === 'XX002') problems.push(`PostgreSQL: index ${name}: ${error.message}`);
      else skipped ??= error.message;
    });
  }
  if (skipped) return { problems, checked: `PostgreSQL (${pages}; amcheck index check skipped: ${skipped})` };
  return { problems, checked: `PostgreSQL B-tree indexes (${indexes.length}, amcheck; ${pages})` };
}
