// Batched protocol messages (docs/PERFORMANCE.md, "Batched protocol messages"): the
// endpoint POST /federation/v1/messages on a real node, and the PeerClient that coalesces
// messages into it, against a stand-in peer that counts what it receives.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { AxiosInstance } from 'axios';
import { makeTxId, type PrepareMessage, type RequestMessage } from '../../coordinator-2pc/src/index.js';
import { PeerClient } from '../../federation-node/src/federation/peer-client.js';
import type { BookingRecord } from '../../federation-node/src/storage/booking-repository.js';
import { openDatabase, type Database } from '../../federation-node/src/storage/database.js';
import { GroupCommitWriter } from '../../federation-node/src/storage/group-commit-writer.js';
import { LocalFederation } from '../support/federation-harness.js';
import { peerAuthFrom, signedClient, testKeys, vouchedPart } from '../support/signing.js';
import type { LocalKeyFiles } from '../../federation-node/src/security/local-keys.js';
import { item } from '../support/slots.js';
import { queryFile } from '../support/sqlite.js';

const BATCH = '/federation/v1/messages';

function txId(coordinator = 'atacama'): string {
  return `${coordinator}.${randomBytes(12).toString('base64url')}`;
}

/** The keys of the running test federation: prepares carry atacama's credential for its scientist. */
let federationKeys: LocalKeyFiles | undefined;

/** A prepare from atacama for one hour of la-palma-gtc on `day` (05:00–06:00 is bookable there). */
function prepareAtLaPalma(id: string, day: number, deadlineInMs = 10_000): PrepareMessage {
  const nowMs = Date.now();
  const part = { bookingId: id, scientistId: 'vera-rubin', items: [item('la-palma-gtc', day, 5)] };
  return {
    type: 'prepare', txId: id, kind: 'book', coordinatorId: 'atacama', participants: ['la-palma'],
    timestampMs: nowMs, deadlineMs: nowMs + deadlineInMs,
    payload: federationKeys ? vouchedPart(federationKeys, 'atacama', 'la-palma', part) : part,
  };
}

const decision = (type: 'commit' | 'abort', id: string) => ({ type, txId: id, from: 'atacama' });

describe('batched protocol messages: POST /federation/v1/messages on a real node', function () {
  this.timeout(60_000);
  let federation: LocalFederation;
  let laPalma: AxiosInstance;

  before(async () => {
    federation = await LocalFederation.start();
    federationKeys = federation.keys;
    laPalma = signedClient(federation.url('la-palma'), peerAuthFrom(federation.keys, 'atacama'), 'la-palma');
  });
  after(async () => {
    federationKeys = undefined;
    await federation?.stop();
  });

  const participantState = async (id: string) =>
    (await queryFile(federation.node('la-palma').dbFile, 'SELECT state FROM participant_transactions WHERE tx_id = ?', [id]))[0]?.state;

  it('answers a batch of several prepares, then of their commits, with one reply per message in order, and books every slot', async () => {
    const ids = [txId(), txId(), txId()];
    const votes = await laPalma.post(BATCH, { from: 'atacama', messages: ids.map((id, i) => prepareAtLaPalma(id, 200 + i)) });
    expect(votes.status, JSON.stringify(votes.data)).to.equal(200);
    expect(votes.data.replies.map((r: { type: string; txId: string; vote: string }) => [r.type, r.txId, r.vote])).to.deep.equal(ids.map((id) => ['vote', id, 'yes']));

    const acks = await laPalma.post(BATCH, { from: 'atacama', messages: ids.map((id) => decision('commit', id)) });
    expect(acks.status).to.equal(200);
    expect(acks.data.replies.map((r: { type: string; txId: string; outcome: string }) => [r.type, r.txId, r.outcome])).to.deep.equal(ids.map((id) => ['ack', id, 'committed']));
    for (const id of ids) {
      expect(await participantState(id), id).to.equal('committed');
      const claims = await queryFile(federation.node('la-palma').dbFile, 'SELECT state FROM slot_claims WHERE booking_id = ?', [id]);
      expect(claims, id).to.deep.equal([{ state: 'BOOKED' }]);
    }
  });

  it('gives a malformed, foreign or unknown message its own problem while the good messages of the batch proceed', async () => {
    const good = txId();
    const neverSeen = txId();
    const res = await laPalma.post(BATCH, {
      from: 'atacama',
      messages: [
        prepareAtLaPalma(good, 210),
        { type: 'prepare', txId: 'not a transaction id' },
        decision('abort', neverSeen),
        { ...prepareAtLaPalma(txId('mauna-kea'), 211), coordinatorId: 'mauna-kea' },
        { type: 'launch-rocket', txId: good },
        { ...prepareAtLaPalma(txId(), 212), payload: { bookingId: 'x', scientistId: 'vera-rubin', items: [item('atacama-ut1', 212, 5)] } },
      ],
    });
    expect(res.status, JSON.stringify(res.data)).to.equal(200);
    const [vote, malformed, ack, foreignSender, unknownType, foreignTelescope] = res.data.replies;
    expect(vote).to.deep.include({ type: 'vote', txId: good, vote: 'yes' });
    expect(malformed).to.include({ status: 400, title: 'Invalid request' });
    expect(malformed.detail).to.contain('messages.1');
    expect(ack).to.deep.include({ type: 'ack', txId: neverSeen, outcome: 'aborted' });
    expect(foreignSender).to.include({ status: 403 });
    expect(foreignSender.detail).to.contain('signed by atacama');
    expect(unknownType).to.include({ status: 400 });
    expect(foreignTelescope).to.include({ status: 403 });
    expect(foreignTelescope.detail).to.contain('does not own atacama-ut1');

    expect(await participantState(good)).to.equal('prepared');
    expect(await participantState(neverSeen), 'an abort for an unknown transaction leaves a tombstone').to.equal('aborted');
    const released = await laPalma.post(BATCH, { from: 'atacama', messages: [decision('abort', good)] });
    expect(released.data.replies[0]).to.deep.include({ type: 'ack', outcome: 'aborted' });
  });

  it('handles a batch that mixes a commit of one transaction, a prepare of another and status queries, each as its own endpoint would', async () => {
    const first = txId();
    const second = txId();
    // Ids as nodes make them (durable-knowledge.ts): one made now by la-palma, which its store
    // can answer for; one made by atacama long before la-palma's store existed.
    const unknownHere = makeTxId('la-palma', Date.now(), 1, randomBytes(9).toString('base64url'));
    const beforeTheStore = makeTxId('atacama', 1_000_000_000_000, 1, randomBytes(9).toString('base64url'));
    await laPalma.post(BATCH, { from: 'atacama', messages: [prepareAtLaPalma(first, 220)] });
    const mixed = await laPalma.post(BATCH, {
      from: 'atacama',
      messages: [decision('commit', first), prepareAtLaPalma(second, 221), { type: 'status-query', txId: unknownHere, from: 'atacama' }, { type: 'status-query', txId: beforeTheStore, from: 'atacama' }],
    });
    expect(mixed.status).to.equal(200);
    const [ack, vote, presumedAbort, asParticipant] = mixed.data.replies;
    expect(ack).to.deep.include({ type: 'ack', txId: first, outcome: 'committed' });
    expect(vote).to.deep.include({ type: 'vote', txId: second, vote: 'yes' });
    expect(presumedAbort, 'no record at the coordinator means aborted').to.deep.include({ type: 'status-reply', txId: unknownHere, outcome: 'aborted' });
    expect(asParticipant, 'a participant asked about another coordinator\'s transaction it cannot see answers unknown, never aborted').to.deep.include({ type: 'status-reply', txId: beforeTheStore, outcome: 'unknown' });
    const aborted = await laPalma.post(BATCH, { from: 'atacama', messages: [decision('abort', second)] });
    expect(aborted.data.replies[0]).to.deep.include({ type: 'ack', txId: second, outcome: 'aborted' });
    expect(await participantState(first)).to.equal('committed');
    expect(await participantState(second)).to.equal('aborted');
  });

  it('refuses a whole batch claiming to come from another node than its signer, or with no messages, like a single message', async () => {
    const stranger = await laPalma.post(BATCH, { from: 'andromeda', messages: [prepareAtLaPalma(txId(), 230)] });
    expect(stranger.status).to.equal(403);
    const impostor = await laPalma.post(BATCH, { from: 'mauna-kea', messages: [{ ...decision('abort', txId('mauna-kea')), from: 'mauna-kea' }] });
    expect(impostor.status).to.equal(403);
    expect(impostor.data.detail).to.contain('signed by atacama');
    const empty = await laPalma.post(BATCH, { from: 'atacama', messages: [] });
    expect(empty.status).to.equal(400);
  });

  it('still serves the per-message endpoints unchanged', async () => {
    const id = txId();
    const vote = await laPalma.post(`/federation/v1/transactions/${id}/prepare`, prepareAtLaPalma(id, 240));
    expect(vote.data).to.deep.include({ type: 'vote', vote: 'yes' });
    const ack = await laPalma.post(`/federation/v1/transactions/${id}/release`, decision('abort', id));
    expect(ack.data).to.deep.include({ type: 'ack', outcome: 'aborted' });
  });
});

describe('PeerClient: coalescing protocol messages into batches', function () {
  this.timeout(20_000);
  let server: http.Server;
  const seen: Array<{ path: string; body: { messages?: RequestMessage[] } }> = [];
  let answer: (path: string, body: { messages?: RequestMessage[] }) => { status: number; body: unknown; delayMs?: number } | 'hang' | 'hang up';

  // The stand-in peer signs its answers as la-palma, with keys made for this test.
  const keysDir = mkdtempSync(path.join(os.tmpdir(), 'batching-keys-'));
  const keys = testKeys(keysDir, ['atacama', 'la-palma']);
  const asAtacama = peerAuthFrom(keys, 'atacama');
  const asLaPalma = peerAuthFrom(keys, 'la-palma');

  before(async () => {
    server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (chunk) => (text += chunk));
      req.on('end', () => {
        const body = text ? JSON.parse(text) : {};
        seen.push({ path: req.url!, body });
        const reply = answer(req.url!, body);
        if (reply === 'hang') return;
        if (reply === 'hang up') return void req.socket.destroy();
        const out = JSON.stringify(reply.body);
        const send = () => {
          const signature = asLaPalma.signAnswer('atacama', { method: req.method!, target: req.url!, body: text, headers: req.headers }, reply.status, out);
          res.writeHead(reply.status, { 'content-type': 'application/json', ...signature }).end(out);
        };
        if (reply.delayMs) setTimeout(send, reply.delayMs);
        else send();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(() => {
    server.closeAllConnections();
    server.close();
    rmSync(keysDir, { recursive: true, force: true });
  });
  beforeEach(() => (seen.length = 0));

  const client = (overrides: Partial<ConstructorParameters<typeof PeerClient>[0]> = {}) =>
    new PeerClient({
      selfId: 'atacama',
      peers: new Map([['la-palma', `http://127.0.0.1:${(server.address() as AddressInfo).port}`]]),
      requestTimeoutMs: 1_000,
      attemptsMax: 1,
      nowMs: Date.now,
      auth: asAtacama,
      ...overrides,
    });
  const ackAll = (body: { messages?: RequestMessage[] }) => ({ status: 200, body: { replies: body.messages!.map((m) => ({ type: 'ack', txId: m.txId, from: 'la-palma', outcome: 'committed' })) } });

  it('sends the messages issued in one event-loop turn to one peer as one HTTP request, and resolves each with its own reply', async () => {
    answer = (_path, body) => ackAll(body);
    const ids = [txId(), txId(), txId(), txId()];
    const peers = client();
    const replies = await Promise.all(ids.map((id) => peers.request('la-palma', decision('commit', id) as RequestMessage)));
    expect(replies.map((r) => r.txId)).to.deep.equal(ids);
    expect(seen.map((s) => s.path)).to.deep.equal([BATCH]);
    expect(seen[0]!.body.messages!.map((m) => m.txId)).to.deep.equal(ids);
  });

  it('sends a decision repeated while the first is unanswered once, answers both, and sends it again once answered', async () => {
    answer = (_path, body) => ackAll(body);
    const id = txId();
    const peers = client();
    const both = await Promise.all([1, 2].map(() => peers.request('la-palma', decision('commit', id) as RequestMessage)));
    expect(both.map((r) => r.txId)).to.deep.equal([id, id]);
    expect(seen.flatMap((s) => s.body.messages!.map((m) => m.txId))).to.deep.equal([id]);
    await peers.request('la-palma', decision('commit', id) as RequestMessage);
    expect(seen.flatMap((s) => s.body.messages!.map((m) => m.txId))).to.deep.equal([id, id]);
  });

  it('keeps prepares and decisions in separate batches, so that a waiting prepare holds up no commit', async () => {
    answer = (_path, body) => (body.messages![0]!.type === 'prepare' ? 'hang' : ackAll(body));
    const peers = client({ requestTimeoutMs: 300 });
    const prepare = peers.request('la-palma', prepareAtLaPalma(txId(), 250, 300)).catch((error: Error) => error.message);
    const ack = await peers.request('la-palma', decision('commit', txId()) as RequestMessage);
    expect(ack.type).to.equal('ack');
    expect(await prepare).to.equal('timed out');
    expect(seen).to.have.length(2);
  });

  it('waits for a prepare\'s whole deadline, not PEER_REQUEST_TIMEOUT_MS: a vote that comes late but in time is taken from the one batch, nothing is sent twice', async () => {
    answer = (_path, body) => ({ status: 200, body: { replies: body.messages!.map((m) => ({ type: 'vote', txId: m.txId, from: 'la-palma', vote: 'yes' })) }, delayMs: 600 });
    const peers = client({ requestTimeoutMs: 200, attemptsMax: 3 });
    const vote = await peers.request('la-palma', prepareAtLaPalma(txId(), 262, 5_000));
    expect(vote).to.include({ type: 'vote', vote: 'yes' });
    expect(seen, 'one batch, no resend').to.have.length(1);
  });

  it('lets a batch that stays unanswered (a prepare waiting under wait-die) hold back the next prepares only for PEER_BATCH_STALL_MS', async () => {
    const waiting = txId();
    answer = (_path, body) => (body.messages!.some((m) => m.txId === waiting) ? 'hang' : { status: 200, body: { replies: body.messages!.map((m) => ({ type: 'vote', txId: m.txId, from: 'la-palma', vote: 'yes' })) } });
    const peers = client({ requestTimeoutMs: 2_000, batchesInFlightMax: 1, batchStallMs: 40 });
    void peers.request('la-palma', prepareAtLaPalma(waiting, 260)).catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    const startedAt = Date.now();
    const vote = await peers.request('la-palma', prepareAtLaPalma(txId(), 261));
    expect(vote).to.include({ type: 'vote', vote: 'yes' });
    expect(Date.now() - startedAt).to.be.within(30, 1_000);
    expect(seen).to.have.length(2);
  });

  it('fails every message of a batch whose HTTP call fails, as each single call would have failed', async () => {
    answer = () => 'hang up';
    const outcomes = await Promise.all([txId(), txId()].map((id) => client().request('la-palma', decision('commit', id) as RequestMessage).then(() => 'ok', (error: Error) => error.message)));
    expect(outcomes).to.have.length(2);
    for (const outcome of outcomes) expect(outcome).to.match(/ECONNRESET|socket hang up/);
  });

  it('maps a problem entry to that message alone: a refusal is final, a server error may be retried', async () => {
    const [fine, troubled] = [txId(), txId()];
    let calls = 0;
    answer = (_path, body) => {
      calls += 1;
      const entry = (m: RequestMessage) => (m.txId === fine ? { type: 'ack', txId: m.txId, from: 'la-palma', outcome: 'committed' } : { status: calls === 1 ? 500 : 403, title: 'x', detail: `problem ${calls}` });
      return { status: 200, body: { replies: body.messages!.map(entry) } };
    };
    const peers = client({ attemptsMax: 2 });
    const [ok, refused] = await Promise.all([fine, troubled].map((id) => peers.request('la-palma', decision('commit', id) as RequestMessage).then((r) => r.type, (error: Error) => error.message)));
    expect(ok).to.equal('ack');
    expect(refused, 'retried after the 500, refused for good by the 403').to.equal('refused with 403: problem 2');
    expect(seen.map((s) => s.body.messages!.map((m) => m.txId))).to.deep.equal([[fine, troubled], [troubled]]);
  });

  it('falls back to the per-message endpoints for a peer that does not serve batches', async () => {
    answer = (path, body) => (path === BATCH ? { status: 404, body: { detail: 'no such route' } } : { status: 200, body: { type: 'ack', txId: (body as unknown as RequestMessage).txId, from: 'la-palma', outcome: 'committed' } });
    const peers = client();
    const id = txId();
    expect((await peers.request('la-palma', decision('commit', id) as RequestMessage)).txId).to.equal(id);
    await peers.request('la-palma', decision('abort', txId()) as RequestMessage);
    expect(seen.map((s) => s.path.replace(/transactions\/[^/]+/, 'transactions/{txId}'))).to.deep.equal([BATCH, '/federation/v1/transactions/{txId}/commit', '/federation/v1/transactions/{txId}/release']);
  });
});

describe('group commit as one SQL script: values written as literals come back exactly', function () {
  let dir: string;
  let database: Database;
  let writer: GroupCommitWriter;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'group-commit-script-'));
    database = await openDatabase(dir);
    writer = new GroupCommitWriter(database.committer(), 512);
  });
  after(async () => {
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const tricky = "O'Brien; -- ? 'quoted' \u0000 nul – ünïcødé 🔭 \\ end";
  const booking = (id: string, scientistId: string): BookingRecord => ({
    id, scientistId, status: 'PENDING', createdAt: '2026-12-01T05:00:00.000Z', updatedAt: '2026-12-01T05:00:00.000Z',
    timestampMs: 1_795_400_000_123, items: [], reason: { detail: tricky }, idempotencyKey: `${tricky} ${id}`, requestHash: null, cancelTxId: null,
  });

  it('keeps quotes, question marks, NUL, non-Latin text, large integers and NULL as bound parameters would', async () => {
    const id = txId();
    await writer.write((batch) => batch.insertBooking(booking(id, tricky)));
    const [row] = await database.reader.query('SELECT scientist_id, idempotency_key, reason_json, timestamp_ms, typeof(timestamp_ms) AS t, request_hash FROM bookings WHERE id = ?', [id]);
    expect(row).to.deep.equal({ scientist_id: tricky, idempotency_key: `${tricky} ${id}`, reason_json: JSON.stringify({ detail: tricky }), timestamp_ms: 1_795_400_000_123, t: 'integer', request_hash: null });
  });

  it('rolls a whole batch back when one of its statements fails, and commits nothing after it (a later batch may rely on the failed one)', async () => {
    const [kept, failing, later] = [txId(), txId(), txId()];
    await writer.write((batch) => batch.insertBooking(booking(kept, 'vera-rubin')));
    const refused = writer.write((batch) => {
      batch.insertBooking(booking(failing, 'vera-rubin'));
      batch.insertBooking(booking(kept, 'vera-rubin')); // a second row with a taken primary key
    });
    await refused.then(() => expect.fail('the batch should fail'), (error: Error) => expect(error.message).to.match(/UNIQUE constraint failed/));
    const afterFailure = writer.write((batch) => batch.insertBooking(booking(later, 'vera-rubin')));
    await afterFailure.then(() => expect.fail('no write may commit after a failed one'), (error: Error) => expect(error.message).to.match(/UNIQUE constraint failed/));
    const ids = (await database.reader.query('SELECT id FROM bookings WHERE id IN (?, ?, ?) ORDER BY id', [kept, failing, later])).map((r: { id: string }) => r.id);
    expect(ids).to.have.members([kept]);
  });
});
