// What the event stream says about slots and bookings: slot changes once they are durable
// (the journal of the SlotTable, written with the protocol record that caused it), and
// booking state changes from the booking service.
import type { ClaimChange } from '../domain/slot-table.js';
import { MINUTE_MS, canonicalInstant, type Telescope } from '../domain/slots.js';
import type { EventHub } from './event-hub.js';

const STATE_OF = { HELD: 'held', BOOKED: 'booked', RELEASING: 'releasing' } as const;

/** Publishes each changed slot as `slot` event: held, booked, releasing, or free (released). */
export function publishClaimChanges(hub: EventHub, telescopes: Map<string, Telescope>, changes: ClaimChange[]): void {
  for (const change of changes) {
    if (change.op === 'delete') {
      const slotMs = (telescopes.get(change.telescopeId)?.slotMinutes ?? 60) * MINUTE_MS;
      hub.publish('slot', { telescopeId: change.telescopeId, start: canonicalInstant(change.startMs), end: canonicalInstant(change.startMs + slotMs), state: 'free' });
    } else {
      const { claim } = change;
      hub.publish('slot', { telescopeId: claim.telescopeId, start: canonicalInstant(claim.startMs), end: canonicalInstant(claim.endMs), state: STATE_OF[claim.state], bookingId: claim.bookingId });
    }
  }
}
