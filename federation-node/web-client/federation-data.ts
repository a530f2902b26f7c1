// What the app shows, kept current: the members and telescopes (from the signed-in node),
// each telescope's slots for the chosen night (from its owner's availability API), the
// scientist's bookings, and every observatory's event stream applied as it arrives.
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, expand, type Booking, type Member, type Telescope } from './api';
import { slotKey, type CellState } from './grid';
import { COLUMN_MS, COLUMNS } from './night';

interface SlotAnswer { start: string; state: string; bookingId?: string }

export function useFederationNight(startMs: number) {
  const [members, setMembers] = useState<Member[]>([]);
  const [telescopes, setTelescopes] = useState<Telescope[]>([]);
  const [slots, setSlots] = useState(new Map<string, CellState>());
  const [bookings, setBookings] = useState<Booking[]>([]);
  const [live, setLive] = useState('connecting');
  const window = useRef(startMs);
  window.current = startMs;

  const loadBookings = () => call<{ bookings: Booking[] }>('/bookings?limit=100').then((r) => setBookings(r.bookings), () => undefined);
  const loadNight = async (forTelescopes: Telescope[]) => {
    const from = window.current;
    const query = { from: new Date(from).toISOString(), to: new Date(from + COLUMNS * COLUMN_MS).toISOString() };
    const answers = await Promise.all(forTelescopes.map((t) => call<{ slots: SlotAnswer[] }>(expand(t._links.availability.href, query)).then((a) => ({ t, a }), () => undefined)));
    setSlots((old) => {
      const next = new Map(old);
      for (const answer of answers) if (answer) for (const s of answer.a.slots) next.set(slotKey(answer.t.id, Date.parse(s.start)), cellOf(s));
      return next;
    });
  };

  useEffect(() => {
    Promise.all([call<{ observatories: Member[] }>('/observatories'), call<{ telescopes: Telescope[] }>('/telescopes?scope=federation')]).then(([o, t]) => {
      setMembers(o.observatories);
      setTelescopes(t.telescopes);
    });
    loadBookings();
  }, []);
  useEffect(() => {
    if (telescopes.length) loadNight(telescopes);
  }, [telescopes, startMs]);
  useEffect(() => {
    if (!members.length) return undefined;
    const sources = members.map((m) => {
      const source = new EventSource(`${m.url}/events`); // resumes with Last-Event-ID by itself after a drop
      source.addEventListener('open', () => setLive('live'));
      source.addEventListener('error', () => setLive('reconnecting'));
      source.addEventListener('slot', (e) => {
        const s = JSON.parse((e as MessageEvent).data) as SlotAnswer & { telescopeId: string };
        setSlots((old) => new Map(old).set(slotKey(s.telescopeId, Date.parse(s.start)), cellOf(s)));
      });
      source.addEventListener('booking', () => loadBookings());
      source.addEventListener('resync', () => loadNight(telescopes.filter((t) => t.observatoryId === m.id)));
      return source;
    });
    return () => sources.forEach((s) => s.close());
  }, [members, telescopes]);

  return { members, telescopes, slots, bookings, live, loadBookings };
}

function cellOf(s: SlotAnswer): CellState {
  return { state: s.state, ...(s.bookingId ? { bookingId: s.bookingId } : {}) };
}
