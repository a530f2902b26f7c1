// The web app's parts that node.ts assembles: the event hub with its configured limits, what
// a booking's state change publishes, and how the booking service reads any telescope's
// schedule when it suggests alternatives.
import type { AvailabilityReader } from '../bookings/alternatives.js';
import type { Config } from '../config/config.js';
import type { SlotTable } from '../domain/slot-table.js';
import { MINUTE_MS, canonicalInstant, isBookableHour } from '../domain/slots.js';
import type { Directory } from '../federation/directory.js';
import type { PeerClient } from '../federation/peer-client.js';
import type { BookingRecord } from '../storage/booking-repository.js';
import { EventHub } from './event-hub.js';

export function createEventHub(config: Config): EventHub {
  return new EventHub({
    connectionsMax: config.SSE_CONNECTIONS_MAX,
    clientQueueEventsMax: config.SSE_CLIENT_QUEUE_EVENTS_MAX,
    replayEventsMax: config.SSE_REPLAY_EVENTS_MAX,
    heartbeatMs: config.SSE_HEARTBEAT_MS,
  });
}

/** A `booking` event: its id, status and items (no scientist: the stream is public, like availability). */
export function publishBookingStatus(hub: EventHub, booking: BookingRecord): void {
  hub.publish('booking', { bookingId: booking.id, status: booking.status, items: booking.items.map(({ telescopeId, start, end }) => ({ telescopeId, start, end })) });
}

/** Own telescopes from the slot table; another observatory's from its public availability API. */
export function availabilityReader(directory: Directory, slots: SlotTable, peers: PeerClient, nowMs: () => number): AvailabilityReader {
  return async (telescope, fromMs, toMs) => {
    const states = new Map<number, string>();
    if (telescope.observatoryId === directory.selfId) {
      const slotMs = telescope.slotMinutes * MINUTE_MS;
      for (let at = fromMs - (fromMs % slotMs); at < toMs; at += slotMs) {
        if (!isBookableHour(telescope, new Date(at).getUTCHours())) continue;
        const claim = slots.claimAt(telescope.id, at);
        states.set(at, claim ? claim.state.toLowerCase() : at <= nowMs() ? 'past' : 'free');
      }
      return states;
    }
    const path = `/telescopes/${encodeURIComponent(telescope.id)}/availability?from=${canonicalInstant(fromMs)}&to=${canonicalInstant(toMs)}`;
    const answer = await peers.forward(telescope.observatoryId, 'GET', path);
    const body = answer.body as { slots?: Array<{ start: string; state: string }> };
    if (answer.status !== 200 || !Array.isArray(body?.slots)) throw new Error(`${telescope.observatoryId} answered ${answer.status}`);
    for (const slot of body.slots) states.set(Date.parse(slot.start), slot.state);
    return states;
  };
}
