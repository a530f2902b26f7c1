// The store procedures of docs/OPERATIONS.md:
//   npm run store -- backup --data-dir DIR --to FILE
//       an online, consistent copy of a RUNNING node's store (SQLite VACUUM INTO)
// and, while the node is STOPPED:
//   npm run store -- restore --backup FILE --data-dir DIR --reason TEXT
//       put a backup in place of the node's store and mark it: the next start reconciles
//       with every peer before it serves a booking
//   npm run store -- new-disk --data-dir DIR --reason TEXT
//       the store was lost (new disk, empty data directory): the next start reconciles too
//   npm run store -- restored --data-dir DIR --reason TEXT [--database-url URL]
//       the store was brought back by other means while every process of the observatory is
//       stopped: a SQLite file copied by hand, or a PostgreSQL database restored by pg_restore
//       or point-in-time recovery (with --database-url, or DATABASE_URL, the mark is written in
//       the database itself, so whichever process of an active/standby pair starts first
//       reconciles). The next start reconciles before it serves a booking.
// Restoring without any of these skips the mark; the node then finds the gap only when a peer
// reports a transaction the store has lost (docs/PROTOCOL.md, "Reconciliation").
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sqlite3 from 'sqlite3';
import os from 'node:os';
import { RECONCILE_MARKER_FILE, StoreIdentityStore } from '../durability/store-identity.js';
import { LeaseStore } from '../ha/lease.js';
import { openDatabase } from '../storage/database.js';
import { GroupCommitWriter } from '../storage/group-commit-writer.js';
import { TransactionLog } from '../storage/transaction-log.js';

const USAGE = 'usage: store backup --data-dir DIR --to FILE | store restore --backup FILE --data-dir DIR --reason TEXT | store new-disk --data-dir DIR --reason TEXT | store restored --data-dir DIR --reason TEXT [--database-url URL]\n';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { backup: { type: 'string' }, 'data-dir': { type: 'string' }, reason: { type: 'string' }, to: { type: 'string' }, 'database-url': { type: 'string' } },
  });
  const [command] = positionals;
  if (command === 'backup' && values['data-dir'] && values.to) return backup(path.join(values['data-dir'], 'node.sqlite'), values.to);
  const dataDir = values['data-dir'];
  const reason = values.reason?.trim();
  if (!dataDir || !reason || !['restore', 'new-disk', 'restored'].includes(command ?? '') || (command === 'restore' && !values.backup)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const databaseUrl = values['database-url'] ?? process.env.DATABASE_URL;
  if (command === 'restored' && databaseUrl) return markDatabaseRestored(databaseUrl, `restored: ${reason}`);
  mkdirSync(dataDir, { recursive: true });
  const store = path.join(dataDir, 'node.sqlite');
  if (command === 'restore') {
    if (!existsSync(values.backup!)) {
      process.stderr.write(`no backup at ${values.backup}\n`);
      return 1;
    }
    // The -wal file of the replaced store would otherwise be replayed over the backup.
    for (const suffix of ['-wal', '-shm']) rmSync(`${store}${suffix}`, { force: true });
    copyFileSync(values.backup!, store);
  }
  writeFileSync(path.join(dataDir, RECONCILE_MARKER_FILE), `${JSON.stringify({ reason: `${command}: ${reason}`, markedAt: new Date().toISOString() })}\n`, { mode: 0o600 });
  console.log(`${command === 'restore' ? `restored ${values.backup} to ${store}` : `marked ${dataDir} as ${command === 'restored' ? 'restored' : 'a new store'}`}; the node reconciles with every peer at its next start and serves no booking until then`);
  return 0;
}

/** VACUUM INTO writes one transaction-consistent copy while the node keeps writing (WAL). */
function backup(store: string, to: string): Promise<number> {
  if (!existsSync(store)) {
    process.stderr.write(`no store at ${store}\n`);
    return Promise.resolve(1);
  }
  if (existsSync(to)) {
    process.stderr.write(`${to} exists already: choose a new file\n`);
    return Promise.resolve(1);
  }
  return new Promise((resolve) => {
    const db = new sqlite3.Database(store, sqlite3.OPEN_READONLY, (openError) => {
      if (openError) {
        process.stderr.write(`${openError.message}\n`);
        return resolve(1);
      }
      db.run('VACUUM INTO ?', [to], (error) => {
        db.close();
        if (error) process.stderr.write(`${error.message}\n`);
        else console.log(`backed up ${store} to ${to}`);
        resolve(error ? 1 : 0);
      });
    });
  });
}

/** Writes the mark in the database (PostgreSQL), refusing while a process of the observatory holds its lease. */
async function markDatabaseRestored(databaseUrl: string, reason: string): Promise<number> {
  const leases = await LeaseStore.open(databaseUrl);
  const holder = await leases.holder().finally(() => leases.close());
  if (holder && holder.remainingMs > 0) {
    process.stderr.write(`${holder.holderId} at ${holder.holderUrl} holds the lease (epoch ${holder.epoch}): stop every process of this observatory first\n`);
    return 1;
  }
  const database = await openDatabase(os.tmpdir(), { databaseUrl, readPoolMax: 1 });
  const writer = new GroupCommitWriter(database.committer(), 16);
  try {
    const identity = await new StoreIdentityStore(writer, database.reader, os.tmpdir())
      .markRestored(reason, Date.now(), () => new TransactionLog(writer, database.reader).newestRecordMs());
    console.log(`marked the database as restored (incarnation ${identity.incarnation}, reconciling from ${new Date(identity.reconciliation!.sinceMs).toISOString()}); the node reconciles with every peer at its next start and serves no booking until then`);
    return 0;
  } finally {
    await writer.close();
    await database.close();
  }
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
