import { generateKeyPairSync, sign } from 'node:crypto';
import { expect } from 'chai';
import { NonceCache } from '../../federation-node/src/security/nonce-cache.js';
import { SignatureError, signRequest, signResponse, verifyRequest, verifyResponse, type SignedRequest } from '../../federation-node/src/security/message-signatures.js';

const ATACAMA = generateKeyPairSync('ed25519');
const ATACAMA_NEXT = generateKeyPairSync('ed25519');
const LA_PALMA = generateKeyPairSync('ed25519');
const STRANGER = generateKeyPairSync('ed25519');
const NOW_S = 1_800_000_000;
const KEYS = new Map([
  ['atacama:k1', { observatoryId: 'atacama', publicKey: ATACAMA.publicKey }],
  ['atacama:k2', { observatoryId: 'atacama', publicKey: ATACAMA_NEXT.publicKey }],
  ['la-palma:k1', { observatoryId: 'la-palma', publicKey: LA_PALMA.publicKey }],
]);
const options = { keyOf: (keyId: string) => KEYS.get(keyId), nowS: NOW_S, maxSkewS: 30 };

function signed(body = '{"type":"commit"}', target = '/federation/v1/transactions/atacama.abcdefgh/commit', keyId = 'atacama:k1', createdS = NOW_S, key = ATACAMA.privateKey): SignedRequest {
  return { method: 'POST', target, body, headers: { ...signRequest({ method: 'POST', target, body }, keyId, key, createdS) } };
}

function refusal(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).to.be.instanceOf(SignatureError);
    return (error as Error).message;
  }
  throw new Error('expected a SignatureError');
}

describe('HTTP message signatures (RFC 9421 profile, ed25519)', () => {
  it('verifies a signed request and names its sender and the key it used', () => {
    expect(verifyRequest(signed(), options)).to.include({ keyId: 'atacama:k1', observatoryId: 'atacama', createdS: NOW_S });
  });

  it('signs exactly the documented base: Ed25519 over its UTF-8 bytes, 64 bytes in the sf-binary of Signature', () => {
    const request = signed('{"a":"é"}', '/federation/v1/transactions/atacama.abcdefgh/commit');
    const params = (request.headers['signature-input'] as string).slice('fed='.length);
    const base = [
      '"@method": POST',
      '"@path": /federation/v1/transactions/atacama.abcdefgh/commit',
      '"@query": ?',
      `"content-digest": ${request.headers['content-digest'] as string}`,
      `"@signature-params": ${params}`,
    ].join('\n');
    const expected = sign(null, Buffer.from(base, 'utf8'), ATACAMA.privateKey).toString('base64');
    expect(request.headers.signature).to.equal(`fed=:${expected}:`);
    expect(Buffer.from(expected, 'base64')).to.have.length(64);
  });

  it('produces the documented Signature-Input: label fed, the four components, created, nonce, keyid, alg', () => {
    const input = signed().headers['signature-input'] as string;
    expect(input).to.match(/^fed=\("@method" "@path" "@query" "content-digest"\);created=1800000000;nonce="[A-Za-z0-9_-]{22}";keyid="atacama:k1";alg="ed25519"$/);
  });

  it('refuses a body altered after signing', () => {
    const request = signed();
    expect(refusal(() => verifyRequest({ ...request, body: '{"type":"abort"}' }, options))).to.contain('Content-Digest');
  });

  it('refuses a body and digest both altered (the signature covers the digest)', () => {
    const request = signed();
    const forged = signRequest({ method: 'POST', target: request.target, body: '{"type":"abort"}' }, 'atacama:k1', STRANGER.privateKey, NOW_S);
    const headers = { ...request.headers, 'content-digest': forged['content-digest'] };
    expect(refusal(() => verifyRequest({ ...request, body: '{"type":"abort"}', headers }, options))).to.contain('does not match');
  });

  it('refuses another path, another method or another query than the one signed', () => {
    const request = signed();
    expect(refusal(() => verifyRequest({ ...request, target: '/federation/v1/transactions/atacama.abcdefgh/release' }, options))).to.contain('does not match');
    expect(refusal(() => verifyRequest({ ...request, method: 'PUT' }, options))).to.contain('does not match');
    expect(refusal(() => verifyRequest({ ...request, target: `${request.target}?x=1` }, options))).to.contain('does not match');
  });

  it('accepts either listed key of a member while its key is being rotated, both naming that member', () => {
    expect(verifyRequest(signed(), options).observatoryId).to.equal('atacama');
    expect(verifyRequest(signed(undefined, undefined, 'atacama:k2', NOW_S, ATACAMA_NEXT.privateKey), options)).to.include({ keyId: 'atacama:k2', observatoryId: 'atacama' });
  });

  it('refuses a signature made with a key other than the one its keyid names (another member\'s, or a stranger\'s)', () => {
    expect(refusal(() => verifyRequest(signed(undefined, undefined, 'atacama:k1', NOW_S, STRANGER.privateKey), options))).to.contain('does not match');
    expect(refusal(() => verifyRequest(signed(undefined, undefined, 'atacama:k1', NOW_S, LA_PALMA.privateKey), options))).to.contain('does not match');
  });

  it('refuses an unknown key id, a missing signature, and a malformed header', () => {
    expect(refusal(() => verifyRequest(signed(undefined, undefined, 'nowhere:k1', NOW_S, STRANGER.privateKey), options))).to.contain('unknown key "nowhere:k1"');
    expect(refusal(() => verifyRequest({ ...signed(), headers: {} }, options))).to.contain('not signed');
    expect(refusal(() => verifyRequest({ ...signed(), headers: { ...signed().headers, 'signature-input': 'fed=(((' } }, options))).to.contain('structured field');
  });

  it('refuses a signature created outside the allowed skew, in the past or the future', () => {
    expect(refusal(() => verifyRequest(signed(undefined, undefined, 'atacama:k1', NOW_S - 31), options))).to.contain('SIGNATURE_MAX_SKEW_S');
    expect(refusal(() => verifyRequest(signed(undefined, undefined, 'atacama:k1', NOW_S + 31), options))).to.contain('SIGNATURE_MAX_SKEW_S');
  });

  it('binds a signed response to the request it answers', () => {
    const request = signed();
    const body = '{"type":"ack"}';
    const response = { status: 200, body, headers: { ...signResponse({ status: 200, body }, request, 'la-palma:k1', LA_PALMA.privateKey, NOW_S) } };
    expect(verifyResponse(response, request, 'la-palma', options).keyId).to.equal('la-palma:k1');
    const otherRequest = signed();
    expect(refusal(() => verifyResponse(response, otherRequest, 'la-palma', options))).to.contain('does not match');
    expect(refusal(() => verifyResponse({ ...response, status: 201 }, request, 'la-palma', options))).to.contain('does not match');
    expect(refusal(() => verifyResponse(response, request, 'mauna-kea', options))).to.contain('not by mauna-kea');
  });
});

describe('nonce cache (replay protection)', () => {
  it('accepts a nonce once and refuses it again while it is within the window', () => {
    const cache = new NonceCache(60, 100);
    expect(cache.remember('atacama', 'n1', 1000)).to.equal(true);
    expect(cache.remember('atacama', 'n1', 1030)).to.equal(false);
    expect(cache.remember('la-palma', 'n1', 1030)).to.equal(true);
  });

  it('stays within its bound, dropping expired nonces first', () => {
    const cache = new NonceCache(10, 3);
    cache.remember('a', '1', 0);
    cache.remember('a', '2', 0);
    cache.remember('a', '3', 100);
    cache.remember('a', '4', 100);
    expect(cache.size).to.be.at.most(3);
    expect(cache.remember('a', '3', 101)).to.equal(false);
  });

  it('holds about one window of traffic, not its cap: expired nonces go as new ones arrive (memory plateau, issue 10)', () => {
    const cache = new NonceCache(10, 200_000);
    for (let s = 0; s < 100; s += 1) for (let n = 0; n < 50; n += 1) cache.remember('mauna-kea', `${s}-${n}`, s);
    expect(cache.size, '11 seconds of 50 nonces a second, not 5,000').to.be.at.most(11 * 50 + 1);
    expect(cache.remember('mauna-kea', '99-0', 99), 'a nonce inside the window is still refused').to.equal(false);
    expect(cache.remember('mauna-kea', '80-0', 99), 'one past the window is forgotten').to.equal(true);
  });
});
