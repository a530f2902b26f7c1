// Opening the node's SQLite file: one connection that writes (through the SerialWriter) and
// one that only reads. WAL lets the reader see committed data while the writer works;
// synchronous=FULL makes every commit reach the disk (fsync) before it returns.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DataSource } from 'typeorm';
import { ALL_ENTITIES } from './entities.js';
import { InitialSchema1795000000000 } from './migrations/1795000000000-initial-schema.js';

export const MIGRATIONS = [InitialSchema1795000000000];

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
