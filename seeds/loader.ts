// Loads the catalog and the scientists into a node's database. Safe to run any number of
// times: rows are inserted or brought up to date, never duplicated; a scientist's API token
// hash, set elsewhere, is kept.
import type { CatalogSeed, ScientistSeed } from './catalog.js';

export interface SqlExecutor {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

export interface SeedCounts {
  observatories: number;
  telescopes: number;
  scientists: number;
}

export async function loadSeeds(db: SqlExecutor, catalog: CatalogSeed, scientists: ScientistSeed[]): Promise<SeedCounts> {
  let telescopes = 0;
  for (const o of catalog.observatories) {
    await db.query(
      `INSERT INTO observatories (id, name, site, timezone, latitude, longitude) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, site = excluded.site, timezone = excluded.timezone,
         latitude = excluded.latitude, longitude = excluded.longitude`,
      [o.id, o.name, o.site, o.timezone, o.latitude, o.longitude],
    );
    for (const t of o.telescopes) {
      telescopes += 1;
      await db.query(
        `INSERT INTO telescopes (id, observatory_id, name, aperture_m, instrument, slot_minutes, bookable_from_hour_utc, bookable_to_hour_utc)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET observatory_id = excluded.observatory_id, name = excluded.name,
           aperture_m = excluded.aperture_m, instrument = excluded.instrument, slot_minutes = excluded.slot_minutes,
           bookable_from_hour_utc = excluded.bookable_from_hour_utc, bookable_to_hour_utc = excluded.bookable_to_hour_utc`,
        [t.id, o.id, t.name, t.apertureM, t.instrument, t.slotMinutes, t.bookableFromHourUtc, t.bookableToHourUtc],
      );
    }
  }
  for (const s of scientists) {
    await db.query(
      `INSERT INTO scientists (id, name, email, institution) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, institution = excluded.institution`,
      [s.id, s.name, s.email, s.institution],
    );
  }
  return { observatories: catalog.observatories.length, telescopes, scientists: scientists.length };
}
