// The secrets this node shares with each other observatory (one per pair), read from a file
// (FEDERATION_SECRETS_FILE) written by `npm run keys` for the local federation or handed out
// by the institutions for a real one. A secret never appears in a log line or an error.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const Secret = z.string().min(43);
const SecretsFile = z.object({
  /** "a:b" (ids in any order) → base64 secret of at least 32 bytes, or [new, old] while rotating. */
  pairs: z.record(z.string().regex(/^[a-z][a-z0-9-]{1,31}:[a-z][a-z0-9-]{1,31}$/), z.union([Secret, z.array(Secret).min(1).max(2)])),
});

export const SECRET_BYTES_MIN = 32;

export class PeerSecrets {
  private constructor(private readonly byPeer: Map<string, Buffer[]>) {}

  /** The secrets of `selfId` with each peer; throws a one-line error naming what is wrong. */
  static fromFile(file: string, selfId: string, peers: string[]): PeerSecrets {
    let parsed;
    try {
      parsed = SecretsFile.parse(JSON.parse(readFileSync(file, 'utf8')));
    } catch (error) {
      const why = error instanceof z.ZodError ? 'it is not {"pairs": {"a:b": "<base64>"}}' : (error as Error).message.split('\n')[0];
      throw new Error(`FEDERATION_SECRETS_FILE ${file} cannot be used: ${why} (npm run keys writes one for the local federation)`);
    }
    const byPeer = new Map<string, Buffer[]>();
    for (const [pair, value] of Object.entries(parsed.pairs)) {
      const [a, b] = pair.split(':') as [string, string];
      if (a !== selfId && b !== selfId) continue;
      const secrets = (Array.isArray(value) ? value : [value]).map((v) => Buffer.from(v, 'base64'));
      if (secrets.some((s) => s.length < SECRET_BYTES_MIN)) throw new Error(`FEDERATION_SECRETS_FILE: a secret of ${pair} is shorter than ${SECRET_BYTES_MIN} bytes`);
      byPeer.set(a === selfId ? b : a, secrets);
    }
    const missing = peers.filter((p) => p !== selfId && !byPeer.has(p));
    if (missing.length > 0) throw new Error(`FEDERATION_SECRETS_FILE has no secret shared between ${selfId} and ${missing.join(', ')}`);
    return new PeerSecrets(byPeer);
  }

  /** The secret to sign with: the first listed for the pair. */
  signingSecretOf(peer: string): Buffer | undefined {
    return this.byPeer.get(peer)?.[0];
  }

  /** Every secret a signature of this peer may use (the new and the old one while rotating). */
  secretsOf(peer: string): Buffer[] {
    return this.byPeer.get(peer) ?? [];
  }
}
