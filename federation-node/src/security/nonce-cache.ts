// Remembers the nonces of accepted signatures for as long as their `created` time is inside
// the allowed skew, so that a replayed message is refused. Expired nonces are dropped as new
// ones arrive (the map is in insertion order, which is expiry order), so the cache holds
// about one skew window of traffic, not NONCE_CACHE_MAX entries whatever the rate (it used
// to fill up to that cap before dropping anything: ~30 MB of a node's memory, issue 10).
// Bounded: NONCE_CACHE_MAX entries; when it is still full the oldest go (any of them is
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
    this.dropExpired(nowS);
    if (this.expiresAt.size >= this.maxEntries) this.prune(nowS);
    this.expiresAt.delete(key); // re-inserted at the end: insertion order stays expiry order
    this.expiresAt.set(key, nowS + this.windowS);
    return true;
  }

  get size(): number {
    return this.expiresAt.size;
  }

  /** The expired nonces at the front; stops at the first live one (amortised O(1) per call). */
  private dropExpired(nowS: number): void {
    for (const [key, expiry] of this.expiresAt) {
      if (expiry >= nowS) return;
      this.expiresAt.delete(key);
    }
  }

  private prune(nowS: number): void {
    for (const [key, expiry] of this.expiresAt) if (expiry < nowS) this.expiresAt.delete(key);
    while (this.expiresAt.size >= this.maxEntries) this.expiresAt.delete(this.expiresAt.keys().next().value!);
  }
}
