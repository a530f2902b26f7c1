// `npm start`: a local federation of the seeded observatories, each a separate node process
// with its own port and data directory, all logging to this terminal. Ctrl-C stops them.
//   LOCAL_BASE_PORT (default 7101)   first port; the others follow
//   LOCAL_DATA_DIR  (default ./data)  one folder per observatory below it
//   LOCAL_KEYS_DIR  (default ./keys)  key pairs and API tokens, made on the first start (npm run keys)
//   LOCAL_REMOTE_MEMBERS (default <keys>/remote-members.json, if present)  members run elsewhere:
//                   a JSON array of membership entries added to the document
// It writes <keys>/membership.json (the membership document every node reads and reloads).
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { readCatalog, readScientists } from '../../../seeds/catalog.js';
import { ensureLocalKeys, localMember, signingKeyFile, writeMembershipFile, type LocalKeyFiles } from '../security/local-keys.js';
import { MemberEntry, MembershipDocument } from '../security/membership.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../main.js');

function main(): void {
  const catalog = readCatalog(process.env.CATALOG_FILE ?? 'seeds/catalog.json');
  const basePort = Number(process.env.LOCAL_BASE_PORT ?? 7101);
  const dataRoot = path.resolve(process.env.LOCAL_DATA_DIR ?? 'data');
  const host = process.env.HOST ?? '127.0.0.1';
  const members = catalog.observatories.map((o, i) => ({ id: o.id, name: o.name, port: basePort + i }));
  const { files, created } = ensureLocalKeys(path.resolve(process.env.LOCAL_KEYS_DIR ?? 'keys'), catalog.observatories.map((o) => o.id), readScientists().map((s) => s.id));
  process.stdout.write(`>>> ${created ? 'made new' : 'using the'} keys in ${files.dir}: the API tokens of every scientist and operator are in ${files.tokensFile}\n`);
  const remote = remoteMembers(files);
  const local = catalog.observatories.map((o, i) => localMember(files, o, `http://${host}:${basePort + i}`));
  writeMembershipFile(files, MembershipDocument.parse({ federation: 'local', version: nextVersion(files), members: [...local, ...remote] }));
  process.stdout.write(`>>> membership document ${files.membershipFile}: ${local.length} local member(s)${remote.length ? `, ${remote.length} run elsewhere (${remote.map((m) => m.id).join(', ')})` : ''}\n`);
  const children = new Map<string, ChildProcess>();
  let stopping = false;

  for (const member of members) {
    const child = fork(MAIN, [], {
      env: {
        TOKEN_HASHES_FILE: files.tokenHashesFile,
        ...process.env,
        MEMBERSHIP_FILE: files.membershipFile,
        SIGNING_KEY_FILE: signingKeyFile(files, member.id),
        NODE_ID: member.id,
        PORT: String(member.port),
        HOST: host,
        DATA_DIR: path.join(dataRoot, member.id),
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.set(member.id, child);
    child.on('message', (message: { type?: string; url?: string }) => {
      if (message.type === 'listening') process.stdout.write(`\n>>> ${member.name} (${member.id}) is up at ${message.url}\n\n`);
    });
    child.on('exit', (code, signal) => {
      children.delete(member.id);
      if (!stopping) process.stdout.write(`\n>>> ${member.id} exited (${signal ?? `code ${code}`}); the others keep running\n\n`);
      if (stopping && children.size === 0) process.exit(0);
    });
  }
  process.stdout.write(`>>> starting ${members.length} observatories: ${members.map((m) => `${m.id} on port ${m.port}`).join(', ')}; Ctrl-C stops them\n`);

  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\n>>> stopping the federation\n');
    if (children.size === 0) process.exit(0);
    for (const child of children.values()) child.kill('SIGTERM');
    setTimeout(() => {
      for (const child of children.values()) child.kill('SIGKILL');
      process.exit(1);
    }, 10_000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** Members run elsewhere, to list in the local federation's document (LOCAL_REMOTE_MEMBERS). */
function remoteMembers(files: LocalKeyFiles): MemberEntry[] {
  const file = process.env.LOCAL_REMOTE_MEMBERS ?? path.join(files.dir, 'remote-members.json');
  if (!existsSync(file)) return [];
  return z.array(MemberEntry).parse(JSON.parse(readFileSync(file, 'utf8')));
}

/** A restart writes a newer version, so that running nodes elsewhere see the change. */
function nextVersion(files: LocalKeyFiles): number {
  try {
    return (JSON.parse(readFileSync(files.membershipFile, 'utf8')) as { version: number }).version + 1;
  } catch {
    return 1;
  }
}

main();
