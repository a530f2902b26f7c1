// Speaking the authenticated protocol from a test, as a member of the federation would:
// requests signed with that member's Ed25519 key, answers checked against the membership's
// public keys. A rogue test signs as a real member (its own key) or as an outsider (a key no
// member lists, `outsiderAuth`).
import http from 'node:http';
import { statSync } from 'node:fs';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import axios, { type AxiosInstance } from 'axios';
import { KeyRing, readSigningKey } from '../../federation-node/src/security/key-ring.js';
import { readCatalog } from '../../seeds/catalog.js';
import { ensureLocalKeys, localKeyFiles, localMember, newSigningKey, publicKeyEntry, readMembershipFile, signingKeyFile, writeMembershipFile, type LocalKeyFiles } from '../../federation-node/src/security/local-keys.js';
import type { MembershipDocument } from '../../federation-node/src/security/membership.js';
import { issueCredential, partDigest, type PartItem } from '../../federation-node/src/security/booking-credentials.js';
import { NonceCache } from '../../federation-node/src/security/nonce-cache.js';
import { PeerAuthenticator } from '../../federation-node/src/security/peer-authenticator.js';
import { TokenDirectory } from '../../federation-node/src/security/principals.js';

/**
 * The signing identity of member `selfId` of a local federation: its private key and the
 * membership's public keys. `keys`: LocalFederation.keys, its folder, or any file in that folder
 * (e.g. the former `keys.secretsFile`). The third argument is ignored (it listed the peers of
 * the pair secrets; the membership document lists them now).
 */
export function peerAuthFrom(keys: LocalKeyFiles | string, selfId: string, _peers?: string[]): PeerAuthenticator {
  const files = typeof keys === 'string' ? localKeyFiles(statSync(keys).isDirectory() ? keys : path.dirname(keys)) : keys;
  return authenticatorOf(selfId, readMembershipFile(files), readSigningKey(signingKeyFile(files, selfId)));
}

/**
 * Signs as `selfId` with a key that no member lists (a stranger, or a thief with a retired key):
 * every node refuses its requests with 401.
 */
export function outsiderAuth(keys: LocalKeyFiles | string, selfId: string): PeerAuthenticator {
  const files = typeof keys === 'string' ? localKeyFiles(statSync(keys).isDirectory() ? keys : path.dirname(keys)) : keys;
  const key = newSigningKey();
  const membership = readMembershipFile(files);
  const self = membership.members.find((m) => m.id === selfId);
  const entry = publicKeyEntry(selfId, key);
  // The authenticator believes this key is listed; the federation's nodes do not.
  const imagined: MembershipDocument = { ...membership, members: membership.members.map((m) => (m === self ? { ...m, publicKeys: [entry] } : m)) };
  return authenticatorOf(selfId, imagined, key);
}

function authenticatorOf(selfId: string, membership: MembershipDocument, key: KeyObject): PeerAuthenticator {
  const security = {
    keyRing: new KeyRing(selfId, membership, key),
    tokens: new TokenDirectory({ scientists: {}, operators: {} }),
    nonces: new NonceCache(61, 100_000),
    maxSkewS: 30,
  };
  return new PeerAuthenticator(selfId, security, Date.now);
}

/**
 * An axios client of `baseURL` whose requests are signed as `auth`'s observatory towards `to`.
 * Pass the whole target in `url` (query string included); the body is sent exactly as signed.
 * `resign: false` on a request config leaves its headers alone (to send forged ones).
 */
export function signedClient(baseURL: string, auth: PeerAuthenticator, to: string): AxiosInstance {
  const client = axios.create({ baseURL, validateStatus: () => true, timeout: 30_000, maxRedirects: 0, httpAgent: new http.Agent({ keepAlive: true }) });
  client.interceptors.request.use((config) => {
    const body = config.data === undefined ? '' : typeof config.data === 'string' ? config.data : JSON.stringify(config.data);
    config.data = body || undefined;
    config.transformRequest = [(data: unknown) => data];
    if ((config as { resign?: boolean }).resign === false) return config;
    const method = (config.method ?? 'get').toUpperCase();
    for (const [name, value] of Object.entries(auth.signRequest(to, method, config.url ?? '/', body))) config.headers.set(name, value);
    if (body) config.headers.set('content-type', 'application/json');
    return config;
  });
  return client;
}

/**
 * Keys and a membership document for members `ids` of the catalog in a folder of a test's own
 * (no nodes run): for a test that plays several members against a stand-in.
 */
export function testKeys(dir: string, ids: string[], urls: Record<string, string> = {}): LocalKeyFiles {
  const { files } = ensureLocalKeys(dir, ids, []);
  const catalog = new Map(readCatalog().observatories.map((o) => [o.id, o]));
  const members = ids.map((id) => localMember(files, catalog.get(id)!, urls[id] ?? 'http://127.0.0.1:9'));
  writeMembershipFile(files, { federation: 'test', version: 1, members });
  return files;
}

/**
 * A booking credential as `issuer` would issue it (its own key): for a prepare sent by a test
 * as a coordinator. `parts`: observatory → the items of its part; `ttlS` and `iatS` to forge.
 */
export function bookingCredential(keys: LocalKeyFiles | string, issuer: string, claims: { scientistId: string; bookingId: string; parts: Record<string, PartItem[]> }, options: { ttlS?: number; iatS?: number } = {}): string {
  const files = typeof keys === 'string' ? localKeyFiles(statSync(keys).isDirectory() ? keys : path.dirname(keys)) : keys;
  const ring = new KeyRing(issuer, readMembershipFile(files), readSigningKey(signingKeyFile(files, issuer)));
  const iat = options.iatS ?? Math.floor(Date.now() / 1000);
  const parts = Object.fromEntries(Object.entries(claims.parts).map(([id, items]) => [id, partDigest(items)]));
  return issueCredential(ring, { sub: claims.scientistId, bkg: claims.bookingId, parts, iat, exp: iat + (options.ttlS ?? 60) });
}

/** A booking prepare's payload for `observatory`'s part, vouched for by the scientist's home (`home`). */
export function vouchedPart(keys: LocalKeyFiles | string, home: string, observatory: string, part: { bookingId: string; scientistId: string; items: PartItem[] }) {
  return { ...part, credential: bookingCredential(keys, home, { scientistId: part.scientistId, bookingId: part.bookingId, parts: { [observatory]: part.items } }) };
}
