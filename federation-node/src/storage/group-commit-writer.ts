// Every write of a node goes through this one writer (TypeORM's SQLite driver has a single
// connection, and two interleaved transactions on it corrupt each other). Writes are staged
// into the open batch the moment they are made; the batch is committed as one SQLite
// transaction (one fsync) while the next one fills: group commit. Batches commit in order,
// so a write's promise resolves only after every earlier write is durable.
import type sqlite3 from 'sqlite3';
import type { DataSource, QueryRunner } from 'typeorm';
import { WriteBatch, type Statement } from './write-batch.js';

interface OpenBatch {
  batch: WriteBatch;
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
}

export interface WriterStats {
  transactions: number;
  writes: number;
}

export class GroupCommitWriter {
  private readonly queue: OpenBatch[] = [];
  private runner: QueryRunner | undefined;
  private committing = false;
  readonly stats: WriterStats = { transactions: 0, writes: 0 };

  constructor(
    private readonly dataSource: DataSource,
    private readonly batchMax: number,
  ) {}

  /** Stage writes now; resolves once they (and everything staged before) are on disk. */
  write(stage: (batch: WriteBatch) => void): Promise<void> {
    const open = this.openBatch();
    stage(open.batch);
    const done = new Promise<void>((resolve, reject) => open.waiters.push({ resolve, reject }));
    if (!this.committing) void this.commitAll();
    return done;
  }

  /** Resolves when everything staged so far is written. */
  flush(): Promise<void> {
    return this.write(() => undefined);
  }

  private openBatch(): OpenBatch {
    const last = this.queue[this.queue.length - 1];
    const writable = last && !(this.committing && last === this.queue[0]) && last.batch.size < this.batchMax;
    if (writable) return last;
    const fresh = { batch: new WriteBatch(), waiters: [] };
    this.queue.push(fresh);
    return fresh;
  }

  private async commitAll(): Promise<void> {
    this.committing = true;
    try {
      while (this.queue.length > 0) {
        const open = this.queue[0]!;
        try {
          await this.inTransaction(open.batch);
          this.stats.transactions += 1;
          this.stats.writes += open.batch.size;
          open.waiters.forEach((w) => w.resolve());
        } catch (error) {
          open.waiters.forEach((w) => w.reject(error));
        }
        this.queue.shift();
      }
    } finally {
      this.committing = false;
    }
  }

  /**
   * The staged statements go to the connection all at once (in its serialized mode they run
   * in order), and only if every one succeeded does COMMIT follow; otherwise ROLLBACK.
   */
  private async inTransaction(batch: WriteBatch): Promise<void> {
    this.runner ??= this.dataSource.createQueryRunner();
    const connection = (this.dataSource.driver as unknown as { databaseConnection: sqlite3.Database }).databaseConnection;
    await this.runner.query('BEGIN IMMEDIATE');
    try {
      for (const write of batch.customWrites()) await write(this.runner);
      await runInOrder(connection, batch.statements());
      await this.runner.query('COMMIT');
    } catch (error) {
      await this.runner.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}

function runInOrder(connection: sqlite3.Database, statements: Statement[]): Promise<void> {
  if (statements.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let pending = statements.length;
    let failed: unknown;
    connection.serialize(() => {
      for (const [sql, params] of statements) {
        connection.run(sql, params, (error: Error | null) => {
          failed ??= error ?? undefined;
          pending -= 1;
          if (pending === 0) {
            if (failed) reject(failed);
            else resolve();
          }
        });
      }
    });
  });
}
