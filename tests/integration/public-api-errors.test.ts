// Bad input at the public API of one real node: every refusal is problem+json with a useful
// detail, never a crash, a stack trace or a partial booking.
import { expect } from 'chai';
import type { AxiosInstance, AxiosResponse } from 'axios';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { at, item } from '../support/slots.js';

function expectProblem(res: AxiosResponse, status: number, type: string, detailPart?: string): void {
  expect(res.status, JSON.stringify(res.data)).to.equal(status);
  expect(res.headers['content-type']).to.contain('application/problem+json');
  expect(res.data).to.include({ type: `urn:observatory-federation:problem:${type}`, status });
  expect(res.data.title).to.be.a('string');
  expect(res.data.detail).to.be.a('string').and.not.match(/\n\s+at /); // no stack trace
  if (detailPart) expect(res.data.detail).to.contain(detailPart);
}

describe('public API refusals of one observatory node', function () {
  this.timeout(60_000);
  let federation: LocalFederation;
  let api: AxiosInstance;
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    api.post('/bookings', typeof body === 'string' ? body : JSON.stringify(body), { headers: { 'content-type': 'application/json', ...headers }, transformRequest: (d) => d });

  before(async () => {
    federation = await LocalFederation.start({ observatories: ['atacama'], env: { BODY_BYTES_MAX: '4096', ITEMS_PER_BOOKING_MAX: '4', ITEM_DURATION_MAX_MINUTES: '180' } });
    api = federationClient(federation, 'atacama');
  });
  after(async () => federation?.stop());

  it('400 for malformed JSON', async () => {
    expectProblem(await post('{"scientistId": "vera-rubin", "items": ['), 400, 'malformed-json', 'not valid JSON');
  });

  it('400 for an empty body', async () => {
    expectProblem(await post(''), 400, 'malformed-json', 'empty');
  });

  it('400 for schema violations, listing the offending field paths', async () => {
    const res = await post({ scientistId: 7, items: [{ telescopeId: 'atacama-ut1', start: 'tomorrow', end: at(70, 3) }], colour: 'blue' });
    expectProblem(res, 400, 'invalid-request');
    const paths = res.data.errors.map((e: { path: string }) => e.path);
    expect(paths).to.include.members(['scientistId', 'items.0.start', '(root)']);
  });

  it('400 for a booking without items', async () => {
    const res = await post({ scientistId: 'vera-rubin', items: [] });
    expectProblem(res, 400, 'invalid-request', 'items');
  });

  it('415 for a body that is not application/json', async () => {
    const res = await api.post('/bookings', 'scientistId=vera-rubin', { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expectProblem(res, 415, 'unsupported-media-type', 'application/json');
  });

  it('413 for a body over BODY_BYTES_MAX', async () => {
    const res = await post({ scientistId: 'vera-rubin', items: [item('atacama-ut1', 70, 1)], note: 'x'.repeat(5000) });
    expectProblem(res, 413, 'payload-too-large', '4096');
  });

  it('422 when the end comes before the start', async () => {
    const res = await post({ scientistId: 'vera-rubin', items: [{ telescopeId: 'atacama-ut1', start: at(70, 4), end: at(70, 3) }] });
    expectProblem(res, 422, 'unprocessable-booking', 'end must come after the start');
  });

  it('422 for a slot not on the telescope\'s grid', async () => {
    const res = await post({ scientistId: 'vera-rubin', items: [{ telescopeId: 'atacama-ut1', start: at(70, 3, 15), end: at(70, 4, 15) }] });
    expectProblem(res, 422, 'unprocessable-booking', 'grid of 60-minute slots');
  });

  it('422 outside the telescope\'s bookable hours', async () => {
    const res = await post({ scientistId: 'vera-rubin', items: [item('atacama-ut1', 70, 14)] });
    expectProblem(res, 422, 'unprocessable-booking', 'outside the bookable hours 00:00–10:00 UTC');
  });

  it('422 for a slot in the past', async () => {
    const res = await post({ scientistId: 'vera-rubin', items: [item('atacama-ut1', -2, 3)] });
    expectProblem(res, 422, 'unprocessable-booking', 'in the past');
  });

  it('422 for an item longer than ITEM_DURATION_MAX_MINUTES', async () => {
    const res = await post({ scientistId: 'vera-rubin', items: [item('atacama-ut1', 70, 1, 4)] });
    expectProblem(res, 422, 'unprocessable-booking', 'ITEM_DURATION_MAX_MINUTES');
  });

  it('422 for more items than ITEMS_PER_BOOKING_MAX', async () => {
    const items = [1, 2, 3, 4, 5].map((h) => item('atacama-ut1', 71, h));
    expectProblem(await post({ scientistId: 'vera-rubin', items }), 422, 'unprocessable-booking', 'ITEMS_PER_BOOKING_MAX');
  });

  it('422 for items that overlap each other', async () => {
    const items = [item('atacama-ut1', 72, 1, 2), item('atacama-ut1', 72, 2)];
    expectProblem(await post({ scientistId: 'vera-rubin', items }), 422, 'unprocessable-booking', 'overlap');
  });

  it('422 for an unknown telescope', async () => {
    expectProblem(await post({ scientistId: 'vera-rubin', items: [item('no-such-scope', 70, 1)] }), 422, 'unprocessable-booking', 'unknown telescope no-such-scope');
  });

  it('409 for a slot already taken, naming the slot, and nothing else of that booking is held', async () => {
    const first = await post({ scientistId: 'vera-rubin', items: [item('atacama-ut1', 73, 3)] });
    expect(first.status).to.equal(201);
    const second = await post({ scientistId: 'carl-sagan', items: [item('atacama-ut2', 73, 3), item('atacama-ut1', 73, 3)] });
    expectProblem(second, 409, 'slot-taken', `atacama-ut1 ${item('atacama-ut1', 73, 3).start}`);
    const ut2 = await api.get('/telescopes/atacama-ut2/availability', { params: { from: at(73, 3), to: at(73, 4) } });
    expect(ut2.data.slots[0].state).to.equal('free');
  });

  it('404 problem+json for an unknown route, 405 for a wrong method', async () => {
    expectProblem(await api.get('/no/such/thing'), 404, 'not-found');
    const res = await api.put('/bookings', {});
    expectProblem(res, 405, 'method-not-allowed');
  });

  it('400 for a badly encoded URL and for an invalid Idempotency-Key', async () => {
    expectProblem(await api.get('/bookings/%E0%A4%A'), 400, 'invalid-request');
    expectProblem(await post({ scientistId: 'vera-rubin', items: [item('atacama-ut1', 74, 1)] }, { 'Idempotency-Key': 'spaces are not allowed' }), 400, 'invalid-request', 'Idempotency-Key');
  });

  it('survives all of the above: the node still books', async () => {
    const res = await post({ scientistId: 'vera-rubin', items: [item('atacama-ut1', 75, 1)] });
    expect(res.status).to.equal(201);
  });
});
