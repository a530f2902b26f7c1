import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The store's identity and incarnation (federation-node/src/durability/store-identity.ts owns
 * the table): one row, written when the store is created and changed at every start, restore
 * or replacement of the disk.
 */
export class StoreIdentity1795000100000 implements MigrationInterface {
  name = 'StoreIdentity1795000100000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE store_identity (
      singleton INTEGER PRIMARY KEY NOT NULL CHECK (singleton = 1),
      store_id TEXT NOT NULL, incarnation INTEGER NOT NULL CHECK (incarnation >= 1),
      created_at_ms INTEGER NOT NULL,
      complete_since_ms INTEGER NOT NULL, complete_since_incarnation INTEGER NOT NULL,
      reconciliation_reason TEXT, reconciliation_since_ms INTEGER)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE store_identity');
  }
}
