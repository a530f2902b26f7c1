// Files a node writes are its own (docs/SECURITY.md, "Permissions"): the process umask is
// 077, so every database, log and key it creates is 0600 in a 0700 folder; at start-up the
// data folder and what an older version left in it with looser modes are tightened too.
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

export const PRIVATE_UMASK = 0o077;

/**
 * Make `dir` (and the files and folders directly in it, one level down) readable only by this
 * user. Symbolic links are left alone (lstat): the rotating log's fixed names are links, which
 * may point at a file not written yet, and a link's target is tightened under its own name.
 */
export function restrictToOwner(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (const name of readdirSync(dir)) {
    const entry = path.join(dir, name);
    const stat = lstatSync(entry);
    if (stat.isDirectory()) {
      chmodSync(entry, 0o700);
      for (const inner of readdirSync(entry)) if (lstatSync(path.join(entry, inner)).isFile()) chmodSync(path.join(entry, inner), 0o600);
    } else if (stat.isFile()) chmodSync(entry, 0o600);
  }
}

export function ownerOnlyFromNowOn(): void {
  process.umask(PRIVATE_UMASK);
}
