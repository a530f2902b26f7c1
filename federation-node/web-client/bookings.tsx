// Booking and its outcome (the fairness timestamp, each observatory's state, or the slot that
// was taken with free alternatives), and the scientist's bookings with cancel and calendar.
import type { Booking, Item, Link, Me, Problem } from './api';
import { utcText } from './night';

export type Outcome = { kind: 'confirmed'; booking: Booking } | { kind: 'refused'; problem: Problem; rejected?: Booking } | { kind: 'error'; detail: string };

export function SelectionPanel(props: { items: Item[]; withAlternatives: boolean; busy: boolean; onAlternatives: (on: boolean) => void; onBook: () => void; onClear: () => void }) {
  if (props.items.length === 0) return <p class="hint">Select free slots in the grid (several telescopes at the same hour, or a chain of hours), then book them in one atomic request.</p>;
  const sites = new Set(props.items.map((i) => i.observatoryId)).size;
  return (
    <div class="selection">
      <h3>Your selection: {props.items.length} item{props.items.length > 1 ? 's' : ''} at {sites} observator{sites > 1 ? 'ies' : 'y'}</h3>
      <ul>{props.items.map((i) => <li>{i.telescopeId}: {utcText(i.start)} – {utcText(i.end).slice(11)}</li>)}</ul>
      <label><input type="checkbox" checked={props.withAlternatives} onChange={(e) => props.onAlternatives((e.target as HTMLInputElement).checked)} /> If a slot is taken, accept another free telescope of the same observatory at that time, or the same telescope one slot earlier or later</label>
      <p>
        <button type="button" class="primary" disabled={props.busy} onClick={props.onBook}>{props.busy ? 'Booking…' : 'Book all atomically'}</button>{' '}
        <button type="button" onClick={props.onClear}>Clear</button>
      </p>
    </div>
  );
}

export function OutcomePanel(props: { outcome: Outcome | undefined; onBookSuggestion: (segment: number, item: Item) => void }) {
  const { outcome } = props;
  if (!outcome) return null;
  if (outcome.kind === 'error') return <div class="outcome refused" role="alert"><h3>Not booked</h3><p>{outcome.detail}</p></div>;
  if (outcome.kind === 'confirmed') {
    const b = outcome.booking;
    return (
      <div class="outcome confirmed" role="status" data-booking={b.id}>
        <h3>Confirmed: booking {b.id}</h3>
        <p>Fairness timestamp (the federation's clock when your request arrived): <b class="fairness">{b.requestedAt}</b></p>
        <PartStates booking={b} />
        <ul>{b.items.map((i) => <li>{i.telescopeId} ({i.observatoryId}): {utcText(i.start)} – {utcText(i.end).slice(11)}</li>)}</ul>
      </div>
    );
  }
  const { problem, rejected } = outcome;
  return (
    <div class="outcome refused" role="alert">
      <h3>Not booked: {problem.title}</h3>
      <p class="detail">{problem.detail}</p>
      {rejected && <p>Fairness timestamp of the request: <b class="fairness">{rejected.requestedAt}</b></p>}
      {rejected && <PartStates booking={rejected} />}
      {problem.takenSlots && problem.takenSlots.length > 0 && (
        <p>Taken: {problem.takenSlots.map((s) => <span class="taken">{s.telescopeId} {utcText(s.start)}</span>)}. Nothing is held anywhere.</p>
      )}
      {problem.suggestions && problem.suggestions.length > 0 && (
        <div class="suggestions">
          <h4>Free alternatives</h4>
          <ul>
            {problem.suggestions.map((s) => (
              <li><button type="button" class="suggestion" onClick={() => props.onBookSuggestion(s.segment, s)}>Book with {s.telescopeId} ({s.observatoryId}) {utcText(s.start)} – {utcText(s.end).slice(11)}</button></li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

function PartStates(props: { booking: Booking }) {
  return (
    <table class="parts">
      <caption>Each observatory's state</caption>
      <thead><tr><th scope="col">observatory</th><th scope="col">state</th></tr></thead>
      <tbody>{props.booking.observatories.map((o) => <tr><td>{o.observatoryId}</td><td class={`part ${o.state}`}>{o.state}</td></tr>)}</tbody>
    </table>
  );
}

export function MyBookings(props: { me: Me; bookings: Booking[]; onCancel: (link: Link, booking: Booking) => void; cancelling: string | undefined }) {
  const calendar = props.me._links.calendar?.href;
  return (
    <section aria-labelledby="mine-title">
      <h2 id="mine-title">{props.me.kind === 'operator' ? `Bookings coordinated by ${props.me.observatory}` : `My bookings made through ${props.me.observatory}`}</h2>
      {calendar && (
        <p>
          Calendar: <a class="calendar" href={calendar} download="bookings.ics">download (.ics)</a> · subscribe in a calendar app with this address:{' '}
          <input class="calendar-url" aria-label="iCalendar subscription address" readOnly value={calendar} size={40} />
        </p>
      )}
      {props.bookings.length === 0 ? <p>No bookings yet.</p> : (
        <ul class="bookings">
          {props.bookings.map((b) => {
            const cancel = b._links.cancel as Link | undefined;
            return (
              <li class={`booking ${b.status.toLowerCase()}`} data-booking={b.id}>
                <details>
                  <summary><b>{b.status}</b> {b.items.map((i) => `${i.telescopeId} ${utcText(i.start)}`).join(' → ')}</summary>
                  <p>Booking {b.id}, requested at {b.requestedAt}{props.me.kind === 'operator' ? ` by ${b.scientistId}` : ''}</p>
                  <PartStates booking={b} />
                </details>
                {cancel && (
                  <button type="button" class="cancel" disabled={props.cancelling === b.id} onClick={() => props.onCancel(cancel, b)} aria-label={`Cancel booking ${b.id}`}>
                    {props.cancelling === b.id ? 'Cancelling…' : 'Cancel'}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
