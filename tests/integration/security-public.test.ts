// Scientists and operators on the public API: who may do what, through real HTTP between
// real nodes (docs/SECURITY.md).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { AxiosResponse } from 'axios';
import { LocalFederation } from '../support/federation-harness.js';
import { httpClient } from '../support/http-client.js';
import { item } from '../support/slots.js';

function expectRefused(res: AxiosResponse, status: 401 | 403 | 429, detailPart: string): void {
  expect(res.status, JSON.stringify(res.data)).to.equal(status);
  expect(res.headers['content-type']).to.contain('application/problem+json');
  expect(res.data.detail).to.contain(detailPart);
}

describe('security: scientists and operators on the public API', function () {
  this.timeout(60_000);
  let federation: LocalFederation;
  const as = (node: string, token?: string) => httpClient(federation.url(node), token);
  const scientist = (id: string) => federation.tokens.scientists[id]!;
  const operator = (id: string) => federation.tokens.operators[id]!;

  before(async () => {
    federation = await LocalFederation.start({ observatories: ['atacama', 'mauna-kea'] });
  });
  after(async () => federation?.stop());

  it('keeps the clock, the catalog, availability and health open to anyone', async () => {
    for (const url of ['/time', '/observatories', '/telescopes', '/telescopes/atacama-ut1', '/telescopes/atacama-ut1/availability', '/health', '/ready', '/openapi.json']) {
      expect((await as('atacama').get(url)).status, url).to.equal(200);
    }
  });

  it('refuses a booking without a token, with an unknown token or a malformed header: 401 with WWW-Authenticate', async () => {
    const body = { scientistId: 'vera-rubin', items: [item('atacama-ut1', 40, 1)] };
    const none = await as('atacama').post('/bookings', body);
    expectRefused(none, 401, 'Authorization: Bearer');
    expect(none.headers['www-authenticate']).to.contain('Bearer');
    expectRefused(await as('atacama', 'ofed_thisTokenWasNeverIssuedToAnybodyAtAll0000').post('/bookings', body), 401, 'not valid');
    expectRefused(await as('atacama').post('/bookings', body, { headers: { Authorization: 'Basic dmVyYTpydWJpbg==' } }), 401, 'Bearer');
  });

  it('lets a scientist book only as themselves (403 otherwise)', async () => {
    const res = await as('atacama', scientist('carl-sagan')).post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 40, 2)] });
    expectRefused(res, 403, 'books only as themselves');
  });

  it('shows and cancels a booking only for its scientist, here or through their home observatory; operators of the observatories it involves see it, no other', async () => {
    const booked = await as('mauna-kea', scientist('vera-rubin')).post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 41, 3), item('mauna-kea-keck1', 41, 6)] });
    expect(booked.status).to.equal(201);
    const url = `/bookings/${booked.data.id}`;
    expect((await as('mauna-kea', scientist('vera-rubin')).get(url)).status).to.equal(200);
    expect((await as('atacama', scientist('vera-rubin')).get(url)).status, 'through her home observatory').to.equal(200);
    expectRefused(await as('mauna-kea', scientist('carl-sagan')).get(url), 403, 'another scientist');
    expectRefused(await as('atacama', scientist('carl-sagan')).get(url), 403, 'another scientist');
    expect((await as('mauna-kea', operator('mauna-kea')).get(url)).status, 'the coordinator\'s operator').to.equal(200);
    expect((await as('atacama', operator('atacama')).get(url)).status, 'a participant\'s operator, through its node').to.equal(200);
    const elsewhere = await as('mauna-kea', scientist('vera-rubin')).post('/bookings', { scientistId: 'vera-rubin', items: [item('mauna-kea-keck1', 41, 8)] });
    expectRefused(await as('atacama', operator('atacama')).get(`/bookings/${elsewhere.data.id}`), 403, 'holds no telescope of atacama');
    expectRefused(await as('atacama', scientist('carl-sagan')).delete(url), 403, 'another scientist');
    expectRefused(await as('atacama', operator('atacama')).delete(url), 403, 'only a scientist');
    expect((await as('mauna-kea', scientist('vera-rubin')).get(url)).data.status).to.equal('CONFIRMED');
    expect((await as('atacama', scientist('vera-rubin')).delete(url)).status, 'cancelled through her home observatory').to.equal(200);
  });

  it('lists a scientist\'s own bookings only; the operator lists every booking of its node', async () => {
    await as('atacama', scientist('annie-cannon')).post('/bookings', { scientistId: 'annie-cannon', items: [item('atacama-ut2', 42, 1)] });
    await as('atacama', scientist('vera-rubin')).post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut2', 42, 3)] });
    const own = await as('atacama', scientist('annie-cannon')).get('/bookings');
    expect(own.data.bookings.map((b: { scientistId: string }) => b.scientistId)).to.deep.equal(['annie-cannon']);
    expectRefused(await as('atacama', scientist('annie-cannon')).get('/bookings', { params: { scientist: 'vera-rubin' } }), 403, 'only their own');
    const all = await as('atacama', operator('atacama')).get('/bookings');
    expect(new Set(all.data.bookings.map((b: { scientistId: string }) => b.scientistId))).to.include('annie-cannon').and.include('vera-rubin');
  });

  it('opens the transaction tools to the node\'s own operator only', async () => {
    expectRefused(await as('atacama').get('/admin/transactions'), 401, 'operator');
    expectRefused(await as('atacama', scientist('vera-rubin')).get('/admin/transactions'), 403, 'atacama\'s operator');
    expectRefused(await as('atacama', operator('mauna-kea')).get('/admin/transactions'), 403, 'atacama\'s operator');
    expect((await as('atacama', operator('atacama')).get('/admin/transactions')).status).to.equal(200);
  });

  it('answers 429 with Retry-After past the per-token and per-address limits', async () => {
    const limited = await LocalFederation.start({ observatories: ['la-palma'], env: { RATE_LIMIT_PER_TOKEN_PER_MINUTE: '5', RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '8' } });
    try {
      const api = httpClient(limited.url('la-palma'), limited.tokens.scientists['edwin-hubble']);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) statuses.push((await api.get('/bookings')).status);
      expect(statuses).to.deep.equal([200, 200, 200, 200, 200]);
      const overToken = await api.get('/bookings');
      expectRefused(overToken, 429, 'RATE_LIMIT_PER_TOKEN_PER_MINUTE');
      expect(Number(overToken.headers['retry-after'])).to.be.within(1, 60);
      const anonymous = httpClient(limited.url('la-palma'));
      expect([(await anonymous.get('/time')).status, (await anonymous.get('/time')).status]).to.deep.equal([200, 200]);
      expectRefused(await anonymous.get('/time'), 429, 'this address');
    } finally {
      await limited.stop();
    }
  });

  it('audits every refusal, and never writes a token or a secret into any log', async () => {
    const logs = ['atacama', 'mauna-kea'].flatMap((id) => {
      const dir = path.join(federation.node(id).dataDir, 'logs');
      return readdirSync(dir).map((f) => readFileSync(path.join(dir, f), 'utf8'));
    }).join('\n');
    expect(logs).to.contain('"event_type":"ACCESS_REFUSED"');
    const secrets = readdirSync(federation.keys.signingKeysDir).map((file) => readFileSync(path.join(federation.keys.signingKeysDir, file), 'utf8').split('\n')[1]!);
    for (const value of [...Object.values(federation.tokens.scientists), ...Object.values(federation.tokens.operators), ...Object.values(secrets)]) {
      expect(logs.includes(value), 'a secret value in the logs').to.equal(false);
    }
  });
});
