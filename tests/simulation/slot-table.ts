// The simulated resource manager: the telescope slots of one node. A book transaction's
// payload is the list of slot keys it wants at this node; a cancel transaction's payload
// names the committed booking whose slots it gives back. tryHold is all-or-nothing.
// The same table, fed with a node's durable records in log order (applyRecord), is both the
// resource state a restarted node starts from and the checker's durable ledger: anything a
// correct protocol can never ask of it is reported as a problem instead of being obeyed.
import type { HoldAttempt, ParticipantRecord, ResourceManager } from '../../coordinator-2pc/src/ports.js';
import type { TxId, TxKind } from '../../coordinator-2pc/src/messages.js';

export interface BookPayload {
  slots: string[];
}
export interface CancelPayload {
  slots: string[];
  booking: TxId;
}

/** `owner` holds (prepared) or owns (committed) the slot; `cancelBy` is a prepared cancel of it. */
export interface SlotState {
  owner: TxId;
  state: 'held' | 'committed';
  cancelBy?: TxId;
}

export const SLOTS_PER_PAYLOAD_MAX = 4;

export class SlotTable implements ResourceManager {
  private readonly slots = new Map<string, SlotState>();

  constructor(
    private readonly slotKeys: ReadonlySet<string>,
    private readonly report: (problem: string) => void,
  ) {}

  tryHold(txId: TxId, kind: TxKind, payload: unknown): HoldAttempt {
    const parsed = parsePayload(kind, payload, this.slotKeys);
    if (typeof parsed === 'string') return { ok: false, code: 'invalid', detail: parsed };
    return kind === 'book' ? this.holdForBooking(txId, parsed.slots) : this.holdForCancel(txId, parsed as CancelPayload);
  }

  confirm(txId: TxId, kind: TxKind, payload: unknown): void {
    const parsed = parsePayload(kind, payload, this.slotKeys);
    if (typeof parsed === 'string') return this.report(`confirm of ${txId} with an invalid payload: ${parsed}`);
    for (const slot of parsed.slots) {
      const state = this.slots.get(slot);
      if (kind === 'book') {
        if (state?.owner !== txId) this.report(`confirm of booking ${txId} on slot ${slot} ${describe(state)}`);
        else state.state = 'committed';
      } else if (state?.cancelBy !== txId) {
        this.report(`confirm of cancel ${txId} on slot ${slot} ${describe(state)}`);
      } else {
        this.slots.delete(slot);
      }
    }
  }

  /** Gives back whatever the transaction holds, found by id (safe when it holds nothing). */
  release(txId: TxId): void {
    for (const [slot, state] of this.slots) {
      if (state.cancelBy === txId) delete state.cancelBy;
      if (state.owner !== txId) continue;
      if (state.state === 'committed') this.report(`release of booking ${txId} on slot ${slot}, which it owns as committed`);
      else this.slots.delete(slot);
    }
  }

  /** Replays one durable record (log order): what a restarted node rebuilds its slots from. */
  applyRecord(record: ParticipantRecord): void {
    if (record.state === 'prepared') {
      const attempt = this.tryHold(record.txId, record.kind, record.payload);
      if (!attempt.ok) this.report(`durable prepared record of ${record.txId} could not hold its slots: ${attempt.detail}`);
    } else if (record.state === 'committed') {
      this.confirm(record.txId, record.kind, record.payload);
    } else {
      this.release(record.txId);
    }
  }

  /** True when the transaction holds all the slots of its payload. */
  holds(txId: TxId, kind: TxKind, payload: unknown): boolean {
    const parsed = parsePayload(kind, payload, this.slotKeys);
    if (typeof parsed === 'string') return false;
    return parsed.slots.every((slot) => {
      const state = this.slots.get(slot);
      return kind === 'book' ? state?.owner === txId : state?.cancelBy === txId;
    });
  }

  entries(): IterableIterator<[string, SlotState]> {
    return this.slots.entries();
  }

  /** A canonical text of the table, to compare two tables. */
  snapshot(): string {
    return [...this.slots]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([slot, s]) => `${slot}=${s.owner}:${s.state}${s.cancelBy ? `/cancel:${s.cancelBy}` : ''}`)
      .join(' ');
  }

  private holdForBooking(txId: TxId, slots: string[]): HoldAttempt {
    const blocking = slots.map((slot) => this.slots.get(slot)).filter((s): s is SlotState => !!s && s.owner !== txId);
    if (blocking.length > 0) {
      const blockers = unique(blocking.map((s) => s.owner));
      const final = blocking.some((s) => s.state === 'committed');
      return { ok: false, code: 'conflict', detail: `slots held by ${blockers.join(', ')}`, blockers, final };
    }
    for (const slot of slots) if (!this.slots.has(slot)) this.slots.set(slot, { owner: txId, state: 'held' });
    return { ok: true };
  }

  private holdForCancel(txId: TxId, payload: CancelPayload): HoldAttempt {
    const states = payload.slots.map((slot) => this.slots.get(slot));
    if (states.some((s) => s?.owner !== payload.booking)) {
      return { ok: false, code: 'invalid', detail: `booking ${payload.booking} does not own all of ${payload.slots.join(', ')}` };
    }
    const owned = states as SlotState[];
    const blockers = unique([
      ...owned.filter((s) => s.state === 'held').map((s) => s.owner),
      ...owned.filter((s) => s.cancelBy !== undefined && s.cancelBy !== txId).map((s) => s.cancelBy!),
    ]);
    if (blockers.length > 0) {
      return { ok: false, code: 'conflict', detail: `booking ${payload.booking} is busy with ${blockers.join(', ')}`, blockers, final: false };
    }
    for (const state of owned) state.cancelBy = txId;
    return { ok: true };
  }
}

/** The payload's slots, or why it is not a valid payload for this node. */
export function parsePayload(kind: TxKind, payload: unknown, slotKeys: ReadonlySet<string>): BookPayload | CancelPayload | string {
  if (typeof payload !== 'object' || payload === null) return 'payload is not an object';
  const { slots, booking } = payload as { slots?: unknown; booking?: unknown };
  if (!Array.isArray(slots) || slots.length === 0 || slots.length > SLOTS_PER_PAYLOAD_MAX) return 'slots must list 1 to 4 slot keys';
  if (!slots.every((slot) => typeof slot === 'string' && slotKeys.has(slot))) return 'unknown slot key';
  if (new Set(slots).size !== slots.length) return 'a slot is listed twice';
  if (kind === 'book') return { slots: slots as string[] };
  if (typeof booking !== 'string') return 'a cancel names its booking';
  return { slots: slots as string[], booking };
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

function describe(state: SlotState | undefined): string {
  if (!state) return 'which is free';
  return `which is ${state.state} by ${state.owner}${state.cancelBy ? ` (cancel ${state.cancelBy} pending)` : ''}`;
}
