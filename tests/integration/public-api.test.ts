// The public API of one real node (a child process on a temporary SQLite file), endpoint by endpoint.
import { expect } from 'chai';
import type { AxiosInstance } from 'axios';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { item } from '../support/slots.js';

describe('public API of one observatory node', function () {
  this.timeout(60_000);
  let federation: LocalFederation;
  let api: AxiosInstance;

  before(async () => {
    federation = await LocalFederation.start({ observatories: ['atacama'] });
    api = federationClient(federation, 'atacama');
  });
  after(async () => federation?.stop());

  it('GET /time gives the federation time in ISO-8601 and epoch milliseconds, with the clock estimate', async () => {
    const res = await api.get('/time');
    expect(res.status).to.equal(200);
    expect(res.data.observatory).to.equal('atacama');
    expect(Date.parse(res.data.utc)).to.equal(res.data.epochMs);
    expect(Math.abs(res.data.epochMs - Date.now())).to.be.below(5_000);
    expect(res.data.clock).to.include({ reference: 'atacama', isReference: true, errorBoundMs: 0 });
  });

  it('GET /telescopes lists this observatory\'s seeded telescopes with slot length, bookable hours and links', async () => {
    const res = await api.get('/telescopes');
    expect(res.status).to.equal(200);
    const ids = res.data.telescopes.map((t: { id: string }) => t.id);
    expect(ids).to.have.members(['atacama-ut1', 'atacama-ut2', 'atacama-survey']);
    const ut1 = res.data.telescopes.find((t: { id: string }) => t.id === 'atacama-ut1');
    expect(ut1).to.include({ observatoryId: 'atacama', slotMinutes: 60 });
    expect(ut1.bookableHoursUtc).to.deep.equal({ from: 0, to: 10 });
    expect(ut1._links.self.href).to.equal(`${federation.url('atacama')}/telescopes/atacama-ut1`);
    expect(ut1._links.availability.href).to.contain('/telescopes/atacama-ut1/availability');
  });

  it('GET /telescopes/{id} shows one telescope, and 404 problem+json for an unknown id', async () => {
    expect((await api.get('/telescopes/atacama-survey')).data).to.include({ id: 'atacama-survey', slotMinutes: 30 });
    const missing = await api.get('/telescopes/no-such-scope');
    expect(missing.status).to.equal(404);
    expect(missing.headers['content-type']).to.contain('application/problem+json');
    expect(missing.data.detail).to.contain('no-such-scope');
  });

  it('GET /telescopes/{id}/availability shows free slots inside the bookable hours, then the booked one', async () => {
    const from = item('atacama-ut2', 50, 0).start;
    const to = item('atacama-ut2', 51, 0).start;
    const before = await api.get(`/telescopes/atacama-ut2/availability`, { params: { from, to } });
    expect(before.status).to.equal(200);
    expect(before.data.slots).to.have.length(10); // 00:00-10:00 UTC, one-hour slots
    expect(before.data.slots.every((s: { state: string }) => s.state === 'free')).to.equal(true);
    const booked = await api.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut2', 50, 3)] });
    expect(booked.status).to.equal(201);
    const after = await api.get(`/telescopes/atacama-ut2/availability`, { params: { from, to } });
    const slot = after.data.slots.find((s: { start: string }) => s.start === item('atacama-ut2', 50, 3).start);
    expect(slot).to.include({ state: 'booked', bookingId: booked.data.id });
  });

  it('POST /bookings confirms a booking and answers 201 with Location and HATEOAS links', async () => {
    const res = await api.post('/bookings', { scientistId: 'henrietta-leavitt', items: [item('atacama-ut1', 60, 2), item('atacama-survey', 60, 2)] });
    expect(res.status).to.equal(201);
    expect(res.data.status).to.equal('CONFIRMED');
    expect(res.data.id).to.match(/^atacama\./);
    expect(res.headers.location).to.equal(`${federation.url('atacama')}/bookings/${res.data.id}`);
    expect(res.data._links.self.href).to.equal(res.headers.location);
    expect(res.data._links.cancel).to.deep.equal({ href: res.headers.location, method: 'DELETE' });
    expect(res.data._links.telescopes).to.have.length(2);
    expect(res.data.items[0]).to.deep.equal({ observatoryId: 'atacama', ...item('atacama-ut1', 60, 2) });
    expect(res.data.observatories).to.deep.equal([{ observatoryId: 'atacama', state: 'confirmed' }]);
  });

  it('GET /bookings/{id} returns the booking, and 404 for an unknown one', async () => {
    const created = await api.post('/bookings', { scientistId: 'cecilia-payne', items: [item('atacama-ut1', 61, 4)] });
    const res = await api.get(`/bookings/${created.data.id}`);
    expect(res.status).to.equal(200);
    expect(res.data).to.deep.include({ id: created.data.id, status: 'CONFIRMED', scientistId: 'cecilia-payne' });
    expect((await api.get('/bookings/atacama.doesnotexist123')).status).to.equal(404);
  });

  it('GET /bookings?scientist= lists only that scientist\'s bookings', async () => {
    await api.post('/bookings', { scientistId: 'jocelyn-bell', items: [item('atacama-ut1', 62, 1)] });
    await api.post('/bookings', { scientistId: 'carl-sagan', items: [item('atacama-ut1', 62, 2)] });
    const res = await api.get('/bookings', { params: { scientist: 'jocelyn-bell' } });
    expect(res.status).to.equal(200);
    expect(res.data.bookings).to.have.length(1);
    expect(res.data.bookings[0].scientistId).to.equal('jocelyn-bell');
    expect((await api.get('/bookings', { params: { limit: 0 } })).status).to.equal(400);
  });

  it('DELETE /bookings/{id} cancels: the booking stays as CANCELLED and its slots are free again', async () => {
    const booking = await api.post('/bookings', { scientistId: 'annie-cannon', items: [item('atacama-ut1', 63, 5, 2)] });
    const cancelled = await api.delete(`/bookings/${booking.data.id}`);
    expect(cancelled.status).to.equal(200);
    expect(cancelled.data.status).to.equal('CANCELLED');
    expect(cancelled.data._links.cancel).to.equal(undefined);
    expect((await api.get(`/bookings/${booking.data.id}`)).data.status).to.equal('CANCELLED');
    const again = await api.post('/bookings', { scientistId: 'carl-sagan', items: [item('atacama-ut1', 63, 6)] });
    expect(again.status).to.equal(201);
    const twice = await api.delete(`/bookings/${booking.data.id}`);
    expect(twice.status).to.equal(409);
    expect(twice.data.detail).to.contain('CANCELLED');
  });

  it('Idempotency-Key: a retry with the same key and body returns the original booking, not a second one', async () => {
    const body = { scientistId: 'vera-rubin', items: [item('atacama-survey', 64, 1)] };
    const first = await api.post('/bookings', body, { headers: { 'Idempotency-Key': 'retry-me-1' } });
    const retry = await api.post('/bookings', body, { headers: { 'Idempotency-Key': 'retry-me-1' } });
    expect(first.status).to.equal(201);
    expect(retry.status).to.equal(201);
    expect(retry.data.id).to.equal(first.data.id);
    expect(retry.headers['idempotent-replayed']).to.equal('true');
    const list = await api.get('/bookings', { params: { scientist: 'vera-rubin' } });
    expect(list.data.bookings.filter((b: { items: Array<{ start: string }> }) => b.items[0]!.start === body.items[0]!.start)).to.have.length(1);
  });

  it('Idempotency-Key: the same key with another body is refused with 422', async () => {
    await api.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-survey', 65, 1)] }, { headers: { 'Idempotency-Key': 'reused-key' } });
    const other = await api.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-survey', 65, 2)] }, { headers: { 'Idempotency-Key': 'reused-key' } });
    expect(other.status).to.equal(422);
    expect(other.data.type).to.equal('urn:observatory-federation:problem:idempotency-key-reused');
  });

  it('concurrent retries with one Idempotency-Key make exactly one booking', async () => {
    const body = { scientistId: 'carl-sagan', items: [item('atacama-ut2', 66, 2)] };
    const answers = await Promise.all(Array.from({ length: 10 }, () => api.post('/bookings', body, { headers: { 'Idempotency-Key': 'burst-1' } })));
    expect(answers.map((a) => a.status)).to.deep.equal(Array(10).fill(201));
    expect(new Set(answers.map((a) => a.data.id)).size).to.equal(1);
  });
});
