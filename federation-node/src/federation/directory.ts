// Who is in the federation: every member with its URL and its telescopes, from the membership
// document (security/membership.ts). It tells the coordinator where each item goes. Updated in
// place when the document is reloaded, so every part holding it sees the new members at once.
import type { MembershipDocument, MemberEntry } from '../security/membership.js';
import type { Telescope } from '../domain/slots.js';

export interface Member {
  id: string;
  name: string;
  site: string;
  timezone: string;
  latitude: number;
  longitude: number;
  url: string;
}

export class Directory {
  readonly members = new Map<string, Member>();
  readonly telescopes = new Map<string, Telescope>();
  /** Member → the base URL this node reaches it at (the peer client reads it at every call). */
  readonly urls = new Map<string, string>();
  /** Member → every URL the membership lists for it (several for an active/standby pair); the prober picks among them. */
  readonly candidateUrls = new Map<string, string[]>();
  private ownTelescopeIds: string[] | undefined;

  constructor(
    readonly selfId: string,
    membership: MembershipDocument,
    /** URLs that replace the document's for this node (FEDERATION_PEERS: a private network, a test proxy). */
    private readonly urlOverrides: Map<string, string> = new Map(),
  ) {
    this.apply(membership);
  }

  /** Take a new membership; throws (changing nothing) when it would drop this node or change its telescopes. */
  apply(membership: MembershipDocument): void {
    const self = membership.members.find((m) => m.id === this.selfId);
    if (!self) throw new Error(`the membership document (version ${membership.version}) does not list ${this.selfId}`);
    const own = self.telescopes.map((t) => t.id).join(',');
    if (this.ownTelescopeIds && own !== this.ownTelescopeIds.join(',')) {
      throw new Error(`the membership document changes ${this.selfId}'s own telescopes (${own}); that needs a restart of ${this.selfId}`);
    }
    this.ownTelescopeIds = self.telescopes.map((t) => t.id);
    this.members.clear();
    this.telescopes.clear();
    this.urls.clear();
    this.candidateUrls.clear();
    for (const entry of membership.members) {
      const member = memberOf(entry, this.urlOverrides.get(entry.id) ?? entry.urls[0]!);
      this.members.set(entry.id, member);
      this.urls.set(entry.id, member.url);
      const override = this.urlOverrides.get(entry.id);
      this.candidateUrls.set(entry.id, override ? [member.url] : entry.urls.map((url) => url.replace(/\/+$/, '')));
      for (const t of entry.telescopes) this.telescopes.set(t.id, { ...t, observatoryId: entry.id });
    }
  }

  get self(): Member {
    return this.members.get(this.selfId)!;
  }

  ownTelescopes(): Map<string, Telescope> {
    return new Map([...this.telescopes].filter(([, t]) => t.observatoryId === this.selfId));
  }

  /** The first member of the document. */
  firstMember(): string {
    return [...this.members.keys()][0]!;
  }
}

function memberOf(o: MemberEntry, url: string): Member {
  return { id: o.id, name: o.name, site: o.site, timezone: o.timezone, latitude: o.latitude, longitude: o.longitude, url: url.replace(/\/+$/, '') };
}
