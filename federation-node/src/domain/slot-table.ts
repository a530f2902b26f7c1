// The observatory's schedule in memory: which transaction holds or booked each slot of its
// telescopes. It is the ResourceManager of the participant core: hold on prepare, confirm on
// commit, release on abort. Each call returns the claim changes it made, which the
// participant core hands back inside the persist effect of that same transaction: the
// transaction log writes them in the same SQLite transaction as its record, never with
// another transaction's (there is no journal for a later write to sweep up).
import { z } from 'zod';
import type { HoldAttempt, ResourceManager, TxId, TxKind } from '../../../coordinator-2pc/src/index.js';
import { type BookingLimits, type Slot, type Telescope, canonicalInstant, itemProblem, slotsOf } from './slots.js';

export const PartPayload = z.strictObject({
  bookingId: z.string().min(1).max(100),
  scientistId: z.string().min(1).max(100),
  items: z
    .array(z.strictObject({ telescopeId: z.string().min(1).max(64), start: z.string().max(40), end: z.string().max(40) }))
    .min(1)
    .max(100),
  /** The scientist's home observatory vouches for this booking (security/booking-credentials.ts); required in a booking's prepare. */
  credential: z.string().max(4096).optional(),
  /**
   * Every item of the booking, at every observatory: kept in the participant's record so that a
   * coordinator restored from a backup can be told its own booking back (docs/PROTOCOL.md §16,
   * "A restored coordinator"); the credential's part digests prove it.
   */
  bookingItems: z
    .array(z.strictObject({ observatoryId: z.string().min(1).max(64), telescopeId: z.string().min(1).max(64), start: z.string().max(40), end: z.string().max(40) }))
    .max(100)
    .optional(),
});
export type PartPayload = z.infer<typeof PartPayload>;

export type ClaimState = 'HELD' | 'BOOKED' | 'RELEASING';

export interface Claim {
  telescopeId: string;
  startMs: number;
  endMs: number;
  bookingId: string;
  /** The transaction acting on the slot now: the booking's own while HELD or BOOKED, a cancellation while RELEASING. */
  txId: string;
  state: ClaimState;
}

/** One change of one slot's claim, made by transaction `txId` (whose record it is written with). */
export type ClaimChange =
  | { op: 'insert' | 'update'; txId: TxId; claim: Claim }
  | { op: 'delete'; txId: TxId; telescopeId: string; startMs: number };

export class SlotTable implements ResourceManager {
  private readonly claims = new Map<string, Claim>();
  private readonly byTx = new Map<TxId, string[]>();

  constructor(
    private readonly telescopes: Map<string, Telescope>,
    private readonly limits: BookingLimits,
  ) {}

  /** Restore from the durable rows at start-up. */
  load(claims: Claim[]): void {
    for (const claim of claims) {
      const key = keyOf(claim.telescopeId, claim.startMs);
      this.claims.set(key, claim);
      if (claim.state !== 'BOOKED') this.byTx.set(claim.txId, [...(this.byTx.get(claim.txId) ?? []), key]);
    }
  }

  /** Every claim, in no particular order (checks and the simulator's checker). */
  allClaims(): Claim[] {
    return [...this.claims.values()];
  }

  /** The slots a participant payload names on this observatory's telescopes, or why it names none. */
  slotsOfPart(payload: unknown): Slot[] | string {
    const parsed = PartPayload.safeParse(payload);
    if (!parsed.success) return `malformed part: ${parsed.error.issues[0]?.message ?? 'unknown'}`;
    const slots: Slot[] = [];
    for (const item of parsed.data.items) {
      const telescope = this.telescopes.get(item.telescopeId);
      if (!telescope) return `telescope ${item.telescopeId} does not belong to this observatory`;
      slots.push(...slotsOf(item, telescope.slotMinutes));
    }
    return slots;
  }

  /** How many slots this transaction holds (HELD) or is releasing (RELEASING) now. */
  slotsHeldBy(txId: TxId): number {
    return this.byTx.get(txId)?.length ?? 0;
  }

  claimAt(telescopeId: string, startMs: number): Claim | undefined {
    return this.claims.get(keyOf(telescopeId, startMs));
  }

  tryHold(txId: TxId, kind: TxKind, payload: unknown, nowMs: number): HoldAttempt {
    const parsed = PartPayload.safeParse(payload);
    if (!parsed.success) return { ok: false, code: 'invalid', detail: `malformed part: ${parsed.error.issues[0]?.message ?? 'unknown'}` };
    return kind === 'book' ? this.holdForBooking(txId, parsed.data, nowMs) : this.holdForCancellation(txId, parsed.data, nowMs);
  }

  confirm(txId: TxId, kind: TxKind): ClaimChange[] {
    return this.takeTx(txId).map((key) => {
      const claim = this.claims.get(key)!;
      return kind === 'book' ? this.put(txId, { ...claim, state: 'BOOKED' }) : this.remove(txId, claim);
    });
  }

  release(txId: TxId, kind: TxKind): ClaimChange[] {
    return this.takeTx(txId).map((key) => {
      const claim = this.claims.get(key)!;
      return kind === 'book' ? this.remove(txId, claim) : this.put(txId, { ...claim, state: 'BOOKED', txId: claim.bookingId });
    });
  }

  private holdForBooking(txId: TxId, part: PartPayload, nowMs: number): HoldAttempt {
    const slots = [];
    for (const item of part.items) {
      const telescope = this.telescopes.get(item.telescopeId);
      if (!telescope) return { ok: false, code: 'invalid', detail: `telescope ${item.telescopeId} does not belong to this observatory` };
      const problem = itemProblem(item, telescope, nowMs, this.limits);
      if (problem) return { ok: false, code: 'invalid', detail: problem };
      slots.push(...slotsOf(item, telescope.slotMinutes));
    }
    const taken = slots.map((s) => this.claims.get(keyOf(s.telescopeId, s.startMs))).filter((c): c is Claim => c !== undefined);
    if (taken.length > 0) return conflict(taken);
    const changes = slots.map((slot) => this.put(txId, { ...slot, bookingId: part.bookingId, txId, state: 'HELD' }, 'insert'));
    this.byTx.set(txId, slots.map((slot) => keyOf(slot.telescopeId, slot.startMs)));
    return { ok: true, changes };
  }

  private holdForCancellation(txId: TxId, part: PartPayload, nowMs: number): HoldAttempt {
    const claims: Claim[] = [];
    for (const item of part.items) {
      const telescope = this.telescopes.get(item.telescopeId);
      if (!telescope) return { ok: false, code: 'invalid', detail: `telescope ${item.telescopeId} does not belong to this observatory` };
      for (const slot of slotsOf(item, telescope.slotMinutes)) {
        const claim = this.claims.get(keyOf(slot.telescopeId, slot.startMs));
        if (!claim || claim.bookingId !== part.bookingId) {
          return { ok: false, code: 'invalid', detail: `${slot.telescopeId} ${canonicalInstant(slot.startMs)} is not booked by ${part.bookingId}` };
        }
        if (slot.startMs <= nowMs) return { ok: false, code: 'invalid', detail: `${slot.telescopeId} ${canonicalInstant(slot.startMs)} has already started; it can no longer be cancelled` };
        claims.push(claim);
      }
    }
    const busy = claims.filter((c) => c.state !== 'BOOKED');
    if (busy.length > 0) {
      // A HELD claim of this booking is the booking's own transaction, committed at its
      // coordinator (a cancellation begins only once it is confirmed there) but not yet here:
      // the cancellation may wait for it, since the booking's decision never waits for it.
      const ownBooking = unique(busy.filter((c) => c.state === 'HELD').map((c) => c.txId));
      return { ok: false, code: 'conflict', detail: describe(busy), blockers: unique(busy.map((c) => c.txId)), final: false, awaitable: ownBooking };
    }
    const changes = claims.map((claim) => this.put(txId, { ...claim, txId, state: 'RELEASING' }));
    this.byTx.set(txId, claims.map((claim) => keyOf(claim.telescopeId, claim.startMs)));
    return { ok: true, changes };
  }

  private takeTx(txId: TxId): string[] {
    const keys = this.byTx.get(txId) ?? [];
    this.byTx.delete(txId);
    return keys;
  }

  private put(txId: TxId, claim: Claim, op: 'insert' | 'update' = 'update'): ClaimChange {
    this.claims.set(keyOf(claim.telescopeId, claim.startMs), claim);
    return { op, txId, claim };
  }

  private remove(txId: TxId, claim: Claim): ClaimChange {
    this.claims.delete(keyOf(claim.telescopeId, claim.startMs));
    return { op: 'delete', txId, telescopeId: claim.telescopeId, startMs: claim.startMs };
  }
}

function conflict(taken: Claim[]): HoldAttempt {
  return { ok: false, code: 'conflict', detail: describe(taken), blockers: unique(taken.map((c) => c.txId)), final: taken.some((c) => c.state === 'BOOKED') };
}

function describe(claims: Claim[]): string {
  const shown = claims.slice(0, 3).map((c) => `${c.telescopeId} ${canonicalInstant(c.startMs)} (${c.state === 'BOOKED' ? 'booked' : c.state === 'HELD' ? 'held by a booking in progress' : 'being cancelled'})`);
  const more = claims.length > 3 ? ` and ${claims.length - 3} more` : '';
  return `slot already taken: ${shown.join(', ')}${more}`;
}

function keyOf(telescopeId: string, startMs: number): string {
  return `${telescopeId}|${startMs}`;
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
