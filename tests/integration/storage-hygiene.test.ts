// Storage hygiene on a real SQLite file: finished records pruned after the retention with the
// prune horizon kept durably, and log files rotated by size with a bounded number kept.
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLoggers } from '../../federation-node/src/logging/logger.js';
import { openDatabase, type Database } from '../../federation-node/src/storage/database.js';
import { GroupCommitWriter } from '../../federation-node/src/storage/group-commit-writer.js';
import { RecordPruner } from '../../federation-node/src/storage/record-pruner.js';
import { TransactionLog } from '../../federation-node/src/storage/transaction-log.js';

const MINUTE_MS = 60_000;
const RETENTION_MS = 60 * MINUTE_MS;
const NOW_MS = Date.parse('2027-03-01T12:00:00Z');
const silentLog = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const events: Array<{ type: string; details: Record<string, unknown> }> = [];
const audit = { event: (type: string, details: Record<string, unknown>) => void events.push({ type, details }) };

describe('storage hygiene: pruning finished records, rotating logs', function () {
  this.timeout(60_000);
  let dir: string;
  let database: Database;
  let writer: GroupCommitWriter;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'observatory-hygiene-'));
    database = await openDatabase(dir);
    writer = new GroupCommitWriter(database.committer(), 512);
  });
  afterEach(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const participant = (txId: string, state: string, updatedAtMs: number) => writer.write((batch) => batch.statement((runner) => runner.query(
    `INSERT INTO participant_transactions (tx_id, kind, coordinator_id, participants_json, timestamp_ms, deadline_ms, payload_json, state, created_at_ms, updated_at_ms)
     VALUES (?, 'book', 'atacama', '["atacama"]', ?, ?, '{}', ?, ?, ?)`, [txId, updatedAtMs - 5_000, updatedAtMs - 2_000, state, updatedAtMs - 5_000, updatedAtMs])));
  const coordinator = (txId: string, state: string, updatedAtMs: number) => writer.write((batch) => batch.statement((runner) => runner.query(
    `INSERT INTO coordinator_transactions (tx_id, kind, participants_json, timestamp_ms, decision, acked_json, state, created_at_ms, updated_at_ms)
     VALUES (?, 'book', '["atacama"]', ?, 'committed', '[]', ?, ?, ?)`, [txId, updatedAtMs - 5_000, state, updatedAtMs - 5_000, updatedAtMs])));
  const booking = (id: string, status: string, updatedAtMs: number) => writer.write((batch) => batch.statement((runner) => runner.query(
    `INSERT INTO bookings (id, scientist_id, status, created_at, updated_at, timestamp_ms, items_json) VALUES (?, 'vera-rubin', ?, ?, ?, ?, '[]')`,
    [id, status, new Date(updatedAtMs - 5_000).toISOString(), new Date(updatedAtMs).toISOString(), updatedAtMs - 5_000])));
  const ids = async (table: string, column = 'tx_id') => (await database.reader.query(`SELECT ${column} AS id FROM ${table} ORDER BY 1`)).map((r: { id: string }) => r.id);

  it('deletes finished records and rejected or cancelled bookings that ended before the retention, keeps everything else, and records the prune horizon durably', async () => {
    const old = NOW_MS - RETENTION_MS - MINUTE_MS;
    const recent = NOW_MS - RETENTION_MS + MINUTE_MS;
    await Promise.all([
      participant('atacama.old-committed', 'committed', old), participant('atacama.old-tombstone', 'aborted', old),
      participant('atacama.old-in-doubt', 'prepared', old), participant('atacama.recent', 'committed', recent),
      coordinator('atacama.old-ended', 'ended', old), coordinator('atacama.old-unacked', 'decided', old), coordinator('atacama.recent-ended', 'ended', recent),
      booking('b-old-rejected', 'REJECTED', old), booking('b-old-cancelled', 'CANCELLED', old), booking('b-old-confirmed', 'CONFIRMED', old), booking('b-recent-rejected', 'REJECTED', recent),
    ]);
    const transactionLog = new TransactionLog(writer, database.reader);
    expect(await transactionLog.pruneHorizonMs(), 'nothing pruned yet').to.equal(null);

    const pruner = new RecordPruner({ writer, reader: database.reader, nowMs: () => NOW_MS, retentionMs: RETENTION_MS, intervalMs: 60_000, rowsMax: 1_000, log: silentLog, audit });
    const round = await pruner.pruneOnce();

    expect(round).to.deep.equal({ horizonMs: NOW_MS - RETENTION_MS, participant: 2, coordinator: 1, bookings: 2 });
    expect(await ids('participant_transactions')).to.deep.equal(['atacama.old-in-doubt', 'atacama.recent']);
    expect(await ids('coordinator_transactions')).to.deep.equal(['atacama.old-unacked', 'atacama.recent-ended']);
    expect(await ids('bookings', 'id')).to.deep.equal(['b-old-confirmed', 'b-recent-rejected']);
    expect(await transactionLog.pruneHorizonMs()).to.equal(NOW_MS - RETENTION_MS);
    expect(events.find((e) => e.type === 'RECORDS_PRUNED')?.details).to.include({ participantRecords: 2, coordinatorRecords: 1, bookings: 2 });

    // The horizon survives a reopening and never moves back (a clock stepped back).
    await database.close();
    database = await openDatabase(dir);
    writer = new GroupCommitWriter(database.committer(), 512);
    await new RecordPruner({ writer, reader: database.reader, nowMs: () => NOW_MS - 10 * MINUTE_MS, retentionMs: RETENTION_MS, intervalMs: 60_000, rowsMax: 1_000, log: silentLog, audit }).pruneOnce();
    expect(await new TransactionLog(writer, database.reader).pruneHorizonMs()).to.equal(NOW_MS - RETENTION_MS);
  });

  it('deletes at most PRUNE_ROWS_MAX rows of a table per round', async () => {
    const old = NOW_MS - RETENTION_MS - MINUTE_MS;
    await Promise.all(Array.from({ length: 7 }, (_, i) => participant(`atacama.t${i}`, 'aborted', old)));
    const pruner = new RecordPruner({ writer, reader: database.reader, nowMs: () => NOW_MS, retentionMs: RETENTION_MS, intervalMs: 60_000, rowsMax: 3, log: silentLog, audit });
    expect((await pruner.pruneOnce()).participant).to.equal(3);
    expect((await pruner.pruneOnce()).participant).to.equal(3);
    expect((await pruner.pruneOnce()).participant).to.equal(1);
  });

  it('rotates a log file at LOG_FILE_MAX_MB and keeps at most LOG_FILES_MAX files, the fixed name linking to the current one', async () => {
    const logDir = path.join(dir, 'logs');
    const loggers = createLoggers({ service: 'atacama', level: 'info', logDir, toStdout: false, rotation: { fileMaxBytes: 2_048, filesMax: 3 } });
    for (let i = 0; i < 200; i += 1) {
      loggers.app.info(`line ${i} ${'x'.repeat(80)}`);
      if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 20)); // let the stream rotate
    }
    await loggers.close();
    await new Promise((resolve) => setTimeout(resolve, 300)); // old files are deleted asynchronously
    const files = readdirSync(logDir).filter((f) => /^atacama\.app-.*\.log$/.test(f));
    expect(files.length, files.join(', ')).to.be.within(2, 3);
    for (const file of files) expect(statSync(path.join(logDir, file)).size).to.be.at.most(2_048 + 200);
    expect(files).to.include(path.basename(readlinkSync(path.join(logDir, 'atacama.app.log'))));
  });
});
