// The keys a node signs and checks with (docs/SECURITY.md): its own Ed25519 private key
// (SIGNING_KEY_FILE, PKCS#8 PEM) and every member's public keys from the membership
// document. Replaced as a whole when either file changes, so a check never sees half of a
// new membership.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { publicKeyObject, rawPublicKeyOf, type MembershipDocument } from './membership.js';

export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
}

export interface KnownKey {
  observatoryId: string;
  publicKey: KeyObject;
}

export class KeyRing {
  private readonly byKeyId = new Map<string, KnownKey>();

  constructor(
    readonly selfId: string,
    membership: MembershipDocument,
    /** This node's private key; undefined for a ring that only checks (a test's view of the others). */
    privateKey: KeyObject | undefined,
  ) {
    for (const member of membership.members) {
      for (const key of member.publicKeys) this.byKeyId.set(key.keyId, { observatoryId: member.id, publicKey: publicKeyObject(key.publicKey) });
    }
    this.signing = privateKey ? { keyId: ownKeyId(membership, selfId, privateKey), privateKey } : undefined;
  }

  readonly signing: SigningKey | undefined;

  /** The member that owns this key id, with the key; undefined for a key no member lists. */
  known(keyId: string): KnownKey | undefined {
    return this.byKeyId.get(keyId);
  }

  keyIds(): string[] {
    return [...this.byKeyId.keys()];
  }
}

/** The key id the membership gives this node's private key; throws when it lists no such key. */
function ownKeyId(membership: MembershipDocument, selfId: string, privateKey: KeyObject): string {
  const raw = rawPublicKeyOf(privateKey);
  const self = membership.members.find((m) => m.id === selfId);
  if (!self) throw new Error(`the membership document (version ${membership.version}) does not list ${selfId}`);
  const entry = self.publicKeys.find((k) => k.publicKey === raw);
  if (!entry) throw new Error(`the membership document (version ${membership.version}) lists no public key of ${selfId} matching SIGNING_KEY_FILE (${raw})`);
  return entry.keyId;
}

/** Reads an Ed25519 private key (PKCS#8 PEM); throws one line naming what is wrong. */
export function readSigningKey(file: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`SIGNING_KEY_FILE ${file} cannot be used: ${(error as Error).message.split('\n')[0]}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`SIGNING_KEY_FILE ${file} holds a ${key.asymmetricKeyType} key, not an Ed25519 one`);
  return key;
}
