// A compromised member misbehaving in Paxos Commit (docs/PROTOCOL.md §20, docs/SECURITY.md),
// against real nodes. mauna-kea's process is replaced by the test, which holds mauna-kea's real
// key, listens at its URL and signs every message correctly. It tries to make the acceptors
// choose COMMIT of a booking its honest coordinator never committed, to lead ballots it may not
// lead, to name acceptor sets that break the rules, and to flood the acceptors. Each attempt is
// refused with a problem naming the rule, audited, and the booking stays what its coordinator
// decided at every site.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { AxiosInstance } from 'axios';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { HOLD, startRoguePeer, type RoguePeer } from '../support/rogue-peer.js';
import { peerAuthFrom, signedClient } from '../support/signing.js';
import { item } from '../support/slots.js';
import { queryFile } from '../support/sqlite.js';
import { KeyRing, readSigningKey } from '../../federation-node/src/security/key-ring.js';
import { readMembershipFile, signingKeyFile } from '../../federation-node/src/security/local-keys.js';
import { ed25519CommitProofs } from '../../federation-node/src/federation/commit-proofs.js';

const ROGUE = 'mauna-kea';
const TX_PATH = (txId: string, what: string) => `/federation/v1/transactions/${encodeURIComponent(txId)}/${what}`;
/**
 * The coordinator waits PREPARE_TIMEOUT_MS for votes; a participant in doubt leads a recovery
 * ballot RECOVERY_BALLOT_AFTER_MS after it prepared. The prepare the rogue never answers must
 * not time out before the test pauses the coordinator (PEER_REQUEST_TIMEOUT_MS).
 */
const TIMINGS = {
  PREPARE_TIMEOUT_MS: '4000', RECOVERY_BALLOT_AFTER_MS: '4500', PEER_REQUEST_TIMEOUT_MS: '4000', PEER_REQUEST_ATTEMPTS_MAX: '1',
  IN_DOUBT_QUERY_AFTER_MS: '300', IN_DOUBT_QUERY_MAX_INTERVAL_MS: '1000', RATE_LIMIT_PER_PEER_PER_MINUTE: '300',
};
/** What a loaded machine may add to any wait of this test (bounded loops, never a timing assertion). */
const WAIT_MAX_MS = 60_000;

type AuditLine = { event_type: string; tx_id?: string; details: Record<string, unknown> };

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MAX_MS;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${WAIT_MAX_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a rogue member in Paxos Commit: acceptors trust a leader only for what it can prove (real processes)', function () {
  this.timeout(240_000);
  let federation: LocalFederation;
  let rogue: RoguePeer;
  /** The transaction the rogue is attacking, once atacama's prepare reached it. */
  let attacked: { txId: string; participants: string[]; acceptors: string[] } | undefined;
  /** An honest booking of atacama and la-palma, committed (acceptors atacama, la-palma, mauna-kea). */
  let honest: { txId: string; participants: string[]; acceptors: string[] };

  const rogueAt = (node: string): AxiosInstance => signedClient(federation.url(node), peerAuthFrom(federation.keys.secretsFile, ROGUE), node);
  const audit = (node: string): AuditLine[] => readFileSync(`${federation.node(node).dataDir}/logs/${node}.audit.jsonl`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditLine);
  const audited = (node: string, what: string, match: (e: AuditLine) => boolean) => until(`${node} audits ${what}`, async () => (audit(node).some(match) ? true : undefined));
  const refusalAudited = (node: string, txId: string, rule: string) => audited(node, `ACCEPTOR_REQUEST_REFUSED ${rule}`, (e) => e.event_type === 'ACCEPTOR_REQUEST_REFUSED' && e.tx_id === txId && e.details.rule === rule);
  const participantRow = async (node: string, txId: string) => (await queryFile<{ state: string; participants_json: string; acceptors_json: string | null }>(federation.node(node).dbFile, 'SELECT state, participants_json, acceptors_json FROM participant_transactions WHERE tx_id = ?', [txId]))[0];
  const acceptorRow = async (node: string, txId: string) => (await queryFile<{ promised_round: number; accepted_round: number | null; accepted_value: string | null }>(federation.node(node).dbFile, 'SELECT promised_round, accepted_round, accepted_value FROM acceptor_transactions WHERE tx_id = ?', [txId]))[0];
  const claims = (node: string, bookingId: string) => queryFile<{ state: string }>(federation.node(node).dbFile, 'SELECT state FROM slot_claims WHERE booking_id = ?', [bookingId]);
  /** A COMMIT proof signed with the rogue's own (real, listed) key: a member's signature, not the coordinator's. */
  const rogueProof = (subject: { txId: string; participants: string[]; acceptors: string[] }) => {
    const ring = new KeyRing(ROGUE, readMembershipFile(federation.keys), readSigningKey(signingKeyFile(federation.keys, ROGUE)));
    return ed25519CommitProofs(() => ring).sign(subject);
  };
  const accept = (subject: { txId: string; participants: string[]; acceptors: string[] }, round: number, value: 'commit' | 'abort', extra: Record<string, unknown> = {}) =>
    ({ type: 'accept', txId: subject.txId, from: ROGUE, ballot: { round, node: ROGUE }, value, participants: subject.participants, acceptors: subject.acceptors, ...extra });
  const ballot = (subject: { txId: string; participants: string[]; acceptors: string[] }, round: number, extra: Record<string, unknown> = {}) =>
    ({ type: 'ballot', txId: subject.txId, from: ROGUE, ballot: { round, node: ROGUE }, participants: subject.participants, acceptors: subject.acceptors, ...extra });

  before(async () => {
    federation = await LocalFederation.start({ env: TIMINGS });
    await federation.kill(ROGUE);
    // Holds atacama's prepare for the attacked booking (it never votes), and as an acceptor lies:
    // it promises any ballot and reports COMMIT accepted at its own round 5, with no proof.
    rogue = await startRoguePeer(federation.node(ROGUE).port, ROGUE, peerAuthFrom(federation.keys.secretsFile, ROGUE), (message) => {
      if (message.type === 'prepare' && !attacked) {
        attacked = { txId: message.txId, participants: message.participants as string[], acceptors: message.acceptors as string[] };
        return HOLD;
      }
      if (message.txId !== attacked?.txId) return undefined;
      if (message.type === 'prepare') return HOLD;
      if (message.type === 'ballot') return { type: 'promise', txId: message.txId, from: ROGUE, ballot: message.ballot, ok: true, accepted: { ballot: { round: 5, node: ROGUE }, value: 'commit' } };
      if (message.type === 'accept') return { type: 'accepted', txId: message.txId, from: ROGUE, ballot: message.ballot, value: message.value, ok: true };
      return undefined;
    });
  });
  after(async () => {
    await rogue?.close();
    await federation?.stop();
  });

  it('cannot make the acceptors choose COMMIT of a booking its coordinator never committed: its unproven COMMIT is refused (rule commit-proof), its lying promise ignored, and the participant in doubt aborts like its coordinator', async () => {
    // atacama coordinates a booking of la-palma and the rogue; the rogue never votes.
    const booking = federationClient(federation, 'atacama').post('/bookings', { scientistId: 'vera-rubin', items: [item('la-palma-gtc', 170, 5), item('mauna-kea-keck1', 170, 5)] }).catch(() => undefined);
    const target = await until('atacama\'s prepare reaches the rogue', async () => attacked);
    expect(target.acceptors, 'the acceptors: the coordinator, then the participants').to.deep.equal(['atacama', 'la-palma', 'mauna-kea']);
    await until('la-palma prepared (voted yes)', async () => ((await participantRow('la-palma', target.txId))?.state === 'prepared' ? true : undefined));

    // Skipping phase 1, the rogue asks the two honest acceptors to accept COMMIT at its round 5.
    for (const node of ['atacama', 'la-palma']) {
      const answer = await rogueAt(node).post(TX_PATH(target.txId, 'accept'), accept(target, 5, 'commit'));
      expect(answer.status, `${node}: ${JSON.stringify(answer.data)}`).to.equal(403);
      expect(answer.data).to.include({ rule: 'commit-proof' });
      expect(answer.data.detail).to.contain('carries no proof of its coordinator atacama');
      await refusalAudited(node, target.txId, 'commit-proof');
    }
    // With a proof signed by its own real key: still not the coordinator's.
    const signedByRogue = await rogueAt('la-palma').post(TX_PATH(target.txId, 'accept'), accept(target, 6, 'commit', { proof: rogueProof(target) }));
    expect(signedByRogue.status, JSON.stringify(signedByRogue.data)).to.equal(403);
    expect(signedByRogue.data.detail).to.contain('not a key of');

    // The coordinator pauses before its prepare window ends: la-palma stays in doubt and leads a recovery ballot.
    const atacama = federation.node('atacama').child!;
    atacama.kill('SIGSTOP');
    try {
      const decided = await until('la-palma decides', async () => {
        const state = (await participantRow('la-palma', target.txId))?.state;
        return state && state !== 'prepared' ? state : undefined;
      });
      expect(decided, 'la-palma, in doubt, decided through the acceptors').to.equal('aborted');
      await audited('la-palma', 'TX_UNPROVEN_COMMIT (the rogue\'s lying promise)', (e) => e.event_type === 'TX_UNPROVEN_COMMIT' && e.tx_id === target.txId && e.details.acceptor === ROGUE);
      expect((await acceptorRow('la-palma', target.txId))?.accepted_value, 'la-palma\'s acceptor holds the ABORT its ballot chose').to.equal('abort');
    } finally {
      atacama.kill('SIGCONT');
    }
    await booking;

    // COMMIT after ABORT was chosen, at a higher round, with no proof or the rogue's own: refused.
    for (const proof of [undefined, rogueProof(target)]) {
      const late = await rogueAt('la-palma').post(TX_PATH(target.txId, 'accept'), accept(target, 50, 'commit', proof ? { proof } : {}));
      expect(late.status, JSON.stringify(late.data)).to.equal(403);
      expect(late.data.rule).to.equal('commit-proof');
    }
    expect((await acceptorRow('la-palma', target.txId))?.accepted_value).to.equal('abort');
    // What its coordinator decided, at every site: nothing booked, nothing held.
    const atCoordinator = await until('atacama answers for the booking', async () => {
      const view = await federationClient(federation, 'atacama').get(`/bookings/${encodeURIComponent(target.txId)}`);
      return view.status === 404 || (view.status === 200 && view.data.status !== 'PENDING') ? view : undefined;
    });
    expect(atCoordinator.status === 404 || atCoordinator.data.status !== 'CONFIRMED', JSON.stringify(atCoordinator.data)).to.equal(true);
    expect((await claims('la-palma', target.txId)).map((c) => c.state), 'la-palma holds or books nothing of it').to.deep.equal([]);
  });

  describe('ballots and accepts a signed member may not send: each refused with its rule, audited, the honest booking unchanged', () => {
    before(async () => {
      const booked = await federationClient(federation, 'atacama').post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 171, 5), item('la-palma-gtc', 171, 5)] });
      expect(booked.status, JSON.stringify(booked.data)).to.equal(201);
      const row = await until('la-palma committed the honest booking', async () => {
        const found = await participantRow('la-palma', booked.data.id);
        return found?.state === 'committed' ? found : undefined;
      });
      honest = { txId: booked.data.id, participants: JSON.parse(row.participants_json), acceptors: JSON.parse(row.acceptors_json!) };
      expect(honest.acceptors).to.deep.equal(['atacama', 'la-palma', 'mauna-kea']);
    });

    /** A transaction the rogue coordinates itself, with la-palma as the other participant. */
    const ownTx = () => {
      const txId = `${ROGUE}.${randomBytes(12).toString('base64url')}`;
      return { txId, participants: [ROGUE, 'la-palma'], acceptors: [ROGUE, 'la-palma', 'atacama'] };
    };
    const cases: Array<{ what: string; message: () => Record<string, unknown>; status: number; rule: string }> = [
      { what: 'a ballot of another leader (la-palma\'s)', message: () => ballot(honest, 9, { ballot: { round: 9, node: 'la-palma' } }), status: 403, rule: 'leader-own-ballot' },
      { what: 'round 0 of a transaction it does not coordinate', message: () => accept(honest, 0, 'commit'), status: 403, rule: 'round-zero-coordinator-only' },
      { what: 'an ABORT at round 0 of its own transaction', message: () => accept(ownTx(), 0, 'abort'), status: 400, rule: 'round-zero-commit-only' },
      { what: 'a phase 1 at round 0', message: () => ballot(ownTx(), 0), status: 400, rule: 'round-zero-no-phase-one' },
      { what: 'a recovery ballot of a transaction it is no participant of', message: () => ballot(honest, 3), status: 403, rule: 'recovery-leader-is-participant' },
      { what: 'a recovery COMMIT of a transaction it is no participant of', message: () => accept(honest, 3, 'commit'), status: 403, rule: 'recovery-leader-is-participant' },
      { what: 'acceptors with a stranger', message: () => ballot({ ...ownTx(), acceptors: [ROGUE, 'la-palma', 'paranal'] }, 1), status: 400, rule: 'acceptors-are-members' },
      { what: 'an acceptor named twice', message: () => ballot({ ...ownTx(), acceptors: [ROGUE, 'la-palma', 'la-palma'] }, 1), status: 400, rule: 'acceptors-distinct' },
      { what: 'acceptors not led by the coordinator', message: () => ballot({ ...ownTx(), acceptors: ['la-palma', ROGUE, 'atacama'] }, 1), status: 400, rule: 'acceptors-coordinator-first' },
      { what: 'acceptors that do not name the receiver', message: () => ballot({ ...ownTx(), acceptors: [ROGUE, 'atacama'] }, 1), status: 403, rule: 'acceptors-name-receiver' },
    ];
    for (const c of cases) {
      it(`refuses ${c.what}: ${c.status}, rule ${c.rule}`, async () => {
        const message = c.message();
        const answer = await rogueAt('la-palma').post(TX_PATH(String(message.txId), String(message.type)), message);
        expect(answer.status, JSON.stringify(answer.data)).to.equal(c.status);
        expect(answer.headers['content-type']).to.contain('application/problem+json');
        expect(answer.data.rule, answer.data.detail).to.equal(c.rule);
        await refusalAudited('la-palma', String(message.txId), c.rule);
        // The same message in a batch gets the same refusal, as its own entry.
        const batched = await rogueAt('la-palma').post('/federation/v1/messages', { from: ROGUE, messages: [message] });
        expect(batched.status).to.equal(200);
        expect(batched.data.replies[0]).to.include({ status: c.status, rule: c.rule });
      });
    }

    it('refuses too many acceptors at the schema (400 naming the field)', async () => {
      const message = ballot({ ...ownTx(), acceptors: [ROGUE, 'la-palma', 'atacama', 'x1', 'x2', 'x3'] }, 1);
      const answer = await rogueAt('la-palma').post(TX_PATH(String(message.txId), 'ballot'), message);
      expect(answer.status, JSON.stringify(answer.data)).to.equal(400);
      expect(answer.data.detail).to.contain('acceptors');
    });

    it('a flood of ballots meets the per-peer rate limit (429), and the honest booking stays committed, its acceptors\' COMMIT untouched', async () => {
      const statuses: number[] = [];
      for (let sent = 0; sent < 400 && !statuses.includes(429); sent += 20) {
        const burst = Array.from({ length: 20 }, () => ballot(ownTx(), 1)).map((m) => rogueAt('la-palma').post(TX_PATH(String(m.txId), 'ballot'), m));
        statuses.push(...(await Promise.all(burst)).map((a) => a.status));
      }
      expect(statuses, 'RATE_LIMIT_PER_PEER_PER_MINUTE stops the flood').to.include(429);
      expect(statuses.filter((s) => s === 200).length).to.be.at.most(Number(TIMINGS.RATE_LIMIT_PER_PEER_PER_MINUTE));
      for (const node of ['atacama', 'la-palma']) {
        expect(await acceptorRow(node, honest.txId), `${node}'s acceptor`).to.deep.include({ promised_round: 0, accepted_round: 0, accepted_value: 'commit' });
      }
      expect((await claims('la-palma', honest.txId)).map((c) => c.state)).to.deep.equal(['BOOKED']);
      expect((await claims('atacama', honest.txId)).map((c) => c.state)).to.deep.equal(['BOOKED']);
      const view = await federationClient(federation, 'atacama').get(`/bookings/${encodeURIComponent(honest.txId)}`);
      expect(view.data.status).to.equal('CONFIRMED');
    });
  });
});
