// Outcomes survive the loss of memory (real processes, real SQLite, SIGKILL, SIGSTOP):
// committed stays committed after END; a restore from an online backup, done as
// docs/OPERATIONS.md says, double-books nothing; a coordinator restarted with an empty store,
// or lost for good, does not make an in-doubt participant release a confirmed slot — the
// participants finish by cooperative termination.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { LocalFederation, NODE_MAIN } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { item } from '../support/slots.js';
import { snapshot, violations } from '../support/consistency.js';
import { queryFile } from '../support/sqlite.js';
import { peerAuthFrom, signedClient } from '../support/signing.js';
import { RecordingProxy } from '../support/recording-proxy.js';

const STORE_CLI = path.join(path.dirname(NODE_MAIN), 'cli', 'store.js');
const FAST = {
  IN_DOUBT_QUERY_AFTER_MS: '300', IN_DOUBT_QUERY_MAX_INTERVAL_MS: '1000', DECISION_RESEND_INITIAL_MS: '200', DECISION_RESEND_MAX_MS: '1000',
  PREPARE_TIMEOUT_MS: '1500', RECONCILIATION_RETRY_MS: '300', STORE_CLOCK_MARGIN_MS: '1000', PEER_REQUEST_TIMEOUT_MS: '1000',
};

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function auditEvents(federation: LocalFederation, id: string): Array<{ event_type: string; tx_id?: string; details?: Record<string, unknown> }> {
  const file = path.join(federation.node(id).dataDir, 'logs', `${id}.audit.jsonl`);
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

async function participantState(federation: LocalFederation, id: string, txId: string): Promise<string | undefined> {
  const rows = await queryFile<{ state: string }>(federation.node(id).dbFile, 'SELECT state FROM participant_transactions WHERE tx_id = ?', [txId]);
  return rows[0]?.state;
}

/** A decision (commit or abort) on its way from the coordinator to a participant. */
const isDecision = (request: { method: string; body: string }) => request.method === 'POST' && /"type":"(commit|abort)"/.test(request.body);

/**
 * A two-site booking coordinated by atacama whose la-palma part is left in doubt: la-palma dies
 * right after voting yes (fault point participant.voted-yes), and `relay`, atacama's route to
 * la-palma, holds every decision for la-palma until it has died — on a quiet machine the commit
 * would otherwise arrive and be written before the fault point fires. What was held is then
 * lost, as on a connection cut by the crash. On a loaded machine the vote may not leave before
 * the kill (the booking then fails with 503): another hour is tried, at most three times.
 */
async function bookWhileLaPalmaDiesAfterVotingYes(federation: LocalFederation, relay: RecordingProxy): Promise<string> {
  for (let attempt = 0; ; attempt += 1) {
    const palmaDied = federation.exited('la-palma', 15_000);
    relay.hold(isDecision);
    const items = [item('mauna-kea-keck1', 152, 5 + attempt), item('la-palma-gtc', 152, 5 + attempt)];
    const booked = await federationClient(federation, 'atacama').post('/bookings', { scientistId: 'vera-rubin', items });
    await palmaDied;
    relay.release('drop');
    if (booked.status === 201) return booked.data.id as string;
    expect(booked.status, JSON.stringify(booked.data)).to.equal(503);
    if (attempt === 2) throw new Error(`la-palma's yes vote never reached atacama before it died: ${JSON.stringify(booked.data)}`);
    await federation.launch('la-palma', { FAULT_POINTS: 'participant.voted-yes' });
  }
}

describe('durable outcomes (real processes)', function () {
  this.timeout(120_000);

  it('a coordinator answers committed after END, from its record, in the transaction view and to a status query', async () => {
    const federation = await LocalFederation.start({ env: FAST });
    try {
      const booked = await federationClient(federation, 'atacama').post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 150, 5), item('mauna-kea-keck1', 150, 5)] });
      expect(booked.status, JSON.stringify(booked.data)).to.equal(201);
      const txId = booked.data.id as string;
      await until('the END record', async () => ((await queryFile<{ state: string }>(federation.node('atacama').dbFile, 'SELECT state FROM coordinator_transactions WHERE tx_id = ?', [txId]))[0]?.state === 'ended' ? true : undefined));
      const view = await federationClient(federation, 'mauna-kea').get(`/admin/transactions/${txId}`);
      expect(view.status).to.equal(200);
      expect(view.data.observatories.atacama.coordinatorOutcome).to.equal('committed');
      expect(view.data.observatories['mauna-kea'].participant.phase).to.equal('committed');
      await federation.restart('atacama'); // memory gone, the END record stays
      const after = await federationClient(federation, 'atacama').get(`/admin/transactions/${txId}`);
      expect(after.data.observatories.atacama.coordinatorOutcome).to.equal('committed');
      // The status query a participant restored to doubt would send, signed as mauna-kea.
      const asMaunaKea = signedClient(federation.url('atacama'), peerAuthFrom(federation.keys.secretsFile, 'mauna-kea'), 'atacama');
      const outcome = await asMaunaKea.get(`/federation/v1/transactions/${txId}/outcome?from=mauna-kea`);
      expect(outcome.status, JSON.stringify(outcome.data)).to.equal(200);
      expect(outcome.data).to.include({ type: 'status-reply', outcome: 'committed', from: 'atacama' });
      const never = await asMaunaKea.get(`/federation/v1/transactions/${txId.slice(0, -4)}zzzz/outcome?from=mauna-kea`);
      expect(never.data.outcome).to.equal('aborted', 'presumed abort still holds for an id it never decided');
    } finally {
      await federation.stop();
    }
  });

  it('restore from an online backup as docs/OPERATIONS.md says: no booking until reconciled with every peer, then the lost booking holds its slot (no double booking)', async () => {
    const federation = await LocalFederation.start({ env: FAST });
    try {
      const mauna = federationClient(federation, 'mauna-kea');
      const first = await mauna.post('/bookings', { scientistId: 'vera-rubin', items: [item('mauna-kea-keck1', 151, 5), item('la-palma-gtc', 151, 5)] });
      expect(first.status).to.equal(201);
      const backup = path.join(federation.node('la-palma').dataDir, '..', 'la-palma-backup.sqlite');
      execFileSync(process.execPath, [STORE_CLI, 'backup', '--data-dir', federation.node('la-palma').dataDir, '--to', backup]);
      const lost = await mauna.post('/bookings', { scientistId: 'vera-rubin', items: [item('mauna-kea-keck1', 151, 6), item('la-palma-gtc', 151, 6)] });
      expect(lost.status).to.equal(201);
      await until('la-palma committed the second booking', async () => ((await participantState(federation, 'la-palma', lost.data.id)) === 'committed' ? true : undefined));

      await federation.kill('la-palma');
      execFileSync(process.execPath, [STORE_CLI, 'restore', '--backup', backup, '--data-dir', federation.node('la-palma').dataDir, '--reason', 'disk replaced, ticket OPS-7']);
      // mauna-kea, which knows of the lost booking, cannot answer yet: la-palma must wait for it.
      const maunaPid = federation.node('mauna-kea').child!.pid!;
      process.kill(maunaPid, 'SIGSTOP');
      let resumed = false;
      try {
        await federation.launch('la-palma');
        const palma = federationClient(federation, 'la-palma');
        const refused = await palma.post('/bookings', { scientistId: 'edwin-hubble', items: [item('la-palma-gtc', 151, 6)] });
        expect(refused.status, JSON.stringify(refused.data)).to.equal(503);
        expect(refused.data.detail).to.match(/reconciling/);
        const ready = await palma.get('/ready');
        expect(ready.status).to.equal(503);
        expect(ready.data.checks.reconciliation.ok).to.equal(false);
        process.kill(maunaPid, 'SIGCONT');
        resumed = true;
        await until('la-palma reconciled', async () => ((await palma.get('/admin/reconciliation')).data.servingBookings === true ? true : undefined));
        const again = await palma.post('/bookings', { scientistId: 'edwin-hubble', items: [item('la-palma-gtc', 151, 6)] });
        expect(again.status, JSON.stringify(again.data)).to.equal(409);
        const status = (await palma.get('/admin/reconciliation')).data;
        expect(status.peers['mauna-kea']).to.include({ state: 'done', applied: 1 });
      } finally {
        if (!resumed) process.kill(maunaPid, 'SIGCONT');
      }
      expect(await participantState(federation, 'la-palma', lost.data.id)).to.equal('committed');
      const events = auditEvents(federation, 'la-palma').map((e) => e.event_type);
      expect(events).to.include.members(['STORE_RECONCILIATION_STARTED', 'TX_REAPPLIED', 'STORE_RECONCILED']);
      expect(violations(await snapshot(federation), { confirmed: [first.data.id, lost.data.id] })).to.deep.equal([]);
    } finally {
      await federation.stop();
    }
  });

  for (const coordinatorFate of ['restarted with an empty store under its own name', 'SIGKILLed after its decision and never restarted'] as const) {
    it(`a coordinator ${coordinatorFate}: the in-doubt participant commits (by cooperative termination, or from the record a restarted coordinator rebuilt from its peers) and never releases the confirmed slot`, async () => {
      let federation: LocalFederation | undefined;
      const relay = await RecordingProxy.start(() => federation!.url('la-palma'));
      federation = await LocalFederation.start({ env: FAST, nodeEnv: { 'la-palma': { FAULT_POINTS: 'participant.voted-yes' } }, routeVia: { atacama: { 'la-palma': relay.url } } }).catch(async (error: unknown) => {
        await relay.stop();
        throw error;
      });
      try {
        const txId = await bookWhileLaPalmaDiesAfterVotingYes(federation, relay);
        await until('mauna-kea committed', async () => ((await participantState(federation, 'mauna-kea', txId)) === 'committed' ? true : undefined));
        expect(await participantState(federation, 'la-palma', txId)).to.equal('prepared');

        await federation.kill('atacama');
        if (coordinatorFate.startsWith('restarted')) {
          rmSync(federation.node('atacama').dataDir, { recursive: true, force: true });
          await federation.launch('atacama');
        }
        await federation.launch('la-palma', { FAULT_POINTS: '' });
        await until('la-palma committed', async () => ((await participantState(federation, 'la-palma', txId)) === 'committed' ? true : undefined));
        const claims = await queryFile<{ state: string }>(federation.node('la-palma').dbFile, 'SELECT state FROM slot_claims WHERE tx_id = ? OR booking_id = ?', [txId, txId]);
        expect(claims.map((c) => c.state)).to.deep.equal(['BOOKED']);
        const terminated = auditEvents(federation, 'la-palma').find((e) => e.event_type === 'TX_TERMINATED_BY_PEER');
        if (coordinatorFate.startsWith('restarted')) {
          // la-palma asked either before atacama learnt its booking back from mauna-kea (atacama
          // said unknown and mauna-kea committed) or after (atacama answers from its rebuilt record).
          if (terminated) expect(terminated.details).to.include({ peer: 'mauna-kea', outcome: 'committed', coordinator: 'atacama' });
          if (terminated) expect((terminated.details?.answers as Record<string, string>).atacama).to.equal('unknown');
          await until('atacama knows its booking again', async () => ((await federationClient(federation, 'atacama').get(`/bookings/${txId}`)).data.status === 'CONFIRMED' ? true : undefined));
          expect(auditEvents(federation, 'atacama').map((e) => e.event_type)).to.include.members(['STORE_DISCONTINUITY_DETECTED', 'TX_REAPPLIED']);
        } else {
          expect(terminated?.details).to.include({ peer: 'mauna-kea', outcome: 'committed', coordinator: 'atacama' });
        }
      } finally {
        await federation.stop();
        await relay.stop();
      }
    });
  }
});
