// The booking domain of a simulated observatory: one telescope per node, whose one-hour slots
// the production SlotTable holds, confirms and releases. The simulator's slot keys `s0`, `s1`, …
// are slots 1, 2, … hours after the Unix epoch: always ahead of the simulated clock, which
// starts 1,000 s after the epoch, so that every item is in the future.
import type { NodeId, TxId, TxKind } from '../../coordinator-2pc/src/messages.js';
import type { HoldAttempt, ResourceChanges, ResourceManager } from '../../coordinator-2pc/src/ports.js';
import { ParticipantCore } from '../../coordinator-2pc/src/participant.js';
import { CoordinatorCore } from '../../coordinator-2pc/src/coordinator.js';
import { PartPayload, SlotTable } from '../../federation-node/src/domain/slot-table.js';
import { HOUR_MS, canonicalInstant, type BookingLimits, type Telescope } from '../../federation-node/src/domain/slots.js';

const LIMITS: BookingLimits = { itemsPerBookingMax: 10, itemDurationMaxMinutes: 60, bookingSpanMaxHours: 24, bookingHorizonDays: 365 };

export function telescopeIdOf(nodeId: NodeId): string {
  return `${nodeId}-scope`;
}

/** A new production slot table for the node's one telescope. */
export function slotTableOf(nodeId: NodeId): SlotTable {
  const telescope: Telescope = {
    id: telescopeIdOf(nodeId),
    observatoryId: nodeId,
    name: `${nodeId} telescope`,
    apertureM: 1,
    instrument: 'imager',
    slotMinutes: 60,
    bookableFromHourUtc: 0,
    bookableToHourUtc: 24,
  };
  return new SlotTable(new Map([[telescope.id, telescope]]), LIMITS);
}

function startMsOf(slotKey: string): number {
  const index = Number(slotKey.slice(1));
  return Number.isInteger(index) && index >= 0 ? (index + 1) * HOUR_MS : NaN;
}

/** The participant payload for these slot keys of one node, as the booking service builds it. */
export function partPayloadOf(nodeId: NodeId, slotKeys: string[], bookingId: TxId): PartPayload {
  const items = slotKeys.map((key) => {
    const startMs = startMsOf(key);
    // An unknown key becomes an item on a telescope this node does not have: the participant votes no (invalid).
    if (Number.isNaN(startMs)) return { telescopeId: `${nodeId}-no-such-scope`, start: canonicalInstant(HOUR_MS), end: canonicalInstant(2 * HOUR_MS) };
    return { telescopeId: telescopeIdOf(nodeId), start: canonicalInstant(startMs), end: canonicalInstant(startMs + HOUR_MS) };
  });
  return { bookingId, scientistId: 'sim-scientist', items };
}

/** How many slot claims a prepared transaction with this payload must hold. */
export function slotCountOf(payload: unknown): number {
  const parsed = PartPayload.safeParse(payload);
  return parsed.success ? parsed.data.items.length : 0;
}

/** A readable slot key for a claim. */
export function slotKeyOf(startMs: number): string {
  return `s${Math.round(startMs / HOUR_MS) - 1}`;
}

/**
 * The hold-orphan bug put back on purpose (bug hook 'swept-changes'): the slot table's changes
 * go to a journal, and the next write, whichever transaction's record it carries, sweeps the
 * journal up — as node.ts did with `transactionLog.write(entry, slots.takeChanges())`.
 */
export class SweptChanges implements ResourceManager {
  private journal: unknown[] = [];

  constructor(private readonly slots: SlotTable) {}

  take(): ResourceChanges {
    const taken = this.journal;
    this.journal = [];
    return taken;
  }

  tryHold(txId: TxId, kind: TxKind, payload: unknown, nowMs: number): HoldAttempt {
    const attempt = this.slots.tryHold(txId, kind, payload, nowMs);
    if (!attempt.ok) return attempt;
    this.journal.push(...attempt.changes);
    return { ok: true, changes: [] };
  }

  confirm(txId: TxId, kind: TxKind): ResourceChanges {
    this.journal.push(...this.slots.confirm(txId, kind));
    return [];
  }

  release(txId: TxId, kind: TxKind): ResourceChanges {
    this.journal.push(...this.slots.release(txId, kind));
    return [];
  }
}

/**
 * The cancellation that dies behind its own booking put back on purpose (bug hook
 * 'cancel-dies-behind-own-booking'): the slot table's conflicts lose their `awaitable`
 * blockers, so a cancellation younger than the hold of its own booking dies under wait-die.
 */
export class NoAwaitableBlockers implements ResourceManager {
  constructor(private readonly slots: SlotTable) {}

  tryHold(txId: TxId, kind: TxKind, payload: unknown, nowMs: number): HoldAttempt {
    const attempt = this.slots.tryHold(txId, kind, payload, nowMs);
    if (attempt.ok || attempt.code !== 'conflict') return attempt;
    const { awaitable: _dropped, ...withoutAwaitable } = attempt;
    return withoutAwaitable;
  }

  confirm(txId: TxId, kind: TxKind): ResourceChanges {
    return this.slots.confirm(txId, kind);
  }

  release(txId: TxId, kind: TxKind): ResourceChanges {
    return this.slots.release(txId, kind);
  }
}

/**
 * Timers left as they were before they were capped (bug hook 'uncapped-timers'): a clock
 * synchronised back after a jump makes every re-send and query wait for the step as well.
 */
export class UncappedParticipant extends ParticipantCore {
  override nextWakeAtMs(): number | undefined {
    return super.nextWakeAtMs();
  }
}

export class UncappedCoordinator extends CoordinatorCore {
  override nextWakeAtMs(): number | undefined {
    return super.nextWakeAtMs();
  }
}
