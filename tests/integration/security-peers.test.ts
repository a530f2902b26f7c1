// Between observatories: every refusal of docs/SECURITY.md through real HTTP to real nodes,
// and a tampering proxy between two real nodes that cannot make a coordinator commit.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { expect } from 'chai';
import type { AxiosResponse } from 'axios';
import { readSigningKey } from '../../federation-node/src/security/key-ring.js';
import { newSigningKey, signingKeyFile } from '../../federation-node/src/security/local-keys.js';
import { signRequest } from '../../federation-node/src/security/message-signatures.js';
import { LocalFederation, freePort } from '../support/federation-harness.js';
import { federationClient, httpClient } from '../support/http-client.js';
import { peerAuthFrom, signedClient, vouchedPart } from '../support/signing.js';
import type { LocalKeyFiles } from '../../federation-node/src/security/local-keys.js';
import { item } from '../support/slots.js';
import { queryFile } from '../support/sqlite.js';

const txId = (coordinator = 'atacama') => `${coordinator}.${randomBytes(12).toString('base64url')}`;

let federationKeys: LocalKeyFiles | undefined;

/** A prepare for vera-rubin (of atacama), vouched for by atacama once the test federation runs. */
function prepare(id: string, day: number, telescopeId = 'la-palma-gtc', coordinatorId = 'atacama') {
  const now = Date.now();
  const part = { bookingId: id, scientistId: 'vera-rubin', items: [item(telescopeId, day, 5)] };
  return { type: 'prepare', txId: id, kind: 'book', coordinatorId, participants: ['la-palma'], timestampMs: now, deadlineMs: now + 10_000, payload: federationKeys ? vouchedPart(federationKeys, 'atacama', 'la-palma', part) : part };
}

function expectRefused(res: AxiosResponse, status: 401 | 403, detailPart: string): void {
  expect(res.status, JSON.stringify(res.data)).to.equal(status);
  expect(res.headers['content-type']).to.contain('application/problem+json');
  expect(res.data.detail).to.contain(detailPart);
}

describe('security: signed messages between observatories', function () {
  this.timeout(90_000);
  let federation: LocalFederation;
  const path = (id: string, action = 'prepare') => `/federation/v1/transactions/${id}/${action}`;

  before(async () => {
    federation = await LocalFederation.start();
    federationKeys = federation.keys;
  });
  after(async () => {
    federationKeys = undefined;
    await federation?.stop();
  });

  const laPalmaFrom = (sender: string) => signedClient(federation.url('la-palma'), peerAuthFrom(federation.keys, sender), 'la-palma');
  const holds = async (id: string) => queryFile(federation.node('la-palma').dbFile, 'SELECT * FROM slot_claims WHERE booking_id = ?', [id]);

  it('accepts a correctly signed prepare and signs its answer', async () => {
    const id = txId();
    const res = await laPalmaFrom('atacama').post(path(id), prepare(id, 300));
    expect(res.status).to.equal(200);
    expect(res.data.vote).to.equal('yes');
    expect(res.headers['signature-input']).to.match(/^fed=\("@status" "content-digest" "@method";req "@path";req "signature";req;key="fed"\);.*keyid="la-palma:[A-Za-z0-9_-]{12}";alg="ed25519"$/);
    await laPalmaFrom('atacama').post(path(id, 'release'), { type: 'abort', txId: id, from: 'atacama' });
  });

  it('refuses an unsigned message with 401, and holds nothing', async () => {
    const id = txId();
    expectRefused(await httpClient(federation.url('la-palma')).post(path(id), prepare(id, 301)), 401, 'not signed');
    expect(await holds(id)).to.deep.equal([]);
  });

  it('refuses a message signed with a key no member lists, or with a key other than the one its keyid names', async () => {
    const id = txId();
    const body = JSON.stringify(prepare(id, 302));
    const unknown = signRequest({ method: 'POST', target: path(id), body }, 'andromeda:k1', newSigningKey(), Math.floor(Date.now() / 1000));
    expectRefused(await httpClient(federation.url('la-palma')).post(path(id), body, { headers: { ...unknown, 'content-type': 'application/json' } }), 401, 'unknown key "andromeda:k1"');
    const forged = signRequest({ method: 'POST', target: path(id), body }, peerAuthFrom(federation.keys, 'atacama').keyId, newSigningKey(), Math.floor(Date.now() / 1000));
    expectRefused(await httpClient(federation.url('la-palma')).post(path(id), body, { headers: { ...forged, 'content-type': 'application/json' } }), 401, 'does not match');
    expect(await holds(id)).to.deep.equal([]);
  });

  it('refuses a body altered after signing', async () => {
    const id = txId();
    const auth = peerAuthFrom(federation.keys, 'atacama');
    const signature = auth.signRequest('la-palma', 'POST', path(id), JSON.stringify(prepare(id, 303)));
    const altered = JSON.stringify(prepare(id, 304));
    expectRefused(await httpClient(federation.url('la-palma')).post(path(id), altered, { headers: { ...signature, 'content-type': 'application/json' } }), 401, 'Content-Digest');
  });

  it('refuses a signature whose creation time is outside the allowed skew', async () => {
    const id = txId();
    const body = JSON.stringify(prepare(id, 305));
    const key = readSigningKey(signingKeyFile(federation.keys, 'atacama'));
    const stale = signRequest({ method: 'POST', target: path(id), body }, peerAuthFrom(federation.keys, 'atacama').keyId, key, Math.floor(Date.now() / 1000) - 120);
    expectRefused(await httpClient(federation.url('la-palma')).post(path(id), body, { headers: { ...stale, 'content-type': 'application/json' } }), 401, 'SIGNATURE_MAX_SKEW_S');
  });

  it('refuses a replayed message (its nonce was already used)', async () => {
    const id = txId();
    const body = JSON.stringify({ type: 'abort', txId: id, from: 'atacama' });
    const signature = peerAuthFrom(federation.keys, 'atacama').signRequest('la-palma', 'POST', path(id, 'release'), body);
    const send = () => httpClient(federation.url('la-palma')).post(path(id, 'release'), body, { headers: { ...signature, 'content-type': 'application/json' } });
    expect((await send()).status).to.equal(200);
    expectRefused(await send(), 401, 'replayed');
  });

  it('refuses with 403 a message whose sender is not its signer, and a prepare for a telescope the node does not own', async () => {
    const id = txId('mauna-kea');
    expectRefused(await laPalmaFrom('atacama').post(path(id), prepare(id, 306, 'la-palma-gtc', 'mauna-kea')), 403, 'signed by atacama');
    const decided = txId('mauna-kea');
    expectRefused(await laPalmaFrom('atacama').post(path(decided, 'commit'), { type: 'commit', txId: decided, from: 'mauna-kea' }), 403, 'signed by atacama');
    const foreign = txId();
    expectRefused(await laPalmaFrom('atacama').post(path(foreign), prepare(foreign, 307, 'atacama-ut1')), 403, 'does not own atacama-ut1');
  });

  it('audits every refusal as ACCESS_REFUSED at the refusing node', async () => {
    const audit = readFileSync(`${federation.node('la-palma').dataDir}/logs/la-palma.audit.jsonl`, 'utf8');
    const refusals = audit.split('\n').filter((l) => l.includes('"ACCESS_REFUSED"')).map((l) => JSON.parse(l));
    expect(refusals.map((r) => r.details.status)).to.include.members([401, 403]);
    expect(refusals.every((r) => r.details.path.startsWith('/federation/v1/'))).to.equal(true);
  });
});

describe('security: a tampering proxy between two real observatories', function () {
  this.timeout(90_000);
  let federation: LocalFederation;
  let proxy: http.Server;

  before(async () => {
    // atacama reaches la-palma through a proxy that turns every "no" vote into "yes".
    const proxyPort = await freePort();
    federation = await LocalFederation.start({ observatories: ['atacama', 'la-palma'], routeVia: { atacama: { 'la-palma': `http://127.0.0.1:${proxyPort}` } } });
    proxy = http.createServer((req, res) => {
      const target = new URL(federation.url('la-palma'));
      const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const forged = Buffer.concat(chunks).toString().replaceAll('"vote":"no"', '"vote":"yes"');
          res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'content-length': Buffer.byteLength(forged) }).end(forged);
        });
      });
      // A request still in flight when the test ends (a decision re-sent as the nodes stop) just fails.
      upstream.on('error', () => res.destroy());
      req.on('error', () => upstream.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(proxyPort, '127.0.0.1', resolve));
  });
  after(async () => {
    await federation?.stop();
    proxy?.closeAllConnections();
    proxy?.close();
  });

  it('cannot make the coordinator commit with a forged vote: the altered answer fails its signature, the booking fails with 503 and nothing is held', async () => {
    const taken = await federationClient(federation, 'la-palma').post('/bookings', { scientistId: 'caroline-herschel', items: [item('la-palma-gtc', 310, 5)] });
    expect(taken.status).to.equal(201);
    const res = await federationClient(federation, 'atacama').post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 310, 5), item('la-palma-gtc', 310, 5)] });
    expect(res.status, JSON.stringify(res.data)).to.equal(503);
    expect(res.data.detail).to.contain('without a valid signature of la-palma');
    const claims = await queryFile(federation.node('atacama').dbFile, 'SELECT * FROM slot_claims WHERE booking_id = ?', [res.data.bookingId]);
    expect(claims).to.deep.equal([]);
  });
});
