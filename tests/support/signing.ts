// Speaking the authenticated protocol from a test, as a member of the federation would:
// requests signed with the pair's secret, answers checked against it.
import http from 'node:http';
import axios, { type AxiosInstance } from 'axios';
import { readCatalog } from '../../seeds/catalog.js';
import { NonceCache } from '../../federation-node/src/security/nonce-cache.js';
import { PeerAuthenticator } from '../../federation-node/src/security/peer-authenticator.js';
import { TokenDirectory } from '../../federation-node/src/security/principals.js';
import { PeerSecrets } from '../../federation-node/src/security/secrets.js';

/** A node's signing identity, from a secrets file (e.g. LocalFederation.keys.secretsFile). */
export function peerAuthFrom(secretsFile: string, selfId: string, peers = readCatalog().observatories.map((o) => o.id)): PeerAuthenticator {
  const security = {
    secrets: PeerSecrets.fromFile(secretsFile, selfId, peers),
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
