// Scientists' credentials (docs/SECURITY.md, "Credentials"): a short-lived JWS (RFC 7515,
// compact, alg EdDSA per RFC 8037) signed by the scientist's home observatory with its
// membership key, saying "scientist S asked for booking B, whose part at each observatory is
// these items". It travels in every prepare of a booking; each participant checks it against
// the home's public keys, so a member can forge bookings only for its own scientists.
import { createHash, sign, verify } from 'node:crypto';
import { z } from 'zod';
import type { KeyRing } from './key-ring.js';
import { b64, parseJson } from './compact-jws.js';

export const CREDENTIAL_TYPE = 'booking-credential+jwt';

export interface PartItem {
  telescopeId: string;
  start: string;
  end: string;
}

/** base64url(SHA-256(UTF-8 JSON of the [telescopeId, start, end] triples, sorted))): one observatory's part. */
export function partDigest(items: PartItem[]): string {
  const triples = items.map((i) => [i.telescopeId, i.start, i.end]).sort((a, b) => (a.join(' ') < b.join(' ') ? -1 : a.join(' ') > b.join(' ') ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(triples), 'utf8').digest('base64url');
}

const Claims = z.strictObject({
  iss: z.string().min(1).max(64),
  sub: z.string().min(1).max(100),
  bkg: z.string().min(1).max(100),
  /** Observatory → partDigest of its items. */
  parts: z.record(z.string().max(64), z.string().max(64)),
  iat: z.number().int(),
  exp: z.number().int(),
});
export type CredentialClaims = z.infer<typeof Claims>;

const Header = z.strictObject({ alg: z.literal('EdDSA'), typ: z.literal(CREDENTIAL_TYPE), kid: z.string().min(1).max(100) });

export class CredentialError extends Error {
  override name = 'CredentialError';
}

/** A credential for `claims`, signed with this node's current key (the node must be the scientist's home). */
export function issueCredential(ring: KeyRing, claims: Omit<CredentialClaims, 'iss'>): string {
  const key = ring.signing;
  if (!key) throw new CredentialError(`${ring.selfId} has no signing key`);
  const header = b64(JSON.stringify({ alg: 'EdDSA', typ: CREDENTIAL_TYPE, kid: key.keyId }));
  const payload = b64(JSON.stringify({ iss: ring.selfId, ...claims }));
  const signature = sign(null, Buffer.from(`${header}.${payload}`, 'ascii'), key.privateKey).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

export interface ExpectedCredential {
  scientistId: string;
  /** The scientist's home observatory (seeds/scientists.json `institution`). */
  home: string;
  bookingId: string;
  /** The checking observatory and the items of its part. */
  selfId: string;
  items: PartItem[];
}

/** Checks a credential; returns its claims and the key that signed it, or throws CredentialError naming what is wrong. */
export function verifyCredential(token: unknown, expected: ExpectedCredential, ring: KeyRing, nowS: number, limits: { ttlMaxS: number; skewS: number }): { claims: CredentialClaims; keyId: string } {
  if (typeof token !== 'string') throw new CredentialError(`no credential of ${expected.scientistId}'s home observatory (${expected.home})`);
  const [h, p, s, ...rest] = token.split('.');
  if (!h || !p || !s || rest.length > 0) throw new CredentialError('the credential is not a compact JWS');
  const header = Header.safeParse(parseJson(h));
  const claims = Claims.safeParse(parseJson(p));
  if (!header.success || !claims.success) throw new CredentialError(`the credential's ${header.success ? 'claims are' : 'header is'} not as docs/PROTOCOL.md describes`);
  const known = ring.known(header.data.kid);
  if (!known) throw new CredentialError(`the credential is signed with key "${header.data.kid}", which no member lists`);
  if (!verify(null, Buffer.from(`${h}.${p}`, 'ascii'), known.publicKey, Buffer.from(s, 'base64url'))) throw new CredentialError('the credential\'s signature does not match');
  const c = claims.data;
  if (known.observatoryId !== c.iss) throw new CredentialError(`the credential claims to be issued by ${c.iss} but is signed by ${known.observatoryId}`);
  if (c.iss !== expected.home) throw new CredentialError(`${c.iss} vouches for ${expected.scientistId}, whose home observatory is ${expected.home}: only the home observatory may`);
  if (c.sub !== expected.scientistId) throw new CredentialError(`the credential is ${c.sub}'s, not ${expected.scientistId}'s`);
  if (c.bkg !== expected.bookingId) throw new CredentialError(`the credential was issued for booking ${c.bkg}, not ${expected.bookingId}`);
  if (c.parts[expected.selfId] !== partDigest(expected.items)) throw new CredentialError(`the credential does not cover these items at ${expected.selfId}`);
  if (c.exp - c.iat > limits.ttlMaxS) throw new CredentialError(`the credential is valid for ${c.exp - c.iat} s; at most ${limits.ttlMaxS} s accepted (CREDENTIAL_TTL_S)`);
  if (c.iat > nowS + limits.skewS) throw new CredentialError('the credential is issued in the future');
  if (nowS > c.exp + limits.skewS) throw new CredentialError(`the credential expired ${nowS - c.exp} s ago`);
  return { claims: c, keyId: header.data.kid };
}

/**
 * A kept credential proves a whole booking later (a restored coordinator told its own booking
 * back, docs/PROTOCOL.md §16): the same checks as at the prepare, at the time it was issued,
 * and every observatory's part digest must match `items`, with no part missing or added.
 */
export function verifyBookingAsIssued(token: unknown, expected: Omit<ExpectedCredential, 'selfId' | 'items'>, items: Array<PartItem & { observatoryId: string }>, ring: KeyRing, limits: { ttlMaxS: number; skewS: number }): CredentialClaims {
  const issuedAtS = typeof token === 'string' ? (parseJson(token.split('.')[1] ?? '') as { iat?: unknown } | undefined)?.iat : undefined;
  if (typeof issuedAtS !== 'number') throw new CredentialError('the credential is not a compact JWS with an issue time');
  const parts = new Map<string, PartItem[]>();
  for (const { observatoryId, telescopeId, start, end } of items) parts.set(observatoryId, [...(parts.get(observatoryId) ?? []), { telescopeId, start, end }]);
  const [first] = parts;
  if (!first) throw new CredentialError('the booking has no items');
  const { claims } = verifyCredential(token, { ...expected, selfId: first[0], items: first[1] }, ring, issuedAtS, limits);
  const named = Object.keys(claims.parts);
  if (named.length !== parts.size || named.some((observatory) => claims.parts[observatory] !== partDigest(parts.get(observatory) ?? []))) {
    throw new CredentialError(`the credential does not cover these items: it names the parts of ${named.join(', ')}`);
  }
  return claims;
}

