// Live membership (docs/OPERATIONS.md, "A new observatory joins", "Rotate a key"): the node
// re-reads MEMBERSHIP_FILE and SIGNING_KEY_FILE every MEMBERSHIP_POLL_INTERVAL_MS, and at
// once on an operator's POST /admin/membership/reload. A changed pair that checks is taken as
// a whole (directory and key ring); one that does not is refused, audited, and the node keeps
// what it had — a half-written file is simply retried at the next poll.
import { readFileSync } from 'node:fs';
import type { Directory } from '../federation/directory.js';
import type { Loggers } from '../logging/logger.js';
import { KeyRing, readSigningKey } from './key-ring.js';
import { parseMembership, type MembershipDocument } from './membership.js';
import type { NodeSecurity } from './node-security.js';

export interface MembershipStatus {
  federation: string;
  version: number;
  members: string[];
  /** The key this node signs with now. */
  signingKeyId: string;
  /** Every key id whose signatures this node accepts. */
  acceptedKeyIds: string[];
  loadedAt: string;
  /** Why the last changed document or key was refused; null when the last one was taken. */
  lastError: string | null;
}

export class MembershipReloader {
  private seen: string;
  private timer: NodeJS.Timeout | undefined;
  private state: MembershipStatus;

  constructor(
    private readonly files: { membershipFile: string; signingKeyFile: string },
    membership: MembershipDocument,
    private readonly directory: Directory,
    private readonly security: NodeSecurity,
    private readonly loggers: Loggers,
  ) {
    this.seen = this.readBoth();
    this.state = this.statusOf(membership, null);
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.reload(false), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  status(): MembershipStatus {
    return this.state;
  }

  /** Re-read both files; `force` re-applies them even when unchanged. Never throws. */
  reload(force: boolean): MembershipStatus {
    let both: string;
    try {
      both = this.readBoth();
    } catch (error) {
      return this.refuse((error as Error).message);
    }
    if (!force && both === this.seen) return this.state;
    this.seen = both;
    try {
      const membership = parseMembership(readFileSync(this.files.membershipFile, 'utf8'), `MEMBERSHIP_FILE ${this.files.membershipFile}`);
      const ring = new KeyRing(this.directory.selfId, membership, readSigningKey(this.files.signingKeyFile));
      this.directory.apply(membership); // throws, changing nothing, when the document is unusable for this node
      const before = this.state;
      this.security.keyRing = ring;
      this.state = this.statusOf(membership, null);
      this.loggers.app.info(`membership version ${membership.version} loaded: members ${this.state.members.join(', ')}; signing with ${ring.signing!.keyId}`);
      this.loggers.audit.event('MEMBERSHIP_LOADED', { version: membership.version, previousVersion: before.version, members: this.state.members, signingKeyId: this.state.signingKeyId, acceptedKeyIds: this.state.acceptedKeyIds });
      return this.state;
    } catch (error) {
      return this.refuse((error as Error).message);
    }
  }

  private refuse(why: string): MembershipStatus {
    this.state = { ...this.state, lastError: why };
    this.loggers.app.warn(`membership not reloaded, keeping version ${this.state.version}: ${why}`);
    this.loggers.audit.event('MEMBERSHIP_REFUSED', { keptVersion: this.state.version, reason: why });
    return this.state;
  }

  private readBoth(): string {
    return `${readFileSync(this.files.membershipFile, 'utf8')}\u0000${readFileSync(this.files.signingKeyFile, 'utf8')}`;
  }

  private statusOf(membership: MembershipDocument, lastError: string | null): MembershipStatus {
    const ring = this.security.keyRing;
    return {
      federation: membership.federation,
      version: membership.version,
      members: membership.members.map((m) => m.id),
      signingKeyId: ring.signing!.keyId,
      acceptedKeyIds: ring.keyIds(),
      loadedAt: new Date().toISOString(),
      lastError,
    };
  }
}
