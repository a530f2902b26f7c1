// Active/standby for one observatory on PostgreSQL (docs/OPERATIONS.md "Active/standby"): two
// real processes of atacama on one database, mauna-kea as the other side of every booking.
// The active is SIGKILLed under load and the standby must take over within its bound, losing
// nothing acknowledged; a paused former active must not write once its lease is gone; and the
// fencing check itself is shown to refuse a batch of a stale epoch inside its transaction.
import { expect } from 'chai';
import { openDatabase, type Database } from '../../federation-node/src/storage/database.js';
import { GroupCommitWriter } from '../../federation-node/src/storage/group-commit-writer.js';
import { LeaseStore } from '../../federation-node/src/ha/lease.js';
import { runFailover } from '../../federation-node/src/local/failover-run.js';
import { LocalFederation } from '../support/federation-harness.js';
import { httpClient } from '../support/http-client.js';
import { item } from '../support/slots.js';
import { queryNode } from '../support/store-query.js';
import { sharedCluster } from '../support/backends.js';
import { settled, snapshot, violations } from '../support/consistency.js';

const LEASE = { LEASE_DURATION_MS: '3000', LEASE_RENEW_INTERVAL_MS: '500', LEASE_POLL_INTERVAL_MS: '250', MEMBER_URL_PROBE_INTERVAL_MS: '250' };
const FAST_RECOVERY = { IN_DOUBT_QUERY_AFTER_MS: '300', DECISION_RESEND_INITIAL_MS: '200', DECISION_RESEND_MAX_MS: '1000' };
/** Lease duration + a poll + a node start on a loaded two-core machine (store check, recovery). */
const TAKEOVER_BOUND_MS = 3_000 + 250 + 30_000;

describe('active/standby pair of one observatory on PostgreSQL', function () {
  this.timeout(180_000);
  let federation: LocalFederation;

  before(async () => {
    federation = await LocalFederation.start({ postgres: await sharedCluster(), pairs: ['atacama'], observatories: ['atacama', 'mauna-kea'], env: { ...LEASE, ...FAST_RECOVERY } });
    await federation.launch('atacama', {}, 'standby');
  });
  after(async () => federation?.stop());

  it('the standby answers 503 problem+json naming the active process and its URL', async () => {
    const res = await httpClient(federation.standbys.get('atacama')!.url).get('/bookings');
    expect(res.status).to.equal(503);
    expect(res.headers['content-type']).to.contain('application/problem+json');
    expect(res.data.type).to.equal('urn:observatory-federation:problem:standby');
    expect(res.data.active).to.include({ instanceId: 'atacama-a', url: federation.url('atacama'), epoch: 1 });
    expect(res.data.detail).to.contain('atacama-a').and.contain(federation.url('atacama'));
  });

  it('the active reports its lease on /metrics: the epoch it holds and a renewal age below LEASE_DURATION_MS', async () => {
    const res = await httpClient(federation.url('atacama'), federation.tokens.operators['atacama']).get('/metrics', { responseType: 'text' });
    expect(res.status).to.equal(200);
    expect(res.data).to.match(/^ofed_lease_epoch\{observatory="atacama"\} 1$/m);
    const age = Number(/^ofed_lease_renewal_age_seconds\{observatory="atacama"\} (\S+)$/m.exec(res.data)?.[1]);
    expect(age).to.be.at.least(0).and.below(Number(LEASE.LEASE_DURATION_MS) / 1000);
    const single = await httpClient(federation.url('mauna-kea'), federation.tokens.operators['mauna-kea']).get('/metrics', { responseType: 'text' });
    expect(single.data, 'a node without a pair has no lease series').to.not.contain('ofed_lease_epoch');
  });

  it(`SIGKILL of the active under load: the standby serves within ${TAKEOVER_BOUND_MS} ms, every acknowledged booking stays confirmed, invariants hold on the database`, async () => {
    const report = await runFailover(federation, { observatory: 'atacama', peer: 'mauna-kea', clients: 4, beforeKillMs: 2_000, afterTakeoverMs: 1_500, takeoverTimeoutMs: TAKEOVER_BOUND_MS });
    expect(report.detectionMs, JSON.stringify(report)).to.be.a('number').and.at.most(TAKEOVER_BOUND_MS);
    expect(report.failoverMs, JSON.stringify(report)).to.be.a('number').and.at.most(TAKEOVER_BOUND_MS);
    expect(report.acknowledged).to.be.greaterThan(0);
    expect(report.lostAcknowledged).to.deep.equal([]);
    expect(report.violations).to.deep.equal([]);
  });

  it('a former active paused past its lease (SIGSTOP) and resumed (SIGCONT) writes nothing: it stops, and the booking it was sent is nowhere', async () => {
    // After the previous test atacama-b is active; atacama-a comes back as its standby.
    await federation.launch('atacama', {}, 'primary');
    const paused = federation.standbys.get('atacama')!.child!;
    const exited = new Promise<number | null>((resolve) => paused.once('exit', (code) => resolve(code)));
    paused.kill('SIGSTOP');
    try {
      await waitUntilActive(federation.url('atacama'), TAKEOVER_BOUND_MS);
      const items = [item('atacama-ut1', 361, 5), item('mauna-kea-keck1', 361, 5)];
      const stale = httpClient(federation.standbys.get('atacama')!.url, federation.tokens.scientists['vera-rubin']).post('/bookings', { scientistId: 'vera-rubin', items }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300)); // the request waits in the paused process's socket
      paused.kill('SIGCONT');
      const [answer, code] = await Promise.all([stale, exited]);
      expect(answer?.status ?? 0, 'no booking acknowledged by the former active').to.not.equal(201);
      expect(code, 'exit code: 75 lease lost, or 70 a fenced write').to.be.oneOf([70, 75]);
      const node = federation.node('atacama');
      expect(await queryNode(node, 'SELECT booking_id FROM slot_claims WHERE telescope_id = ? AND slot_start = ?', ['atacama-ut1', items[0]!.start])).to.deep.equal([]);
      // The former active may have sent its prepare before it stopped: mauna-kea then holds the
      // slot in doubt until the new active answers its query (no record: aborted). Meanwhile a
      // retry is refused 409 "held by a booking in progress", never anything else.
      const asVera = httpClient(federation.url('atacama'), federation.tokens.scientists['vera-rubin']);
      let retried = await asVera.post('/bookings', { scientistId: 'vera-rubin', items });
      for (const deadline = Date.now() + 30_000; retried.status === 409 && Date.now() < deadline;) {
        expect(retried.data.detail, JSON.stringify(retried.data)).to.contain('held by a booking in progress');
        await new Promise((resolve) => setTimeout(resolve, 250));
        retried = await asVera.post('/bookings', { scientistId: 'vera-rubin', items });
      }
      expect(retried.status, JSON.stringify(retried.data)).to.equal(201);
    } finally {
      if (paused.exitCode === null && paused.signalCode === null) paused.kill('SIGCONT');
    }
    await settled(federation, 30_000);
    expect(violations(await snapshot(federation))).to.deep.equal([]);
  });
});

describe('fencing: a group commit checks the lease epoch inside its own transaction (PostgreSQL)', function () {
  this.timeout(60_000);
  let database: Database | undefined;
  let leases: LeaseStore | undefined;
  after(async () => {
    await database?.close();
    await leases?.close();
  });

  it('a batch written under an epoch that has since been taken over fails and commits nothing; the new holder\'s batch commits', async () => {
    const url = await (await sharedCluster()).createDatabase(`fencing-${process.pid}-${Date.now()}`);
    database = await openDatabase('/nonexistent-unused', { databaseUrl: url });
    leases = await LeaseStore.open(url);
    const first = (await leases.tryAcquire('old', 'http://old', 60_000))!;
    const oldWriter = new GroupCommitWriter(database.committer(() => ({ epoch: first, holderId: 'old' })), 64);
    const insert = (writer: GroupCommitWriter, id: string) => writer.write((batch) => batch.statement((s) => s.query('INSERT INTO scientists (id, name, email, institution) VALUES (?, ?, ?, ?)', [id, id, `${id}@example.org`, 'atacama'])));
    await insert(oldWriter, 'written-while-holding');
    expect(await leases.tryAcquire('new', 'http://new', 60_000), 'the lease has not run out: no takeover').to.equal(undefined);
    await leases.release('old', first); // as if it had run out while the old holder was paused
    const second = (await leases.tryAcquire('new', 'http://new', 60_000))!;
    expect(second).to.equal(first + 1);
    let refusal: Error | undefined;
    await insert(oldWriter, 'written-after-losing').catch((error: Error) => (refusal = error));
    expect(refusal?.message).to.match(/fenced off: lease epoch \d+ is no longer held by old/);
    const newWriter = new GroupCommitWriter(database.committer(() => ({ epoch: second, holderId: 'new' })), 64);
    await insert(newWriter, 'written-by-new-holder');
    const ids = (await database.reader.query<{ id: string }>('SELECT id FROM scientists ORDER BY id')).map((r) => r.id);
    expect(ids).to.deep.equal(['written-by-new-holder', 'written-while-holding']);
  });
});

async function waitUntilActive(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const health = await fetch(`${url}/health`).then((r) => r.json() as Promise<{ status?: string }>, () => undefined);
    if (health?.status === 'ok') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not become active within ${timeoutMs} ms`);
}
