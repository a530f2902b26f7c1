// Three real observatory processes on loopback: atomic multi-observatory bookings, on both
// storage engines (SQLite files; one PostgreSQL database per node).
import { expect } from 'chai';
import type { AxiosInstance } from 'axios';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { at, item } from '../support/slots.js';
import { queryNode } from '../support/store-query.js';
import { BACKENDS, backendOptions } from '../support/backends.js';
import { settled, snapshot, violations } from '../support/consistency.js';

const SITES = ['atacama', 'mauna-kea', 'la-palma'] as const;

/** 05:00–06:00 UTC is inside the bookable hours of one telescope at each site. */
function acrossThreeSites(day: number, hour = 5) {
  return [item('atacama-ut1', day, hour), item('mauna-kea-keck1', day, hour), item('la-palma-gtc', day, hour)];
}

for (const backend of BACKENDS) describe(`federation of three observatories: atomic multi-observatory bookings (${backend})`, function () {
  this.timeout(120_000);
  let federation: LocalFederation;
  const api: Record<string, AxiosInstance> = {};

  before(async () => {
    federation = await LocalFederation.start({ env: { PREPARE_TIMEOUT_MS: '2000' }, ...(await backendOptions(backend)) });
    for (const site of SITES) api[site] = federationClient(federation, site);
  });
  after(async () => federation?.stop());

  it('every node synchronises its clock with the time reference (atacama) and shows its offset and error bound', async () => {
    for (const site of ['mauna-kea', 'la-palma']) {
      let clock: { reference: string; errorBoundMs: number | null; offsetMs: number } | undefined;
      for (let attempt = 0; attempt < 50 && !(clock && clock.errorBoundMs !== null); attempt += 1) {
        clock = (await api[site]!.get('/time')).data.clock;
        if (clock?.errorBoundMs === null) await new Promise((r) => setTimeout(r, 200));
      }
      expect(clock!.reference, site).to.equal('atacama');
      expect(clock!.errorBoundMs, site).to.be.a('number').and.below(50);
      expect(Math.abs(clock!.offsetMs), site).to.be.below(50); // same machine, same clock
    }
  });

  it('a three-observatory booking commits at every observatory', async () => {
    const res = await api['mauna-kea']!.post('/bookings', { scientistId: 'nancy-roman', items: acrossThreeSites(100) });
    expect(res.status, JSON.stringify(res.data)).to.equal(201);
    expect(res.data.id).to.match(/^mauna-kea\./);
    await settled(federation);
    for (const site of SITES) {
      const claims = await queryNode(federation.node(site), 'SELECT state FROM slot_claims WHERE booking_id = ?', [res.data.id]);
      expect(claims, site).to.deep.equal([{ state: 'BOOKED' }]);
      const tx = await queryNode(federation.node(site), 'SELECT state FROM participant_transactions WHERE tx_id = ?', [res.data.id]);
      expect(tx, site).to.deep.equal([{ state: 'committed' }]);
    }
    const view = await api['mauna-kea']!.get(`/bookings/${res.data.id}`);
    expect(view.status).to.equal(200);
    expect(view.data.status).to.equal('CONFIRMED');
    expect(view.data.observatories.map((o: { state: string }) => o.state)).to.deep.equal(['confirmed', 'confirmed', 'confirmed']);
  });

  it('a conflict at one observatory rejects the whole booking and leaves nothing held anywhere', async () => {
    const taken = await api['la-palma']!.post('/bookings', { scientistId: 'caroline-herschel', items: [item('la-palma-gtc', 101, 5)] });
    expect(taken.status).to.equal(201);
    const res = await api.atacama!.post('/bookings', { scientistId: 'vera-rubin', items: acrossThreeSites(101) });
    expect(res.status).to.equal(409);
    expect(res.data.detail).to.contain('la-palma').and.contain('la-palma-gtc');
    await settled(federation);
    for (const site of SITES) {
      const claims = await queryNode(federation.node(site), 'SELECT * FROM slot_claims WHERE booking_id = ?', [res.data.bookingId]);
      expect(claims, site).to.deep.equal([]);
    }
    expect((await api.atacama!.get(`/bookings/${res.data.bookingId}`)).data.status).to.equal('REJECTED');
  });

  it('a stopped observatory gives a prompt 503 naming it, and nothing stays held', async () => {
    await federation.kill('la-palma');
    try {
      const res = await api.atacama!.post('/bookings', { scientistId: 'vera-rubin', items: acrossThreeSites(102) });
      expect(res.status).to.equal(503);
      expect(res.data.unavailableObservatories).to.deep.equal(['la-palma']);
      expect(res.headers['retry-after']).to.equal('5');
      for (const site of ['atacama', 'mauna-kea']) {
        const availability = await api[site]!.get(`/telescopes/${site === 'atacama' ? 'atacama-ut1' : 'mauna-kea-keck1'}/availability`, { params: { from: at(102, 5), to: at(102, 6) } });
        expect(availability.data.slots[0].state, site).to.equal('free');
      }
    } finally {
      await federation.launch('la-palma');
    }
    await settled(federation);
  });

  it('a booking is visible from its scientist\'s home observatory, answered by its coordinator; other nodes redirect there', async () => {
    const res = await api.atacama!.post('/bookings', { scientistId: 'caroline-herschel', items: acrossThreeSites(103) });
    const fromHome = await api['la-palma']!.get(`/bookings/${res.data.id}`);
    expect(fromHome.status).to.equal(200);
    expect(fromHome.data).to.deep.include({ id: res.data.id, coordinator: 'atacama', status: 'CONFIRMED' });
    const fromElsewhere = await api['mauna-kea']!.get(`/bookings/${res.data.id}`);
    expect(fromElsewhere.status).to.equal(307);
    expect(fromElsewhere.headers.location).to.equal(`${federation.url('atacama')}/bookings/${res.data.id}`);
  });

  it('cancelling a three-observatory booking releases every slot atomically, from the scientist\'s home observatory too', async () => {
    const res = await api.atacama!.post('/bookings', { scientistId: 'nancy-roman', items: acrossThreeSites(104) });
    const cancelled = await api['mauna-kea']!.delete(`/bookings/${res.data.id}`);
    expect(cancelled.status, JSON.stringify(cancelled.data)).to.equal(200);
    expect(cancelled.data.status).to.equal('CANCELLED');
    await settled(federation);
    for (const site of SITES) {
      const claims = await queryNode(federation.node(site), 'SELECT * FROM slot_claims WHERE booking_id = ?', [res.data.id]);
      expect(claims, site).to.deep.equal([]);
    }
  });

  it('a cancellation that cannot reach every observatory changes nothing: the booking stays confirmed everywhere', async () => {
    const res = await api.atacama!.post('/bookings', { scientistId: 'vera-rubin', items: acrossThreeSites(105) });
    await federation.kill('mauna-kea');
    try {
      const refused = await api.atacama!.delete(`/bookings/${res.data.id}`);
      expect(refused.status).to.equal(503);
      expect((await api.atacama!.get(`/bookings/${res.data.id}`)).data.status).to.equal('CONFIRMED');
    } finally {
      await federation.launch('mauna-kea');
    }
    await settled(federation);
    for (const site of SITES) {
      const claims = await queryNode(federation.node(site), 'SELECT state FROM slot_claims WHERE booking_id = ?', [res.data.id]);
      expect(claims, site).to.deep.equal([{ state: 'BOOKED' }]);
    }
  });

  it('the older of two conflicting transactions wins, whichever observatory each reaches first', async () => {
    for (let day = 110; day < 120; day += 1) {
      // Each coordinator holds its own slot first; the two then meet at the other's site.
      const answers = await Promise.all([
        api.atacama!.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', day, 5), item('mauna-kea-keck1', day, 5)] }),
        new Promise((r) => setTimeout(r, 3)).then(() =>
          api['mauna-kea']!.post('/bookings', { scientistId: 'edwin-hubble', items: [item('mauna-kea-keck1', day, 5), item('atacama-ut1', day, 5)] }),
        ),
      ]);
      expect(answers.map((a) => a.status).sort(), `day ${day}`).to.deep.equal([201, 409]);
      // "Older" is judged on the federation clock: the requestedAt each coordinator stamped.
      const ids: string[] = answers.map((a) => a.data.id ?? a.data.bookingId);
      const bookings = await Promise.all(ids.map((id) => api[id.split('.')[0]!]!.get(`/bookings/${id}`))); // each at its coordinator
      const [older, younger] = bookings.map((b) => b.data).sort((a, b) => (a.requestedAt === b.requestedAt ? (a.id < b.id ? -1 : 1) : Date.parse(a.requestedAt) - Date.parse(b.requestedAt)));
      expect([older.status, younger.status], `day ${day}`).to.deep.equal(['CONFIRMED', 'REJECTED']);
    }
    await settled(federation);
  });

  it('keeps every invariant on disk after all of the above', async () => {
    await settled(federation);
    expect(violations(await snapshot(federation))).to.deep.equal([]);
  });
});
