// This node's security material (docs/SECURITY.md): the key ring (own private key, every
// member's public keys) replaced whenever the membership document or the key file changes,
// the API token hashes, and the nonces of accepted signatures.
import type { Config } from '../config/config.js';
import { KeyRing, readSigningKey } from './key-ring.js';
import type { MembershipDocument } from './membership.js';
import { NonceCache } from './nonce-cache.js';
import { TokenDirectory } from './principals.js';

export interface NodeSecurity {
  /** Replaced as a whole on every reload (membership-reloader.ts); read it anew at each use. */
  keyRing: KeyRing;
  tokens: TokenDirectory;
  nonces: NonceCache;
  maxSkewS: number;
}

export function loadSecurity(config: Config, membership: MembershipDocument): NodeSecurity {
  return {
    keyRing: new KeyRing(config.NODE_ID, membership, readSigningKey(config.SIGNING_KEY_FILE)),
    tokens: TokenDirectory.fromFile(config.TOKEN_HASHES_FILE),
    // A nonce must be remembered as long as a signature carrying it could still be accepted.
    nonces: new NonceCache(2 * config.SIGNATURE_MAX_SKEW_S + 1, config.NONCE_CACHE_MAX),
    maxSkewS: config.SIGNATURE_MAX_SKEW_S,
  };
}
