// A batch reaches PostgreSQL as ONE script in one round trip on the writer's own connection:
// BEGIN, the lease check when this node is one of an active/standby pair, the batch's
// multi-row statements with their values as literals, COMMIT. The connection runs with
// synchronous_commit=on, so COMMIT returns once the batch is flushed to the WAL on disk (and
// to the synchronous standbys, where the operator configured them).
import type { DataSource, QueryRunner } from 'typeorm';
import type { LeaseFence } from '../store-ports.js';
import type { BatchCommitter } from '../group-commit-writer.js';
import { sessionOf } from '../sql.js';
import { type WriteBatch, scriptOf, sqlLiteral } from '../write-batch.js';

export class PostgresCommitter implements BatchCommitter {
  private runner: QueryRunner | undefined;

  constructor(
    private readonly dataSource: DataSource,
    /** The lease this node must still hold for the batch to commit; undefined: no standby (no fencing). */
    private readonly fence: (() => LeaseFence) | undefined,
  ) {}

  async commit(batch: WriteBatch): Promise<void> {
    const runner = await this.connection();
    const begin = `BEGIN;\n${this.fenceCheck()}`;
    const custom = batch.customWrites();
    try {
      if (custom.length === 0) {
        await runner.query(`${begin}${scriptOf(batch.statements(), 'postgres')}COMMIT;`);
        return;
      }
      await runner.query(begin);
      const session = sessionOf(runner, 'postgres');
      for (const write of custom) await write(session);
      await runner.query(`${scriptOf(batch.statements(), 'postgres')}COMMIT;`);
    } catch (error) {
      await runner.query('ROLLBACK;').catch(() => undefined); // nothing to roll back when BEGIN failed
      throw error;
    }
  }

  /** Fencing: a former active (paused, its lease taken over) fails here and commits nothing. */
  private fenceCheck(): string {
    if (!this.fence) return '';
    const { epoch, holderId } = this.fence();
    return `SELECT node_lease_assert(${sqlLiteral(epoch)}, ${sqlLiteral(holderId)});\n`;
  }

  private async connection(): Promise<QueryRunner> {
    if (!this.runner) {
      this.runner = this.dataSource.createQueryRunner('master');
      await this.runner.connect();
    }
    return this.runner;
  }

  async release(): Promise<void> {
    await this.runner?.release();
    this.runner = undefined;
  }
}
