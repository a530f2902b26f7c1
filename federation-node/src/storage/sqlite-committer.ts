// A batch reaches SQLite as ONE script — BEGIN IMMEDIATE, its multi-row statements with their
// values written as SQL literals, COMMIT — run by one sqlite3 `exec`: one trip through the
// libuv thread pool per group commit. Bound statements cost three trips each (prepare, run,
// finalize), and each trip wakes a pool thread: on this VM that was most of a write's CPU
// (docs/PERFORMANCE.md).
import type sqlite3 from 'sqlite3';
import type { DataSource, QueryRunner } from 'typeorm';
import type { BatchCommitter } from './group-commit-writer.js';
import { sessionOf } from './sql.js';
import { type WriteBatch, scriptOf } from './write-batch.js';

/** How long SQLite itself retries a locked database (another process reading the file, a checkpoint). */
const BUSY_TIMEOUT_MS = 5_000;

export class SqliteCommitter implements BatchCommitter {
  private runner: QueryRunner | undefined;
  private connection: sqlite3.Database | undefined;

  constructor(private readonly dataSource: DataSource) {}

  /**
   * The whole batch as one script: SQLite runs it in order and stops at the first failing
   * statement, and then the transaction is rolled back. Rare custom writes (seeds) run
   * through TypeORM inside the same transaction, before the staged rows.
   */
  async commit(batch: WriteBatch): Promise<void> {
    const connection = this.rawConnection();
    const custom = batch.customWrites();
    try {
      if (custom.length === 0) {
        await exec(connection, `BEGIN IMMEDIATE;\n${scriptOf(batch.statements(), 'sqlite')}COMMIT;`);
        return;
      }
      await exec(connection, 'BEGIN IMMEDIATE;');
      this.runner ??= this.dataSource.createQueryRunner();
      const session = sessionOf(this.runner, 'sqlite');
      for (const write of custom) await write(session);
      await exec(connection, `${scriptOf(batch.statements(), 'sqlite')}COMMIT;`);
    } catch (error) {
      await exec(connection, 'ROLLBACK;').catch(() => undefined); // nothing to roll back when BEGIN failed
      throw error;
    }
  }

  private rawConnection(): sqlite3.Database {
    if (!this.connection) {
      this.connection = (this.dataSource.driver as unknown as { databaseConnection: sqlite3.Database }).databaseConnection;
      this.connection.configure('busyTimeout', BUSY_TIMEOUT_MS);
    }
    return this.connection;
  }
}

function exec(connection: sqlite3.Database, script: string): Promise<void> {
  return new Promise((resolve, reject) => connection.exec(script, (error) => (error ? reject(error) : resolve())));
}
