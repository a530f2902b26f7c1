// Opening the node's store. By default a SQLite file: one connection that writes (through the
// group-commit writer) and one that only reads. WAL lets the reader see committed data while
// the writer works; synchronous=FULL makes every commit reach the disk (fsync) before it
// returns. With DATABASE_URL=postgres://… the same tables live in PostgreSQL
// (postgres/postgres-database.ts); the rest of the node sees only the ports below.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import { DataSource } from 'typeorm';
import { ALL_ENTITIES } from './entities.js';
import { MIGRATIONS } from './migrations/index.js';
import { openPostgres } from './postgres/postgres-database.js';
import { SqliteCommitter } from './sqlite-committer.js';
import { readerOf } from './sql.js';
import type { Database } from './store-ports.js';

export { MIGRATIONS } from './migrations/index.js';
export type { Database, EngineCheck, LeaseFence } from './store-ports.js';

/**
 * TypeORM calls verbose() on the sqlite3 driver, which wraps every call to build long stack
 * traces (an Error and util.inspect of every parameter: most of the CPU a write costs).
 * The node hands TypeORM the plain driver instead.
 */
export const PLAIN_SQLITE3 = { ...sqlite3, verbose: () => sqlite3 };

export interface DatabaseOptions {
  /** postgres://… to run on PostgreSQL; unset: the SQLite file in the data directory. */
  databaseUrl?: string | undefined;
  /** PostgreSQL: connections of the read pool. */
  readPoolMax?: number;
}

export async function openDatabase(dataDir: string, options: DatabaseOptions = {}): Promise<Database> {
  if (options.databaseUrl) return openPostgres(options.databaseUrl, options.readPoolMax ?? 8);
  return openSqlite(dataDir);
}

async function openSqlite(dataDir: string): Promise<Database> {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'node.sqlite');
  const common = { type: 'sqlite' as const, driver: PLAIN_SQLITE3, database: file, entities: ALL_ENTITIES, synchronize: false, logging: false, enableWAL: true, busyErrorRetry: 50 };
  const writer = new DataSource({ ...common, migrations: MIGRATIONS, migrationsTransactionMode: 'each' });
  await writer.initialize();
  await writer.query('PRAGMA synchronous = FULL');
  const migrated = (await writer.runMigrations()).map((m) => m.name);
  const reader = new DataSource(common);
  await reader.initialize();
  await reader.query('PRAGMA query_only = 1');
  return {
    dialect: 'sqlite',
    writer,
    reader: readerOf(reader, 'sqlite'),
    file,
    migrated,
    committer: () => new SqliteCommitter(writer),
    async engineCheck() {
      const integrity: Array<{ integrity_check: string }> = await reader.query('PRAGMA integrity_check');
      return { problems: integrity.map((r) => r.integrity_check).filter((line) => line !== 'ok').map((line) => `SQLite: ${line}`), checked: 'SQLite integrity' };
    },
    async close() {
      await reader.destroy();
      await writer.destroy();
    },
  };
}
