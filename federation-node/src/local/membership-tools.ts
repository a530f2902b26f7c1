// Editing a local membership document, as the runbooks do it (docs/OPERATIONS.md): a member
// joins; a key is rotated in three steps (add the next key, switch the node to it, retire the
// old one). Every edit raises the version and replaces the file in one step. Used by
// `npm run keys -- ...`, the test federation and the tests.
import { existsSync, renameSync } from 'node:fs';
import { readSigningKey } from '../security/key-ring.js';
import type { MemberEntry, MembershipDocument } from '../security/membership.js';
import { newSigningKey, publicKeyEntry, readMembershipFile, signingKeyFile, writeMembershipFile, writePrivateKey, type LocalKeyFiles } from '../security/local-keys.js';

/** Where the next key of a rotation waits until the node switches to it. */
export function nextKeyFile(files: LocalKeyFiles, observatoryId: string): string {
  return signingKeyFile(files, observatoryId).replace(/\.pem$/, '.next.pem');
}

/** Add (or replace) a member; returns the new document. */
export function addMember(files: LocalKeyFiles, member: MemberEntry): MembershipDocument {
  return edit(files, (doc) => ({ ...doc, members: [...doc.members.filter((m) => m.id !== member.id), member] }));
}

/** Rotation, step 1: a new key pair for `id`, its public key listed next to the current one. */
export function addNextKey(files: LocalKeyFiles, id: string): MembershipDocument {
  const next = nextKeyFile(files, id);
  if (!existsSync(next)) writePrivateKey(next, newSigningKey());
  const entry = publicKeyEntry(id, readSigningKey(next));
  return edit(files, (doc) => ({ ...doc, members: doc.members.map((m) => (m.id !== id || m.publicKeys.some((k) => k.keyId === entry.keyId) ? m : { ...m, publicKeys: [...m.publicKeys, entry] })) }));
}

/** Rotation, step 2: the node's key file becomes the next key (the node takes it at its next reload). */
export function switchToNextKey(files: LocalKeyFiles, id: string): string {
  const next = nextKeyFile(files, id);
  if (!existsSync(next)) throw new Error(`no next key for ${id} (${next}): run the first step of the rotation`);
  renameSync(next, signingKeyFile(files, id));
  return publicKeyEntry(id, readSigningKey(signingKeyFile(files, id))).keyId;
}

/** Rotation, step 3: only the key in the node's key file stays listed. */
export function retireOldKeys(files: LocalKeyFiles, id: string): MembershipDocument {
  const current = publicKeyEntry(id, readSigningKey(signingKeyFile(files, id)));
  return edit(files, (doc) => ({ ...doc, members: doc.members.map((m) => (m.id === id ? { ...m, publicKeys: m.publicKeys.filter((k) => k.keyId === current.keyId) } : m)) }));
}

function edit(files: LocalKeyFiles, change: (doc: MembershipDocument) => MembershipDocument): MembershipDocument {
  const before = readMembershipFile(files);
  const after = { ...change(before), version: before.version + 1 };
  writeMembershipFile(files, after);
  return after;
}
