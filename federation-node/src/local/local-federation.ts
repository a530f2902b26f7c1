// A federation of real node processes on loopback, for the tests, the benchmark and the
// crash demo: free (or fixed) ports, temporary (or given) data directories, SIGKILL and
// restart by PID, and cleanup of everything it started.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCatalog, readScientists, type ObservatorySeed } from '../../../seeds/catalog.js';
import type { MembershipStatus } from '../security/membership-reloader.js';
import { addOperatorToken, ensureLocalKeys, localMember, readLocalTokens, signingKeyFile, writeMembershipFile, type LocalKeyFiles, type LocalTokens } from '../security/local-keys.js';
import { addMember } from './membership-tools.js';
import type { PostgresCluster } from './postgres-cluster.js';

/** The documented command that runs one node: `node dist/federation-node/src/main.js`. */
export const NODE_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../main.js');

export interface NodeHandle {
  id: string;
  port: number;
  url: string;
  dataDir: string;
  dbFile: string;
  /** Set when the node runs on PostgreSQL: its own database of the federation's cluster. */
  databaseUrl?: string;
  child: ChildProcess | undefined;
  output: string[];
}

export interface FederationOptions {
  /** Observatory ids to run (default: every observatory of the catalog). */
  observatories?: string[];
  /** Members listed in the membership document (keys, URL) but not started: peers a test plays itself. */
  listedOnly?: string[];
  /** Environment for every node. */
  env?: Record<string, string>;
  /** Environment for one node. */
  nodeEnv?: Record<string, Record<string, string>>;
  /** First port (the others follow); default: free ports chosen by the system. */
  basePort?: number;
  /** Keep node output on this process's stdout/stderr instead of collecting it. */
  showOutput?: boolean;
  /** Node → peer → URL: how that node reaches that peer instead (e.g. through a test proxy). */
  routeVia?: Record<string, Record<string, string>>;
  /** Run every node on PostgreSQL: one new database per node in this cluster (default: SQLite files). */
  postgres?: PostgresCluster;
  /**
   * Observatories run as an active/standby pair on their one database (needs `postgres`): the
   * membership lists two URLs, the first process starts as the active, launch(id, {}, 'standby')
   * starts the second.
   */
  pairs?: string[];
}

/** Which process of an observatory: the only one, or the second of an active/standby pair. */
export type Process = 'primary' | 'standby';

/** How long a node may take to listen: generous, since a loaded two-core machine starts three nodes in ~16 s. */
const NODE_START_MAX_MS = 60_000;

/**
 * Every simulated scientist of a local federation shares one address (loopback), so the
 * per-address limit would throttle the load itself; tests of the limits set their own.
 */
const LOCAL_RATE_LIMITS = { RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '10000000', RATE_LIMIT_PER_TOKEN_PER_MINUTE: '10000000' };

export class LocalFederation {
  readonly nodes = new Map<string, NodeHandle>();
  /** The second process of each active/standby pair (same observatory, same database, its own port and logs). */
  readonly standbys = new Map<string, NodeHandle>();
  private readonly root: string;
  readonly keys: LocalKeyFiles;
  /** The API tokens of every seeded scientist and of each observatory's operator. */
  readonly tokens: LocalTokens;

  private constructor(private readonly options: FederationOptions) {
    this.root = mkdtempSync(path.join(os.tmpdir(), 'observatory-federation-test-'));
    const observatories = readCatalog().observatories.map((o) => o.id);
    this.keys = ensureLocalKeys(path.join(this.root, 'keys'), observatories, readScientists().map((s) => s.id)).files;
    this.tokens = readLocalTokens(this.keys);
  }

  static async start(options: FederationOptions = {}): Promise<LocalFederation> {
    const federation = new LocalFederation(options);
    const ids = options.observatories ?? readCatalog().observatories.map((o) => o.id);
    const listed = [...ids, ...(options.listedOnly ?? [])];
    for (const [index, id] of listed.entries()) {
      const port = options.basePort ? options.basePort + index : await freePort();
      await federation.withDatabase(federation.addHandle(id, port));
    }
    // CATALOG_FILE in `env`: the observatories and telescopes the membership document describes.
    const catalog = new Map(readCatalog(options.env?.CATALOG_FILE).observatories.map((o) => [o.id, o]));
    for (const id of options.pairs ?? []) {
      const primary = federation.node(id);
      const port = await freePort();
      federation.standbys.set(id, { ...primary, port, url: `http://127.0.0.1:${port}`, dataDir: `${primary.dataDir}-b`, child: undefined, output: [] });
    }
    const members = listed.map((id) => ({ ...localMember(federation.keys, catalog.get(id)!, federation.url(id)), urls: federation.urlsOf(id) }));
    writeMembershipFile(federation.keys, { federation: 'local-test', version: 1, members });
    try {
      await Promise.all(ids.map((id) => federation.launch(id)));
    } catch (error) {
      await federation.stop();
      throw error;
    }
    return federation;
  }

  private addHandle(id: string, port: number): NodeHandle {
    const dataDir = path.join(this.root, id);
    const handle = { id, port, url: `http://127.0.0.1:${port}`, dataDir, dbFile: path.join(dataDir, 'node.sqlite'), child: undefined, output: [] };
    this.nodes.set(id, handle);
    return handle;
  }

  /**
   * A new observatory joins the running federation (docs/OPERATIONS.md, "A new observatory
   * joins"): its key pair is made, it is added to the membership document, every running node
   * is waited for until it has loaded that version, then the new node starts. No other node restarts.
   */
  async join(observatory: ObservatorySeed): Promise<void> {
    ensureLocalKeys(this.keys.dir, [observatory.id], []);
    this.tokens.operators[observatory.id] = addOperatorToken(this.keys, observatory.id);
    const handle = await this.withDatabase(this.addHandle(observatory.id, await freePort()));
    const doc = addMember(this.keys, localMember(this.keys, observatory, handle.url));
    await this.membershipLoaded(doc.version, [...this.nodes.keys()].filter((id) => id !== observatory.id));
    await this.launch(observatory.id);
  }

  /** On PostgreSQL: a new database for the node, named after this federation's folder and the node. */
  private async withDatabase(handle: NodeHandle): Promise<NodeHandle> {
    if (this.options.postgres) handle.databaseUrl = await this.options.postgres.createDatabase(`${path.basename(this.root)}-${handle.id}`);
    return handle;
  }

  /** What a node has loaded (its operator's GET /admin/membership). */
  async membershipOf(id: string): Promise<MembershipStatus> {
    const response = await fetch(`${this.url(id)}/admin/membership`, { headers: { authorization: `Bearer ${this.tokens.operators[id]}` } });
    if (response.status !== 200) throw new Error(`${id}: GET /admin/membership answered ${response.status}`);
    return (await response.json()) as MembershipStatus;
  }

  /** Wait until each of `ids` (default: every running node) runs membership version `version` or later. */
  async membershipLoaded(version: number, ids = [...this.nodes.values()].filter((n) => n.child).map((n) => n.id), timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const id of ids) {
      for (;;) {
        const status = await this.membershipOf(id);
        if (status.version >= version) break;
        if (Date.now() > deadline) throw new Error(`${id} still runs membership version ${status.version}, not ${version} (last error: ${status.lastError})`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  url(id: string): string {
    return this.node(id).url;
  }

  /** Every URL of an observatory: one, or the two of a pair. */
  urlsOf(id: string): string[] {
    const standby = this.standbys.get(id);
    return standby ? [this.url(id), standby.url] : [this.url(id)];
  }

  private handleOf(id: string, which: Process): NodeHandle {
    if (which === 'primary') return this.node(id);
    const handle = this.standbys.get(id);
    if (!handle) throw new Error(`${id} is not run as an active/standby pair in this test federation`);
    return handle;
  }

  /** The process's environment when it is one of a pair. */
  private pairEnv(id: string, which: Process): Record<string, string> {
    if (!this.standbys.has(id)) return {};
    return { ACTIVE_STANDBY: 'true', PUBLIC_URL: this.handleOf(id, which).url, INSTANCE_ID: `${id}-${which === 'primary' ? 'a' : 'b'}` };
  }

  node(id: string): NodeHandle {
    const handle = this.nodes.get(id);
    if (!handle) throw new Error(`no node ${id} in this test federation`);
    return handle;
  }

  get peers(): string {
    return this.peersSeenBy(undefined);
  }

  private peersSeenBy(nodeId: string | undefined): string {
    const routes = (nodeId && this.options.routeVia?.[nodeId]) || {};
    return [...this.nodes.values()].map((n) => `${n.id}=${routes[n.id] ?? n.url}`).join(',');
  }

  /** Start (or restart) one node and wait until it listens (one of a pair: as the active or as a standby). */
  launch(id: string, extraEnv: Record<string, string> = {}, which: Process = 'primary'): Promise<void> {
    const handle = this.handleOf(id, which);
    const env = {
      ...process.env,
      NODE_ID: id,
      PORT: String(handle.port),
      ...this.pairEnv(id, which),
      ...(this.options.routeVia?.[id] ? { FEDERATION_PEERS: this.peersSeenBy(id) } : {}),
      DATA_DIR: handle.dataDir,
      ...(handle.databaseUrl ? { DATABASE_URL: handle.databaseUrl } : {}),
      DEPLOYMENT: 'test',
      LOG_TO_STDOUT: 'false',
      CLOCK_SYNC_INTERVAL_MS: '2000',
      MEMBERSHIP_FILE: this.keys.membershipFile,
      SIGNING_KEY_FILE: signingKeyFile(this.keys, id),
      MEMBERSHIP_POLL_INTERVAL_MS: '250',
      TOKEN_HASHES_FILE: this.keys.tokenHashesFile,
      ...LOCAL_RATE_LIMITS,
      ...this.options.env,
      ...this.options.nodeEnv?.[id],
      ...extraEnv,
    };
    const child = fork(NODE_MAIN, [], { env, stdio: this.options.showOutput ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'pipe', 'ipc'] });
    handle.child = child;
    const collect = (chunk: Buffer) => {
      handle.output.push(chunk.toString());
      if (handle.output.length > 200) handle.output.shift();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id} did not start within ${NODE_START_MAX_MS / 1000} s:\n${handle.output.join('')}`)), NODE_START_MAX_MS);
      child.on('message', (message: { type?: string }) => {
        if (message.type !== 'listening' && message.type !== 'standby') return;
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (handle.child === child) handle.child = undefined;
        reject(new Error(`${id} exited (${signal ?? code}) before listening:\n${handle.output.join('')}`));
      });
    });
  }

  /** Kill one node abruptly (as a power cut would) and wait until it is gone. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL', which: Process = 'primary'): Promise<void> {
    const handle = this.handleOf(id, which);
    const child = handle.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
    handle.child = undefined;
  }

  async restart(id: string, extraEnv: Record<string, string> = {}): Promise<void> {
    await this.kill(id);
    await this.launch(id, extraEnv);
  }

  /** Wait until a node exits by itself (e.g. at a fault point). */
  async exited(id: string, timeoutMs = 10_000): Promise<number | string | null> {
    const child = this.node(id).child;
    if (!child) return null;
    if (child.exitCode !== null || child.signalCode !== null) return child.signalCode ?? child.exitCode;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id} did not exit within ${timeoutMs} ms`)), timeoutMs);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(signal ?? code);
      });
    });
  }

  /** Stop every node this federation started and delete its files. */
  async stop(): Promise<void> {
    await Promise.all([...this.nodes.keys()].map((id) => this.kill(id)));
    await Promise.all([...this.standbys.keys()].map((id) => this.kill(id, 'SIGKILL', 'standby')));
    rmSync(this.root, { recursive: true, force: true });
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}
