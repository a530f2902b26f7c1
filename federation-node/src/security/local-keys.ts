// Keys for a local federation: one Ed25519 key pair per observatory, one API token per
// scientist and per observatory's operator, and the membership document that lists the
// observatories with their URLs and public keys. `npm run keys` / `npm start` write them under
// keys/ (kept out of git); the test and demo federations write their own in a temporary
// folder. Private keys and tokens are 0600 in a 0700 folder; the membership is public.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ObservatorySeed } from '../../../seeds/catalog.js';
import { readSigningKey } from './key-ring.js';
import { keyIdFor, rawPublicKeyOf, type MemberEntry, type MembershipDocument, type PublicKeyEntry } from './membership.js';
import { hashToken, newToken } from './principals.js';

export interface LocalKeyFiles {
  dir: string;
  /** The membership document every local node reads (MEMBERSHIP_FILE). */
  membershipFile: string;
  /** One private key per observatory: `<signingKeysDir>/<id>.pem` (SIGNING_KEY_FILE). */
  signingKeysDir: string;
  tokenHashesFile: string;
  /** The tokens themselves, for the people using the local federation (never read by a node). */
  tokensFile: string;
  /** @deprecated the pair-secrets file is gone (Ed25519 keys replaced it); this is membershipFile, kept so older callers of peerAuthFrom still find the folder. */
  secretsFile: string;
}

export interface LocalTokens {
  scientists: Record<string, string>;
  operators: Record<string, string>;
}

export function localKeyFiles(dir: string): LocalKeyFiles {
  const membershipFile = path.join(dir, 'membership.json');
  return {
    dir,
    membershipFile,
    signingKeysDir: path.join(dir, 'signing'),
    tokenHashesFile: path.join(dir, 'token-hashes.json'),
    tokensFile: path.join(dir, 'local-tokens.json'),
    secretsFile: membershipFile,
  };
}

export function signingKeyFile(files: LocalKeyFiles, observatoryId: string): string {
  return path.join(files.signingKeysDir, `${observatoryId}.pem`);
}

/** The user and group that own the keys: the user that runs the nodes (docs/SECURITY.md, "Permissions"). */
export interface KeyOwner {
  uid: number;
  gid: number;
}

/** Write the keys and tokens unless they exist (or `overwrite`); returns the files and whether anything was made now. */
export function ensureLocalKeys(dir: string, observatories: string[], scientists: string[], overwrite = false, owner?: KeyOwner): { files: LocalKeyFiles; created: boolean } {
  const files = localKeyFiles(dir);
  mkdirSync(files.signingKeysDir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  chmodSync(files.signingKeysDir, 0o700);
  keyOwner = owner;
  let created = false;
  for (const id of observatories) {
    if (overwrite || !existsSync(signingKeyFile(files, id))) {
      writePrivateKey(signingKeyFile(files, id), newSigningKey());
      created = true;
    }
  }
  if (overwrite || !existsSync(files.tokenHashesFile) || !existsSync(files.tokensFile)) {
    const tokens: LocalTokens = {
      scientists: Object.fromEntries(scientists.map((id) => [id, newToken()])),
      operators: Object.fromEntries(observatories.map((id) => [id, newToken()])),
    };
    const hashes = {
      scientists: Object.fromEntries(Object.entries(tokens.scientists).map(([id, t]) => [id, hashToken(t)])),
      operators: Object.fromEntries(Object.entries(tokens.operators).map(([id, t]) => [id, hashToken(t)])),
    };
    writePrivate(files.tokenHashesFile, `${JSON.stringify(hashes, null, 2)}\n`);
    writePrivate(files.tokensFile, `${JSON.stringify(tokens, null, 2)}\n`);
    created = true;
  }
  if (owner) for (const entry of [dir, files.signingKeysDir]) chownSync(entry, owner.uid, owner.gid);
  keyOwner = undefined;
  return { files, created };
}

/** Set by ensureLocalKeys while it writes: every file it makes is handed to this owner. */
let keyOwner: KeyOwner | undefined;

export function newSigningKey(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}

export function writePrivateKey(file: string, key: KeyObject): void {
  writePrivate(file, key.export({ format: 'pem', type: 'pkcs8' }).toString());
}

/** The public-key entry of a private key, as the membership document lists it. */
export function publicKeyEntry(observatoryId: string, key: KeyObject): PublicKeyEntry {
  const raw = rawPublicKeyOf(key);
  return { keyId: keyIdFor(observatoryId, raw), alg: 'ed25519', publicKey: raw };
}

/** A member of the local federation: its catalog entry, its URL and the public key of its key file. */
export function localMember(files: LocalKeyFiles, observatory: ObservatorySeed, url: string): MemberEntry {
  return { ...observatory, urls: [url], publicKeys: [publicKeyEntry(observatory.id, readSigningKey(signingKeyFile(files, observatory.id)))] };
}

export function readMembershipFile(files: LocalKeyFiles): MembershipDocument {
  return JSON.parse(readFileSync(files.membershipFile, 'utf8')) as MembershipDocument;
}

/** Replace the membership document in one step (write aside, then rename): a node never reads half of it. */
export function writeMembershipFile(files: LocalKeyFiles, doc: MembershipDocument): void {
  const aside = `${files.membershipFile}.${process.pid}.tmp`;
  writeFileSync(aside, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o644 });
  renameSync(aside, files.membershipFile);
}

/** An API token for the operator of a member that joins (the nodes that start after this read its hash). */
export function addOperatorToken(files: LocalKeyFiles, observatoryId: string): string {
  const tokens = readLocalTokens(files);
  const hashes = JSON.parse(readFileSync(files.tokenHashesFile, 'utf8')) as { scientists: Record<string, string>; operators: Record<string, string> };
  const token = tokens.operators[observatoryId] ?? newToken();
  tokens.operators[observatoryId] = token;
  hashes.operators[observatoryId] = hashToken(token);
  writePrivate(files.tokenHashesFile, `${JSON.stringify(hashes, null, 2)}\n`);
  writePrivate(files.tokensFile, `${JSON.stringify(tokens, null, 2)}\n`);
  return token;
}

export function readLocalTokens(files: LocalKeyFiles): LocalTokens {
  return JSON.parse(readFileSync(files.tokensFile, 'utf8')) as LocalTokens;
}

/** Write a file only its owner can read, in one step (a reader never sees half of it). */
export function writePrivate(file: string, content: string): void {
  const aside = `${file}.${process.pid}.tmp`;
  writeFileSync(aside, content, { mode: 0o600 });
  chmodSync(aside, 0o600); // the mode of writeFileSync is filtered by the umask; this is not
  if (keyOwner) chownSync(aside, keyOwner.uid, keyOwner.gid);
  renameSync(aside, file);
}
