// Who is asking: a scientist or an observatory's operator, identified by a bearer API token.
// Tokens are random; the node keeps only their SHA-256 (a token has 256 bits of entropy, so
// a fast hash is enough — there is nothing to brute-force). TOKEN_HASHES_FILE is written by
// `npm run keys` for the local federation; the scientists' hashes are also stored in the
// scientists table.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export type Principal = { kind: 'scientist'; scientistId: string } | { kind: 'operator'; observatoryId: string };

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
export const TokenHashesFile = z.object({
  scientists: z.record(z.string(), Sha256Hex),
  operators: z.record(z.string(), Sha256Hex),
});
export type TokenHashes = z.infer<typeof TokenHashesFile>;

export const TOKEN_PREFIX = 'ofed_';

export function newToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class TokenDirectory {
  private readonly byHash = new Map<string, Principal>();

  constructor(hashes: TokenHashes) {
    for (const [scientistId, hash] of Object.entries(hashes.scientists)) this.byHash.set(hash, { kind: 'scientist', scientistId });
    for (const [observatoryId, hash] of Object.entries(hashes.operators)) this.byHash.set(hash, { kind: 'operator', observatoryId });
  }

  static fromFile(file: string): TokenDirectory {
    try {
      return new TokenDirectory(TokenHashesFile.parse(JSON.parse(readFileSync(file, 'utf8'))));
    } catch (error) {
      const why = error instanceof z.ZodError ? 'it is not {"scientists": {id: sha256}, "operators": {id: sha256}}' : (error as Error).message.split('\n')[0];
      throw new Error(`TOKEN_HASHES_FILE ${file} cannot be used: ${why} (npm run keys writes one for the local federation)`);
    }
  }

  /** The principal a bearer token stands for, or undefined. */
  principalOf(token: string): Principal | undefined {
    return this.byHash.get(hashToken(token));
  }

  scientistHashes(): Array<[scientistId: string, hash: string]> {
    return [...this.byHash].filter(([, p]) => p.kind === 'scientist').map(([hash, p]) => [(p as { scientistId: string }).scientistId, hash]);
  }
}
