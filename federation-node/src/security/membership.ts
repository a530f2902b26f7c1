// The membership document (docs/SECURITY.md, "Membership"): who is in the federation, where
// each member is reached, the public keys its signatures are checked against (several at once
// while a key is rotated) and the telescopes it owns. Every node reads the same document from
// MEMBERSHIP_FILE and reloads it when it changes, so that a member joins or rotates a key
// without any other node restarting.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { NodeId } from '../../../coordinator-2pc/src/messages.js';
import { ObservatorySeed, type CatalogSeed } from '../../../seeds/catalog.js';

/** The 32 bytes of an Ed25519 public key (RFC 8032), as unpadded base64url text. */
export const RawPublicKey = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'an Ed25519 public key is its 32 raw bytes in base64url (43 characters)');

export const PublicKeyEntry = z.object({
  /** "<observatory id>:<label>": the `keyid` of the signatures made with this key. */
  keyId: z.string().regex(/^[a-z][a-z0-9-]{1,31}:[A-Za-z0-9_.-]{1,64}$/),
  alg: z.literal('ed25519'),
  publicKey: RawPublicKey,
});
export type PublicKeyEntry = z.infer<typeof PublicKeyEntry>;

export const MemberEntry = ObservatorySeed.extend({
  /** Where the member is reached; the first is used, the others are documented alternatives. */
  urls: z.array(z.url({ protocol: /^https?$/ })).min(1).max(8),
  publicKeys: z.array(PublicKeyEntry).min(1).max(8),
});
export type MemberEntry = z.infer<typeof MemberEntry>;

export const MembershipDocument = z
  .object({
    federation: z.string().min(1).max(100),
    /** Raised by whoever edits the document; nodes report the version they run. */
    version: z.number().int().min(1),
    /** The member whose /federation/v1/time every node synchronises with (default: the first). */
    timeReference: NodeId.optional(),
    members: z.array(MemberEntry).min(1).max(64),
  })
  .superRefine((doc, ctx) => {
    const ids = doc.members.map((m) => m.id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', message: 'member ids must be unique' });
    const telescopes = doc.members.flatMap((m) => m.telescopes.map((t) => t.id));
    if (new Set(telescopes).size !== telescopes.length) ctx.addIssue({ code: 'custom', message: 'telescope ids must be unique in the federation' });
    for (const member of doc.members) {
      for (const key of member.publicKeys) {
        if (!key.keyId.startsWith(`${member.id}:`)) ctx.addIssue({ code: 'custom', message: `key ${key.keyId} of ${member.id} must be named "${member.id}:<label>"` });
      }
      const keyIds = member.publicKeys.map((k) => k.keyId);
      if (new Set(keyIds).size !== keyIds.length) ctx.addIssue({ code: 'custom', message: `${member.id} lists a key id twice` });
    }
    if (doc.timeReference && !ids.includes(doc.timeReference)) ctx.addIssue({ code: 'custom', message: `timeReference ${doc.timeReference} is not a member` });
  });
export type MembershipDocument = z.infer<typeof MembershipDocument>;

/** Reads and checks a membership document; throws one line naming what is wrong. */
export function readMembership(file: string): MembershipDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`MEMBERSHIP_FILE ${file} cannot be read: ${(error as Error).message.split('\n')[0]}`);
  }
  return parseMembership(text, file);
}

export function parseMembership(text: string, file = 'the membership document'): MembershipDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not JSON`);
  }
  const parsed = MembershipDocument.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file} is not a valid membership document: ${issue.path.join('.') || '(document)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** The observatories and telescopes of the document, in the catalog's shape (for the database seeds). */
export function catalogOf(doc: MembershipDocument): CatalogSeed {
  return { observatories: doc.members.map(({ urls: _urls, publicKeys: _keys, ...observatory }) => observatory) };
}

/** A node's key object for a raw Ed25519 public key (base64url). */
export function publicKeyObject(raw: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw }, format: 'jwk' });
}

/** The raw public key (base64url) of an Ed25519 key object, public or private. */
export function rawPublicKeyOf(key: KeyObject): string {
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('not an Ed25519 key');
  return jwk.x;
}

/** The key id the local tools give a key: the observatory, then 12 characters of the key's SHA-256. */
export function keyIdFor(observatoryId: string, rawPublicKey: string): string {
  return `${observatoryId}:${createHash('sha256').update(Buffer.from(rawPublicKey, 'base64url')).digest('base64url').slice(0, 12)}`;
}
