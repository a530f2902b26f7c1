// Every write of a node goes through this one queue (TypeORM's SQLite driver has a single
// connection, and two interleaved transactions on it corrupt each other). Whatever is queued
// while a transaction commits goes into the next one: group commit, many writes, one fsync.
// Writes become durable, and their promises resolve, in the order they were queued.
import type { DataSource, QueryRunner } from 'typeorm';

export type WriteOperation = (runner: QueryRunner) => Promise<void>;

interface Pending {
  operation: WriteOperation;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface WriterStats {
  transactions: number;
  writes: number;
}

export class SerialWriter {
  private readonly queue: Pending[] = [];
  private runner: QueryRunner | undefined;
  private running = false;
  readonly stats: WriterStats = { transactions: 0, writes: 0 };

  constructor(
    private readonly dataSource: DataSource,
    private readonly batchMax: number,
  ) {}

  /** Queue a write; resolves once it is committed to disk, rejects if it failed. */
  write(operation: WriteOperation): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ operation, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  /** Resolves when everything queued so far is written. */
  async flush(): Promise<void> {
    await this.write(async () => undefined);
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.batchMax);
        await this.commit(batch);
      }
    } finally {
      this.running = false;
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    try {
      await this.inTransaction(batch.map((p) => p.operation));
      this.stats.transactions += 1;
      this.stats.writes += batch.length;
      batch.forEach((p) => p.resolve());
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // One bad write must not sink its neighbours: retry each alone.
      for (const pending of batch) await this.commit([pending]);
    }
  }

  private async inTransaction(operations: WriteOperation[]): Promise<void> {
    this.runner ??= this.dataSource.createQueryRunner();
    const runner = this.runner;
    await runner.query('BEGIN IMMEDIATE');
    try {
      for (const operation of operations) await operation(runner);
      await runner.query('COMMIT');
    } catch (error) {
      await runner.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}
