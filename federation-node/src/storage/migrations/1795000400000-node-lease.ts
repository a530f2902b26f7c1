import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The active/standby lease (federation-node/src/ha/lease.ts owns the table), PostgreSQL only:
 * a SQLite file belongs to one process, so there is no standby to fence off. One row: who is
 * active, its fencing token (the epoch, +1 at every takeover) and until when it holds the
 * lease on the database's clock. node_lease_assert runs first in every group commit of an
 * active node: it fails unless the epoch is still the writer's, and its row lock (FOR SHARE)
 * makes a takeover wait until that batch has committed.
 */
export class NodeLease1795000400000 implements MigrationInterface {
  name = 'NodeLease1795000400000';

  async up(runner: QueryRunner): Promise<void> {
    if (runner.connection.options.type !== 'postgres') return;
    await runner.query(`CREATE TABLE node_lease (
      singleton SMALLINT PRIMARY KEY NOT NULL CHECK (singleton = 1),
      epoch BIGINT NOT NULL CHECK (epoch >= 1), holder_id TEXT NOT NULL, holder_url TEXT NOT NULL,
      acquired_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL)`);
    await runner.query(`CREATE FUNCTION node_lease_assert(expected_epoch BIGINT, expected_holder TEXT) RETURNS void AS $$
      BEGIN
        PERFORM 1 FROM node_lease WHERE singleton = 1 AND epoch = expected_epoch AND holder_id = expected_holder FOR SHARE;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'fenced off: lease epoch % is no longer held by %', expected_epoch, expected_holder USING ERRCODE = 'P0001';
        END IF;
      END $$ LANGUAGE plpgsql`);
  }

  async down(runner: QueryRunner): Promise<void> {
    if (runner.connection.options.type !== 'postgres') return;
    await runner.query('DROP FUNCTION node_lease_assert(BIGINT, TEXT)');
    await runner.query('DROP TABLE node_lease');
  }
}
