// The scientists' web app: sign in with an API token (kept for this browser session only),
// the federation's night read from every observatory's availability API and kept live by
// their event streams, atomic bookings across observatories, my bookings, the clock.
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { useBookingActions } from './actions';
import { ApiError, call, session, type Item, type Me, type Telescope } from './api';
import { MyBookings, OutcomePanel, SelectionPanel } from './bookings';
import { synchronise, type ClockEstimate } from './clock';
import { useFederationNight } from './federation-data';
import { NightGrid, slotKey } from './grid';
import { tomorrowUtc, windowStart } from './night';
import { selectionItems } from './selection';

function App() {
  const [me, setMe] = useState<Me | undefined>();
  const [signInError, setSignInError] = useState<string | undefined>();
  useEffect(() => {
    if (session.token) call<Me>('/me').then(setMe, () => (session.token = null));
  }, []);
  const signIn = async (token: string) => {
    session.token = token.trim();
    try {
      setMe(await call<Me>('/me'));
      setSignInError(undefined);
    } catch (error) {
      session.token = null;
      setSignInError(error instanceof ApiError ? error.problem.detail : String(error));
    }
  };
  const signOut = () => {
    session.token = null;
    setMe(undefined);
  };
  return (
    <>
      <header class="top">
        <h1>Observatory Federation</h1>
        <Clock />
        {me && <p class="who">Signed in as <b>{me.scientistId ?? `operator of ${me.observatoryId}`}</b> at {me.observatory} <button type="button" onClick={signOut}>Sign out</button></p>}
        <nav><a href="/docs">API reference</a></nav>
      </header>
      <main>{me ? <Federation me={me} /> : <SignIn onSignIn={signIn} error={signInError} />}</main>
    </>
  );
}

function SignIn(props: { onSignIn: (token: string) => void; error: string | undefined }) {
  const [token, setToken] = useState('');
  return (
    <form class="sign-in" onSubmit={(e) => { e.preventDefault(); props.onSignIn(token); }}>
      <h2>Sign in</h2>
      <p>Your API token from your observatory (scientists and operators). It is kept for this browser session only.</p>
      <label for="token">API token</label>
      <input id="token" name="token" type="password" autocomplete="off" required value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
      <button type="submit" class="primary">Sign in</button>
      {props.error && <p class="error" role="alert">{props.error}</p>}
    </form>
  );
}

function Clock() {
  const [estimate, setEstimate] = useState<ClockEstimate | undefined>();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    synchronise().then(setEstimate, () => undefined);
    const tick = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(tick);
  }, []);
  if (!estimate) return <p class="clock">Synchronising with the federation clock…</p>;
  const node = estimate.node;
  return (
    <p class="clock" aria-live="off">
      Federation time <b class="federation-time">{new Date(now + estimate.offsetMs).toISOString().slice(0, 19).replace('T', ' ')} UTC</b>{' '}
      <span class="offset">offset {estimate.offsetMs.toFixed(1)} ms ± {estimate.errorBoundMs.toFixed(1)} ms</span>{' '}
      <small>(Cristian's algorithm; {node.isReference ? 'this node is the time reference' : `node ${node.offsetMs} ms ± ${node.errorBoundMs} ms from ${node.reference}`})</small>{' '}
      <button type="button" onClick={() => synchronise().then(setEstimate)}>Synchronise</button>
    </p>
  );
}

function Federation(props: { me: Me }) {
  const { me } = props;
  const [date, setDate] = useState(tomorrowUtc(Date.now()));
  const startMs = windowStart(date);
  const { members, telescopes, slots, bookings, live, loadBookings } = useFederationNight(startMs);
  const [selected, setSelected] = useState(new Map<string, Item>());
  const [withAlternatives, setWithAlternatives] = useState(false);
  const mine = useMemo(() => new Set(bookings.filter((b) => b.status === 'CONFIRMED' && b.scientistId === me.scientistId).map((b) => b.id)), [bookings]);
  const items = selectionItems(selected, telescopes);
  const toggle = (telescope: Telescope, at: number) => {
    const key = slotKey(telescope.id, at);
    setSelected((old) => {
      const next = new Map(old);
      if (next.has(key)) next.delete(key);
      else next.set(key, { telescopeId: telescope.id, observatoryId: telescope.observatoryId, start: new Date(at).toISOString(), end: new Date(at + telescope.slotMinutes * 60_000).toISOString() });
      return next;
    });
  };
  const { outcome, busy, cancelling, book, cancel } = useBookingActions({ me, telescopes, slots, withAlternatives, onBooked: () => setSelected(new Map()), reload: loadBookings });
  const bookSuggestion = (segment: number, suggestion: Item) => book(items.map((item, index) => (index === segment ? suggestion : item)));

  return (
    <>
      <section aria-labelledby="night-title">
        <h2 id="night-title">The federation's night</h2>
        <div class="controls">
          <label for="night-date">Night starting (UTC date)</label>
          <input id="night-date" type="date" value={date} onChange={(e) => setDate((e.target as HTMLInputElement).value)} />
          <span class={`live ${live}`} role="status">Updates: {live}</span>
        </div>
        <Legend />
        <NightGrid members={members} telescopes={telescopes} windowStartMs={startMs} slots={slots} mine={mine} selected={new Set(selected.keys())} canBook={me.kind === 'scientist'} onToggle={toggle} />
      </section>
      {me.kind === 'scientist' && (
        <section aria-labelledby="book-title" class="book">
          <h2 id="book-title">Book</h2>
          <SelectionPanel items={items} withAlternatives={withAlternatives} busy={busy} onAlternatives={setWithAlternatives} onBook={() => book(items)} onClear={() => setSelected(new Map())} />
          <OutcomePanel outcome={outcome} onBookSuggestion={bookSuggestion} />
        </section>
      )}
      {me.kind === 'operator' && <p>Operator view: the grid is read-only; unfinished transactions are at <a href="/admin/transactions">/admin/transactions</a> (send your token; docs/OPERATIONS.md).</p>}
      <MyBookings me={me} bookings={bookings} onCancel={cancel} cancelling={cancelling} />
    </>
  );
}

function Legend() {
  return (
    <ul class="legend" aria-label="Legend">
      <li><span class="cell free" /> free</li><li><span class="cell held">H</span> held (a booking in progress)</li><li><span class="cell booked">B</span> booked</li>
      <li><span class="cell mine">★</span> mine</li><li><span class="cell selected" /> selected</li><li><span class="swatch dark" /> astronomical night</li><li><span class="swatch closed" /> not bookable</li>
    </ul>
  );
}

render(<App />, document.getElementById('app')!);
