// Storage hygiene (docs/OPERATIONS.md, "Retention"): finished transaction records, tombstones
// and finished (rejected, cancelled) bookings are deleted once they ended more than
// TRANSACTION_RECORD_RETENTION_MINUTES ago — far beyond every protocol timeout, so no message
// of theirs can still arrive. The prune horizon is written in the same SQLite transaction as
// the deletes: afterwards the node can tell "pruned, unknown" (a transaction begun before the
// horizon) from "never decided" (TransactionLog.pruneHorizonMs). Each round deletes at most
// PRUNE_ROWS_MAX rows per table, so that one write never stalls the group commit for long.
import type { AppLogger, AuditLogger } from '../logging/logger.js';
import { BookingRepository } from './booking-repository.js';
import type { GroupCommitWriter } from './group-commit-writer.js';
import type { SqlReader } from './sql.js';
import { TransactionLog } from './transaction-log.js';

export interface PrunerOptions {
  writer: GroupCommitWriter;
  /** The read-only connection: a round with nothing to prune writes nothing. */
  reader: SqlReader;
  /** Federation time, in epoch milliseconds (records are stamped with it). */
  nowMs: () => number;
  retentionMs: number;
  intervalMs: number;
  rowsMax: number;
  log: AppLogger;
  audit: AuditLogger;
  /** While true, rounds are skipped (a nearly full disk: deleting rows needs WAL space first). */
  paused?: () => boolean;
}

export interface PruneRound {
  horizonMs: number;
  participant: number;
  coordinator: number;
  bookings: number;
}

export class RecordPruner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PruneRound> | undefined;

  constructor(private readonly options: PrunerOptions) {}

  /** Prunes now and then every PRUNE_INTERVAL_MS, until stop(). */
  start(): void {
    const tick = () => {
      this.pruneOnce().then(
        () => undefined,
        (error: Error) => this.options.log.warn(`pruning finished records failed (retried in ${this.options.intervalMs} ms): ${error.message}`),
      ).finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.options.intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  /** No more rounds; resolves once a round in progress (it reads and writes the store) has ended. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One round: the horizon and the deletes, durable together. */
  pruneOnce(): Promise<PruneRound> {
    this.running ??= this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<PruneRound> {
    const horizonMs = this.options.nowMs() - this.options.retentionMs;
    const round: PruneRound = { horizonMs, participant: 0, coordinator: 0, bookings: 0 };
    if (this.options.paused?.()) return round;
    if (!(await this.anythingToPrune(horizonMs))) return round; // the recorded horizon stays true: nothing more was deleted
    await this.options.writer.write((batch) =>
      batch.statement(async (session) => {
        // The horizon only moves forward (a clock stepped back must not shrink it).
        const larger = session.dialect === 'postgres' ? 'GREATEST' : 'MAX';
        await session.query(
          `INSERT INTO prune_horizon (singleton, pruned_before_ms, pruned_at_ms) VALUES (1, ?, ?)
           ON CONFLICT (singleton) DO UPDATE SET pruned_before_ms = ${larger}(prune_horizon.pruned_before_ms, excluded.pruned_before_ms), pruned_at_ms = excluded.pruned_at_ms`,
          [horizonMs, this.options.nowMs()],
        );
        Object.assign(round, await TransactionLog.pruneFinished(session, horizonMs, this.options.rowsMax));
        round.bookings = await BookingRepository.pruneFinished(session, new Date(horizonMs).toISOString(), this.options.rowsMax);
      }),
    );
    const total = round.participant + round.coordinator + round.bookings;
    if (total > 0) {
      this.options.log.info(`pruned ${round.participant} participant and ${round.coordinator} coordinator record(s) and ${round.bookings} finished booking(s) that ended before ${new Date(horizonMs).toISOString()}`);
      this.options.audit.event('RECORDS_PRUNED', { prunedBefore: new Date(horizonMs).toISOString(), participantRecords: round.participant, coordinatorRecords: round.coordinator, bookings: round.bookings });
    }
    return round;
  }

  private async anythingToPrune(horizonMs: number): Promise<boolean> {
    const [row]: Array<{ due: number }> = await this.options.reader.query(
      `SELECT EXISTS (SELECT 1 FROM participant_transactions WHERE updated_at_ms < ? AND state IN ('committed', 'aborted') AND deadline_ms < ?)
        OR EXISTS (SELECT 1 FROM coordinator_transactions WHERE state = 'ended' AND updated_at_ms < ?)
        OR EXISTS (SELECT 1 FROM bookings WHERE status IN ('REJECTED', 'CANCELLED') AND updated_at < ?) AS due`,
      [horizonMs, horizonMs, horizonMs, new Date(horizonMs).toISOString()],
    );
    return Number(row?.due ?? 0) === 1;
  }
}
