// Batched credential requests between real processes (docs/PROTOCOL.md §12): a member asks a
// scientist's home for several credentials in one signed POST /federation/v1/credentials/batch,
// and the home checks and answers each request on its own — a forged one is refused alone, the
// honest ones get credentials that participants accept, each bound to its own booking id and
// items. Honest bookings through a coordinator that is not the scientist's home use the batch.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { partDigest } from '../../federation-node/src/security/booking-credentials.js';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { peerAuthFrom, signedClient } from '../support/signing.js';
import { item } from '../support/slots.js';
import { queryFile } from '../support/sqlite.js';

const txId = (coordinator: string) => `${coordinator}.${randomBytes(12).toString('base64url')}`;

describe('batched credential requests (real processes)', function () {
  this.timeout(120_000);
  let federation: LocalFederation;
  const asMaunaKea = (to: string) => signedClient(federation.url(to), peerAuthFrom(federation.keys, 'mauna-kea'), to);
  const logLines = (id: string, file: string) => readFileSync(path.join(federation.node(id).dataDir, 'logs', `${id}.${file}`), 'utf8').split('\n');
  const prepareAtLaPalma = (id: string, payload: object) => {
    const now = Date.now();
    return { type: 'prepare', txId: id, kind: 'book', coordinatorId: 'mauna-kea', participants: ['la-palma'], timestampMs: now, deadlineMs: now + 10_000, payload };
  };

  before(async () => {
    federation = await LocalFederation.start();
  });
  after(async () => federation?.stop());

  it('a batch with one forged request (another scientist\'s token), one for another member\'s booking and one malformed refuses only those; the honest credentials are bound to their own booking and items', async () => {
    const vera = federation.tokens.scientists['vera-rubin']!;
    const items = (day: number) => [item('la-palma-gtc', day, 5)];
    const [honestA, forged, notItsOwn, honestB] = [txId('mauna-kea'), txId('mauna-kea'), txId('la-palma'), txId('mauna-kea')];
    const asks = [
      { scientistId: 'vera-rubin', bookingId: honestA, parts: { 'la-palma': partDigest(items(230)) }, token: vera },
      { scientistId: 'vera-rubin', bookingId: forged, parts: { 'la-palma': partDigest(items(231)) }, token: federation.tokens.scientists['edwin-hubble']! },
      { scientistId: 'vera-rubin', bookingId: notItsOwn, parts: { 'la-palma': partDigest(items(232)) }, token: vera },
      { scientistId: 'vera-rubin', bookingId: honestB, parts: { 'la-palma': partDigest(items(233)) }, token: vera },
      { scientistId: 'vera-rubin', bookingId: txId('mauna-kea') }, // no parts, no token
    ];
    const res = await asMaunaKea('atacama').post('/federation/v1/credentials/batch', { asks });
    expect(res.status, JSON.stringify(res.data)).to.equal(200);
    const answers = res.data.answers as Array<{ credential?: string; status?: number; detail?: string }>;
    expect(answers.map((a) => (a.credential ? 200 : a.status))).to.deep.equal([200, 403, 403, 200, 400]);
    expect(answers[1]!.detail).to.contain('not vera-rubin\'s API token');
    expect(answers[2]!.detail).to.contain('only for a booking it coordinates');
    expect(answers[4]!.detail).to.contain('asks.4');

    const send = (id: string, day: number, credential: string) => asMaunaKea('la-palma').post(`/federation/v1/transactions/${id}/prepare`, prepareAtLaPalma(id, { bookingId: id, scientistId: 'vera-rubin', items: items(day), credential }));
    const swapped = await send(honestA, 230, answers[3]!.credential!); // honestB's credential for honestA
    expect(swapped.status).to.equal(403);
    expect(swapped.data.detail).to.contain(`issued for booking ${honestB}`);
    const otherItems = await send(honestA, 234, answers[0]!.credential!);
    expect(otherItems.status).to.equal(403);
    expect(otherItems.data.detail).to.contain('does not cover these items');
    const vote = await send(honestA, 230, answers[0]!.credential!);
    expect(vote.data.vote, JSON.stringify(vote.data)).to.equal('yes');
    await asMaunaKea('la-palma').post(`/federation/v1/transactions/${honestA}/release`, { type: 'abort', txId: honestA, from: 'mauna-kea' });

    const audit = logLines('atacama', 'audit.jsonl').filter((l) => l.includes('"askedBy":"mauna-kea"')).map((l) => JSON.parse(l) as { event_type: string; details: { bookingId: string } });
    expect(audit.filter((l) => l.event_type === 'CREDENTIAL_ISSUED').map((l) => l.details.bookingId).sort()).to.deep.equal([honestA, honestB].sort());
    expect(audit.filter((l) => l.event_type === 'CREDENTIAL_REFUSED').map((l) => l.details.bookingId).sort()).to.deep.equal([forged, notItsOwn].sort());
  });

  it('refuses a batch of more than CREDENTIAL_BATCH_ASKS_MAX requests (400) and an unsigned one (401)', async () => {
    const ask = { scientistId: 'vera-rubin', bookingId: txId('mauna-kea'), parts: { 'la-palma': 'x' }, token: 'x' };
    const tooMany = await asMaunaKea('atacama').post('/federation/v1/credentials/batch', { asks: Array.from({ length: 65 }, () => ask) });
    expect(tooMany.status).to.equal(400);
    expect(tooMany.headers['content-type']).to.contain('application/problem+json');
    const unsigned = await asMaunaKea('atacama').post('/federation/v1/credentials/batch', { asks: [ask] }, { resign: false, headers: { 'content-type': 'application/json' } } as object);
    expect(unsigned.status).to.equal(401);
  });

  it('concurrent bookings for atacama\'s scientist through mauna-kea ask atacama through the batch endpoint only, and all are confirmed', async () => {
    const client = federationClient(federation, 'mauna-kea');
    const bookings = await Promise.all(Array.from({ length: 6 }, (_, n) => client.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 240 + n, 5), item('la-palma-gtc', 240 + n, 5)] })));
    expect(bookings.map((b) => b.status), JSON.stringify(bookings.map((b) => b.data))).to.deep.equal([201, 201, 201, 201, 201, 201]);
    const access = logLines('atacama', 'app.log').filter((l) => l.includes('peer=mauna-kea'));
    expect(access.filter((l) => l.includes('POST /federation/v1/credentials ')).length, 'no single credential requests').to.equal(0);
    const batches = access.filter((l) => l.includes('POST /federation/v1/credentials/batch 200'));
    expect(batches.length).to.be.within(2, 7); // this test's own batch above, and at most one per booking
    for (const b of bookings) {
      const rows = await queryFile(federation.node('la-palma').dbFile, 'SELECT state FROM slot_claims WHERE booking_id = ?', [b.data.id]);
      expect(rows.length, `${b.data.id} confirmed at la-palma`).to.equal(1);
    }
  });
});
