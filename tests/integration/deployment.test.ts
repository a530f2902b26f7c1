// The container deployment, checked without a Docker engine: docker-compose.yml as
// docker-compose itself resolves it (`docker-compose config`, Debian's package, which .ci/run
// installs), against seeds/catalog.json, .env.example and the node's own configuration
// schema; the compose healthcheck run against real nodes started with the environment compose
// gives them; and the Dockerfile read statically. The image itself is never built here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parse } from 'yaml';
import { ConfigSchema, loadConfig } from '../../federation-node/src/config/config.js';
import { readCatalog } from '../../seeds/catalog.js';
import { LocalFederation } from '../support/federation-harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const COMPOSE_FILE = 'docker-compose.yml';
const FIRST_PORT = 7101;

const catalogIds = readCatalog().observatories.map((o) => o.id);
const expectedPort = (id: string) => FIRST_PORT + catalogIds.indexOf(id);

/** The variables .env.example documents (every `NAME=` line), in order. */
function documentedVariables(): Map<string, string> {
  const text = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) vars.set(m[1]!, m[2]!);
  }
  return vars;
}

// --- docker-compose config, normalised (v1 prints strings where v2 prints objects) ----------

interface Service {
  environment: Record<string, string>;
  ports: Array<{ hostIp: string; published: number; target: number }>;
  volumes: Array<{ source: string; target: string; type: string }>;
  restart?: string;
  image?: string;
  build?: string;
  healthcheck?: { test: string[] };
  env_file?: unknown;
}

interface ComposeConfig {
  /** The services `docker compose up` starts (no profile). */
  services: Record<string, Service>;
  /** Services of a profile (postgres), with the raw definition. */
  profiled: Record<string, { profiles: string[]; raw: Record<string, unknown>; service: Service }>;
  volumes: Record<string, unknown>;
}

const INSTALL_HINT =
  'docker-compose is not installed, so docker-compose.yml cannot be validated. .ci/run installs it ' +
  '(apt-get install -y docker-compose, Debian\'s package; no Docker engine is needed); on this machine run: apt-get install -y docker-compose';

let scratch: string;

/** `docker-compose config` on the repository's compose file, with only the given substitution variables. */
function composeConfig(variables: Record<string, string> = {}): ComposeConfig {
  // An explicit, empty --env-file: a developer's own .env (read by compose for substitution)
  // and their shell's OBSERVATORY_* / COMPOSE_* variables do not change what is checked.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OBSERVATORY_') && !k.startsWith('COMPOSE_')));
  const envFile = path.join(scratch, 'substitutions.env');
  writeFileSync(envFile, '');
  const run = spawnSync('docker-compose', ['--env-file', envFile, '-f', COMPOSE_FILE, 'config'], {
    cwd: ROOT,
    env: { ...env, ...variables },
    encoding: 'utf8',
  });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(INSTALL_HINT);
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`docker-compose -f ${COMPOSE_FILE} config failed (exit ${run.status}):\n${run.stderr}`);
  return normalise(parse(run.stdout));
}

function normalise(raw: { services: Record<string, Record<string, unknown>>; volumes?: Record<string, unknown> }): ComposeConfig {
  const services: Record<string, Service> = {};
  const profiled: ComposeConfig['profiled'] = {};
  for (const [name, s] of Object.entries(raw.services)) {
    const environment = Array.isArray(s.environment)
      ? Object.fromEntries((s.environment as string[]).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
      : Object.fromEntries(Object.entries((s.environment ?? {}) as Record<string, unknown>).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]));
    const ports = ((s.ports ?? []) as Array<string | Record<string, unknown>>).map((p) => {
      if (typeof p !== 'string') return { hostIp: String(p.host_ip ?? ''), published: Number(p.published), target: Number(p.target) };
      const parts = p.replace(/\/(tcp|udp)$/, '').split(':');
      const target = Number(parts.pop());
      const published = Number(parts.pop());
      return { hostIp: parts.join(':'), published, target };
    });
    const volumes = ((s.volumes ?? []) as Array<string | Record<string, unknown>>).map((v) => {
      if (typeof v !== 'string') return { source: String(v.source), target: String(v.target), type: String(v.type) };
      const [source, target] = v.split(':');
      return { source: source!, target: target!, type: source!.startsWith('/') || source!.startsWith('.') ? 'bind' : 'volume' };
    });
    const build = s.build === undefined ? undefined : typeof s.build === 'string' ? s.build : String((s.build as { context: string }).context);
    const healthcheck = s.healthcheck as { test: string[] } | undefined;
    const service = { environment, ports, volumes, restart: s.restart as string, image: s.image as string, build, healthcheck: healthcheck!, env_file: s.env_file };
    if (Array.isArray(s.profiles)) profiled[name] = { profiles: s.profiles as string[], raw: s, service };
    else services[name] = service;
  }
  return { services, profiled, volumes: raw.volumes ?? {} };
}

function peersOf(env: Record<string, string>): Array<[string, string]> {
  return (env.FEDERATION_PEERS ?? '').split(',').filter(Boolean).map((pair) => pair.split('=') as [string, string]);
}

describe('deployment: docker-compose.yml, as docker-compose resolves it', function () {
  this.timeout(60_000);
  let config: ComposeConfig;

  before(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'observatory-deployment-test-'));
    config = composeConfig();
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('is valid for docker-compose on a fresh clone (no .env: .env.example is the env_file)', () => {
    expect(Object.keys(config.services)).to.not.be.empty;
    const documented = documentedVariables();
    for (const [name, service] of Object.entries(config.services)) {
      // Every documented variable reaches the container, from .env.example.
      for (const variable of documented.keys()) expect(service.environment, `${name} gets ${variable} from the env_file`).to.have.property(variable);
    }
  });

  it('runs one service per observatory of seeds/catalog.json, named by its id, with NODE_ID = that id', () => {
    expect(Object.keys(config.services).sort()).to.deep.equal([...catalogIds].sort());
    for (const [name, service] of Object.entries(config.services)) expect(service.environment.NODE_ID, name).to.equal(name);
  });

  it('gives the observatories ports 7101, 7102, ... in catalog order, listened on (0.0.0.0) and published on the same number', () => {
    for (const [name, service] of Object.entries(config.services)) {
      const port = expectedPort(name);
      expect(service.environment.PORT, `${name} PORT`).to.equal(String(port));
      expect(service.environment.HOST, `${name} HOST`).to.equal('0.0.0.0');
      expect(service.ports.map((p) => [p.published, p.target]), `${name} ports`).to.deep.equal([[port, port]]);
    }
  });

  it('lists every observatory in FEDERATION_PEERS, in catalog order, at its compose service URL, and PUBLIC_URL is the service\'s own entry', () => {
    for (const [name, service] of Object.entries(config.services)) {
      const peers = peersOf(service.environment);
      expect(peers, `${name} FEDERATION_PEERS`).to.deep.equal(catalogIds.map((id) => [id, `http://${id}:${expectedPort(id)}`]));
      expect(service.environment.PUBLIC_URL, `${name} PUBLIC_URL`).to.equal(`http://${name}:${expectedPort(name)}`);
    }
  });

  it('keeps each observatory\'s durable data (DATA_DIR) on a named volume of its own', () => {
    const sources = new Set<string>();
    for (const [name, service] of Object.entries(config.services)) {
      const dataDir = service.environment.DATA_DIR;
      expect(dataDir, `${name} DATA_DIR`).to.match(/^\//);
      const mount = service.volumes.find((v) => v.target === dataDir);
      expect(mount, `${name} mounts a volume on DATA_DIR ${dataDir}`).to.not.equal(undefined);
      expect(mount!.type, `${name} data volume type`).to.equal('volume');
      expect(config.volumes, 'declared at the top level').to.have.property(mount!.source);
      expect(sources.has(mount!.source), `${mount!.source} is shared`).to.equal(false);
      sources.add(mount!.source);
      // Logs default to <DATA_DIR>/logs: on the volume too, unless LOG_DIR says otherwise.
      expect(service.environment.LOG_DIR ?? '', `${name} LOG_DIR`).to.equal('');
    }
  });

  it('builds one image from the repository\'s Dockerfile for every service, restarts unless stopped, logs to stdout', () => {
    const images = new Set(Object.values(config.services).map((s) => s.image));
    expect(images.size, 'one image').to.equal(1);
    for (const [name, service] of Object.entries(config.services)) {
      expect(path.resolve(ROOT, service.build ?? '<no build>'), `${name} build context`).to.equal(ROOT);
      expect(service.restart, `${name} restart`).to.equal('unless-stopped');
      expect(service.environment.LOG_TO_STDOUT, `${name} LOG_TO_STDOUT`).to.equal('true');
    }
  });

  it('sets only variables that .env.example documents, and every variable the node requires', () => {
    const documented = documentedVariables();
    const required = Object.entries(ConfigSchema.shape)
      .filter(([, schema]) => !(schema as { safeParse: (v: unknown) => { success: boolean } }).safeParse(undefined).success)
      .map(([name]) => name);
    expect(required, 'the node has required variables (NODE_ID, MEMBERSHIP_FILE, SIGNING_KEY_FILE)').to.include.members(['NODE_ID', 'MEMBERSHIP_FILE', 'SIGNING_KEY_FILE']);
    for (const [name, service] of Object.entries(config.services)) {
      for (const variable of Object.keys(service.environment)) expect(documented.has(variable), `${name} sets ${variable}, which .env.example does not document`).to.equal(true);
      for (const variable of required) expect(service.environment[variable] ?? '', `${name} sets the required ${variable}`).to.not.equal('');
    }
  });

  it('gives every service an environment the node\'s own configuration accepts: its id, its port, its data volume, atacama as time reference', () => {
    for (const [name, service] of Object.entries(config.services)) {
      const loaded = loadConfig(service.environment);
      expect(loaded.NODE_ID).to.equal(name);
      expect(loaded.PORT).to.equal(expectedPort(name));
      expect(loaded.HOST).to.equal('0.0.0.0');
      expect(loaded.dataDir).to.equal(service.environment.DATA_DIR);
      expect(loaded.publicUrl).to.equal(`http://${name}:${expectedPort(name)}`);
      expect(loaded.MEMBERSHIP_FILE, 'the membership document in the mounted keys folder (a folder, so a replaced file is seen)').to.equal('/run/observatory-keys/membership.json');
      expect(loaded.SIGNING_KEY_FILE, 'its own private key only').to.equal(`/run/observatory-keys/signing/${name}.pem`);
      expect(loaded.TIME_REFERENCE, 'the document\'s first member (atacama) is the time reference').to.equal(undefined);
      expect(loaded.FAULT_POINTS, 'no fault injection by default').to.equal('');
    }
  });

  it('takes an operator\'s env file (OBSERVATORY_ENV_FILE) for tuning, but it cannot change which observatory a service is, its port or its data directory', () => {
    const own = path.join(scratch, 'operator.env');
    const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    writeFileSync(own, `${example}\nLOG_LEVEL=debug\nNODE_ID=mauna-kea\nPORT=9999\nDATA_DIR=/tmp/elsewhere\nHOST=127.0.0.1\nFEDERATION_PEERS=atacama=http://127.0.0.1:7101\n`);
    const tuned = composeConfig({ OBSERVATORY_ENV_FILE: own });
    for (const [name, service] of Object.entries(tuned.services)) {
      expect(service.environment.LOG_LEVEL, `${name} takes LOG_LEVEL from the operator's file`).to.equal('debug');
      expect(service.environment.NODE_ID).to.equal(name);
      expect(service.environment.PORT).to.equal(String(expectedPort(name)));
      expect(service.environment.DATA_DIR).to.equal(config.services[name]!.environment.DATA_DIR);
      expect(service.environment.HOST).to.equal('0.0.0.0');
      expect(service.environment.FEDERATION_PEERS).to.equal(config.services[name]!.environment.FEDERATION_PEERS);
    }
  });

  it('publishes the ports on 127.0.0.1 only by default, like npm start, and on every interface with OBSERVATORY_PUBLISH_ADDRESS=0.0.0.0', () => {
    for (const service of Object.values(config.services)) expect(service.ports.map((p) => p.hostIp)).to.deep.equal(['127.0.0.1']);
    const open = composeConfig({ OBSERVATORY_PUBLISH_ADDRESS: '0.0.0.0' });
    for (const service of Object.values(open.services)) expect(service.ports.map((p) => p.hostIp)).to.deep.equal(['0.0.0.0']);
  });

  it('profile postgres: a PostgreSQL server with fsync and synchronous_commit on, and a second atacama process that is always one of a pair on atacama\'s database', () => {
    expect(Object.keys(config.profiled).sort()).to.deep.equal(['atacama-standby', 'postgres']);
    for (const { profiles } of Object.values(config.profiled)) expect(profiles).to.deep.equal(['postgres']);
    const command = (config.profiled.postgres!.raw.command as string[]).join(' ');
    expect(command).to.contain('fsync=on').and.contain('synchronous_commit=on');
    const url = 'postgres://observatory:observatory@postgres:5432/atacama';
    const paired = composeConfig({ OBSERVATORY_ATACAMA_DATABASE_URL: url, OBSERVATORY_ATACAMA_ACTIVE_STANDBY: 'true', OBSERVATORY_FEDERATION_PEERS: 'mauna-kea=http://mauna-kea:7102,la-palma=http://la-palma:7103' });
    const [active, standby] = [paired.services.atacama!.environment, paired.profiled['atacama-standby']!.service.environment];
    expect([active.DATABASE_URL, standby.DATABASE_URL]).to.deep.equal([url, url]);
    expect([active.ACTIVE_STANDBY, standby.ACTIVE_STANDBY, standby.NODE_ID]).to.deep.equal(['true', 'true', 'atacama']);
    expect(active.INSTANCE_ID).to.not.equal(standby.INSTANCE_ID);
    expect(loadConfig(standby).ACTIVE_STANDBY).to.equal(true);
    // Without the profile's variables the standby refuses to start rather than be a second atacama on SQLite.
    expect(() => loadConfig(config.profiled['atacama-standby']!.service.environment)).to.throw(/ACTIVE_STANDBY=true needs DATABASE_URL/);
  });

  describe('the healthcheck, run against real nodes started with the environment compose gives them', function () {
    this.timeout(90_000);
    let federation: LocalFederation;
    // What differs outside a container: addresses, ports and data directories.
    const HOST_SPECIFIC = new Set(['HOST', 'PORT', 'PUBLIC_URL', 'FEDERATION_PEERS', 'DATA_DIR', 'LOG_DIR', 'MEMBERSHIP_FILE', 'SIGNING_KEY_FILE', 'TOKEN_HASHES_FILE']);

    before(async () => {
      const nodeEnv = Object.fromEntries(
        Object.entries(config.services).map(([name, s]) => [name, { ...Object.fromEntries(Object.entries(s.environment).filter(([k]) => !HOST_SPECIFIC.has(k))), HOST: '127.0.0.1' }]),
      );
      federation = await LocalFederation.start({ observatories: catalogIds, nodeEnv });
    });
    after(async () => federation?.stop());

    function healthcheck(name: string, port: number): number | null {
      const test = config.services[name]!.healthcheck!.test;
      expect(test[0], 'exec form, no shell needed').to.equal('CMD');
      expect(test[1], 'node itself: the slim image has no curl or wget').to.equal('node');
      const run = spawnSync(process.execPath, test.slice(2), { env: { ...process.env, PORT: String(port) }, encoding: 'utf8', timeout: 10_000 });
      return run.status;
    }

    it('asks GET /ready on the service\'s own PORT, and passes on every node once it is ready', async () => {
      for (const name of catalogIds) {
        expect(config.services[name]!.healthcheck!.test.join(' ')).to.contain('/ready').and.to.contain('process.env.PORT');
        const port = federation.node(name).port;
        let status: number | null = null;
        for (let attempt = 0; attempt < 20 && status !== 0; attempt++) {
          status = healthcheck(name, port);
          if (status !== 0) await new Promise((r) => setTimeout(r, 250));
        }
        expect(status, `healthcheck of ${name}`).to.equal(0);
      }
    });

    it('fails when nothing answers on the port (a killed node is reported unhealthy)', async () => {
      const port = federation.node('la-palma').port;
      await federation.kill('la-palma');
      expect(healthcheck('la-palma', port)).to.not.equal(0);
    });
  });
});
