import type { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * The prune horizon (storage/record-pruner.ts writes it, storage/transaction-log.ts reads it):
 * one row, the instant before which finished transaction records may have been deleted.
 * Every transaction begun at or after it still has all its records.
 */
export class PruneHorizon1795000200000 implements MigrationInterface {
  name = 'PruneHorizon1795000200000';

  async up(runner: QueryRunner): Promise<void> {
    const t = columnTypes(runner);
    await runner.query(`CREATE TABLE prune_horizon (
      singleton ${t.int} PRIMARY KEY NOT NULL CHECK (singleton = 1),
      pruned_before_ms ${t.int} NOT NULL, pruned_at_ms ${t.int} NOT NULL)`);
    await runner.query('CREATE INDEX participant_transactions_by_update ON participant_transactions (updated_at_ms)');
    await runner.query('CREATE INDEX coordinator_transactions_by_update ON coordinator_transactions (state, updated_at_ms)');
    await runner.query('CREATE INDEX bookings_by_update ON bookings (status, updated_at)');
  }

  async down(runner: QueryRunner): Promise<void> {
    for (const index of ['bookings_by_update', 'coordinator_transactions_by_update', 'participant_transactions_by_update']) await runner.query(`DROP INDEX ${index}`);
    await runner.query('DROP TABLE prune_horizon');
  }
}
