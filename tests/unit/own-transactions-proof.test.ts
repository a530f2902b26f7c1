// What a restored coordinator believes of a booking a peer says it coordinated
// (durability/own-transactions.ts, credentialProof): only what the booking's kept credential,
// signed by the scientist's home, proves — every observatory's part, the booking id, the
// scientist — checked as of when it was issued (it expired long ago).
import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { readCatalog } from '../../seeds/catalog.js';
import { credentialProof } from '../../federation-node/src/durability/own-transactions.js';
import { issueCredential, partDigest } from '../../federation-node/src/security/booking-credentials.js';
import { KeyRing } from '../../federation-node/src/security/key-ring.js';
import { keyIdFor, parseMembership, rawPublicKeyOf, type MembershipDocument } from '../../federation-node/src/security/membership.js';

const catalog = readCatalog().observatories;
const KEYS = { atacama: generateKeyPairSync('ed25519').privateKey, 'la-palma': generateKeyPairSync('ed25519').privateKey };
const membership: MembershipDocument = {
  federation: 'unit',
  version: 1,
  members: (['atacama', 'la-palma'] as const).map((id, i) => {
    const o = catalog.find((c) => c.id === id)!;
    return { ...o, telescopes: [...o.telescopes], urls: [`http://127.0.0.1:${7101 + i}`], publicKeys: [{ keyId: keyIdFor(id, rawPublicKeyOf(KEYS[id])), alg: 'ed25519' as const, publicKey: rawPublicKeyOf(KEYS[id]) }] };
  }),
};
const atacamaRing = new KeyRing('atacama', parseMembership(JSON.stringify(membership)), KEYS.atacama);
const palmaRing = new KeyRing('la-palma', parseMembership(JSON.stringify(membership)), KEYS['la-palma']);
const homes = new Map([['vera-rubin', 'atacama'], ['edwin-hubble', 'la-palma']]);
const LIMITS = { ttlMaxS: 60, skewS: 5 };

const bookingItems = [
  { observatoryId: 'la-palma', telescopeId: 'la-palma-gtc', start: '2027-06-01T05:00:00.000Z', end: '2027-06-01T06:00:00.000Z' },
  { observatoryId: 'atacama', telescopeId: 'atacama-ut1', start: '2027-06-01T06:00:00.000Z', end: '2027-06-01T07:00:00.000Z' },
];
const partsOf = (items: typeof bookingItems) => {
  const parts: Record<string, string> = {};
  for (const o of new Set(items.map((i) => i.observatoryId))) parts[o] = partDigest(items.filter((i) => i.observatoryId === o));
  return parts;
};
const issuedHourAgo = Math.floor(Date.now() / 1000) - 3600;
const credential = issueCredential(atacamaRing, { sub: 'vera-rubin', bkg: 'la-palma.booking1', parts: partsOf(bookingItems), iat: issuedHourAgo, exp: issuedHourAgo + 60 });
const payload = { bookingId: 'la-palma.booking1', scientistId: 'vera-rubin', items: [], bookingItems, credential };
const unproven = credentialProof(palmaRing, (id) => homes.get(id), LIMITS);

describe('a restored coordinator proves a reported booking by its kept credential', () => {
  it('accepts the booking as issued an hour ago: every part, the id and the scientist match, signed by the home', () => {
    expect(unproven(payload)).to.equal(undefined);
  });

  it('refuses a report whose items were changed, added to or cut, naming why', () => {
    const moved = bookingItems.map((i, n) => (n === 0 ? { ...i, start: '2027-06-01T07:00:00.000Z', end: '2027-06-01T08:00:00.000Z' } : i));
    expect(unproven({ ...payload, bookingItems: moved })).to.match(/does not cover these items/);
    expect(unproven({ ...payload, bookingItems: [...bookingItems, { observatoryId: 'la-palma', telescopeId: 'la-palma-wht', start: '2027-06-01T05:00:00.000Z', end: '2027-06-01T05:30:00.000Z' }] })).to.match(/does not cover these items/);
    expect(unproven({ ...payload, bookingItems: bookingItems.slice(0, 1) })).to.match(/does not cover these items/);
  });

  it('refuses another booking id, another scientist, a credential signed by a member that is not the home, and none at all', () => {
    expect(unproven({ ...payload, bookingId: 'la-palma.booking2' })).to.match(/issued for booking la-palma.booking1/);
    expect(unproven({ ...payload, scientistId: 'edwin-hubble' })).to.match(/vouches for edwin-hubble, whose home observatory is la-palma/);
    const forged = issueCredential(palmaRing, { sub: 'vera-rubin', bkg: 'la-palma.booking1', parts: partsOf(bookingItems), iat: issuedHourAgo, exp: issuedHourAgo + 60 });
    expect(unproven({ ...payload, credential: forged })).to.match(/only the home observatory may/);
    expect(unproven({ ...payload, credential: undefined })).to.match(/not a compact JWS/);
    expect(unproven({ ...payload, scientistId: 'nobody' })).to.match(/not a scientist of this federation/);
  });
});
