// Remembers the nonces of accepted signatures for as long as their `created` time is inside
// the allowed skew, so that a replayed message is refused. Bounded: NONCE_CACHE_MAX entries;
// expired ones are dropped first, and when it is still full the oldest go (any of them is
// older than the skew window at the rates the node can serve).
export class NonceCache {
  private readonly expiresAt = new Map<string, number>();

  constructor(
    private readonly windowS: number,
    private readonly maxEntries: number,
  ) {}

  /** True when this nonce of this sender is new (and now remembered); false when seen. */
  remember(sender: string, nonce: string, nowS: number): boolean {
    const key = `${sender} ${nonce}`;
    const known = this.expiresAt.get(key);
    if (known !== undefined && known >= nowS) return false;
    if (this.expiresAt.size >= this.maxEntries) this.prune(nowS);
    this.expiresAt.set(key, nowS + this.windowS);
    return true;
  }

  get size(): number {
    return this.expiresAt.size;
  }

  private prune(nowS: number): void {
    for (const [key, expiry] of this.expiresAt) if (expiry < nowS) this.expiresAt.delete(key);
    while (this.expiresAt.size >= this.maxEntries) this.expiresAt.delete(this.expiresAt.keys().next().value!);
  }
}
