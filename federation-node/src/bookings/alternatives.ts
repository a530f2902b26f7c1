// Booking alternatives (seed 003: "the one who reserved first keeps priority; the others may
// give up or continue by choosing other available points"). Each segment of a request is an
// ordered list of acceptable choices: the item itself, then its alternatives. The coordinator
// books the first combination that is wholly free: every segment's most preferred choice not
// yet known to be taken. Each try is one atomic transaction carrying the request's original
// fairness timestamp, so trying an alternative never makes a request younger.
import type { AbortReason } from '../../../coordinator-2pc/src/index.js';
import { MINUTE_MS, canonicalInstant, type BookingItem, type Telescope } from '../domain/slots.js';

/** One segment's choices, most preferred first. */
export type Segment = BookingItem[];

export interface TakenChoice {
  segment: number;
  choice: number;
}

/** The first combination with no choice known taken, or undefined when some segment has none left. */
export function nextCombination(segments: Segment[], taken: Set<string>): { items: BookingItem[]; choices: number[] } | undefined {
  const choices: number[] = [];
  for (const [segment, options] of segments.entries()) {
    const choice = options.findIndex((_, index) => !taken.has(keyOf({ segment, choice: index })));
    if (choice < 0) return undefined;
    choices.push(choice);
  }
  return { items: choices.map((choice, segment) => segments[segment]![choice]!), choices };
}

export function keyOf(taken: TakenChoice): string {
  return `${taken.segment}/${taken.choice}`;
}

const TAKEN_SLOT = /([A-Za-z0-9._-]+) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) \((booked|held|being)/g;

/**
 * Which chosen items the participants said were taken: their conflict details name the slots
 * (`slot already taken: <telescope> <start> (booked)`). Only conflicts count; an outage is no
 * reason to give up a choice.
 */
export function takenChoices(reasons: AbortReason[], items: BookingItem[], choices: number[]): TakenChoice[] {
  const slots: Array<{ telescopeId: string; atMs: number }> = [];
  for (const reason of reasons) {
    if (reason.code !== 'conflict') continue;
    for (const match of reason.detail.matchAll(TAKEN_SLOT)) slots.push({ telescopeId: match[1]!, atMs: Date.parse(match[2]!) });
  }
  const found: TakenChoice[] = [];
  items.forEach((item, segment) => {
    const hit = slots.some((s) => s.telescopeId === item.telescopeId && s.atMs >= Date.parse(item.start) && s.atMs < Date.parse(item.end));
    if (hit) found.push({ segment, choice: choices[segment]! });
  });
  return found;
}

/** A telescope's slot states over a range, wherever the telescope is (the node's own table or its owner's public API). */
export type AvailabilityReader = (telescope: Telescope, fromMs: number, toMs: number) => Promise<Map<number, string>>;

export interface Suggestion {
  segment: number;
  telescopeId: string;
  observatoryId: string;
  start: string;
  end: string;
}

/** How far from a taken slot the nearest free ones are looked for. */
const SUGGESTION_WINDOW_MS = 12 * 60 * MINUTE_MS;

/**
 * The nearest free alternatives for a taken item: the same telescope at the nearest free
 * times, then the same time on the other telescopes (same observatory first).
 */
export async function suggestionsFor(
  segment: number,
  item: BookingItem,
  telescopes: Map<string, Telescope>,
  read: AvailabilityReader,
  max: number,
): Promise<Suggestion[]> {
  const startMs = Date.parse(item.start);
  const durationMs = Date.parse(item.end) - startMs;
  const own = telescopes.get(item.telescopeId);
  const found: Suggestion[] = [];
  if (own) {
    const states = await read(own, startMs - SUGGESTION_WINDOW_MS, startMs + SUGGESTION_WINDOW_MS + durationMs).catch(() => new Map<number, string>());
    const slotMs = own.slotMinutes * MINUTE_MS;
    const starts = [...states.keys()].filter((at) => at !== startMs && wholeRangeFree(states, at, durationMs, slotMs));
    starts.sort((a, b) => Math.abs(a - startMs) - Math.abs(b - startMs) || a - b);
    for (const at of starts.slice(0, max)) found.push(suggestion(segment, own, at, durationMs));
  }
  const others = [...telescopes.values()]
    .filter((t) => t.id !== item.telescopeId && durationMs % (t.slotMinutes * MINUTE_MS) === 0 && startMs % (t.slotMinutes * MINUTE_MS) === 0)
    .sort((a, b) => Number(b.observatoryId === item.observatoryId) - Number(a.observatoryId === item.observatoryId));
  const candidates = others.slice(0, max * 2);
  const states = await Promise.all(candidates.map((t) => read(t, startMs, startMs + durationMs).catch(() => new Map<number, string>())));
  candidates.forEach((telescope, index) => {
    if (found.length < max * 2 && wholeRangeFree(states[index]!, startMs, durationMs, telescope.slotMinutes * MINUTE_MS)) found.push(suggestion(segment, telescope, startMs, durationMs));
  });
  return found;
}

function wholeRangeFree(states: Map<number, string>, fromMs: number, durationMs: number, slotMs: number): boolean {
  for (let at = fromMs; at < fromMs + durationMs; at += slotMs) if (states.get(at) !== 'free') return false;
  return true;
}

function suggestion(segment: number, telescope: Telescope, atMs: number, durationMs: number): Suggestion {
  return { segment, telescopeId: telescope.id, observatoryId: telescope.observatoryId, start: canonicalInstant(atMs), end: canonicalInstant(atMs + durationMs) };
}
