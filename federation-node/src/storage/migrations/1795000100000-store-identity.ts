import type { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * The store's identity and incarnation (federation-node/src/durability/store-identity.ts owns
 * the table): one row, written when the store is created and changed at every start, restore
 * or replacement of the disk.
 */
export class StoreIdentity1795000100000 implements MigrationInterface {
  name = 'StoreIdentity1795000100000';

  async up(runner: QueryRunner): Promise<void> {
    const t = columnTypes(runner);
    await runner.query(`CREATE TABLE store_identity (
      singleton ${t.int} PRIMARY KEY NOT NULL CHECK (singleton = 1),
      store_id TEXT NOT NULL, incarnation ${t.int} NOT NULL CHECK (incarnation >= 1),
      created_at_ms ${t.int} NOT NULL,
      complete_since_ms ${t.int} NOT NULL, complete_since_incarnation ${t.int} NOT NULL,
      reconciliation_reason TEXT, reconciliation_since_ms ${t.int})`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE store_identity');
  }
}
