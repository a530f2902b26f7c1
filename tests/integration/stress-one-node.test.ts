// Mutual exclusion under concurrency at one real node: many scientists, one slot.
import { expect } from 'chai';
import type { AxiosInstance } from 'axios';
import { readCatalog, readScientists } from '../../seeds/catalog.js';
import { RequestGenerator } from '../../seeds/request-generator.js';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { item } from '../support/slots.js';
import { queryFile } from '../support/sqlite.js';

describe('stress: concurrent requests at one observatory', function () {
  this.timeout(120_000);
  let federation: LocalFederation;
  let api: AxiosInstance;

  before(async () => {
    federation = await LocalFederation.start({ observatories: ['atacama'] });
    api = federationClient(federation, 'atacama');
  });
  after(async () => federation?.stop());

  it('200 concurrent requests for the same slot give exactly one 201 and 409 for the rest, and one row on disk', async () => {
    const scientists = readScientists();
    const slot = item('atacama-ut1', 80, 4);
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => api.post('/bookings', { scientistId: scientists[i % scientists.length]!.id, items: [slot] })),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).to.have.length(1);
    expect(statuses.filter((s) => s === 409)).to.have.length(199);
    const winner = answers.find((a) => a.status === 201)!.data.id;
    const rows = await queryFile(federation.node('atacama').dbFile, 'SELECT booking_id, state FROM slot_claims WHERE telescope_id = ? AND slot_start = ?', ['atacama-ut1', slot.start]);
    expect(rows).to.deep.equal([{ booking_id: winner, state: 'BOOKED' }]);
    const confirmed = await queryFile(federation.node('atacama').dbFile, `SELECT id FROM bookings WHERE status = 'CONFIRMED' AND items_json LIKE ?`, [`%${slot.start}%`]);
    expect(confirmed.map((r) => r.id)).to.deep.equal([winner]);
  });

  it('random overlapping requests never record a telescope slot twice, and every confirmed booking owns its slots', async () => {
    const generator = new RequestGenerator({ seed: 7, catalog: readCatalog(), scientists: readScientists(), firstDay: 90, days: 2, observatories: ['atacama'], mix: { single: 1 } });
    const requests = Array.from({ length: 300 }, () => generator.next());
    const answers = await Promise.all(requests.map((r) => api.post('/bookings', { scientistId: r.scientistId, items: r.items })));
    const statuses = new Set(answers.map((a) => a.status));
    expect([...statuses].every((s) => s === 201 || s === 409), `statuses ${[...statuses]}`).to.equal(true);
    expect(answers.filter((a) => a.status === 201).length).to.be.greaterThan(5);
    const file = federation.node('atacama').dbFile;
    const doubles = await queryFile(file, 'SELECT telescope_id, slot_start, COUNT(*) AS n FROM slot_claims GROUP BY telescope_id, slot_start HAVING n > 1');
    expect(doubles).to.deep.equal([]);
    const claims = await queryFile<{ booking_id: string; state: string }>(file, 'SELECT booking_id, state FROM slot_claims WHERE slot_start >= ?', [item('atacama-ut1', 90, 0).start]);
    const confirmed = new Set(answers.filter((a) => a.status === 201).map((a) => a.data.id as string));
    expect(claims.every((c) => c.state === 'BOOKED')).to.equal(true);
    // Exactly the confirmed bookings own slots: each has at least one, and no refused booking has any.
    expect(new Set(claims.map((c) => c.booking_id))).to.deep.equal(confirmed);
  });
});
