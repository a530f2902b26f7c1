// Simulated scientists: a seeded generator of realistic booking requests for load, chaos
// and benchmark runs. Every request it makes is valid (on the grid, inside bookable hours,
// in the future); whether it conflicts with others depends on how narrow the window is.
import type { CatalogSeed, ScientistSeed, TelescopeSeed } from './catalog.js';

export type RequestShape = 'single' | 'simultaneous' | 'chain';

export interface GeneratorOptions {
  seed: number;
  catalog: CatalogSeed;
  scientists: ScientistSeed[];
  /** Requests use days [firstDay, firstDay + days) counted from today (UTC). Fewer days, more conflicts. */
  firstDay: number;
  days: number;
  /** Relative weights of the shapes: one telescope; the same hour at several sites; a chain A→B→C. */
  mix?: Partial<Record<RequestShape, number>>;
  /** How many observatories a simultaneous or chained request spans (at most). */
  spanObservatories?: number;
  /** Only these observatories (default: all of the catalog). */
  observatories?: string[];
  /** "Now", for the day arithmetic (default: Date.now()). */
  nowMs?: number;
}

export interface GeneratedItem {
  telescopeId: string;
  start: string;
  end: string;
}

export interface GeneratedRequest {
  shape: RequestShape;
  scientistId: string;
  items: GeneratedItem[];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same requests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Scope = TelescopeSeed & { observatoryId: string };

export class RequestGenerator {
  private readonly random: () => number;
  private readonly telescopes: Scope[];
  private readonly dayZeroMs: number;

  constructor(private readonly options: GeneratorOptions) {
    this.random = seededRandom(options.seed);
    const wanted = options.observatories ? new Set(options.observatories) : undefined;
    this.telescopes = options.catalog.observatories
      .filter((o) => !wanted || wanted.has(o.id))
      .flatMap((o) => o.telescopes.map((t) => ({ ...t, observatoryId: o.id })));
    if (this.telescopes.length === 0) throw new Error('the generator has no telescope to book');
    const now = options.nowMs ?? Date.now();
    this.dayZeroMs = now - (now % DAY_MS);
  }

  next(): GeneratedRequest {
    const shape = this.pickShape();
    const scientistId = this.pick(this.options.scientists).id;
    const items = shape === 'single' ? this.single() : shape === 'simultaneous' ? this.simultaneous() : this.chain();
    return items ? { shape, scientistId, items } : { shape: 'single', scientistId, items: this.single()! };
  }

  /** Poisson arrivals: the pause before the next request at `ratePerSecond`. */
  nextArrivalDelayMs(ratePerSecond: number): number {
    return (-Math.log(1 - this.random()) / ratePerSecond) * 1000;
  }

  private single(): GeneratedItem[] {
    const telescope = this.pick(this.telescopes);
    const hour = this.pick(bookableHours(telescope));
    return [this.itemAt(telescope, this.day(), hour, 1 + Math.floor(this.random() * 2))];
  }

  /** The same hour at several observatories: one target observed from several sites. */
  private simultaneous(): GeneratedItem[] | undefined {
    const sites = this.sites();
    const common = sites.map(bookableHours).reduce((a, b) => a.filter((h) => b.includes(h)));
    if (common.length === 0) return undefined;
    const day = this.day();
    const hour = this.pick(common);
    return sites.map((t) => this.itemAt(t, day, hour, 1));
  }

  /** Consecutive hours at successive observatories: A, then B, then C. */
  private chain(): GeneratedItem[] | undefined {
    const sites = this.sites();
    const day = this.day();
    const startHour = this.pick(bookableHours(sites[0]!));
    const items: GeneratedItem[] = [];
    for (let i = 0; i < sites.length; i += 1) {
      const hour = (startHour + i) % 24;
      if (!bookableHours(sites[i]!).includes(hour)) return items.length >= 2 ? items : undefined;
      items.push(this.itemAt(sites[i]!, day + Math.floor((startHour + i) / 24), hour, 1));
    }
    return items;
  }

  /** One telescope at each of up to spanObservatories distinct observatories. */
  private sites(): Scope[] {
    const byObservatory = new Map<string, Scope[]>();
    for (const t of this.telescopes) byObservatory.set(t.observatoryId, [...(byObservatory.get(t.observatoryId) ?? []), t]);
    const observatories = this.shuffle([...byObservatory.keys()]).slice(0, Math.max(2, this.options.spanObservatories ?? 3));
    return observatories.map((o) => this.pick(byObservatory.get(o)!));
  }

  private itemAt(t: Scope, day: number, hour: number, hours: number): GeneratedItem {
    const startMs = this.dayZeroMs + day * DAY_MS + hour * HOUR_MS;
    let endMs = startMs + hours * HOUR_MS;
    while (endMs > startMs + HOUR_MS && !isBookable(t, new Date(endMs - 1).getUTCHours())) endMs -= HOUR_MS;
    return { telescopeId: t.id, start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString() };
  }

  private day(): number {
    return this.options.firstDay + Math.floor(this.random() * this.options.days);
  }

  private pickShape(): RequestShape {
    const mix = { single: 1, simultaneous: 1, chain: 1, ...this.options.mix };
    const total = mix.single + mix.simultaneous + mix.chain;
    let r = this.random() * total;
    for (const shape of ['single', 'simultaneous', 'chain'] as const) {
      r -= mix[shape];
      if (r < 0) return shape;
    }
    return 'chain';
  }

  private pick<T>(values: T[]): T {
    return values[Math.floor(this.random() * values.length)]!;
  }

  private shuffle<T>(values: T[]): T[] {
    for (let i = values.length - 1; i > 0; i -= 1) {
      const j = Math.floor(this.random() * (i + 1));
      [values[i], values[j]] = [values[j]!, values[i]!];
    }
    return values;
  }
}

function isBookable(t: TelescopeSeed, hour: number): boolean {
  const from = t.bookableFromHourUtc;
  const to = t.bookableToHourUtc;
  return from < to ? hour >= from && hour < to : hour >= from || hour < to;
}

/** Whole hours at which a one-hour item may start (every slot length divides an hour or is one). */
function bookableHours(t: TelescopeSeed): number[] {
  return Array.from({ length: 24 }, (_, h) => h).filter((h) => isBookable(t, h));
}
