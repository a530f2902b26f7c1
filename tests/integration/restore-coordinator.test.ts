// A coordinator restored from a backup gets its own bookings back (docs/PROTOCOL.md §16, "A
// restored coordinator"; real processes, real SQLite): la-palma coordinates a two-site booking
// after its backup and cancels, after the backup, one it had made before. Restored as
// docs/OPERATIONS.md says, it must learn both from its peers before it serves a booking: the
// lost booking is CONFIRMED again at la-palma with its slot held (no second scientist gets it)
// and answers "committed" from its records; the cancelled one is CANCELLED with its slot free.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { snapshot, violations } from '../support/consistency.js';
import { LocalFederation } from '../support/federation-harness.js';
import { FAST_RECONCILIATION, STORE_CLI, until } from '../support/restore-steps.js';
import { federationClient } from '../support/http-client.js';
import { item } from '../support/slots.js';
import { queryFile } from '../support/sqlite.js';


describe('a coordinator restored from a backup (real processes)', function () {
  this.timeout(120_000);

  it('learns its own bookings and cancellations made after the backup from its peers before serving: the lost booking holds its slot again, the cancelled one frees its slot', async () => {
    const federation = await LocalFederation.start({ env: FAST_RECONCILIATION });
    try {
      const palma = () => federationClient(federation, 'la-palma');
      const palmaNode = federation.node('la-palma');
      const committedAt = async (id: string, txId: string) => (await queryFile<{ state: string }>(federation.node(id).dbFile, 'SELECT state FROM participant_transactions WHERE tx_id = ?', [txId]))[0]?.state === 'committed';
      const early = await palma().post('/bookings', { scientistId: 'vera-rubin', items: [item('la-palma-gtc', 181, 5), item('mauna-kea-keck1', 181, 5)] });
      expect(early.status, JSON.stringify(early.data)).to.equal(201);
      await until('la-palma committed the early booking', () => committedAt('la-palma', early.data.id));
      const backup = path.join(palmaNode.dataDir, '..', 'la-palma-backup.sqlite');
      execFileSync(process.execPath, [STORE_CLI, 'backup', '--data-dir', palmaNode.dataDir, '--to', backup]);

      const lost = await palma().post('/bookings', { scientistId: 'vera-rubin', items: [item('la-palma-gtc', 181, 6), item('mauna-kea-keck1', 181, 6)] });
      expect(lost.status, JSON.stringify(lost.data)).to.equal(201);
      const cancelled = await palma().delete(`/bookings/${early.data.id}`);
      expect(cancelled.status, JSON.stringify(cancelled.data)).to.equal(200);
      // Every participant has both outcomes before la-palma dies (dying in between is the crash tests' case).
      const cancelsCommittedAt = async (id: string) => {
        const rows = await queryFile<{ state: string }>(federation.node(id).dbFile, "SELECT state FROM participant_transactions WHERE kind = 'cancel'");
        return rows.length > 0 && rows.every((r) => r.state === 'committed');
      };
      for (const id of ['la-palma', 'mauna-kea']) {
        await until(`${id} committed the booking and the cancellation`, async () => (await committedAt(id, lost.data.id)) && (await cancelsCommittedAt(id)));
      }

      await federation.kill('la-palma');
      execFileSync(process.execPath, [STORE_CLI, 'restore', '--backup', backup, '--data-dir', palmaNode.dataDir, '--reason', 'disk replaced, ticket OPS-10']);
      await federation.launch('la-palma');
      await until('la-palma reconciled', async () => (await palma().get('/admin/reconciliation')).data.servingBookings === true).catch(async (error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify((await palma().get('/admin/reconciliation')).data)}`);
      });
      const again = await palma().get(`/bookings/${lost.data.id}`);
      expect(again.status).to.equal(200);
      expect(again.data.status).to.equal('CONFIRMED');
      expect(again.data.items).to.have.length(2);
      const second = await palma().post('/bookings', { scientistId: 'edwin-hubble', items: [item('la-palma-gtc', 181, 6)] });
      expect(second.status, `a second scientist must not get the lost booking's slot: ${JSON.stringify(second.data)}`).to.equal(409);

      expect((await palma().get(`/bookings/${early.data.id}`)).data.status).to.equal('CANCELLED');
      const freed = await palma().post('/bookings', { scientistId: 'edwin-hubble', items: [item('la-palma-gtc', 181, 5)] });
      expect(freed.status, `the cancelled booking's slot is free again: ${JSON.stringify(freed.data)}`).to.equal(201);

      const status = (await palma().get('/admin/reconciliation')).data;
      expect(status.ownConflicts, JSON.stringify(status)).to.deep.equal([]);
      const view = await palma().get(`/admin/transactions/${lost.data.id}`);
      expect(view.data.observatories['la-palma'].coordinatorOutcome).to.equal('committed');
      expect(violations(await snapshot(federation), { confirmed: [lost.data.id, freed.data.id] })).to.deep.equal([]);
    } finally {
      await federation.stop();
    }
  });
});
