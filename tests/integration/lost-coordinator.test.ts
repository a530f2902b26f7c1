// A coordinator lost for good after its decision (real processes, real SIGKILL, its data
// directory deleted): the participants finish the booking on their own through the acceptors
// (Paxos Commit, docs/PROTOCOL.md §20), within the named bound, and every slot ends booked or
// free, never held. Also with the coordinator restarted under its own name on an empty store:
// it answers `unknown` (or `committed` once its peers gave the booking back), never
// contradicts, and the participants still commit.
import { rmSync } from 'node:fs';
import { expect } from 'chai';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { item } from '../support/slots.js';
import { queryFile } from '../support/sqlite.js';
import { peerAuthFrom, signedClient } from '../support/signing.js';

const TIMINGS = {
  IN_DOUBT_QUERY_AFTER_MS: '300', IN_DOUBT_QUERY_MAX_INTERVAL_MS: '1000', DECISION_RESEND_INITIAL_MS: '200', DECISION_RESEND_MAX_MS: '1000',
  PREPARE_TIMEOUT_MS: '1500', RECOVERY_BALLOT_AFTER_MS: '2000', PEER_REQUEST_TIMEOUT_MS: '1000', RECONCILIATION_RETRY_MS: '300',
};
/**
 * The named bound (docs/PROTOCOL.md §20, "Failure bound"): a participant in doubt leads a
 * recovery ballot RECOVERY_BALLOT_AFTER_MS after it prepared and again at every in-doubt query
 * (at most IN_DOUBT_QUERY_MAX_INTERVAL_MS apart); a ballot takes two exchanges, each bounded by
 * PEER_REQUEST_TIMEOUT_MS.
 */
const DECIDED_WITHIN_MS = Number(TIMINGS.RECOVERY_BALLOT_AFTER_MS) + Number(TIMINGS.IN_DOUBT_QUERY_MAX_INTERVAL_MS) + 2 * Number(TIMINGS.PEER_REQUEST_TIMEOUT_MS);
/** What a machine shared with other test runs may add to it (the test's only timing margin). */
const LOADED_MACHINE_MARGIN_MS = 20_000;

async function participantState(federation: LocalFederation, id: string, txId: string): Promise<string | undefined> {
  const rows = await queryFile<{ state: string }>(federation.node(id).dbFile, 'SELECT state FROM participant_transactions WHERE tx_id = ?', [txId]);
  return rows[0]?.state;
}

async function claimStates(federation: LocalFederation, id: string): Promise<string[]> {
  return (await queryFile<{ state: string }>(federation.node(id).dbFile, 'SELECT state FROM slot_claims ORDER BY state')).map((r) => r.state);
}

/** Waits until both participants finished the transaction; returns how long it took. */
async function bothCommitted(federation: LocalFederation, txId: string): Promise<number> {
  const started = Date.now();
  const deadline = started + DECIDED_WITHIN_MS + LOADED_MACHINE_MARGIN_MS;
  for (;;) {
    const states = await Promise.all(['mauna-kea', 'la-palma'].map((id) => participantState(federation, id, txId).catch(() => undefined)));
    if (states.every((s) => s === 'committed')) return Date.now() - started;
    expect(states.some((s) => s === 'aborted'), `a participant aborted a transaction whose commit the acceptors chose: ${states.join(', ')}`).to.equal(false);
    if (Date.now() > deadline) throw new Error(`not decided within ${DECIDED_WITHIN_MS} ms (+ ${LOADED_MACHINE_MARGIN_MS} ms margin): ${states.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * atacama coordinates a booking of mauna-kea and la-palma (acceptors: atacama, mauna-kea,
 * la-palma) and dies by SIGKILL right after the acceptors chose COMMIT and its decision is
 * durable, before any participant is told (fault point coordinator.decided.before-commit).
 */
async function bookAndLoseTheCoordinator(federation: LocalFederation, day: number): Promise<string> {
  const died = federation.exited('atacama', 30_000);
  const items = [item('mauna-kea-keck1', day, 5), item('la-palma-gtc', day, 5)];
  const answer = await federationClient(federation, 'atacama').post('/bookings', { scientistId: 'vera-rubin', items }).catch(() => undefined);
  await died;
  const rows = await queryFile<{ tx_id: string; state: string }>(federation.node('mauna-kea').dbFile, 'SELECT tx_id, state FROM participant_transactions');
  expect(rows, 'mauna-kea prepared exactly one transaction').to.have.length(1);
  expect(rows[0]!.state, 'no participant was told before the coordinator died').to.equal('prepared');
  if (answer?.status === 201) expect(answer.data.id).to.equal(rows[0]!.tx_id);
  return rows[0]!.tx_id;
}

describe('a coordinator lost for good after its decision (Paxos Commit, real processes)', function () {
  this.timeout(180_000);

  for (const fate of ['its data directory deleted and never restarted', 'restarted under its own name with an empty store'] as const) {
    it(`${fate}: both participants commit on their own within ${DECIDED_WITHIN_MS} ms, and no slot stays held`, async () => {
      const federation = await LocalFederation.start({ env: TIMINGS, nodeEnv: { atacama: { FAULT_POINTS: 'coordinator.decided.before-commit' } } });
      try {
        const txId = await bookAndLoseTheCoordinator(federation, fate.startsWith('restarted') ? 161 : 160);
        rmSync(federation.node('atacama').dataDir, { recursive: true, force: true });
        if (fate.startsWith('restarted')) await federation.launch('atacama', { FAULT_POINTS: '' });
        const tookMs = await bothCommitted(federation, txId);
        console.log(`      (decided without the coordinator in ${tookMs} ms)`);
        for (const id of ['mauna-kea', 'la-palma']) expect(await claimStates(federation, id), `${id}'s slots`).to.deep.equal(['BOOKED']);
        if (fate.startsWith('restarted')) {
          // The empty store cannot answer for the past by itself: `unknown`, never `aborted` — or,
          // once its peers told it its booking back with the credential that proves it (PROTOCOL.md
          // §16, "A restored coordinator"), `committed` from the record it rebuilt.
          const auth = peerAuthFrom(federation.keys.secretsFile, 'mauna-kea');
          const outcome = await signedClient(federation.url('atacama'), auth, 'atacama').get(`/federation/v1/transactions/${encodeURIComponent(txId)}/outcome?from=mauna-kea`);
          expect(outcome.data.outcome).to.be.oneOf(['unknown', 'committed']);
        }
        const view = await federationClient(federation, 'mauna-kea').get(`/admin/transactions/${encodeURIComponent(txId)}`);
        expect(view.status, JSON.stringify(view.data)).to.equal(200);
      } finally {
        await federation.stop();
      }
    });
  }
});
