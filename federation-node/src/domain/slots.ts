// Telescope slots: the grid, the bookable hours, and the checks a booking item must pass.
// Pure functions; the same rules run at the coordinator (to answer the client precisely)
// and at the owning observatory (which alone decides).
import { z } from 'zod';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

export interface Telescope {
  id: string;
  observatoryId: string;
  name: string;
  apertureM: number;
  instrument: string;
  slotMinutes: number;
  bookableFromHourUtc: number;
  bookableToHourUtc: number;
}

export interface BookingLimits {
  itemsPerBookingMax: number;
  itemDurationMaxMinutes: number;
  bookingSpanMaxHours: number;
  bookingHorizonDays: number;
}

const IsoInstant = z.iso.datetime({
  offset: true,
  error: (issue) => (issue.input === undefined ? 'required' : 'an ISO-8601 date-time with a time zone, e.g. 2026-12-01T03:00:00Z'),
});

export const BookingItemInput = z.strictObject({
  telescopeId: z.string().min(1).max(64),
  start: IsoInstant,
  end: IsoInstant,
});
export type BookingItemInput = z.infer<typeof BookingItemInput>;

/** An item with its instants resolved: what the protocol carries and the tables store. */
export interface BookingItem {
  telescopeId: string;
  observatoryId: string;
  start: string;
  end: string;
}

export interface Slot {
  telescopeId: string;
  startMs: number;
  endMs: number;
}

export function canonicalInstant(ms: number): string {
  return new Date(ms).toISOString();
}

/** The grid slots an item covers. */
export function slotsOf(item: { telescopeId: string; start: string; end: string }, slotMinutes: number): Slot[] {
  const slotMs = slotMinutes * MINUTE_MS;
  const slots: Slot[] = [];
  for (let at = Date.parse(item.start); at < Date.parse(item.end); at += slotMs) {
    slots.push({ telescopeId: item.telescopeId, startMs: at, endMs: at + slotMs });
  }
  return slots;
}

export function isBookableHour(telescope: Telescope, hourUtc: number): boolean {
  const from = telescope.bookableFromHourUtc;
  const to = telescope.bookableToHourUtc;
  return from < to ? hourUtc >= from && hourUtc < to : hourUtc >= from || hourUtc < to;
}

/** Why this item cannot be booked on this telescope now, or undefined when it can. */
export function itemProblem(item: { start: string; end: string }, telescope: Telescope, nowMs: number, limits: BookingLimits): string | undefined {
  const startMs = Date.parse(item.start);
  const endMs = Date.parse(item.end);
  const slotMs = telescope.slotMinutes * MINUTE_MS;
  const where = `${telescope.id} ${item.start}–${item.end}`;
  if (!(endMs > startMs)) return `${where}: the end must come after the start`;
  if (startMs % slotMs !== 0 || endMs % slotMs !== 0) {
    return `${where}: not on the telescope's grid of ${telescope.slotMinutes}-minute slots (slots start at UTC midnight + k × ${telescope.slotMinutes} min)`;
  }
  if (endMs - startMs > limits.itemDurationMaxMinutes * MINUTE_MS) {
    return `${where}: longer than the limit of ${limits.itemDurationMaxMinutes} minutes per item (ITEM_DURATION_MAX_MINUTES)`;
  }
  if (startMs <= nowMs) return `${where}: starts in the past (federation time is ${canonicalInstant(nowMs)})`;
  if (startMs > nowMs + limits.bookingHorizonDays * DAY_MS) {
    return `${where}: more than ${limits.bookingHorizonDays} days ahead (BOOKING_HORIZON_DAYS)`;
  }
  for (let hourStart = startMs - (startMs % HOUR_MS); hourStart < endMs; hourStart += HOUR_MS) {
    const hour = new Date(hourStart).getUTCHours();
    if (!isBookableHour(telescope, hour)) {
      return `${where}: outside the bookable hours ${pad(telescope.bookableFromHourUtc)}:00–${pad(telescope.bookableToHourUtc)}:00 UTC (hour ${pad(hour)}:00 is not bookable)`;
    }
  }
  return undefined;
}

/** Problems of the booking as a whole: item count, span, items overlapping each other. */
export function bookingProblem(items: Array<{ telescopeId: string; start: string; end: string }>, limits: BookingLimits): string | undefined {
  if (items.length > limits.itemsPerBookingMax) {
    return `${items.length} items: more than the limit of ${limits.itemsPerBookingMax} per booking (ITEMS_PER_BOOKING_MAX)`;
  }
  const starts = items.map((i) => Date.parse(i.start));
  const ends = items.map((i) => Date.parse(i.end));
  const spanMs = Math.max(...ends) - Math.min(...starts);
  if (spanMs > limits.bookingSpanMaxHours * HOUR_MS) {
    return `the booking spans ${(spanMs / HOUR_MS).toFixed(1)} hours: more than the limit of ${limits.bookingSpanMaxHours} (BOOKING_SPAN_MAX_HOURS)`;
  }
  for (let i = 0; i < items.length; i += 1) {
    for (let j = i + 1; j < items.length; j += 1) {
      const a = items[i]!;
      const b = items[j]!;
      if (a.telescopeId === b.telescopeId && starts[i]! < ends[j]! && starts[j]! < ends[i]!) {
        return `items ${i} and ${j} overlap on ${a.telescopeId}`;
      }
    }
  }
  return undefined;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
