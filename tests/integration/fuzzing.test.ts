// Property-based fuzzing (fast-check) of every public and inter-node endpoint of a real node:
// random and malformed bodies, headers, ids and encodings. Never a 5xx, never a crash, and a
// refused request changes nothing in the database (SQLite's data_version, read on a
// connection of our own, moves whenever the node commits anything).
import { expect } from 'chai';
import fc from 'fast-check';
import sqlite3 from 'sqlite3';
import type { AxiosInstance, AxiosResponse } from 'axios';
import { LocalFederation } from '../support/federation-harness.js';
import { httpClient } from '../support/http-client.js';
import { peerAuthFrom, signedClient } from '../support/signing.js';
import { at } from '../support/slots.js';
import { fuzzBody, fuzzHeaders, fuzzId, fuzzSafeId, PUBLIC_ENDPOINTS, PROTOCOL_ENDPOINTS, type FuzzEndpoint } from '../support/fuzz-arbitraries.js';

const RUNS = { public: 5_000, protocolSigned: 3_000, protocolUnsigned: 2_000 };

describe('fuzzing every endpoint with random and malformed requests (fast-check)', function () {
  this.timeout(600_000);
  let federation: LocalFederation;
  let watcher: sqlite3.Database;
  let api: AxiosInstance;
  let fromMaunaKea: AxiosInstance;
  let requests = 0;

  const dataVersion = () => new Promise<number>((resolve, reject) => watcher.get('PRAGMA data_version', (e, row: { data_version: number }) => (e ? reject(e) : resolve(row.data_version))));
  const settle = async () => {
    for (let last = await dataVersion(); ; ) {
      await new Promise((r) => setTimeout(r, 30));
      const now = await dataVersion();
      if (now === last) return;
      last = now;
    }
  };

  before(async () => {
    federation = await LocalFederation.start({ observatories: ['atacama', 'mauna-kea'], env: { BODY_BYTES_MAX: '8192' } });
    watcher = new sqlite3.Database(federation.node('atacama').dbFile, sqlite3.OPEN_READONLY);
    api = httpClient(federation.url('atacama'));
    fromMaunaKea = signedClient(federation.url('atacama'), peerAuthFrom(federation.keys, 'mauna-kea'), 'atacama');
  });
  after(async () => {
    watcher?.close();
    await federation?.stop();
  });

  /**
   * The machine's own clock may be stepped under load (seen: +1005 ms against the monotonic
   * clock); the node then honestly refuses new work, naming the jump, for CLOCK_JUMP_HOLD_MS.
   * That answer is correct and changes nothing: the same request is sent again once it passed.
   */
  async function afterClockSteps(send: () => Promise<AxiosResponse>): Promise<AxiosResponse> {
    for (let attempt = 0; ; attempt += 1) {
      const res = await send();
      const refusedForClock = res.status === 503 && /jumped .* \(wall clock against monotonic clock\)/.test(String((res.data as { detail?: unknown } | undefined)?.detail));
      if (!refusedForClock || attempt === 30) return res;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** Sends one fuzzed request and checks the property; returns nothing, throws on a violation. */
  async function probe(client: AxiosInstance, endpoint: FuzzEndpoint, id: string, body: unknown, headers: Record<string, string>, raw: boolean): Promise<void> {
    const before = await dataVersion();
    const url = endpoint.path.replace('{id}', id);
    const data = encode(body, raw);
    const res = await afterClockSteps(() => client.request({ method: endpoint.method, url, data, headers, transformRequest: [(d: unknown) => d], validateStatus: () => true, timeout: 10_000 }));
    requests += 1;
    expect(res.status, `${endpoint.method} ${url} → ${res.status} ${JSON.stringify(res.data)?.slice(0, 300)}`).to.be.below(500);
    if (res.status >= 400) {
      expect(res.headers['content-type'], `${endpoint.method} ${url}`).to.contain('application/problem+json');
      expect(await dataVersion(), `${endpoint.method} ${url} was refused (${res.status}) but changed the database`).to.equal(before);
    } else {
      await settle();
    }
  }

  const requestArb = (endpoints: FuzzEndpoint[], ids = fuzzId()) =>
    fc.record({ endpoint: fc.constantFrom(...endpoints), id: ids, body: fuzzBody(at(50, 3)), headers: fuzzHeaders(), raw: fc.boolean() });

  it(`never answers 5xx nor changes the database for a refused request: ${RUNS.public} requests to the public API`, async () => {
    const tokens = [federation.tokens.scientists['vera-rubin']!, federation.tokens.operators.atacama!];
    await fc.assert(
      fc.asyncProperty(requestArb(PUBLIC_ENDPOINTS), fc.constantFrom(undefined, ...tokens), async (r, token) => {
        const { Authorization: junk, ...rest } = r.headers;
        const headers = { ...rest, ...(junk ? { Authorization: junk } : token ? { Authorization: `Bearer ${token}` } : {}) };
        await probe(api, r.endpoint, r.id, r.body, headers, r.raw);
      }),
      { numRuns: RUNS.public, seed: 20261123 },
    );
  });

  it(`never answers 5xx nor changes the database for a refused request: ${RUNS.protocolSigned} correctly signed, malformed protocol messages`, async () => {
    await fc.assert(
      fc.asyncProperty(requestArb(PROTOCOL_ENDPOINTS, fuzzSafeId()), async (r) => {
        const headers = { ...Object.fromEntries(Object.entries(r.headers).filter(([name]) => !/^(signature|signature-input|content-digest|content-type)$/i.test(name))), 'Content-Type': 'application/json' };
        await probe(fromMaunaKea, r.endpoint, r.id, r.body, headers, r.raw);
      }),
      { numRuns: RUNS.protocolSigned, seed: 42 },
    );
  });

  it(`refuses every unsigned or forged protocol message with 401, changing nothing: ${RUNS.protocolUnsigned} requests`, async () => {
    await fc.assert(
      fc.asyncProperty(requestArb(PROTOCOL_ENDPOINTS), async (r) => {
        const before = await dataVersion();
        const url = r.endpoint.path.replace('{id}', r.id);
        const res = await afterClockSteps(() => api.request({ method: r.endpoint.method, url, data: encode(r.body, r.raw), headers: r.headers, transformRequest: [(d: unknown) => d] }));
        requests += 1;
        expect(res.status, `${r.endpoint.method} ${url}`).to.be.oneOf([400, 401, 404, 405, 413, 415]);
        expect(await dataVersion()).to.equal(before);
      }),
      { numRuns: RUNS.protocolUnsigned, seed: 7 },
    );
  });

  it('is still alive and serving after every fuzzed request, and made at least 10,000 of them', async () => {
    expect(requests).to.be.at.least(10_000);
    expect(federation.node('atacama').child?.exitCode).to.equal(null);
    expect((await api.get('/health')).status).to.equal(200);
  });
});

/** A string body goes as it is in raw mode (not JSON at all); anything else as JSON text. */
function encode(body: unknown, raw: boolean): string | undefined {
  if (body === undefined) return undefined;
  return raw && typeof body === 'string' ? body : JSON.stringify(body);
}
