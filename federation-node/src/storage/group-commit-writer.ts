// Every write of a node goes through this one writer (TypeORM's SQLite driver has a single
// connection, and two interleaved transactions on it corrupt each other). Writes are staged
// into the open batch the moment they are made; the batch is committed as one SQLite
// transaction (one fsync) while the next one fills: group commit. Batches commit in order,
// so a write's promise resolves only after every earlier write is durable.
//
// How a batch reaches the engine is the committer's (sqlite-committer.ts: one script through
// one sqlite3 `exec`; postgres/postgres-committer.ts: one script in one round trip, after the
// lease check when a standby may take over).
import { performance } from 'node:perf_hooks';
import { WriteBatch } from './write-batch.js';

/** Commits one batch as one transaction of the engine, or throws (then nothing of it is committed). */
export interface BatchCommitter {
  commit(batch: WriteBatch): Promise<void>;
}

interface OpenBatch {
  batch: WriteBatch;
  waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }>;
}

/** A write asked for after a graceful stop drained the writer: refused, as a crash would have lost it. */
export class WriterClosedError extends Error {
  override name = 'WriterClosedError';
  constructor() {
    super('the node is stopping: the store takes no more writes');
  }
}

export class GroupCommitWriter {
  private readonly queue: OpenBatch[] = [];
  private committing = false;
  private commitScheduled = false;
  /** Set by the first failed commit: the store is now behind memory, so nothing more may be committed. */
  private failure: unknown;
  private closed = false;

  constructor(
    private readonly committer: BatchCommitter,
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
          await this.committer.commit(open.batch);
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
}
