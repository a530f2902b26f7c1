import type { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes } from './column-types.js';

/** The first schema. Times are ISO-8601 UTC text (sortable) or epoch milliseconds. */
export class InitialSchema1795000000000 implements MigrationInterface {
  name = 'InitialSchema1795000000000';

  async up(runner: QueryRunner): Promise<void> {
    const t = columnTypes(runner);
    await runner.query(`CREATE TABLE observatories (
      id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, site TEXT NOT NULL, timezone TEXT NOT NULL,
      latitude ${t.real} NOT NULL, longitude ${t.real} NOT NULL)`);
    await runner.query(`CREATE TABLE telescopes (
      id TEXT PRIMARY KEY NOT NULL, observatory_id TEXT NOT NULL REFERENCES observatories(id),
      name TEXT NOT NULL, aperture_m ${t.real} NOT NULL, instrument TEXT NOT NULL,
      slot_minutes ${t.int} NOT NULL CHECK (slot_minutes >= 5 AND 1440 % slot_minutes = 0),
      bookable_from_hour_utc ${t.int} NOT NULL CHECK (bookable_from_hour_utc BETWEEN 0 AND 23),
      bookable_to_hour_utc ${t.int} NOT NULL CHECK (bookable_to_hour_utc BETWEEN 0 AND 24))`);
    await runner.query(`CREATE TABLE scientists (
      id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, email TEXT NOT NULL, institution TEXT NOT NULL,
      token_hash TEXT)`);
    await runner.query(`CREATE TABLE bookings (
      id TEXT PRIMARY KEY NOT NULL, scientist_id TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('PENDING','CONFIRMED','REJECTED','CANCELLED')),
      created_at TEXT NOT NULL, updated_at TEXT NOT NULL, timestamp_ms ${t.int} NOT NULL,
      items_json TEXT NOT NULL, reason_json TEXT, idempotency_key TEXT, request_hash TEXT, cancel_tx_id TEXT)`);
    await runner.query(`CREATE INDEX bookings_by_scientist ON bookings (scientist_id, created_at)`);
    await runner.query(`CREATE INDEX bookings_by_status ON bookings (status)`);
    await runner.query(`CREATE UNIQUE INDEX bookings_idempotency ON bookings (scientist_id, idempotency_key) WHERE idempotency_key IS NOT NULL`);
    await runner.query(`CREATE UNIQUE INDEX bookings_cancel_tx ON bookings (cancel_tx_id) WHERE cancel_tx_id IS NOT NULL`);
    // One row per taken telescope slot: the primary key is the database's own guarantee
    // that no slot is ever recorded twice, whatever the code above it does.
    await runner.query(`CREATE TABLE slot_claims (
      telescope_id TEXT NOT NULL, slot_start TEXT NOT NULL, slot_end TEXT NOT NULL,
      booking_id TEXT NOT NULL, tx_id TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('HELD','BOOKED','RELEASING')),
      PRIMARY KEY (telescope_id, slot_start))`);
    await runner.query(`CREATE INDEX slot_claims_by_tx ON slot_claims (tx_id)`);
    await runner.query(`CREATE INDEX slot_claims_by_booking ON slot_claims (booking_id)`);
    await runner.query(`CREATE TABLE participant_transactions (
      tx_id TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('book','cancel')),
      coordinator_id TEXT NOT NULL, participants_json TEXT NOT NULL, timestamp_ms ${t.int} NOT NULL,
      deadline_ms ${t.int} NOT NULL, payload_json TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('prepared','committed','aborted')),
      reason_json TEXT, heuristic ${t.flag} NOT NULL DEFAULT 0,
      created_at_ms ${t.int} NOT NULL, updated_at_ms ${t.int} NOT NULL)`);
    await runner.query(`CREATE INDEX participant_transactions_by_state ON participant_transactions (state, updated_at_ms)`);
    await runner.query(`CREATE TABLE coordinator_transactions (
      tx_id TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('book','cancel')),
      participants_json TEXT NOT NULL, timestamp_ms ${t.int} NOT NULL,
      decision TEXT NOT NULL CHECK (decision IN ('committed','aborted')), acked_json TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('decided','ended')),
      created_at_ms ${t.int} NOT NULL, updated_at_ms ${t.int} NOT NULL)`);
    await runner.query(`CREATE INDEX coordinator_transactions_by_state ON coordinator_transactions (state)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    for (const table of ['coordinator_transactions', 'participant_transactions', 'slot_claims', 'bookings', 'scientists', 'telescopes', 'observatories']) {
      await runner.query(`DROP TABLE ${table}`);
    }
  }
}
