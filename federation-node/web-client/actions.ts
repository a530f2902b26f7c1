// Booking and cancelling from the app: one POST /bookings with an Idempotency-Key (optionally
// with alternatives from what the grid shows free), the outcome with the fairness timestamp,
// and cancel by the `_links` the API returned.
import { useState } from 'preact/hooks';
import { ApiError, call, type Booking, type Item, type Link, type Me, type Telescope } from './api';
import type { Outcome } from './bookings';
import type { CellState } from './grid';
import { alternativesFor } from './selection';

export interface BookingContext {
  me: Me;
  telescopes: Telescope[];
  slots: Map<string, CellState>;
  withAlternatives: boolean;
  onBooked: () => void;
  reload: () => void;
}

export function useBookingActions(context: BookingContext) {
  const [outcome, setOutcome] = useState<Outcome | undefined>();
  const [busy, setBusy] = useState(false);
  const [cancelling, setCancelling] = useState<string | undefined>();

  const confirmed = (booking: Booking) => {
    setOutcome({ kind: 'confirmed', booking });
    context.onBooked();
    // 201 comes once the decision is durable; the observatories' acknowledgements follow.
    const self = booking._links.self as Link;
    for (const delayMs of [1_500, 5_000]) {
      setTimeout(() => call<Booking>(self.href).then((fresh) => setOutcome((o) => (o?.kind === 'confirmed' && o.booking.id === fresh.id ? { kind: 'confirmed', booking: fresh } : o)), () => undefined), delayMs);
    }
  };
  const refused = async (error: unknown) => {
    if (!(error instanceof ApiError)) return setOutcome({ kind: 'error', detail: String(error) });
    const rejected = error.problem.bookingId ? await call<Booking>(`/bookings/${encodeURIComponent(error.problem.bookingId)}`).catch(() => undefined) : undefined;
    setOutcome({ kind: 'refused', problem: error.problem, ...(rejected ? { rejected } : {}) });
  };
  const book = async (chosen: Item[]) => {
    setBusy(true);
    const items = chosen.map((i) => ({ telescopeId: i.telescopeId, start: i.start, end: i.end, ...(context.withAlternatives ? { alternatives: alternativesFor(i, context.telescopes, context.slots) } : {}) }));
    try {
      confirmed(await call<Booking>('/bookings', { method: 'POST', json: { scientistId: context.me.scientistId, items, suggestAlternatives: true }, headers: { 'Idempotency-Key': crypto.randomUUID() } }));
    } catch (error) {
      await refused(error);
    } finally {
      setBusy(false);
      context.reload();
    }
  };
  const cancel = async (link: Link, booking: Booking) => {
    setCancelling(booking.id);
    try {
      await call<Booking>(link.href, { method: link.method ?? 'DELETE' });
    } catch (error) {
      setOutcome({ kind: 'error', detail: error instanceof ApiError ? error.problem.detail : String(error) });
    } finally {
      setCancelling(undefined);
      context.reload();
    }
  };
  return { outcome, busy, cancelling, book, cancel };
}
