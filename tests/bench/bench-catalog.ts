// The seeded observatories, each with telescopes bookable all day in 5-minute slots: room for
// a long benchmark run of fresh slots.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCatalog } from '../../seeds/catalog.js';

export function benchCatalogFile(): string {
  const catalog = readCatalog();
  for (const o of catalog.observatories) {
    o.telescopes = o.telescopes.map((t) => ({ ...t, slotMinutes: 5, bookableFromHourUtc: 0, bookableToHourUtc: 24 }));
  }
  const file = path.join(os.tmpdir(), `bench-catalog-${process.pid}.json`);
  writeFileSync(file, JSON.stringify(catalog));
  return file;
}
