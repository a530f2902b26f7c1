// A rogue member (mauna-kea, holding its valid key) tries to book another observatory's
// telescopes in the name of a scientist who is not its own, and to replay a valid credential
// for another booking. Every attempt is refused with 403 before anything is held, and audited
// (CREDENTIAL_REFUSED); the honest path through a non-home coordinator records who vouched.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { bookingCredential, peerAuthFrom, signedClient, vouchedPart } from '../support/signing.js';
import { item } from '../support/slots.js';
import { queryFile } from '../support/sqlite.js';

const txId = (coordinator: string) => `${coordinator}.${randomBytes(12).toString('base64url')}`;

describe('rogue member: scientists\' credentials', function () {
  this.timeout(120_000);
  let federation: LocalFederation;
  const prepareAtLaPalma = (id: string, payload: object) => {
    const now = Date.now();
    return { type: 'prepare', txId: id, kind: 'book', coordinatorId: 'mauna-kea', participants: ['la-palma'], timestampMs: now, deadlineMs: now + 10_000, payload };
  };
  const part = (id: string, day: number, scientistId = 'vera-rubin') => ({ bookingId: id, scientistId, items: [item('la-palma-gtc', day, 5)] });
  const fromRogue = () => signedClient(federation.url('la-palma'), peerAuthFrom(federation.keys, 'mauna-kea'), 'la-palma');
  const send = (id: string, payload: object) => fromRogue().post(`/federation/v1/transactions/${id}/prepare`, prepareAtLaPalma(id, payload));
  const held = async (id: string) => queryFile(federation.node('la-palma').dbFile, 'SELECT * FROM slot_claims WHERE booking_id = ?', [id]);
  const audit = (id: string, eventType: string) => {
    // The current audit file (a link to the rotating file of the day; docs/LOGGING.md).
    const file = path.join(federation.node(id).dataDir, 'logs', `${id}.audit.jsonl`);
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.includes(`"event_type":"${eventType}"`)).map((l) => JSON.parse(l) as { details: Record<string, unknown>; tx_id?: string });
  };

  before(async () => {
    federation = await LocalFederation.start();
  });
  after(async () => federation?.stop());

  it('refuses a booking of la-palma\'s telescope for atacama\'s scientist without atacama\'s word: no credential, one the rogue signed itself, one claiming atacama but signed by the rogue', async () => {
    const attempts: Array<[string, (id: string) => object, string]> = [
      ['no credential', (id) => part(id, 300), 'no credential of vera-rubin\'s home observatory (atacama)'],
      ['its own credential', (id) => ({ ...part(id, 301), credential: bookingCredential(federation.keys, 'mauna-kea', { scientistId: 'vera-rubin', bookingId: id, parts: { 'la-palma': part(id, 301).items } }) }), 'mauna-kea vouches for vera-rubin, whose home observatory is atacama'],
      ['a forged issuer', (id) => {
        const own = bookingCredential(federation.keys, 'mauna-kea', { scientistId: 'vera-rubin', bookingId: id, parts: { 'la-palma': part(id, 302).items } });
        const [header, payload, signature] = own.split('.');
        const claims = { ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), iss: 'atacama' };
        return { ...part(id, 302), credential: `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}` };
      }, 'signature does not match'],
    ];
    for (const [what, payload, detail] of attempts) {
      const id = txId('mauna-kea');
      const res = await send(id, payload(id));
      expect(res.status, what).to.equal(403);
      expect(res.data.detail, what).to.contain(detail);
      expect(await held(id), `${what}: nothing held`).to.deep.equal([]);
    }
  });

  it('replaying an old but valid credential of atacama is refused: for another booking, for other items, after it expired', async () => {
    const old = txId('mauna-kea');
    const captured = vouchedPart(federation.keys, 'atacama', 'la-palma', part(old, 310)); // as seen by a participant of that booking
    const attempts: Array<[string, string, object, string]> = [];
    const other = txId('mauna-kea');
    attempts.push(['another booking', other, { ...part(other, 310), credential: captured.credential }, `issued for booking ${old}`]);
    attempts.push(['other items', old, { ...part(old, 311), credential: captured.credential }, 'does not cover these items at la-palma']);
    const late = txId('mauna-kea');
    const expired = bookingCredential(federation.keys, 'atacama', { scientistId: 'vera-rubin', bookingId: late, parts: { 'la-palma': part(late, 312).items } }, { iatS: Math.floor(Date.now() / 1000) - 600 });
    attempts.push(['expired', late, { ...part(late, 312), credential: expired }, 'expired']);
    const long = txId('mauna-kea');
    const tooLong = bookingCredential(federation.keys, 'atacama', { scientistId: 'vera-rubin', bookingId: long, parts: { 'la-palma': part(long, 313).items } }, { ttlS: 86_400 });
    attempts.push(['valid for a day', long, { ...part(long, 313), credential: tooLong }, 'CREDENTIAL_TTL_S']);
    for (const [what, id, payload, detail] of attempts) {
      const res = await send(id, payload);
      expect(res.status, what).to.equal(403);
      expect(res.data.detail, what).to.contain(detail);
      expect(await held(id), `${what}: nothing held`).to.deep.equal([]);
    }
  });

  it('the rogue cannot make atacama vouch for atacama\'s scientist without her token, nor for a booking it does not coordinate', async () => {
    const toAtacama = signedClient(federation.url('atacama'), peerAuthFrom(federation.keys, 'mauna-kea'), 'atacama');
    const ask = (token: string, bookingId = txId('mauna-kea')) => toAtacama.post('/federation/v1/credentials', { scientistId: 'vera-rubin', bookingId, parts: { 'la-palma': 'x' }, token });
    const noToken = await ask(federation.tokens.scientists['edwin-hubble']!);
    expect(noToken.status).to.equal(403);
    expect(noToken.data.detail).to.contain('not vera-rubin\'s API token');
    const notItsBooking = await ask(federation.tokens.scientists['vera-rubin']!, txId('la-palma'));
    expect(notItsBooking.status).to.equal(403);
    expect(notItsBooking.data.detail).to.contain('only for a booking it coordinates');
    const notHome = await signedClient(federation.url('la-palma'), peerAuthFrom(federation.keys, 'mauna-kea'), 'la-palma').post('/federation/v1/credentials', { scientistId: 'vera-rubin', bookingId: txId('mauna-kea'), parts: { x: 'y' }, token: federation.tokens.scientists['vera-rubin'] });
    expect(notHome.status).to.equal(403);
    expect(notHome.data.detail).to.contain('vouches only for its own scientists');
  });

  it('a member still books for its own scientist, and an honest booking through a node that is not the scientist\'s home records who vouched', async () => {
    const own = txId('mauna-kea');
    const vote = await send(own, vouchedPart(federation.keys, 'mauna-kea', 'la-palma', part(own, 320, 'edwin-hubble')));
    expect(vote.data.vote).to.equal('yes');
    await fromRogue().post(`/federation/v1/transactions/${own}/release`, { type: 'abort', txId: own, from: 'mauna-kea' });

    const booked = await federationClient(federation, 'mauna-kea').post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 321, 5), item('la-palma-gtc', 321, 5)] });
    expect(booked.status, JSON.stringify(booked.data)).to.equal(201);
    const accepted = audit('la-palma', 'CREDENTIAL_ACCEPTED').filter((l) => l.details.bookingId === booked.data.id);
    expect(accepted.map((l) => [l.details.vouchedBy, l.details.coordinator])).to.deep.equal([['atacama', 'mauna-kea']]);
    expect(audit('atacama', 'CREDENTIAL_ISSUED').some((l) => l.details.bookingId === booked.data.id && l.details.askedBy === 'mauna-kea')).to.equal(true);
  });

  it('audits every refusal at the refusing node (CREDENTIAL_REFUSED, with the reason)', () => {
    const prepares = audit('la-palma', 'CREDENTIAL_REFUSED').filter((l) => 'coordinator' in l.details);
    expect(prepares.length, 'seven refused prepares').to.equal(7);
    expect(prepares.every((l) => typeof l.details.reason === 'string' && l.details.coordinator === 'mauna-kea' && l.details.scientistId === 'vera-rubin' && l.tx_id)).to.equal(true);
    const asks = [...audit('atacama', 'CREDENTIAL_REFUSED'), ...audit('la-palma', 'CREDENTIAL_REFUSED')].filter((l) => l.details.askedBy === 'mauna-kea');
    expect(asks.length, 'three refused requests to vouch').to.equal(3);
  });
});
