// Who is in the federation: every observatory with its URL and its telescopes, from the
// shared catalog and FEDERATION_PEERS. It tells the coordinator where each item goes.
import type { CatalogSeed, ObservatorySeed } from '../../../seeds/catalog.js';
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

  constructor(
    readonly selfId: string,
    catalog: CatalogSeed,
    peers: Map<string, string>,
  ) {
    for (const observatory of catalog.observatories) {
      const url = peers.get(observatory.id);
      if (!url) continue; // in the catalog but not running in this federation
      this.members.set(observatory.id, memberOf(observatory, url));
      for (const t of observatory.telescopes) this.telescopes.set(t.id, { ...t, observatoryId: observatory.id });
    }
    for (const id of peers.keys()) {
      if (!this.members.has(id)) throw new Error(`FEDERATION_PEERS names ${id}, which the catalog does not describe`);
    }
  }

  get self(): Member {
    return this.members.get(this.selfId)!;
  }

  ownTelescopes(): Map<string, Telescope> {
    return new Map([...this.telescopes].filter(([, t]) => t.observatoryId === this.selfId));
  }

  /** The first observatory of the catalog that runs in this federation. */
  firstMember(): string {
    return [...this.members.keys()][0]!;
  }
}

function memberOf(o: ObservatorySeed, url: string): Member {
  return { id: o.id, name: o.name, site: o.site, timezone: o.timezone, latitude: o.latitude, longitude: o.longitude, url };
}
