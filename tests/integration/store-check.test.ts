// A damaged store refuses start: the node checks its SQLite file (full integrity check, then
// its own invariants between claims and bookings) before it answers anything, and stops with
// one line naming the rows and exit code 65 — instead of showing a booked slot free and
// crashing on the first request that meets the damage.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import sqlite3 from 'sqlite3';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { item } from '../support/slots.js';
import { queryFile } from '../support/sqlite.js';

describe('start-up store check (damaged SQLite files)', function () {
  this.timeout(120_000);
  let federation: LocalFederation;

  beforeEach(async () => {
    federation = await LocalFederation.start({ observatories: ['atacama', 'mauna-kea'] });
    const booked = await federationClient(federation, 'atacama').post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 80, 5), item('mauna-kea-keck1', 80, 5)] });
    expect(booked.status).to.equal(201);
    await federation.kill('atacama', 'SIGTERM'); // a clean stop: everything is in the main file, no WAL left
  });
  afterEach(async () => federation?.stop());

  it('a 2-byte edit of one slot_claims row (its hour 05 made 07) refuses start with exit 65 and a line naming the damage', async () => {
    const file = federation.node('atacama').dbFile;
    const start = item('atacama-ut1', 80, 5).start;
    const bytes = readFileSync(file);
    const row = Buffer.from(`atacama-ut1${start}${item('atacama-ut1', 80, 5).end}`); // the table row: the index has no slot_end
    const at = bytes.indexOf(row);
    expect(at, 'the claim row is in the file').to.be.greaterThan(0);
    const hour = at + 'atacama-ut1'.length + start.indexOf('T') + 1;
    expect(bytes.subarray(hour, hour + 2).toString()).to.equal('05');
    bytes.write('07', hour);
    writeFileSync(file, bytes);

    const failure = await federation.launch('atacama').then(() => 'started', (error: Error) => error.message);
    expect(failure).to.include('exited (65)');
    const line = lastFatalLine(failure);
    expect(line).to.match(/store check of .*node\.sqlite failed, refusing to start: \d+ problem\(s\): SQLite: /);
    expect(line).to.match(/slot_claims|index/);
  });

  it('a claim moved by a consistent SQL edit to a slot its booking does not hold refuses start, naming the claim row and the unclaimed booking slot', async () => {
    const file = federation.node('atacama').dbFile;
    const [from, to] = [item('atacama-ut1', 80, 5), item('atacama-ut1', 80, 7)];
    await execFile(file, `UPDATE slot_claims SET slot_start = '${to.start}', slot_end = '${to.end}' WHERE telescope_id = 'atacama-ut1' AND slot_start = '${from.start}'`);
    expect(await queryFile(file, 'PRAGMA integrity_check')).to.deep.equal([{ integrity_check: 'ok' }]);

    const failure = await federation.launch('atacama').then(() => 'started', (error: Error) => error.message);
    expect(failure).to.include('exited (65)');
    const line = lastFatalLine(failure);
    expect(line).to.include(`slot_claims(atacama-ut1, ${to.start}): BOOKED by`);
    expect(line).to.include('which has no item on this slot');
    expect(line).to.match(new RegExp(`bookings\\([^)]+\\): CONFIRMED but its slot atacama-ut1 ${from.start.replace(/\./g, '\\.')} is not claimed`));
  });

  it('a HELD claim with no prepared participant record (a hold orphaned by a lost write) refuses start with exit 65 and one line naming the claim row and its transaction', async () => {
    const file = federation.node('atacama').dbFile;
    const orphan = item('atacama-ut1', 81, 5);
    const txId = 'atacama.orphanedhold01';
    await execFile(file, `INSERT INTO slot_claims (telescope_id, slot_start, slot_end, booking_id, tx_id, state) VALUES ('atacama-ut1', '${orphan.start}', '${orphan.end}', '${txId}', '${txId}', 'HELD')`);
    expect(await queryFile(file, `SELECT COUNT(*) AS n FROM participant_transactions WHERE tx_id = '${txId}'`)).to.deep.equal([{ n: 0 }]);
    expect(await queryFile(file, 'PRAGMA integrity_check'), 'SQLite itself sees nothing wrong').to.deep.equal([{ integrity_check: 'ok' }]);

    const failure = await federation.launch('atacama').then(() => 'started', (error: Error) => error.message);
    expect(failure).to.include('exited (65)');
    const fatalLines = failure.split('\n').filter((l) => l.startsWith('FATAL:') && l.includes('refusing to start'));
    expect(fatalLines, 'one line').to.have.length(1);
    expect(fatalLines[0]).to.match(/store check of .*node\.sqlite failed, refusing to start: 1 problem\(s\): /);
    expect(fatalLines[0]).to.include(`slot_claims (atacama-ut1, ${orphan.start}) is HELD by ${txId}, which has no prepared participant_transactions row`);
  });
});

function execFile(file: string, sql: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (openError) => {
      if (openError) return reject(openError);
      db.exec(sql, (error) => db.close(() => (error ? reject(error) : resolve())));
    });
  });
}

/** The output kept by the harness starts with the node's earlier run: the refusal is the last FATAL line. */
function lastFatalLine(output: string): string {
  return output.split('\n').filter((l) => l.startsWith('FATAL:')).pop() ?? '';
}
