import type { MigrationInterface, QueryRunner } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * Paxos Commit (docs/PROTOCOL.md §20): the acceptor's durable state per transaction that names
 * this node as an acceptor (owned by the acceptor role, written through the transaction log),
 * and the acceptors a participant's prepare named, so that a participant in doubt can lead a
 * recovery ballot after a restart.
 */
export class Acceptors1795000300000 implements MigrationInterface {
  name = 'Acceptors1795000300000';

  async up(runner: QueryRunner): Promise<void> {
    const t = columnTypes(runner);
    await runner.query(`CREATE TABLE acceptor_transactions (
      tx_id TEXT PRIMARY KEY NOT NULL, participants_json TEXT NOT NULL, acceptors_json TEXT NOT NULL,
      promised_round ${t.int} NOT NULL, promised_node TEXT NOT NULL,
      accepted_round ${t.int}, accepted_node TEXT, accepted_value TEXT CHECK (accepted_value IN ('commit', 'abort')),
      created_at_ms ${t.int} NOT NULL, updated_at_ms ${t.int} NOT NULL)`);
    await runner.query('CREATE INDEX acceptor_transactions_by_update ON acceptor_transactions (updated_at_ms)');
    await runner.query('ALTER TABLE participant_transactions ADD COLUMN acceptors_json TEXT');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE participant_transactions DROP COLUMN acceptors_json');
    await runner.query('DROP INDEX acceptor_transactions_by_update');
    await runner.query('DROP TABLE acceptor_transactions');
  }
}
