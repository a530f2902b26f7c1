// The restore runbook on PostgreSQL (docs/OPERATIONS.md, "Restore on PostgreSQL"), followed with
// real processes: a pg_dump of la-palma's database, one more two-site booking, la-palma stopped,
// its database brought back with pg_restore, marked with `npm run store -- restored`. The node
// must serve no booking until every peer has told it what it lost, then hold the lost booking's
// slot: no double booking. Without the mark the same restore would serve at once.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { postgresProgram } from '../../federation-node/src/local/postgres-cluster.js';
import { sharedCluster } from '../support/backends.js';
import { snapshot, violations } from '../support/consistency.js';
import { LocalFederation } from '../support/federation-harness.js';
import { FAST_RECONCILIATION, STORE_CLI, until } from '../support/restore-steps.js';
import { federationClient } from '../support/http-client.js';
import { item } from '../support/slots.js';
import { queryNode } from '../support/store-query.js';


describe('restore of a PostgreSQL store (pg_dump / pg_restore) marked with `npm run store -- restored`', function () {
  this.timeout(180_000);

  it('no booking until reconciled with every peer, then the lost booking holds its slot at the restored node (no double booking)', async () => {
    const federation = await LocalFederation.start({ postgres: await sharedCluster(), env: FAST_RECONCILIATION });
    try {
      const palmaNode = federation.node('la-palma');
      const url = palmaNode.databaseUrl!;
      const mauna = federationClient(federation, 'mauna-kea');
      const first = await mauna.post('/bookings', { scientistId: 'vera-rubin', items: [item('mauna-kea-keck1', 171, 5), item('la-palma-gtc', 171, 5)] });
      expect(first.status, JSON.stringify(first.data)).to.equal(201);
      const dump = path.join(palmaNode.dataDir, '..', 'la-palma.pgdump');
      execFileSync(postgresProgram('pg_dump'), ['--format=custom', `--file=${dump}`, url]);
      const lost = await mauna.post('/bookings', { scientistId: 'vera-rubin', items: [item('mauna-kea-keck1', 171, 6), item('la-palma-gtc', 171, 6)] });
      expect(lost.status, JSON.stringify(lost.data)).to.equal(201);
      const palmaState = async () => (await queryNode<{ state: string }>(palmaNode, 'SELECT state FROM participant_transactions WHERE tx_id = ?', [lost.data.id]))[0]?.state;
      await until('la-palma committed the second booking', async () => (await palmaState()) === 'committed');

      await federation.kill('la-palma');
      execFileSync(postgresProgram('pg_restore'), ['--clean', '--if-exists', '--single-transaction', `--dbname=${url}`, dump]);
      expect(await palmaState(), 'the restored database has lost the second booking').to.equal(undefined);
      const marked = execFileSync(process.execPath, [STORE_CLI, 'restored', '--data-dir', palmaNode.dataDir, '--database-url', url, '--reason', 'database restored from last night\'s dump, ticket OPS-9'], { encoding: 'utf8' });
      expect(marked).to.match(/marked the database as restored/);

      // mauna-kea, which knows of the lost booking, cannot answer yet: la-palma must wait for it.
      const maunaPid = federation.node('mauna-kea').child!.pid!;
      process.kill(maunaPid, 'SIGSTOP');
      let resumed = false;
      try {
        await federation.launch('la-palma');
        const palma = federationClient(federation, 'la-palma');
        const refused = await palma.post('/bookings', { scientistId: 'edwin-hubble', items: [item('la-palma-gtc', 171, 6)] });
        expect(refused.status, JSON.stringify(refused.data)).to.equal(503);
        expect(refused.data.detail).to.match(/reconciling/);
        process.kill(maunaPid, 'SIGCONT');
        resumed = true;
        await until('la-palma reconciled', async () => (await palma.get('/admin/reconciliation')).data.servingBookings === true);
        const again = await palma.post('/bookings', { scientistId: 'edwin-hubble', items: [item('la-palma-gtc', 171, 6)] });
        expect(again.status, JSON.stringify(again.data)).to.equal(409);
      } finally {
        if (!resumed) process.kill(maunaPid, 'SIGCONT');
      }
      expect(await palmaState()).to.equal('committed');
      expect(violations(await snapshot(federation), { confirmed: [first.data.id, lost.data.id] })).to.deep.equal([]);
    } finally {
      await federation.stop();
    }
  });

  it('`store restored` refuses while a process of the observatory holds its lease, naming it', async () => {
    const federation = await LocalFederation.start({ postgres: await sharedCluster(), pairs: ['atacama'], observatories: ['atacama', 'mauna-kea'], env: FAST_RECONCILIATION });
    try {
      const node = federation.node('atacama');
      let failure: { status: number; stderr: string } | undefined;
      try {
        execFileSync(process.execPath, [STORE_CLI, 'restored', '--data-dir', node.dataDir, '--database-url', node.databaseUrl!, '--reason', 'test'], { encoding: 'utf8', stdio: 'pipe' });
      } catch (error) {
        failure = error as { status: number; stderr: string };
      }
      expect(failure?.status).to.equal(1);
      expect(failure?.stderr).to.match(/atacama-a at .* holds the lease \(epoch 1\): stop every process of this observatory first/);
    } finally {
      await federation.stop();
    }
  });
});
