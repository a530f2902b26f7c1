// Opening the node's SQLite file: one connection that writes (through the SerialWriter) and
// one that only reads. WAL lets the reader see committed data while the writer works;
// synchronous=FULL makes every commit reach the disk (fsync) before it returns.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import { DataSource } from 'typeorm';
import { ALL_ENTITIES } from './entities.js';
import { InitialSchema1795000000000 } from './migrations/1795000000000-initial-schema.js';
import { StoreIdentity1795000100000 } from './migrations/1795000100000-store-identity.js';
import { PruneHorizon1795000200000 } from './migrations/1795000200000-prune-horizon.js';
import { Acceptors1795000300000 } from './migrations/1795000300000-acceptors.js';

export const MIGRATIONS = [InitialSchema1795000000000, StoreIdentity1795000100000, PruneHorizon1795000200000, Acceptors1795000300000];

/**
 * TypeORM calls verbose() on the sqlite3 driver, which wraps every call to build long stack
 * traces (an Error and util.inspect of every parameter: most of the CPU a write costs).
 * The node hands TypeORM the plain driver instead.
 */
export const PLAIN_SQLITE3 = { ...sqlite3, verbose: () => sqlite3 };

export interface Database {
  writer: DataSource;
  reader: DataSource;
  file: string;
  close(): Promise<void>;
}

export async function openDatabase(dataDir: string): Promise<Database> {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'node.sqlite');
  const writer = new DataSource({
    type: 'sqlite',
    driver: PLAIN_SQLITE3,
    database: file,
    entities: ALL_ENTITIES,
    migrations: MIGRATIONS,
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    enableWAL: true,
    busyErrorRetry: 50,
  });
  await writer.initialize();
  await writer.query('PRAGMA synchronous = FULL');
  await writer.runMigrations();
  const reader = new DataSource({
    type: 'sqlite',
    driver: PLAIN_SQLITE3,
    database: file,
    entities: ALL_ENTITIES,
    synchronize: false,
    logging: false,
    enableWAL: true,
    busyErrorRetry: 50,
  });
  await reader.initialize();
  await reader.query('PRAGMA query_only = 1');
  return {
    writer,
    reader,
    file,
    async close() {
      await reader.destroy();
      await writer.destroy();
    },
  };
}
