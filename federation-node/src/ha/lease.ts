// The active/standby lease of one observatory on its PostgreSQL database (docs/OPERATIONS.md,
// "Active/standby"). This module owns the node_lease table. One row says which process is
// active, its fencing token (the epoch, +1 at every takeover) and until when its lease runs,
// on the DATABASE's clock (clock_timestamp()), so that the processes' own clocks do not matter.
// A process takes the lease only once it has run out; the active renews it well before.
// Every group commit of the active checks the epoch in its own transaction
// (node_lease_assert, storage/postgres/postgres-committer.ts): a former active that was
// paused and lost its lease cannot commit anything, whatever it believes.
import { DataSource } from 'typeorm';
import { migrateLocked } from '../storage/postgres/postgres-database.js';
import { MIGRATIONS } from '../storage/migrations/index.js';

export interface LeaseHolder {
  holderId: string;
  holderUrl: string;
  epoch: number;
  /** Milliseconds until it runs out, on the database's clock (negative: it has). */
  remainingMs: number;
}

export class LeaseStore {
  private constructor(private readonly dataSource: DataSource) {}

  /** Connects (two connections at most) and brings the schema up to date, so that the table exists. */
  static async open(databaseUrl: string): Promise<LeaseStore> {
    const dataSource = new DataSource({ type: 'postgres', url: databaseUrl, migrations: MIGRATIONS, migrationsTransactionMode: 'each', synchronize: false, logging: false, extra: { max: 2, options: '-c synchronous_commit=on', application_name: 'observatory-node-lease' } });
    await dataSource.initialize();
    try {
      await migrateLocked(dataSource);
    } catch (error) {
      await dataSource.destroy();
      throw error;
    }
    return new LeaseStore(dataSource);
  }

  /** Takes the lease when nobody holds it or it has run out; returns the new epoch, or undefined. */
  async tryAcquire(holderId: string, holderUrl: string, durationMs: number): Promise<number | undefined> {
    const rows = await this.returning<{ epoch: string }>(
      `INSERT INTO node_lease (singleton, epoch, holder_id, holder_url, acquired_at, expires_at)
       VALUES (1, 1, $1, $2, clock_timestamp(), clock_timestamp() + $3 * interval '1 millisecond')
       ON CONFLICT (singleton) DO UPDATE SET epoch = node_lease.epoch + 1, holder_id = excluded.holder_id,
         holder_url = excluded.holder_url, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
       WHERE node_lease.expires_at < clock_timestamp()
       RETURNING epoch`,
      [holderId, holderUrl, durationMs],
    );
    return rows[0] ? Number(rows[0].epoch) : undefined;
  }

  /** Extends the lease of `epoch`; false when another process has taken it since. */
  async renew(holderId: string, epoch: number, durationMs: number): Promise<boolean> {
    const rows = await this.returning(
      `UPDATE node_lease SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
       WHERE singleton = 1 AND epoch = $1 AND holder_id = $2 RETURNING epoch`,
      [epoch, holderId, durationMs],
    );
    return rows.length === 1;
  }

  /** Who holds (or last held) the lease, or undefined when nobody ever has. */
  async holder(): Promise<LeaseHolder | undefined> {
    const rows: Array<{ holder_id: string; holder_url: string; epoch: string; remaining_ms: string }> = await this.dataSource.query(
      `SELECT holder_id, holder_url, epoch, (EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) * 1000)::bigint AS remaining_ms
       FROM node_lease WHERE singleton = 1`,
    );
    const row = rows[0];
    return row && { holderId: row.holder_id, holderUrl: row.holder_url, epoch: Number(row.epoch), remainingMs: Number(row.remaining_ms) };
  }

  /** A graceful stop hands the lease over at once: it runs out now (only if still ours). */
  async release(holderId: string, epoch: number): Promise<void> {
    await this.dataSource.query(`UPDATE node_lease SET expires_at = clock_timestamp() WHERE singleton = 1 AND epoch = $1 AND holder_id = $2`, [epoch, holderId]);
  }

  /** The rows a statement returned (TypeORM's plain query() answers an UPDATE with [rows, count]). */
  private async returning<T>(sql: string, params: unknown[]): Promise<T[]> {
    const runner = this.dataSource.createQueryRunner('master');
    try {
      return ((await runner.query(sql, params, true)) as { records: T[] }).records;
    } finally {
      await runner.release();
    }
  }

  close(): Promise<void> {
    return this.dataSource.destroy();
  }
}
