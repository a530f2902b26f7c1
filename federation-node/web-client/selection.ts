// What the selected cells mean as a booking request: consecutive slots of one telescope
// become one item; alternatives for an item come from what the grid shows free.
import type { Item, Telescope } from './api';
import { slotKey, type CellState } from './grid';

export function selectionItems(selected: Map<string, Item>, telescopes: Telescope[]): Item[] {
  const order = new Map(telescopes.map((t, i) => [t.id, i]));
  const sorted = [...selected.values()].sort((a, b) => (order.get(a.telescopeId)! - order.get(b.telescopeId)!) || Date.parse(a.start) - Date.parse(b.start));
  const items: Item[] = [];
  for (const slot of sorted) {
    const last = items[items.length - 1];
    if (last && last.telescopeId === slot.telescopeId && last.end === slot.start) last.end = slot.end;
    else items.push({ ...slot });
  }
  return items.sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
}

/** Another telescope of the same observatory free at the same time, then the same telescope one slot earlier or later. */
export function alternativesFor(item: Item, telescopes: Telescope[], slots: Map<string, CellState>): Item[] {
  const startMs = Date.parse(item.start);
  const durationMs = Date.parse(item.end) - startMs;
  const own = telescopes.find((t) => t.id === item.telescopeId)!;
  const free = (t: Telescope, from: number) => {
    const step = t.slotMinutes * 60_000;
    if (from % step !== 0 || durationMs % step !== 0) return false;
    for (let at = from; at < from + durationMs; at += step) if (slots.get(slotKey(t.id, at))?.state !== 'free') return false;
    return true;
  };
  const options: Item[] = [];
  for (const t of telescopes) if (t.id !== own.id && t.observatoryId === own.observatoryId && free(t, startMs)) options.push({ telescopeId: t.id, start: item.start, end: item.end });
  const step = own.slotMinutes * 60_000;
  for (const shift of [-step, step]) if (free(own, startMs + shift)) options.push({ telescopeId: own.id, start: new Date(startMs + shift).toISOString(), end: new Date(startMs + shift + durationMs).toISOString() });
  return options.slice(0, 5);
}
