// Every write of a node goes through this one writer (TypeORM's SQLite driver has a single
// connection, and two interleaved transactions on it corrupt each other). Writes are staged
// into the open batch the moment they are made; the batch is committed as one SQLite
// transaction (one fsync) while the next one fills: group commit. Batches commit in order,
// so a write's promise resolves only after every earlier write is durable.
//
// A batch reaches SQLite as ONE script — BEGIN IMMEDIATE, its multi-row statements with their
// values written as SQL literals, COMMIT — run by one sqlite3 `exec`: one trip through the
// libuv thread pool per group commit. Bound statements cost three trips each (prepare, run,
// finalize), and each trip wakes a pool thread: on this VM that was most of a write's CPU
// (docs/PERFORMANCE.md).
import { performance } from 'node:perf_hooks';
import type sqlite3 from 'sqlite3';
import type { DataSource, QueryRunner } from 'typeorm';
import { WriteBatch, scriptOf } from './write-batch.js';

interface OpenBatch {
  batch: WriteBatch;
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
}

/** How long SQLite itself retries a locked database (another process reading the file, a checkpoint). */
const BUSY_TIMEOUT_MS = 5_000;

/** A write asked for after a graceful stop drained the writer: refused, as a crash would have lost it. */
export class WriterClosedError extends Error {
  override name = 'WriterClosedError';
  constructor() {
    super('the node is stopping: the store takes no more writes');
  }
}

export class GroupCommitWriter {
  private readonly queue: OpenBatch[] = [];
  private runner: QueryRunner | undefined;
  private connection: sqlite3.Database | undefined;
  private committing = false;
  private commitScheduled = false;
  /** Set by the first failed commit: the store is now behind memory, so nothing more may be committed. */
  private failure: unknown;
  private closed = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly batchMax: number,
    /** Told of every group commit: statements, seconds, success (metrics). */
    private readonly onCommit: (statements: number, seconds: number, ok: boolean) => void = () => undefined,
  ) {}

  /** Stage writes now; resolves once they (and everything staged before) are on disk. */
  write(stage: (batch: WriteBatch) => void): Promise<void> {
    if (this.closed) return Promise.reject(new WriterClosedError());
    const open = this.openBatch();
    stage(open.batch);
    const done = new Promise<void>((resolve, reject) => open.waiters.push({ resolve, reject }));
    this.scheduleCommit();
    return done;
  }

  /** Resolves when everything staged so far is written. */
  flush(): Promise<void> {
    return this.write(() => undefined);
  }

  /** A graceful stop: refuse every later write; resolves once everything staged before is on disk. */
  async close(): Promise<void> {
    const drained = this.flush();
    this.closed = true;
    await drained.catch(() => undefined); // a failed commit has already stopped the node
  }

  /**
   * The commit starts at the end of this event-loop turn, not at the first write: every write
   * made while handling the requests of one turn (a batch of protocol messages, several
   * bookings) then shares one transaction.
   */
  private scheduleCommit(): void {
    if (this.committing || this.commitScheduled) return;
    this.commitScheduled = true;
    setImmediate(() => {
      this.commitScheduled = false;
      if (!this.committing) void this.commitAll();
    });
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
        const startedAt = performance.now();
        try {
          // After a failed commit, a later batch must not reach the disk: it may hold a record
          // that relies on one the failed batch held (a participant's commit without its
          // coordinator's decision). The node stops on the failure; these writes fail with it.
          if (this.failure !== undefined) throw this.failure;
          await this.inTransaction(open.batch);
          this.onCommit(open.batch.size, (performance.now() - startedAt) / 1000, true);
          open.waiters.forEach((w) => w.resolve());
        } catch (error) {
          this.failure ??= error;
          this.onCommit(open.batch.size, (performance.now() - startedAt) / 1000, false);
          open.waiters.forEach((w) => w.reject(error));
        }
        this.queue.shift();
      }
    } finally {
      this.committing = false;
    }
  }

  /**
   * The whole batch as one script: SQLite runs it in order and stops at the first failing
   * statement, and then the transaction is rolled back. Rare custom writes (seeds) run
   * through TypeORM inside the same transaction, before the staged rows.
   */
  private async inTransaction(batch: WriteBatch): Promise<void> {
    const connection = this.rawConnection();
    const custom = batch.customWrites();
    try {
      if (custom.length === 0) {
        await exec(connection, `BEGIN IMMEDIATE;\n${scriptOf(batch.statements())}COMMIT;`);
        return;
      }
      await exec(connection, 'BEGIN IMMEDIATE;');
      this.runner ??= this.dataSource.createQueryRunner();
      for (const write of custom) await write(this.runner);
      await exec(connection, `${scriptOf(batch.statements())}COMMIT;`);
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
