// The store procedures an operator runs while the node is STOPPED (docs/OPERATIONS.md):
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
import { RECONCILE_MARKER_FILE } from '../durability/store-identity.js';

const USAGE = 'usage: store restore --backup FILE --data-dir DIR --reason TEXT | store new-disk --data-dir DIR --reason TEXT\n';

function main(): number {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { backup: { type: 'string' }, 'data-dir': { type: 'string' }, reason: { type: 'string' } },
  });
  const [command] = positionals;
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

process.exit(main());
