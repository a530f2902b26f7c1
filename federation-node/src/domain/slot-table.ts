// The observatory's schedule in memory: which transaction holds or booked each slot of its
// telescopes. It is the ResourceManager of the participant core: hold on prepare, confirm on
// commit, release on abort. Every change is journalled; the transaction log writes the
// journal in the same SQLite transaction as the participant record that caused it.
import { z } from 'zod';
import type { HoldAttempt, ResourceManager, TxId, TxKind } from '../../../coordinator-2pc/src/index.js';
import { type BookingLimits, type Telescope, canonicalInstant, itemProblem, slotsOf } from './slots.js';

export const PartPayload = z.strictObject({
  bookingId: z.string().min(1).max(100),
  scientistId: z.string().min(1).max(100),
  items: z
    .array(z.strictObject({ telescopeId: z.string().min(1).max(64), start: z.string().max(40), end: z.string().max(40) }))
    .min(1)
    .max(100),
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

export type ClaimChange =
  | { op: 'insert' | 'update'; claim: Claim }
  | { op: 'delete'; telescopeId: string; startMs: number };

export class SlotTable implements ResourceManager {
  private readonly claims = new Map<string, Claim>();
  private readonly byTx = new Map<TxId, string[]>();
  private journal: ClaimChange[] = [];

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

  /** The changes since the last call: they belong to the record about to be written. */
  takeChanges(): ClaimChange[] {
    const changes = this.journal;
    this.journal = [];
    return changes;
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

  confirm(txId: TxId, kind: TxKind): void {
    for (const key of this.takeTx(txId)) {
      const claim = this.claims.get(key)!;
      if (kind === 'book') this.put({ ...claim, state: 'BOOKED' });
      else this.remove(claim);
    }
  }

  release(txId: TxId, kind: TxKind): void {
    for (const key of this.takeTx(txId)) {
      const claim = this.claims.get(key)!;
      if (kind === 'book') this.remove(claim);
      else this.put({ ...claim, state: 'BOOKED', txId: claim.bookingId });
    }
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
    const keys = slots.map((slot) => {
      this.put({ ...slot, bookingId: part.bookingId, txId, state: 'HELD' }, 'insert');
      return keyOf(slot.telescopeId, slot.startMs);
    });
    this.byTx.set(txId, keys);
    return { ok: true };
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
    if (busy.length > 0) return { ok: false, code: 'conflict', detail: describe(busy), blockers: unique(busy.map((c) => c.txId)), final: false };
    this.byTx.set(txId, claims.map((claim) => {
      this.put({ ...claim, txId, state: 'RELEASING' });
      return keyOf(claim.telescopeId, claim.startMs);
    }));
    return { ok: true };
  }

  private takeTx(txId: TxId): string[] {
    const keys = this.byTx.get(txId) ?? [];
    this.byTx.delete(txId);
    return keys;
  }

  private put(claim: Claim, op: 'insert' | 'update' = 'update'): void {
    this.claims.set(keyOf(claim.telescopeId, claim.startMs), claim);
    this.journal.push({ op, claim });
  }

  private remove(claim: Claim): void {
    this.claims.delete(keyOf(claim.telescopeId, claim.startMs));
    this.journal.push({ op: 'delete', telescopeId: claim.telescopeId, startMs: claim.startMs });
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
