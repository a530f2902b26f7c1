// The OpenAPI document: generated from the zod schemas, committed under docs/, served by
// every node — and true: real answers of a real node match it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import type { AxiosInstance, AxiosResponse } from 'axios';
import { openApiDocument } from '../../federation-node/src/http/openapi.js';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { peerAuthFrom, signedClient, vouchedPart } from '../support/signing.js';
import { item } from '../support/slots.js';

// ajv and ajv-formats are CommonJS with default exports in their typings.
const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default as new (options: object) => { addSchema(schema: object, key: string): void; getSchema(ref: string): ((data: unknown) => boolean) & { errors?: unknown } };
const addFormats = require('ajv-formats').default as (ajv: unknown) => void;

const COMMITTED = new URL('../../../docs/openapi.json', import.meta.url);

describe('OpenAPI document', function () {
  this.timeout(60_000);
  let federation: LocalFederation;
  let api: AxiosInstance;
  let check: (response: AxiosResponse, component: string) => void;

  before(async () => {
    federation = await LocalFederation.start({ observatories: ['atacama', 'mauna-kea'] });
    api = federationClient(federation, 'atacama');
    const served = (await api.get('/openapi.json')).data;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(served, 'openapi');
    check = (response, component) => {
      const validate = ajv.getSchema(`openapi#/components/schemas/${component}`)!;
      expect(validate(response.data), `${component}: ${JSON.stringify(validate.errors)}`).to.equal(true);
    };
  });
  after(async () => federation?.stop());

  it('docs/openapi.json is exactly what the zod schemas generate (run `npm run openapi` after changing them)', () => {
    const committed = JSON.parse(readFileSync(COMMITTED, 'utf8'));
    expect(committed).to.deep.equal(JSON.parse(JSON.stringify(openApiDocument())));
  });

  it('every node serves it at /openapi.json as OpenAPI 3.1 with its own URL as server, and a readable page at /docs', async () => {
    const res = await api.get('/openapi.json');
    expect(res.data.openapi).to.equal('3.1.0');
    expect(res.data.servers).to.deep.equal([{ url: federation.url('atacama') }]);
    expect(Object.keys(res.data.paths)).to.include.members(['/bookings', '/federation/v1/transactions/{txId}/prepare', '/time']);
    const page = await api.get('/docs');
    expect(page.headers['content-type']).to.contain('text/html');
    expect(page.data).to.contain('/docs/assets/swagger-ui-bundle.js'); // rendered in the browser by Swagger UI (tests/browser)
    const bundle = await api.get('/docs/assets/swagger-ui-bundle.js');
    expect(bundle.status).to.equal(200);
    expect(bundle.headers['content-type']).to.contain('javascript');
    const clock = await api.get('/clock');
    expect(clock.data).to.contain("Cristian's algorithm").and.contain("fetch('/time'");
  });

  it('lints clean with Redocly\'s recommended rules (a 4XX for every operation, a license, servers)', function () {
    this.timeout(120_000);
    const cli = fileURLToPath(new URL('../../../node_modules/.bin/redocly', import.meta.url));
    const run = spawnSync(cli, ['lint', '--extends=recommended', '--format=summary', fileURLToPath(COMMITTED)], {
      encoding: 'utf8',
      timeout: 100_000,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status, output).to.equal(0);
    expect(output).to.contain('valid').and.not.match(/^(warning|error)\s+[\w-]+: \d+/m); // the summary's rule lines
  });

  it('documents the 307 of availability and the new web operations', () => {
    const paths = openApiDocument().paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
    expect(paths['/telescopes/{id}/availability']!.get!.responses).to.have.property('307');
    expect(Object.keys(paths)).to.include.members(['/events', '/me', '/bookings.ics', '/calendars/{file}', '/']);
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        expect(Object.keys(operation.responses).some((status) => status.startsWith('4')), `${method} ${path} documents a 4XX`).to.equal(true);
      }
    }
  });

  it('real answers of the public API match their documented schemas', async () => {
    check(await api.get('/time'), 'Time');
    check(await api.get('/observatories'), 'ObservatoryList');
    check(await api.get('/telescopes'), 'TelescopeList');
    check(await api.get('/telescopes/atacama-ut1'), 'Telescope');
    check(await api.get('/telescopes/atacama-ut1/availability'), 'Availability');
    const booked = await api.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 30, 2), item('mauna-kea-keck1', 30, 6)] });
    expect(booked.status).to.equal(201);
    check(booked, 'Booking');
    check(await api.get(`/bookings/${booked.data.id}`), 'Booking');
    check(await api.get('/bookings', { params: { scientist: 'vera-rubin' } }), 'BookingList');
    const conflict = await api.post('/bookings', { scientistId: 'carl-sagan', items: [item('atacama-ut1', 30, 2)] });
    expect(conflict.status).to.equal(409);
    check(conflict, 'Problem');
    check(await api.post('/bookings', { items: [] }), 'Problem');
    check(await api.delete(`/bookings/${booked.data.id}`), 'Booking');
  });

  it('real answers of the operations endpoints and of the protocol match their documented schemas', async () => {
    check(await api.get('/health'), 'Health');
    check(await api.get('/ready'), 'Ready');
    check(await api.get('/admin/transactions'), 'UnfinishedTransactions');
    const txId = 'mauna-kea.openapiCheck01';
    const now = Date.now();
    const prepare = { type: 'prepare', txId, kind: 'book', coordinatorId: 'mauna-kea', participants: ['atacama', 'mauna-kea'], timestampMs: now, deadlineMs: now + 5_000, payload: vouchedPart(federation.keys, 'atacama', 'atacama', { bookingId: txId, scientistId: 'vera-rubin', items: [item('atacama-ut2', 31, 2)] }) };
    const fromMaunaKea = signedClient(federation.url('atacama'), peerAuthFrom(federation.keys, 'mauna-kea'), 'atacama');
    const vote = await fromMaunaKea.post(`/federation/v1/transactions/${txId}/prepare`, prepare);
    check(vote, 'VoteMessage');
    expect(vote.data.vote).to.equal('yes');
    check(await fromMaunaKea.get(`/federation/v1/transactions/${txId}`), 'TransactionView');
    check(await fromMaunaKea.post(`/federation/v1/transactions/${txId}/release`, { type: 'abort', txId, from: 'mauna-kea' }), 'AckMessage');
    const fromAtacama = signedClient(federation.url('mauna-kea'), peerAuthFrom(federation.keys, 'atacama'), 'mauna-kea');
    check(await fromAtacama.get(`/federation/v1/transactions/${txId}/outcome?from=atacama`), 'StatusReplyMessage');
  });

  it('real answers of the batch endpoint and of a forwarded read match their documented schemas', async () => {
    const txId = 'mauna-kea.openapiBatch01';
    const now = Date.now();
    const prepare = { type: 'prepare', txId, kind: 'book', coordinatorId: 'mauna-kea', participants: ['atacama', 'mauna-kea'], timestampMs: now, deadlineMs: now + 5_000, payload: vouchedPart(federation.keys, 'mauna-kea', 'atacama', { bookingId: txId, scientistId: 'nancy-roman', items: [item('atacama-ut2', 32, 2)] }) };
    const fromMaunaKea = signedClient(federation.url('atacama'), peerAuthFrom(federation.keys.secretsFile, 'mauna-kea'), 'atacama');
    const batch = await fromMaunaKea.post('/federation/v1/messages', { from: 'mauna-kea', messages: [prepare, { type: 'abort', txId, from: 'mauna-kea' }, { type: 'commit', txId: 'atacama.notYours0001', from: 'mauna-kea' }] });
    expect(batch.status).to.equal(200);
    check(batch, 'MessageBatchReplies');
    expect(batch.data.replies.map((r: { type: string; status?: number }) => r.status ?? r.type)).to.deep.equal(['vote', 'ack', 403]);
    const booked = await api.post('/bookings', { scientistId: 'nancy-roman', items: [item('atacama-ut1', 33, 2)] });
    expect(booked.status).to.equal(201);
    const forHer = await fromMaunaKea.get(`/federation/v1/bookings/${booked.data.id}?scientist=nancy-roman`);
    expect(forHer.status, 'mauna-kea vouches for its own scientist').to.equal(200);
    check(forHer, 'Booking');
    const refused = await fromMaunaKea.get(`/federation/v1/bookings/${booked.data.id}?operator=mauna-kea`);
    expect(refused.status).to.equal(403);
    check(refused, 'Problem');
  });
});
