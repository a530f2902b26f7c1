import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The coordinator's commit proof an acceptor keeps with an accepted COMMIT (docs/PROTOCOL.md
 * §20, "Commit proofs"): returned in its promises, so that a later recovery leader can carry it.
 * Rows written before it have none; a recovery leader then proposes what it can prove.
 */
export class CommitProofs1795000500000 implements MigrationInterface {
  name = 'CommitProofs1795000500000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE acceptor_transactions ADD COLUMN accepted_proof TEXT');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE acceptor_transactions DROP COLUMN accepted_proof');
  }
}
