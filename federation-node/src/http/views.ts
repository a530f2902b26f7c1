// What the public API shows: resources with their HATEOAS links (HAL-style `_links`).
import type { CoordinatorTxView } from '../../../coordinator-2pc/src/index.js';
import type { BookingView } from '../bookings/booking-schemas.js';
import type { Telescope } from '../domain/slots.js';
import type { Directory } from '../federation/directory.js';
import type { BookingRecord } from '../storage/booking-repository.js';

export function telescopeView(t: Telescope, directory: Directory) {
  const owner = directory.members.get(t.observatoryId)!;
  return {
    id: t.id,
    observatoryId: t.observatoryId,
    name: t.name,
    apertureM: t.apertureM,
    instrument: t.instrument,
    slotMinutes: t.slotMinutes,
    bookableHoursUtc: { from: t.bookableFromHourUtc, to: t.bookableToHourUtc },
    _links: {
      self: { href: `${owner.url}/telescopes/${t.id}` },
      availability: { href: `${owner.url}/telescopes/${t.id}/availability{?from,to}`, templated: true },
      observatory: { href: `${owner.url}/observatories/${t.observatoryId}` },
      book: { href: `${directory.self.url}/bookings`, method: 'POST' },
    },
  };
}

export function bookingView(b: BookingRecord, directory: Directory, inProgress: CoordinatorTxView | undefined): BookingView {
  const base = directory.self.url;
  const coordinator = b.id.split('.')[0]!;
  const links: BookingView['_links'] = {
    self: { href: `${directory.members.get(coordinator)?.url ?? base}/bookings/${b.id}` },
    scientistBookings: { href: `${base}/bookings?scientist=${encodeURIComponent(b.scientistId)}` },
    telescopes: [...new Set(b.items.map((i) => i.telescopeId))].map((id) => {
      const owner = directory.members.get(directory.telescopes.get(id)?.observatoryId ?? '')?.url ?? base;
      return { href: `${owner}/telescopes/${id}` };
    }),
  };
  if (b.status === 'CONFIRMED') links.cancel = { href: `${base}/bookings/${b.id}`, method: 'DELETE' };
  const observatories = [...new Set(b.items.map((i) => i.observatoryId))];
  return {
    id: b.id,
    status: b.status,
    scientistId: b.scientistId,
    coordinator,
    createdAt: b.createdAt,
    updatedAt: b.updatedAt,
    requestedAt: new Date(b.timestampMs).toISOString(),
    items: b.items,
    observatories: observatories.map((observatoryId) => ({ observatoryId, state: partState(b, observatoryId, inProgress) })),
    ...(b.reason ? { reason: b.reason } : {}),
    _links: links,
  };
}

/**
 * Each observatory's part, from the coordinator's knowledge of who acknowledged what.
 * `tx` is the coordinator's live view of the transaction that set the status (the booking's
 * own, or its cancellation), when it is still unfinished.
 */
function partState(b: BookingRecord, observatoryId: string, tx: CoordinatorTxView | undefined): BookingView['observatories'][number]['state'] {
  const unacknowledged = tx !== undefined && tx.phase !== 'collecting' && tx.waitingFor.includes(observatoryId);
  if (b.status === 'PENDING') return 'preparing';
  if (b.status === 'CONFIRMED') return unacknowledged ? 'confirming' : 'confirmed';
  return unacknowledged ? 'releasing' : 'released';
}
