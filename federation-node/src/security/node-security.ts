// This node's security material, loaded once at start-up (docs/SECURITY.md).
import type { Config } from '../config/config.js';
import { NonceCache } from './nonce-cache.js';
import { TokenDirectory } from './principals.js';
import { PeerSecrets } from './secrets.js';

export interface NodeSecurity {
  secrets: PeerSecrets;
  tokens: TokenDirectory;
  nonces: NonceCache;
  maxSkewS: number;
}

export function loadSecurity(config: Config): NodeSecurity {
  return {
    secrets: PeerSecrets.fromFile(config.FEDERATION_SECRETS_FILE, config.NODE_ID, [...config.FEDERATION_PEERS.keys()]),
    tokens: TokenDirectory.fromFile(config.TOKEN_HASHES_FILE),
    // A nonce must be remembered as long as a signature carrying it could still be accepted.
    nonces: new NonceCache(2 * config.SIGNATURE_MAX_SKEW_S + 1, config.NONCE_CACHE_MAX),
    maxSkewS: config.SIGNATURE_MAX_SKEW_S,
  };
}
