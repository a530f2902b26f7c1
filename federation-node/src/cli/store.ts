// The store procedures of docs/OPERATIONS.md:
//   npm run store -- backup --data-dir DIR --to FILE
//       an online, consistent copy of a RUNNING node's store (SQLite VACUUM INTO)
// and, while the node is STOPPED:
//   npm run store -- restore --backup FILE --data-dir DIR --reason TEXT
//       put a backup in place of the node's store and mark it: the next start reconciles
//       with every peer before it serves a booking
//   npm run store -- new-disk --data-dir DIR --reason TEXT
//       the store was lost (new disk, empty data directory): the next start reconciles too
// Restoring by copying files by hand skips the mark; the node then finds the gap only when a
// peer reports a transaction the store has lost (docs/PROTOCOL.md, "Reconciliation").
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sqlite3 from 'sqlite3';
import { RECONCILE_MARKER_FILE } from '../durability/store-identity.js';

const USAGE = 'usage: store backup --data-dir DIR --to FILE | store restore --backup FILE --data-dir DIR --reason TEXT | store new-disk --data-dir DIR --reason TEXT\n';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { backup: { type: 'string' }, 'data-dir': { type: 'string' }, reason: { type: 'string' }, to: { type: 'string' } },
  });
  const [command] = positionals;
  if (command === 'backup' && values['data-dir'] && values.to) return backup(path.join(values['data-dir'], 'node.sqlite'), values.to);
  const dataDir = values['data-dir'];
  const reason = values.reason?.trim();
  if (!dataDir || !reason || (command !== 'restore' && command !== 'new-disk') || (command === 'restore' && !values.backup)) {
    process.stderr.write(USAGE);
    return 2;
  }
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
  console.log(`${command === 'restore' ? `restored ${values.backup} to ${store}` : `marked ${dataDir} as a new store`}; the node reconciles with every peer at its next start and serves no booking until then`);
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

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
