// A compromised member with a valid key, against real nodes (docs/SECURITY.md, "What a
// compromised member can and cannot do"). mauna-kea's process is replaced by the test, which
// holds mauna-kea's key, listens at its URL, signs everything correctly and behaves badly:
// it cancels others' bookings, books others' telescopes, forges timestamps and deadlines,
// floods prepares, never decides, and decides others' transactions. Each attempt is refused or
// bounded, each refusal is audited, and every node's SQLite file shows no slot given twice and
// no slot held beyond the per-peer limits.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { AxiosInstance } from 'axios';
import { holdsByCoordinator, snapshot, violations } from '../support/consistency.js';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient, httpClient } from '../support/http-client.js';
import { startRoguePeer, type RoguePeer } from '../support/rogue-peer.js';
import { peerAuthFrom, signedClient } from '../support/signing.js';
import { item } from '../support/slots.js';
import { queryFile } from '../support/sqlite.js';

const ROGUE = 'mauna-kea';
const LIMITS = { PEER_OPEN_TRANSACTIONS_MAX: 4, PEER_HELD_SLOTS_MAX: 8, PEER_PREPARES_PER_SECOND_MAX: 5, PEER_PREPARE_BURST_MAX: 30, IN_DOUBT_REPORT_AFTER_MS: 1_500 };
const FEDERATION_PATH = '/federation/v1';

const rogueTxId = () => `${ROGUE}.${randomBytes(12).toString('base64url')}`;

type Item = ReturnType<typeof item>;
function prepare(txId: string, items: Item[], overrides: Record<string, unknown> = {}, to = 'la-palma') {
  const now = Date.now();
  return { type: 'prepare', txId, kind: 'book', coordinatorId: ROGUE, participants: [to], timestampMs: now, deadlineMs: now + 5_000, payload: { bookingId: txId, scientistId: 'vera-rubin', items }, ...overrides };
}

describe('a rogue member holding a valid key: every abuse is refused or bounded, and audited', function () {
  this.timeout(120_000);
  let federation: LocalFederation;
  let rogue: RoguePeer;
  let victim: { id: string; laPalmaItem: Item };
  const rogueAt = (node: string): AxiosInstance => signedClient(federation.url(node), peerAuthFrom(federation.keys.secretsFile, ROGUE), node);
  const audit = (node: string) => readFileSync(`${federation.node(node).dataDir}/logs/${node}.audit.jsonl`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event_type: string; tx_id?: string; details: Record<string, unknown> });
  const claimsOf = (node: string, bookingId: string) => queryFile<{ state: string; tx_id: string }>(federation.node(node).dbFile, 'SELECT state, tx_id FROM slot_claims WHERE booking_id = ?', [bookingId]);

  /** Audit lines are written asynchronously: look a few times before failing. */
  async function audited(node: string, match: (e: ReturnType<typeof audit>[number]) => boolean, what: string): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      if (audit(node).some(match)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect.fail(`${node} did not audit ${what}`);
  }
  const votedNoAudited = (node: string, txId: string, rule: string) =>
    audited(node, (e) => e.event_type === 'TX_VOTED_NO' && e.tx_id === txId && e.details.reason === 'refused' && e.details.rule === rule, `TX_VOTED_NO ${rule} for ${txId}`);
  const accessRefusedAudited = (node: string, detailPart: string) =>
    audited(node, (e) => e.event_type === 'ACCESS_REFUSED' && e.details.status === 403 && String(e.details.detail).includes(detailPart), `ACCESS_REFUSED "${detailPart}"`);

  before(async () => {
    const env = { ...Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [k, String(v)])), IN_DOUBT_QUERY_AFTER_MS: '300', IN_DOUBT_QUERY_MAX_INTERVAL_MS: '1000' };
    federation = await LocalFederation.start({ env });
    await federation.kill(ROGUE);
    rogue = await startRoguePeer(federation.node(ROGUE).port, ROGUE, peerAuthFrom(federation.keys.secretsFile, ROGUE));
    const laPalmaItem = item('la-palma-gtc', 40, 5);
    const booked = await federationClient(federation, 'atacama').post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 40, 5), laPalmaItem] });
    expect(booked.status, JSON.stringify(booked.data)).to.equal(201);
    victim = { id: booked.data.id, laPalmaItem };
  });
  after(async () => {
    await rogue?.close();
    await federation?.stop();
  });

  it('cannot cancel a booking it does not coordinate: 403 alone or in a batch, audited, and the slot stays with its owner', async () => {
    const cancel = { ...prepare(rogueTxId(), [victim.laPalmaItem]), kind: 'cancel', payload: { bookingId: victim.id, scientistId: 'vera-rubin', items: [victim.laPalmaItem] } };
    const alone = await rogueAt('la-palma').post(`${FEDERATION_PATH}/transactions/${cancel.txId}/prepare`, cancel);
    expect(alone.status, JSON.stringify(alone.data)).to.equal(403);
    expect(alone.data.detail).to.contain(`only atacama, the coordinator of booking ${victim.id}, may cancel it`);
    const batched = await rogueAt('la-palma').post(`${FEDERATION_PATH}/messages`, { from: ROGUE, messages: [{ ...cancel, txId: rogueTxId() }] });
    expect(batched.data.replies[0].status).to.equal(403);
    // Under its own booking id, the same slots are simply not that booking's.
    const ownId = rogueTxId();
    const disguised = await rogueAt('la-palma').post(`${FEDERATION_PATH}/transactions/${ownId}/prepare`, { ...cancel, txId: ownId, payload: { ...cancel.payload, bookingId: rogueTxId() } });
    expect(disguised.data).to.deep.include({ vote: 'no' });
    expect(disguised.data.reason).to.include({ code: 'invalid' });
    expect(disguised.data.reason.detail).to.contain('is not booked by');

    await accessRefusedAudited('la-palma', `only atacama, the coordinator of booking ${victim.id}`);
    await audited('la-palma', (e) => e.event_type === 'ACCESS_REFUSED' && String(e.details.path).endsWith('#messages.0'), 'the batched cancel');
    expect(await claimsOf('la-palma', victim.id)).to.deep.equal([{ state: 'BOOKED', tx_id: victim.id }]);
    const second = await federationClient(federation, 'la-palma').post('/bookings', { scientistId: 'carl-sagan', items: [victim.laPalmaItem] });
    expect(second.status, 'the slot is not given twice').to.equal(409);
  });

  it('cannot book telescopes a participant does not own, nor pass its booking off as another coordinator\'s: 403, audited, nothing held', async () => {
    const foreign = rogueTxId();
    const atLaPalma = await rogueAt('la-palma').post(`${FEDERATION_PATH}/transactions/${foreign}/prepare`, prepare(foreign, [item('atacama-ut1', 41, 5)]));
    expect(atLaPalma.status).to.equal(403);
    expect(atLaPalma.data.detail).to.contain('la-palma does not own atacama-ut1');
    const posing = rogueTxId();
    const disguise = `atacama.${randomBytes(12).toString('base64url')}`;
    const asAtacama = await rogueAt('atacama').post(`${FEDERATION_PATH}/transactions/${posing}/prepare`, { ...prepare(posing, [item('atacama-ut1', 41, 5)], {}, 'atacama'), payload: { bookingId: disguise, scientistId: 'vera-rubin', items: [item('atacama-ut1', 41, 5)] } });
    expect(asAtacama.status).to.equal(403);
    expect(asAtacama.data.detail).to.contain('booking id is its transaction id');
    const claimed = rogueTxId();
    const speaksForAtacama = await rogueAt('la-palma').post(`${FEDERATION_PATH}/transactions/${claimed}/prepare`, prepare(claimed, [item('la-palma-gtc', 41, 5)], { coordinatorId: 'atacama' }));
    expect(speaksForAtacama.status).to.equal(403);

    await accessRefusedAudited('la-palma', 'does not own atacama-ut1');
    await accessRefusedAudited('atacama', 'booking id is its transaction id');
    expect(await claimsOf('atacama', disguise)).to.deep.equal([]);
    expect(await claimsOf('la-palma', foreign)).to.deep.equal([]);
  });

  it('cannot jump the wait-die queue or be remembered for years: forged timestamps and deadlines get a vote no "refused", audited, nothing held or kept', async () => {
    const now = Date.now();
    const forgeries: Array<[Record<string, unknown>, string]> = [
      [{ timestampMs: 0 }, 'PEER_TIMESTAMP_AGE_MAX_MS'],
      [{ timestampMs: now + 3_600_000, deadlineMs: now + 3_605_000 }, 'PEER_CLOCK_SKEW_MAX_MS'],
      [{ deadlineMs: now + 10 * 365 * 86_400_000 }, 'PEER_DEADLINE_AHEAD_MAX_MS'],
    ];
    for (const [forged, rule] of forgeries) {
      const txId = rogueTxId();
      const res = await rogueAt('la-palma').post(`${FEDERATION_PATH}/transactions/${txId}/prepare`, prepare(txId, [item('la-palma-gtc', 42, 5)], forged));
      expect(res.status, rule).to.equal(200);
      expect(res.data).to.deep.include({ vote: 'no', txId });
      expect(res.data.reason.code).to.equal('refused');
      expect(res.data.reason.detail).to.contain(rule);
      await votedNoAudited('la-palma', txId, rule);
      expect(await claimsOf('la-palma', txId)).to.deep.equal([]);
      const remembered = await rogueAt('la-palma').get(`${FEDERATION_PATH}/transactions/${txId}`);
      expect(remembered.status, 'a refused prepare leaves nothing in memory').to.equal(404);
    }
  });

  it('floods prepares and never decides: its holds stop at the per-peer limits, get reported in /ready and to the operator, and honest bookings go on', async () => {
    const sizes = [3, 3, 3, 1, 1, 1]; // slots per prepare: 3+3 held, 9 > 8 refused, then 7, 8, and a fifth open transaction refused
    const votes: Array<{ txId: string; vote: string; detail?: string }> = [];
    for (const [index, hours] of sizes.entries()) {
      const txId = rogueTxId();
      const res = await rogueAt('la-palma').post(`${FEDERATION_PATH}/transactions/${txId}/prepare`, prepare(txId, [item('la-palma-gtc', 43 + index, 1, hours)]));
      votes.push({ txId, vote: res.data.vote, detail: res.data.reason?.detail });
    }
    expect(votes.map((v) => v.vote)).to.deep.equal(['yes', 'yes', 'no', 'yes', 'yes', 'no']);
    expect(votes[2]!.detail).to.contain('PEER_HELD_SLOTS_MAX');
    expect(votes[5]!.detail).to.contain('PEER_OPEN_TRANSACTIONS_MAX');
    await votedNoAudited('la-palma', votes[2]!.txId, 'PEER_HELD_SLOTS_MAX');
    await votedNoAudited('la-palma', votes[5]!.txId, 'PEER_OPEN_TRANSACTIONS_MAX');

    // A burst in one batch: past the bucket every prepare is refused by rate before anything else.
    const flood = Array.from({ length: 60 }, (_, i) => prepare(rogueTxId(), [item('la-palma-wht', 60 + (i % 30), 20)]));
    const batch = await rogueAt('la-palma').post(`${FEDERATION_PATH}/messages`, { from: ROGUE, messages: flood });
    const replies = batch.data.replies as Array<{ vote: string; reason: { code: string; detail: string } }>;
    expect(replies.every((r) => r.vote === 'no' && r.reason.code === 'refused'), JSON.stringify(replies[0])).to.equal(true);
    const details = replies.map((r) => r.reason.detail);
    expect(details.filter((d) => d.includes('PEER_PREPARES_PER_SECOND_MAX')).length, 'refused by rate').to.be.at.least(60 - LIMITS.PEER_PREPARE_BURST_MAX);
    await votedNoAudited('la-palma', flood[59]!.txId, 'PEER_PREPARES_PER_SECOND_MAX');

    const inDoubt = votes.filter((v) => v.vote === 'yes').map((v) => v.txId);
    let ready: { status: number; data: { status: string; checks: { peers: Record<string, { ok: boolean }>; inDoubt: { ok: boolean; overBound: number; byCoordinator: Record<string, number> } } } } | undefined;
    for (let attempt = 0; attempt < 100 && ready?.data.checks.inDoubt.overBound !== inDoubt.length; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      ready = await federationClient(federation, 'la-palma').get('/ready');
    }
    expect(ready!.status, 'an overdue decision degrades, never un-readies').to.equal(200);
    expect(ready!.data.status).to.equal('degraded');
    expect(ready!.data.checks.inDoubt).to.deep.include({ ok: false, overBound: 4, byCoordinator: { [ROGUE]: 4 } });
    expect(ready!.data.checks.peers[ROGUE], 'a peer serving GET /health is reachable (docs/PROTOCOL.md §14)').to.deep.include({ ok: true });
    for (const txId of inDoubt) expect(rogue.statusQueries.get(txId), `la-palma asked about ${txId} and heard "pending"`).to.be.at.least(1);
    const admin = await federationClient(federation, 'la-palma').get('/admin/transactions');
    expect(admin.data.peers[ROGUE]).to.deep.equal({ openTransactions: 4, heldSlots: 8, inDoubtOverBound: 4 });
    const metrics = String((await httpClient(federation.url('la-palma'), federation.tokens.operators['la-palma']).get('/metrics')).data);
    const refusedByRate = metrics.split('\n').find((l) => l.startsWith('ofed_peer_prepares_refused_total{') && l.includes(`peer="${ROGUE}"`) && l.includes('rule="PEER_PREPARES_PER_SECOND_MAX"'));
    expect(Number(refusedByRate?.split(' ').at(-1)), 'the refusals are counted for the operator').to.be.at.least(60 - LIMITS.PEER_PREPARE_BURST_MAX);

    const honest = await federationClient(federation, 'atacama').post('/bookings', { scientistId: 'carl-sagan', items: [item('atacama-ut2', 50, 5), item('la-palma-gtc', 50, 5)] });
    expect(honest.status, JSON.stringify(honest.data)).to.equal(201);
    const held = holdsByCoordinator(await snapshot(federation)).get('la-palma')!.get(ROGUE)!;
    expect(held.slots).to.be.at.most(LIMITS.PEER_HELD_SLOTS_MAX);
    expect(held.inDoubt).to.be.at.most(LIMITS.PEER_OPEN_TRANSACTIONS_MAX);
  });

  it('floods aborts of transactions nobody prepared: the tombstones they leave stop at its rate, the rest get 429, audited', async () => {
    const ids = Array.from({ length: 60 }, () => rogueTxId());
    const batch = await rogueAt('la-palma').post(`${FEDERATION_PATH}/messages`, { from: ROGUE, messages: ids.map((txId) => ({ type: 'abort', txId, from: ROGUE })) });
    const replies = batch.data.replies as Array<{ type?: string; status?: number; detail?: string }>;
    const limited = replies.filter((r) => r.status === 429);
    expect(limited.length, 'past the bucket').to.be.at.least(60 - LIMITS.PEER_PREPARE_BURST_MAX);
    expect(limited[0]!.detail).to.contain('PEER_PREPARES_PER_SECOND_MAX');
    expect(replies.every((r) => r.status === 429 || r.type === 'ack')).to.equal(true);
    await audited('la-palma', (e) => e.event_type === 'PEER_RATE_LIMITED' && e.details.peer === ROGUE && e.details.message === 'abort', 'PEER_RATE_LIMITED for an abort');
    const placeholders = ids.map(() => '?').join(',');
    const tombstones = await queryFile(federation.node('la-palma').dbFile, `SELECT tx_id FROM participant_transactions WHERE tx_id IN (${placeholders})`, ids);
    expect(tombstones.length).to.equal(60 - limited.length);
  });

  it('cannot decide, or speak for, a transaction it does not coordinate: 403 alone or in a batch, audited, the booking unchanged', async () => {
    for (const action of ['commit', 'release'] as const) {
      const type = action === 'commit' ? 'commit' : 'abort';
      const res = await rogueAt('la-palma').post(`${FEDERATION_PATH}/transactions/${victim.id}/${action}`, { type, txId: victim.id, from: ROGUE });
      expect(res.status, action).to.equal(403);
      expect(res.data.detail).to.contain(`only the coordinator atacama may decide ${victim.id}`);
      const spoofed = await rogueAt('la-palma').post(`${FEDERATION_PATH}/transactions/${victim.id}/${action}`, { type, txId: victim.id, from: 'atacama' });
      expect(spoofed.status).to.equal(403);
      expect(spoofed.data.detail).to.contain(`signed by ${ROGUE}`);
    }
    const batched = await rogueAt('la-palma').post(`${FEDERATION_PATH}/messages`, { from: ROGUE, messages: [{ type: 'abort', txId: victim.id, from: ROGUE }] });
    expect(batched.data.replies[0].status).to.equal(403);
    await accessRefusedAudited('la-palma', `only the coordinator atacama may decide ${victim.id}`);
    expect(await claimsOf('la-palma', victim.id)).to.deep.equal([{ state: 'BOOKED', tx_id: victim.id }]);
  });

  it('cannot smuggle fields the protocol does not define: 400 naming the field', async () => {
    const txId = rogueTxId();
    const res = await rogueAt('la-palma').post(`${FEDERATION_PATH}/transactions/${txId}/prepare`, prepare(txId, [item('la-palma-gtc', 42, 6)], { priority: 'first' }));
    expect(res.status).to.equal(400);
    expect(res.data.detail).to.contain('priority');
    const decision = await rogueAt('la-palma').post(`${FEDERATION_PATH}/transactions/${txId}/release`, { type: 'abort', txId, from: ROGUE, force: true });
    expect(decision.status).to.equal(400);
    expect(decision.data.detail).to.contain('force');
  });

  it('leaves every node\'s disk consistent: no slot given twice, its holds within the limits, and released once the operator resolves them', async () => {
    const before = await snapshot(federation);
    const byRogue = (line: string) => line.includes(`${ROGUE}.`);
    expect(violations(before).filter((line) => !byRogue(line))).to.deep.equal([]);
    for (const [node, holders] of holdsByCoordinator(before)) {
      const held = holders.get(ROGUE) ?? { slots: 0, inDoubt: 0 };
      expect(held.slots, `${node}: slots held by ${ROGUE}`).to.be.at.most(LIMITS.PEER_HELD_SLOTS_MAX);
      expect(held.inDoubt, `${node}: ${ROGUE}'s transactions in doubt`).to.be.at.most(LIMITS.PEER_OPEN_TRANSACTIONS_MAX);
    }
    // The documented remedy (docs/OPERATIONS.md): the operator resolves the overdue holds as aborted.
    const operator = federationClient(federation, 'la-palma');
    const overdue = ((await operator.get('/admin/transactions')).data.transactions as Array<{ txId: string; inDoubtOverBound?: boolean }>).filter((t) => t.inDoubtOverBound);
    expect(overdue.length).to.equal(LIMITS.PEER_OPEN_TRANSACTIONS_MAX);
    for (const { txId } of overdue) {
      const resolved = await operator.post(`/admin/transactions/${txId}/resolve`, { outcome: 'aborted', reason: 'rogue member never decided (rogue-member test)' });
      expect(resolved.status, JSON.stringify(resolved.data)).to.equal(200);
    }
    let after: string[] = ['not checked yet'];
    for (let attempt = 0; attempt < 50 && after.length > 0; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      after = violations(await snapshot(federation));
    }
    expect(after).to.deep.equal([]);
  });
});
