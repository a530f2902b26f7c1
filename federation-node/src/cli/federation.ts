// `npm start`: a local federation of the seeded observatories, each a separate node process
// with its own port and data directory, all logging to this terminal. Ctrl-C stops them.
//   LOCAL_BASE_PORT (default 7101)   first port; the others follow
//   LOCAL_DATA_DIR  (default ./data)  one folder per observatory below it
//   LOCAL_KEYS_DIR  (default ./keys)  secrets and API tokens, made on the first start (npm run keys)
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCatalog, readScientists } from '../../../seeds/catalog.js';
import { ensureLocalKeys } from '../security/local-keys.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../main.js');

function main(): void {
  const catalog = readCatalog(process.env.CATALOG_FILE ?? 'seeds/catalog.json');
  const basePort = Number(process.env.LOCAL_BASE_PORT ?? 7101);
  const dataRoot = path.resolve(process.env.LOCAL_DATA_DIR ?? 'data');
  const host = process.env.HOST ?? '127.0.0.1';
  const members = catalog.observatories.map((o, i) => ({ id: o.id, name: o.name, port: basePort + i }));
  const peers = members.map((m) => `${m.id}=http://${host}:${m.port}`).join(',');
  const { files, created } = ensureLocalKeys(path.resolve(process.env.LOCAL_KEYS_DIR ?? 'keys'), catalog.observatories.map((o) => o.id), readScientists().map((s) => s.id));
  process.stdout.write(`>>> ${created ? 'made new' : 'using the'} keys in ${path.dirname(files.tokensFile)}: the API tokens of every scientist and operator are in ${files.tokensFile}\n`);
  const children = new Map<string, ChildProcess>();
  let stopping = false;

  for (const member of members) {
    const child = fork(MAIN, [], {
      env: {
        FEDERATION_SECRETS_FILE: files.secretsFile,
        TOKEN_HASHES_FILE: files.tokenHashesFile,
        ...process.env,
        NODE_ID: member.id,
        PORT: String(member.port),
        HOST: host,
        FEDERATION_PEERS: peers,
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

main();
