import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { NonceCache } from '../../federation-node/src/security/nonce-cache.js';
import { SignatureError, signRequest, signResponse, verifyRequest, verifyResponse, type SignedRequest } from '../../federation-node/src/security/message-signatures.js';

const SECRET = randomBytes(32);
const NOW_S = 1_800_000_000;
const options = { secretsOf: (id: string) => (id === 'atacama' || id === 'la-palma' ? [SECRET] : []), nowS: NOW_S, maxSkewS: 30 };

function signed(body = '{"type":"commit"}', target = '/federation/v1/transactions/atacama.abcdefgh/commit', keyId = 'atacama', createdS = NOW_S): SignedRequest {
  return { method: 'POST', target, body, headers: { ...signRequest({ method: 'POST', target, body }, keyId, SECRET, createdS) } };
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

describe('HTTP message signatures (RFC 9421 profile, hmac-sha256)', () => {
  it('verifies a signed request and names its sender', () => {
    expect(verifyRequest(signed(), options)).to.include({ keyId: 'atacama', createdS: NOW_S });
  });

  it('produces the documented Signature-Input: label fed, the four components, created, nonce, keyid, alg', () => {
    const input = signed().headers['signature-input'] as string;
    expect(input).to.match(/^fed=\("@method" "@path" "@query" "content-digest"\);created=1800000000;nonce="[A-Za-z0-9_-]{22}";keyid="atacama";alg="hmac-sha256"$/);
  });

  it('refuses a body altered after signing', () => {
    const request = signed();
    expect(refusal(() => verifyRequest({ ...request, body: '{"type":"abort"}' }, options))).to.contain('Content-Digest');
  });

  it('refuses a body and digest both altered (the signature covers the digest)', () => {
    const request = signed();
    const forged = signRequest({ method: 'POST', target: request.target, body: '{"type":"abort"}' }, 'atacama', randomBytes(32), NOW_S);
    const headers = { ...request.headers, 'content-digest': forged['content-digest'] };
    expect(refusal(() => verifyRequest({ ...request, body: '{"type":"abort"}', headers }, options))).to.contain('does not match');
  });

  it('refuses another path, another method or another query than the one signed', () => {
    const request = signed();
    expect(refusal(() => verifyRequest({ ...request, target: '/federation/v1/transactions/atacama.abcdefgh/release' }, options))).to.contain('does not match');
    expect(refusal(() => verifyRequest({ ...request, method: 'PUT' }, options))).to.contain('does not match');
    expect(refusal(() => verifyRequest({ ...request, target: `${request.target}?x=1` }, options))).to.contain('does not match');
  });

  it('accepts a signature made with either secret of a pair while it is being rotated', () => {
    const rotating = { ...options, secretsOf: () => [randomBytes(32), SECRET] };
    expect(verifyRequest(signed(), rotating).keyId).to.equal('atacama');
  });

  it('refuses a signature made with another secret', () => {
    const request: SignedRequest = { ...signed(), headers: { ...signRequest({ method: 'POST', target: '/x', body: '' }, 'atacama', randomBytes(32), NOW_S) } };
    expect(refusal(() => verifyRequest({ ...request, target: '/x', body: '' }, options))).to.contain('does not match');
  });

  it('refuses an unknown observatory, a missing signature, and a malformed header', () => {
    expect(refusal(() => verifyRequest(signed(undefined, undefined, 'nowhere'), options))).to.contain('unknown observatory "nowhere"');
    expect(refusal(() => verifyRequest({ ...signed(), headers: {} }, options))).to.contain('not signed');
    expect(refusal(() => verifyRequest({ ...signed(), headers: { ...signed().headers, 'signature-input': 'fed=(((' } }, options))).to.contain('structured field');
  });

  it('refuses a signature created outside the allowed skew, in the past or the future', () => {
    expect(refusal(() => verifyRequest(signed(undefined, undefined, 'atacama', NOW_S - 31), options))).to.contain('SIGNATURE_MAX_SKEW_S');
    expect(refusal(() => verifyRequest(signed(undefined, undefined, 'atacama', NOW_S + 31), options))).to.contain('SIGNATURE_MAX_SKEW_S');
  });

  it('binds a signed response to the request it answers', () => {
    const request = signed();
    const body = '{"type":"ack"}';
    const response = { status: 200, body, headers: { ...signResponse({ status: 200, body }, request, 'la-palma', SECRET, NOW_S) } };
    expect(verifyResponse(response, request, 'la-palma', options).keyId).to.equal('la-palma');
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
});
