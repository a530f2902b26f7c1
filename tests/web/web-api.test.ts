// The web app's API, over real HTTP between real node processes: booking alternatives (the
// first wholly free combination wins, atomically, with the request's one fairness timestamp;
// a 409 names the taken slot and suggests free ones), the event stream resumed with
// Last-Event-ID losing nothing, the iCalendar feed, `/` by content negotiation, next/prev links.
import http from 'node:http';
import { expect } from 'chai';
import type { AxiosInstance } from 'axios';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient, httpClient } from '../support/http-client.js';
import { at, item } from '../support/slots.js';

const DAY = 40; // a day no other test of this file's federation books

describe('web app API: alternatives, events, calendar', function () {
  this.timeout(120_000);
  let federation: LocalFederation;
  let api: AxiosInstance;

  before(async () => {
    federation = await LocalFederation.start({ observatories: ['atacama', 'mauna-kea'] });
    api = federationClient(federation, 'atacama');
  });
  after(async () => federation?.stop());

  it('books the first wholly free combination of alternatives, atomically, with the fairness timestamp of the request', async () => {
    const taken = await api.post('/bookings', { scientistId: 'carl-sagan', items: [item('atacama-ut1', DAY, 2)] });
    expect(taken.status).to.equal(201);
    const request = {
      scientistId: 'vera-rubin',
      items: [
        { ...item('atacama-ut1', DAY, 2), alternatives: [item('atacama-ut2', DAY, 2), item('atacama-ut1', DAY, 3)] },
        item('mauna-kea-keck1', DAY, 6),
      ],
    };
    const booked = await api.post('/bookings', request, { headers: { 'Idempotency-Key': 'alternatives-1' } });
    expect(booked.status, JSON.stringify(booked.data)).to.equal(201);
    expect(booked.data.items.map((i: { telescopeId: string }) => i.telescopeId)).to.deep.equal(['atacama-ut2', 'mauna-kea-keck1']);
    const rejected = (await api.get('/bookings', { params: { scientist: 'vera-rubin', status: 'REJECTED' } })).data.bookings;
    const firstTry = rejected.find((b: { items: Array<{ telescopeId: string; start: string }> }) => b.items[0]!.telescopeId === 'atacama-ut1' && b.items[0]!.start === at(DAY, 2));
    expect(firstTry, 'the first try is kept as REJECTED').to.not.equal(undefined);
    expect(booked.data.requestedAt, 'every try carries the request\'s one fairness timestamp').to.equal(firstTry.requestedAt);
    const slotOf = async (telescope: string, hour: number) => (await api.get(`/telescopes/${telescope}/availability`, { params: { from: at(DAY, hour), to: at(DAY, hour + 1) } })).data.slots[0].state;
    expect(await slotOf('atacama-ut1', 3), 'a later alternative is not held').to.equal('free');
    const replay = await api.post('/bookings', request, { headers: { 'Idempotency-Key': 'alternatives-1' } });
    expect(replay.status).to.equal(201);
    expect(replay.headers['idempotent-replayed']).to.equal('true');
    expect(replay.data.id, 'a retry with the same key answers the booking that was made').to.equal(booked.data.id);
  });

  it('answers 409 naming the taken slot, with free suggestions, and holds nothing when no combination is free', async () => {
    expect((await api.post('/bookings', { scientistId: 'carl-sagan', items: [item('mauna-kea-keck1', DAY, 8)] })).status).to.equal(201);
    const refused = await api.post('/bookings', {
      scientistId: 'vera-rubin',
      items: [{ ...item('atacama-ut1', DAY, 8), alternatives: [item('atacama-ut2', DAY, 8)] }, item('mauna-kea-keck1', DAY, 8)],
    });
    expect(refused.status).to.equal(409);
    expect(refused.data.type).to.contain('slot-taken');
    expect(refused.data.detail).to.contain(`mauna-kea-keck1 ${at(DAY, 8)}`);
    expect(refused.data.takenSlots).to.deep.include({ segment: 1, telescopeId: 'mauna-kea-keck1', observatoryId: 'mauna-kea', start: at(DAY, 8), end: at(DAY, 9) });
    const suggestions = refused.data.suggestions as Array<{ segment: number; telescopeId: string; start: string }>;
    expect(suggestions.length).to.be.greaterThan(0);
    expect(suggestions[0], 'the nearest free time on the same telescope comes first').to.deep.include({ segment: 1, telescopeId: 'mauna-kea-keck1' });
    expect([at(DAY, 7), at(DAY, 9)]).to.include(suggestions[0]!.start);
    const atacama = await api.get('/telescopes/atacama-ut1/availability', { params: { from: at(DAY, 8), to: at(DAY, 9) } });
    expect(atacama.data.slots[0].state, 'all or nothing: the free segment is not held').to.equal('free');
    const plain = await api.post('/bookings', { scientistId: 'vera-rubin', items: [item('mauna-kea-keck1', DAY, 8)], suggestAlternatives: true });
    expect(plain.status).to.equal(409);
    expect(plain.data.suggestions.length, 'a request without alternatives gets suggestions when it asks').to.be.greaterThan(0);
    const withSuggestion = await api.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', DAY, 8), { telescopeId: suggestions[0]!.telescopeId, start: suggestions[0]!.start, end: new Date(Date.parse(suggestions[0]!.start) + 3_600_000).toISOString() }] });
    expect(withSuggestion.status, 'the suggestion is bookable').to.equal(201);
  });

  it('refuses more alternatives per item than BOOKING_ALTERNATIVES_PER_ITEM_MAX with a 422 naming the limit', async () => {
    const alternatives = [1, 2, 3, 4, 5, 6].map((h) => item('atacama-ut2', DAY, h));
    const answer = await api.post('/bookings', { scientistId: 'vera-rubin', items: [{ ...item('atacama-ut1', DAY, 1), alternatives }] });
    expect(answer.status).to.equal(422);
    expect(answer.data.detail).to.contain('BOOKING_ALTERNATIVES_PER_ITEM_MAX');
  });

  it('streams slot and booking events, and a client resuming with Last-Event-ID misses none', async () => {
    const stream = await openEvents(federation.url('mauna-kea'));
    const first = await api.post('/bookings', { scientistId: 'vera-rubin', items: [item('mauna-kea-subaru', DAY, 10)] });
    expect(first.status).to.equal(201);
    // A 201 comes once the decision is durable at the coordinator; the participants confirm after
    // it, so a slot of an earlier test may still turn booked here: wait for this booking's slot.
    const bookedAt = (hour: number) => (e: StreamEvent) => e.type === 'slot' && e.data.telescopeId === 'mauna-kea-subaru' && e.data.start === at(DAY, hour) && e.data.state === 'booked';
    const seen = await stream.until((events) => events.some(bookedAt(10)));
    stream.close();
    const lastId = seen[seen.length - 1]!.id;
    const second = await api.post('/bookings', { scientistId: 'vera-rubin', items: [item('mauna-kea-subaru', DAY, 11)] });
    expect(second.status).to.equal(201);
    const resumed = await openEvents(federation.url('mauna-kea'), lastId);
    const missed = await resumed.until((events) => events.some(bookedAt(11)));
    resumed.close();
    const states = missed.filter((e) => e.type === 'slot' && e.data.telescopeId === 'mauna-kea-subaru').map((e) => `${e.data.start} ${e.data.state}`);
    expect(states, `first stream: ${JSON.stringify(seen)}; resumed: ${JSON.stringify(missed)}`).to.deep.equal([`${at(DAY, 11)} held`, `${at(DAY, 11)} booked`]);
    const seqs = [...seen, ...missed].map((e) => Number(e.id.split('.')[1]));
    expect(seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1), `event ids follow each other: ${seqs}`).to.equal(true);
    const atacama = await openEvents(federation.url('atacama'));
    const cancelled = await api.delete(`/bookings/${first.data.id}`);
    expect(cancelled.status).to.equal(200);
    const bookingEvents = await atacama.until((events) => events.some((e) => e.type === 'booking' && e.data.status === 'CANCELLED'));
    atacama.close();
    expect(bookingEvents.find((e) => e.type === 'booking')!.data).to.deep.include({ bookingId: first.data.id, status: 'CANCELLED' });
  });

  it('names who a token is (/me), serves the calendar with the token or at its keyed address only, and the clock page names its observatory', async () => {
    const url = federation.url('atacama');
    const scientist = await httpClient(url, federation.tokens.scientists['vera-rubin']).get('/me');
    expect(scientist.data).to.deep.include({ kind: 'scientist', scientistId: 'vera-rubin', observatory: 'atacama' });
    const operator = await httpClient(url, federation.tokens.operators.atacama).get('/me');
    expect(operator.data).to.deep.include({ kind: 'operator', observatoryId: 'atacama' });
    expect((await httpClient(url).get('/me')).status).to.equal(401);
    const withToken = await httpClient(url, federation.tokens.scientists['vera-rubin']).get('/bookings.ics');
    expect(withToken.headers['content-type']).to.contain('text/calendar');
    expect(withToken.data).to.match(/^BEGIN:VCALENDAR\r\n/).and.contain('STATUS:CONFIRMED');
    const feed = new URL(scientist.data._links.calendar.href);
    const keyed = await httpClient(url).get(feed.pathname + feed.search);
    expect(keyed.status).to.equal(200);
    const withoutStamps = (text: string) => text.replace(/DTSTAMP:\w+\r\n/g, '');
    expect(withoutStamps(keyed.data), 'the keyed address serves the same calendar').to.equal(withoutStamps(withToken.data));
    const wrongKey = await httpClient(url).get(`${feed.pathname}?key=${'A'.repeat(43)}`);
    expect(wrongKey.status).to.equal(404);
    const otherScientist = await httpClient(url).get(`/calendars/carl-sagan.ics${feed.search}`);
    expect(otherScientist.status, 'one scientist\'s key does not open another\'s calendar').to.equal(404);
    const clock = await httpClient(url).get('/clock');
    expect(clock.data).to.not.contain('{{observatory}}');
    expect(clock.data).to.contain('Atacama Southern Observatory');
  });

  it('serves the app to a browser at / and the JSON index to API clients; lists carry next/prev links', async () => {
    const client = httpClient(federation.url('atacama'));
    const page = await client.get('/', { headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(page.headers['content-type']).to.contain('text/html');
    expect(page.data).to.contain('/app/app.js');
    const index = await client.get('/', { headers: { Accept: 'application/json' } });
    expect(index.data._links.bookings.href).to.equal(`${federation.url('atacama')}/bookings`);
    expect((await client.get('/')).data._links, 'no Accept header: JSON').to.be.an('object');
    const firstPage = await api.get('/bookings', { params: { scientist: 'vera-rubin', limit: 2 } });
    expect(firstPage.data._links.next.href).to.contain('offset=2');
    expect(firstPage.data._links.prev).to.equal(undefined);
    const secondPage = await api.get(new URL(firstPage.data._links.next.href).pathname + new URL(firstPage.data._links.next.href).search);
    expect(secondPage.data._links.prev.href).to.contain('offset=0');
  });
});

interface StreamEvent { id: string; type: string; data: Record<string, unknown> }

/** A raw SSE client: parses frames as they arrive. */
async function openEvents(base: string, lastEventId?: string): Promise<{ until: (done: (events: StreamEvent[]) => boolean) => Promise<StreamEvent[]>; close: () => void }> {
  const events: StreamEvent[] = [];
  let wake = () => {};
  const request = http.get(`${base}/events`, { headers: { Accept: 'text/event-stream', ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) } });
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => request.on('response', resolve).on('error', reject));
  expect(response.headers['content-type']).to.contain('text/event-stream');
  let buffer = '';
  response.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(frame)?.[1];
      if (field('id') && field('data')) events.push({ id: field('id')!, type: field('event') ?? 'message', data: JSON.parse(field('data')!) });
    }
    wake();
  });
  response.on('error', () => {});
  return {
    close: () => request.destroy(),
    until: (done) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`events seen: ${JSON.stringify(events)}`)), 20_000);
      wake = () => {
        if (done(events)) {
          clearTimeout(timer);
          resolve([...events]);
        }
      };
      wake();
    }),
  };
}
