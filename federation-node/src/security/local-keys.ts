// Keys for a local federation: one secret per pair of observatories, one API token per
// scientist and per observatory's operator. `npm run keys` writes them under keys/ (kept out
// of git); the test and demo federations write their own in a temporary folder.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hashToken, newToken } from './principals.js';

export interface LocalKeyFiles {
  secretsFile: string;
  tokenHashesFile: string;
  /** The tokens themselves, for the people using the local federation (never read by a node). */
  tokensFile: string;
}

export interface LocalTokens {
  scientists: Record<string, string>;
  operators: Record<string, string>;
}

export function localKeyFiles(dir: string): LocalKeyFiles {
  return {
    secretsFile: path.join(dir, 'federation-secrets.json'),
    tokenHashesFile: path.join(dir, 'token-hashes.json'),
    tokensFile: path.join(dir, 'local-tokens.json'),
  };
}

/** Write the keys unless they exist (or `overwrite`); returns the files and whether they were made now. */
export function ensureLocalKeys(dir: string, observatories: string[], scientists: string[], overwrite = false): { files: LocalKeyFiles; created: boolean } {
  const files = localKeyFiles(dir);
  if (!overwrite && existsSync(files.secretsFile) && existsSync(files.tokenHashesFile) && existsSync(files.tokensFile)) return { files, created: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pairs: Record<string, string> = {};
  for (let i = 0; i < observatories.length; i += 1) {
    for (let j = i + 1; j < observatories.length; j += 1) pairs[`${observatories[i]}:${observatories[j]}`] = randomBytes(32).toString('base64');
  }
  const tokens: LocalTokens = {
    scientists: Object.fromEntries(scientists.map((id) => [id, newToken()])),
    operators: Object.fromEntries(observatories.map((id) => [id, newToken()])),
  };
  const hashes = {
    scientists: Object.fromEntries(Object.entries(tokens.scientists).map(([id, t]) => [id, hashToken(t)])),
    operators: Object.fromEntries(Object.entries(tokens.operators).map(([id, t]) => [id, hashToken(t)])),
  };
  writeSecret(files.secretsFile, { pairs });
  writeSecret(files.tokenHashesFile, hashes);
  writeSecret(files.tokensFile, tokens);
  return { files, created: true };
}

export function readLocalTokens(files: LocalKeyFiles): LocalTokens {
  return JSON.parse(readFileSync(files.tokensFile, 'utf8')) as LocalTokens;
}

function writeSecret(file: string, content: unknown): void {
  writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
}
