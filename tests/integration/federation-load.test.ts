// Concurrency across the federation: many scientists, overlapping multi-observatory
// requests sent to every node at once. Checked afterwards on every node's SQLite file.
import { expect } from 'chai';
import { readCatalog, readScientists } from '../../seeds/catalog.js';
import { RequestGenerator } from '../../seeds/request-generator.js';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { settled, snapshot, violations } from '../support/consistency.js';

const BOOKINGS = 500;
const CLIENTS = 32;
/** On a loaded 2-core machine an observatory may be too slow for a prepare's deadline; the
 * honest answer is 503 observatory-unavailable (nothing changed). Tolerated, but rare. */
const UNAVAILABLE_SHARE_MAX = 0.05;

describe('federation under concurrent overlapping multi-observatory bookings', function () {
  this.timeout(180_000);
  let federation: LocalFederation;

  before(async () => {
    federation = await LocalFederation.start();
  });
  after(async () => federation?.stop());

  it(`${BOOKINGS} random overlapping bookings from ${CLIENTS} clients end all-or-nothing with no slot given twice, at every node`, async () => {
    const generator = new RequestGenerator({ seed: 2026, catalog: readCatalog(), scientists: readScientists(), firstDay: 130, days: 2, mix: { single: 1, simultaneous: 2, chain: 2 } });
    const requests = Array.from({ length: BOOKINGS }, () => generator.next());
    const nodes = [...federation.nodes.values()].map((n) => federationClient(federation, n.id));
    const statuses: number[] = [];
    const unavailable: string[] = [];
    const confirmed: string[] = [];
    let next = 0;
    const client = async (clientIndex: number) => {
      while (next < requests.length) {
        const request = requests[next++]!;
        const api = nodes[(clientIndex + next) % nodes.length]!;
        const res = await api.post('/bookings', { scientistId: request.scientistId, items: request.items });
        statuses.push(res.status);
        if (res.status === 201) confirmed.push(res.data.id);
        if (res.status === 503) unavailable.push(String(res.data?.type ?? 'no problem type'));
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));

    expect(statuses).to.have.length(BOOKINGS);
    const unexpected = statuses.filter((s) => s !== 201 && s !== 409 && s !== 503);
    expect(unexpected, 'only 201, 409 and (rarely) 503 under load').to.deep.equal([]);
    expect(unavailable.filter((type) => !type.endsWith('observatory-unavailable')), 'every 503 is observatory-unavailable').to.deep.equal([]);
    expect(unavailable.length, '503s are rare').to.be.at.most(BOOKINGS * UNAVAILABLE_SHARE_MAX);
    expect(confirmed.length, 'some bookings succeed').to.be.greaterThan(20);
    expect(confirmed.length, 'some bookings conflict').to.be.lessThan(BOOKINGS);
    await settled(federation);
    const state = await snapshot(federation);
    expect(violations(state, { confirmed })).to.deep.equal([]);
    const confirmedAnywhere = [...state.values()].flatMap((node) => node.bookings.filter((b) => b.status === 'CONFIRMED').map((b) => b.id));
    expect(confirmedAnywhere.sort(), 'a 409 or 503 left no booking behind').to.deep.equal([...confirmed].sort());
  });
});
