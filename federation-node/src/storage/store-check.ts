// The start-up check of a node's store (docs/OPERATIONS.md, "A damaged store"): the engine's
// own check (SQLite's full integrity_check: every page, every index against its table; on
// PostgreSQL amcheck's index check where installed, database.ts), then the node's domain
// invariants between slot claims, bookings and finished participant records. Damage found
// here stops the start with one line naming the rows (exit 65), so that no request can later
// meet a broken invariant — a slot shown free that is booked, a claim that no booking owns.
import type { EngineCheck } from './database.js';
import type { SqlReader } from './sql.js';
import type { Telescope } from '../domain/slots.js';
import { MINUTE_MS, slotsOf } from '../domain/slots.js';

/** The exit code of a node that refuses to start on a damaged store (sysexits EX_DATAERR). */
export const STORE_DAMAGED_EXIT_CODE = 65;
/** At most this many problems are named in the one line. */
const PROBLEMS_SHOWN_MAX = 5;

export class StoreDamagedError extends Error {
  override name = 'StoreDamagedError';
  constructor(readonly file: string, readonly problems: string[]) {
    const shown = problems.slice(0, PROBLEMS_SHOWN_MAX).join('; ');
    const more = problems.length > PROBLEMS_SHOWN_MAX ? ` (and ${problems.length - PROBLEMS_SHOWN_MAX} more)` : '';
    super(`store check of ${file} failed, refusing to start: ${problems.length} problem(s): ${shown}${more}`);
  }
}

interface ClaimRow { telescopeId: string; slotStart: string; slotEnd: string; bookingId: string; txId: string; state: string }
interface BookingRow { id: string; itemsJson: string; cancelTxId: string | null }
interface ParticipantRow { txId: string; state: string; payloadJson: string }
interface Item { telescopeId: string; start: string; end: string }

/** Throws StoreDamagedError naming the damaged rows; returns how long the check took and what the engine checked. */
export async function checkStore(
  store: { reader: SqlReader; file: string; engineCheck(): Promise<EngineCheck> },
  ownTelescopes: Map<string, Telescope>,
): Promise<{ ms: number; checked: string }> {
  const startedAt = Date.now();
  const { reader, file } = store;
  const engine = await store.engineCheck();
  if (engine.problems.length > 0) throw new StoreDamagedError(file, engine.problems);
  const claims: ClaimRow[] = await reader.query(
    'SELECT telescope_id AS telescopeId, slot_start AS slotStart, slot_end AS slotEnd, booking_id AS bookingId, tx_id AS txId, state FROM slot_claims',
  );
  const confirmed: BookingRow[] = await reader.query("SELECT id, items_json AS itemsJson, cancel_tx_id AS cancelTxId FROM bookings WHERE status = 'CONFIRMED'");
  const localBookings = new Map<string, string>(
    (await reader.query('SELECT id, status FROM bookings') as Array<{ id: string; status: string }>).map((b) => [b.id, b.status]),
  );
  const committedParts = new Map<string, ParticipantRow>(
    (await reader.query("SELECT tx_id AS txId, state, payload_json AS payloadJson FROM participant_transactions WHERE kind = 'book'") as ParticipantRow[]).map((r) => [r.txId, r]),
  );
  const committedCancels = new Set(
    (await reader.query("SELECT tx_id AS txId FROM participant_transactions WHERE kind = 'cancel' AND state = 'committed'") as Array<{ txId: string }>).map((r) => r.txId),
  );
  const claimBySlot = new Map(claims.map((c) => [`${c.telescopeId}|${c.slotStart}`, c]));
  const itemsOf = new Map(confirmed.map((b) => [b.id, JSON.parse(b.itemsJson) as Item[]]));
  const problems = [
    ...claims.flatMap((claim) => claimProblems(claim, ownTelescopes, localBookings, itemsOf, committedParts)),
    // A restored coordinator applying its own cancellation again releases the slots before the
    // booking becomes CANCELLED (durability/own-transactions.ts): not damage, it finishes.
    ...confirmed.filter((booking) => !(booking.cancelTxId && committedCancels.has(booking.cancelTxId)))
      .flatMap((booking) => unclaimedProblems(booking.id, itemsOf.get(booking.id)!, ownTelescopes, claimBySlot)),
  ];
  if (problems.length > 0) throw new StoreDamagedError(file, problems);
  return { ms: Date.now() - startedAt, checked: engine.checked };
}

function claimProblems(
  claim: ClaimRow,
  own: Map<string, Telescope>,
  localBookings: Map<string, string>,
  itemsOf: Map<string, Item[]>,
  participants: Map<string, ParticipantRow>,
): string[] {
  const row = `slot_claims(${claim.telescopeId}, ${claim.slotStart})`;
  const telescope = own.get(claim.telescopeId);
  if (!telescope) return [`${row}: ${claim.telescopeId} is not a telescope of this observatory`];
  const slotMs = telescope.slotMinutes * MINUTE_MS;
  const startMs = Date.parse(claim.slotStart);
  const endMs = Date.parse(claim.slotEnd);
  if (!isCanonical(claim.slotStart, startMs) || !isCanonical(claim.slotEnd, endMs) || startMs % slotMs !== 0 || endMs !== startMs + slotMs) {
    return [`${row}: ${claim.slotStart}–${claim.slotEnd} is not one ${telescope.slotMinutes}-minute slot of ${claim.telescopeId}`];
  }
  if (claim.state !== 'BOOKED') return [];
  const status = localBookings.get(claim.bookingId);
  if (status !== undefined) {
    if (status !== 'CONFIRMED') return [`${row}: BOOKED by ${claim.bookingId}, which is ${status}`];
    if (!covers(itemsOf.get(claim.bookingId)!, claim, slotMs)) return [`${row}: BOOKED by ${claim.bookingId}, which has no item on this slot`];
    return [];
  }
  const record = participants.get(claim.txId);
  if (!record) return []; // a booking coordinated elsewhere whose record was pruned: nothing left to compare
  const payload = JSON.parse(record.payloadJson) as { bookingId?: string; items?: Item[] };
  if (record.state !== 'committed') return [`${row}: BOOKED by ${claim.txId}, whose participant record is ${record.state}`];
  if (payload.bookingId !== claim.bookingId || !covers(payload.items ?? [], claim, slotMs)) {
    return [`${row}: BOOKED by ${claim.bookingId} (${claim.txId}), which does not hold this slot in its committed record`];
  }
  return [];
}

/** Every slot of a confirmed booking's items on this observatory's telescopes must be claimed by it. */
function unclaimedProblems(bookingId: string, items: Item[], own: Map<string, Telescope>, claimBySlot: Map<string, ClaimRow>): string[] {
  const problems: string[] = [];
  for (const item of items) {
    const telescope = own.get(item.telescopeId);
    if (!telescope) continue;
    for (const slot of slotsOf(item, telescope.slotMinutes)) {
      const start = new Date(slot.startMs).toISOString();
      const claim = claimBySlot.get(`${item.telescopeId}|${start}`);
      if (!claim || claim.bookingId !== bookingId) {
        problems.push(`bookings(${bookingId}): CONFIRMED but its slot ${item.telescopeId} ${start} is ${claim ? `claimed by ${claim.bookingId}` : 'not claimed'}`);
      }
    }
  }
  return problems;
}

function covers(items: Item[], claim: ClaimRow, slotMs: number): boolean {
  const startMs = Date.parse(claim.slotStart);
  return items.some((i) => i.telescopeId === claim.telescopeId && Date.parse(i.start) <= startMs && startMs + slotMs <= Date.parse(i.end));
}

function isCanonical(text: string, ms: number): boolean {
  return Number.isFinite(ms) && new Date(ms).toISOString() === text;
}
