// Closed-loop load: `concurrency` clients, each sending one three-observatory booking after
// another to the nodes in turn, for `seconds`. Every booking takes fresh slots (one per site),
// so an abort here is a real failure of the protocol path, not a lost race for a slot.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { CatalogSeed } from '../../seeds/catalog.js';
import { percentile } from './floor.js';

export interface LoadOptions {
  urls: string[];
  catalog: CatalogSeed;
  concurrency: number;
  seconds: number;
  firstDay: number;
}

export interface LoadResult {
  committed: number;
  aborted: number;
  failed: number;
  seconds: number;
  bookingsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  abortRate: number;
  daysUsed: number;
}

const DAY_MS = 86_400_000;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });

export async function driveLoad(options: LoadOptions): Promise<LoadResult> {
  const slots = new SlotSequence(options.catalog, options.firstDay);
  const latencies: number[] = [];
  let committed = 0;
  let aborted = 0;
  let failed = 0;
  let sent = 0;
  const startedAt = performance.now();
  const endAt = startedAt + options.seconds * 1000;
  const client = async () => {
    while (performance.now() < endAt) {
      const url = options.urls[sent++ % options.urls.length]!;
      const body = JSON.stringify({ scientistId: 'vera-rubin', items: slots.next() });
      const t0 = performance.now();
      const status = await post(`${url}/bookings`, body).catch(() => 0);
      latencies.push(performance.now() - t0);
      if (status === 201) committed += 1;
      else if (status === 409 || status === 503) aborted += 1;
      else failed += 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  const seconds = (performance.now() - startedAt) / 1000;
  const total = committed + aborted + failed;
  return {
    committed,
    aborted,
    failed,
    seconds,
    bookingsPerSecond: committed / seconds,
    p50Ms: percentile(latencies, 0.5),
    p95Ms: percentile(latencies, 0.95),
    p99Ms: percentile(latencies, 0.99),
    abortRate: total ? aborted / total : 0,
    daysUsed: slots.daysUsed(),
  };
}

/** Fresh slots: for each booking, the next free slot of one telescope at each observatory. */
class SlotSequence {
  private index = 0;
  private readonly perSite: Array<{ telescopes: Array<{ id: string; slotMinutes: number }> }>;
  private readonly dayZero: number;
  private readonly slotsPerDay: number;

  constructor(catalog: CatalogSeed, firstDay: number) {
    this.perSite = catalog.observatories.map((o) => ({ telescopes: o.telescopes.map((t) => ({ id: t.id, slotMinutes: t.slotMinutes })) }));
    const now = Date.now();
    this.dayZero = now - (now % DAY_MS) + firstDay * DAY_MS;
    this.slotsPerDay = Math.min(...this.perSite.map((s) => s.telescopes.length * (1440 / Math.max(...s.telescopes.map((t) => t.slotMinutes)))));
  }

  next(): Array<{ telescopeId: string; start: string; end: string }> {
    const i = this.index++;
    const day = Math.floor(i / this.slotsPerDay);
    const withinDay = i % this.slotsPerDay;
    return this.perSite.map((site) => {
      const telescope = site.telescopes[withinDay % site.telescopes.length]!;
      const slot = Math.floor(withinDay / site.telescopes.length);
      const start = this.dayZero + day * DAY_MS + slot * telescope.slotMinutes * 60_000;
      return { telescopeId: telescope.id, start: new Date(start).toISOString(), end: new Date(start + telescope.slotMinutes * 60_000).toISOString() };
    });
  }

  daysUsed(): number {
    return Math.floor(this.index / this.slotsPerDay) + 1;
  }
}

function post(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}
