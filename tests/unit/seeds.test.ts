import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { readCatalog, readScientists } from '../../seeds/catalog.js';
import { loadSeeds } from '../../seeds/loader.js';
import { RequestGenerator } from '../../seeds/request-generator.js';
import { bookingProblem, itemProblem } from '../../federation-node/src/domain/slots.js';
import { openDatabase } from '../../federation-node/src/storage/database.js';

describe('seeds', () => {
  it('describe three observatories with two or three telescopes each, and about twenty scientists', () => {
    const catalog = readCatalog();
    expect(catalog.observatories.map((o) => o.id)).to.deep.equal(['atacama', 'mauna-kea', 'la-palma']);
    for (const o of catalog.observatories) expect(o.telescopes.length, o.id).to.be.within(2, 3);
    expect(readScientists().length).to.be.within(18, 25);
  });

  it('load into a database any number of times without duplicating a row', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'seeds-test-'));
    const db = await openDatabase(dir);
    try {
      const count = async () => (await db.writer.query('SELECT (SELECT COUNT(*) FROM observatories) AS o, (SELECT COUNT(*) FROM telescopes) AS t, (SELECT COUNT(*) FROM scientists) AS s'))[0];
      await loadSeeds(db.writer, readCatalog(), readScientists());
      const first = await count();
      await loadSeeds(db.writer, readCatalog(), readScientists());
      expect(await count()).to.deep.equal(first);
      expect(first).to.deep.equal({ o: 3, t: 8, s: readScientists().length });
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('generate only valid requests (on the grid, in bookable hours, in the future), reproducibly from a seed', () => {
    const catalog = readCatalog();
    const telescopes = new Map(catalog.observatories.flatMap((o) => o.telescopes.map((t) => [t.id, { ...t, observatoryId: o.id }] as const)));
    const limits = { itemsPerBookingMax: 12, itemDurationMaxMinutes: 480, bookingSpanMaxHours: 72, bookingHorizonDays: 366 };
    const make = () => new RequestGenerator({ seed: 99, catalog, scientists: readScientists(), firstDay: 10, days: 30 });
    const generator = make();
    const shapes = new Set<string>();
    for (let i = 0; i < 2_000; i += 1) {
      const request = generator.next();
      shapes.add(request.shape);
      for (const item of request.items) expect(itemProblem(item, telescopes.get(item.telescopeId)!, Date.now(), limits), JSON.stringify(item)).to.equal(undefined);
      expect(bookingProblem(request.items, limits)).to.equal(undefined);
    }
    expect([...shapes].sort()).to.deep.equal(['chain', 'simultaneous', 'single']);
    expect(make().next()).to.deep.equal(make().next());
  });
});
