// The membership document's rules, and the key ring built from it: what a node accepts to
// load, and which key it then signs with.
import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { readCatalog } from '../../seeds/catalog.js';
import { KeyRing } from '../../federation-node/src/security/key-ring.js';
import { keyIdFor, parseMembership, rawPublicKeyOf, type MembershipDocument } from '../../federation-node/src/security/membership.js';

const catalog = readCatalog().observatories;
const atacama = catalog.find((o) => o.id === 'atacama');
const laPalma = catalog.find((o) => o.id === 'la-palma');
const ATACAMA_KEY = generateKeyPairSync('ed25519').privateKey;
const LA_PALMA_KEY = generateKeyPairSync('ed25519').privateKey;
const entry = (id: string, key = ATACAMA_KEY) => ({ keyId: keyIdFor(id, rawPublicKeyOf(key)), alg: 'ed25519' as const, publicKey: rawPublicKeyOf(key) });

function doc(change: (d: MembershipDocument) => void = () => undefined): string {
  const d: MembershipDocument = {
    federation: 'unit',
    version: 1,
    members: [
      { ...atacama!, telescopes: [...atacama!.telescopes], urls: ['http://127.0.0.1:7101'], publicKeys: [entry('atacama')] },
      { ...laPalma!, telescopes: [...laPalma!.telescopes], urls: ['http://127.0.0.1:7103'], publicKeys: [entry('la-palma', LA_PALMA_KEY)] },
    ],
  };
  change(d);
  return JSON.stringify(d);
}

function refusal(text: string): string {
  try {
    parseMembership(text, 'the test document');
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the document to be refused');
}

describe('membership document', () => {
  it('accepts a valid document, public keys as 32 raw bytes in base64url', () => {
    const parsed = parseMembership(doc());
    expect(parsed.members.map((m) => m.id)).to.deep.equal(['atacama', 'la-palma']);
    expect(parsed.members[0]!.publicKeys[0]!.publicKey).to.match(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses, naming the field: a key id of another member, a PEM or base64-text key, twice the same telescope, an unknown time reference, non-JSON', () => {
    expect(refusal(doc((d) => (d.members[0]!.publicKeys[0]!.keyId = 'la-palma:x')))).to.contain('must be named "atacama:<label>"');
    expect(refusal(doc((d) => (d.members[0]!.publicKeys[0]!.publicKey = Buffer.from(d.members[0]!.publicKeys[0]!.publicKey).toString('base64'))))).to.contain('32 raw bytes in base64url');
    expect(refusal(doc((d) => d.members[1]!.telescopes.push(d.members[0]!.telescopes[0]!)))).to.contain('telescope ids must be unique');
    expect(refusal(doc((d) => (d.timeReference = 'mauna-kea')))).to.contain('timeReference mauna-kea is not a member');
    expect(refusal('{"members": [')).to.contain('is not JSON');
  });

  it('builds a key ring that signs with the listed key matching the private key, and knows the keys of every member', () => {
    const ring = new KeyRing('atacama', parseMembership(doc()), ATACAMA_KEY);
    expect(ring.signing!.keyId).to.equal(entry('atacama').keyId);
    expect(ring.known(entry('la-palma', LA_PALMA_KEY).keyId)!.observatoryId).to.equal('la-palma');
    expect(ring.known('la-palma:unknown')).to.equal(undefined);
  });

  it('refuses a private key the document does not list for this node (a switch before the public key is published)', () => {
    expect(() => new KeyRing('atacama', parseMembership(doc()), LA_PALMA_KEY)).to.throw('lists no public key of atacama matching SIGNING_KEY_FILE');
    expect(() => new KeyRing('mauna-kea', parseMembership(doc()), ATACAMA_KEY)).to.throw('does not list mauna-kea');
  });
});
