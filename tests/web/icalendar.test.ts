// The iCalendar writer against RFC 5545's rules, read back by ical.js: CRLF, lines of at most
// 75 octets without splitting a UTF-8 character, escaped TEXT, UTC times.
import { expect } from 'chai';
import ICAL from 'ical.js';
import { bookingsCalendar, escapeText, fold } from '../../federation-node/src/web/icalendar.js';
import type { BookingRecord } from '../../federation-node/src/storage/booking-repository.js';

const booking = (id: string, status: BookingRecord['status']): BookingRecord => ({
  id, scientistId: 'vera-rubin', status, createdAt: '2026-12-01T00:00:00.000Z', updatedAt: '2026-12-01T00:00:00.000Z', timestampMs: 0,
  items: [{ telescopeId: 'la-palma-gtc', observatoryId: 'la-palma', start: '2026-12-05T04:00:00.000Z', end: '2026-12-05T05:00:00.000Z' }],
  reason: null, idempotencyKey: null, requestHash: 'x', cancelTxId: null,
});

describe('iCalendar writer', () => {
  it('folds long lines at 75 octets without splitting a multi-byte character, and ical.js reads them back whole', () => {
    const long = `SUMMARY:${'Observación en el Roque de los Muchachos — ñandú 望遠鏡 '.repeat(4)}`;
    const folded = fold(long);
    for (const line of folded.split('\r\n')) expect(Buffer.byteLength(line)).to.be.at.most(75);
    expect(folded.split('\r\n').slice(1).every((line) => line.startsWith(' '))).to.equal(true);
    expect(folded.replace(/\r\n /g, '')).to.equal(long);
  });

  it('escapes TEXT values and writes a calendar that a parser reads: one event per item, UTC times, status, CRLF only', () => {
    expect(escapeText('a;b,c\\d\ne')).to.equal('a\\;b\\,c\\\\d\\ne');
    const text = bookingsCalendar([booking('atacama.a1', 'CONFIRMED'), booking('atacama.a2', 'CANCELLED'), booking('atacama.a3', 'REJECTED')], {
      scientistId: 'vera-rubin', observatoryName: 'Atacama; "South", Chile', telescopeName: () => 'Gran Telescopio Canarias, GTC', bookingUrl: (id) => `http://127.0.0.1:7101/bookings/${id}`, nowMs: Date.parse('2026-12-01T12:00:00Z'),
    });
    expect(text.replace(/\r\n/g, '')).to.not.contain('\n');
    const calendar = new ICAL.Component(ICAL.parse(text));
    expect(text).to.contain('X-WR-CALNAME:Telescope bookings of vera-rubin (Atacama\\; "South"\\, Chile)\r\n');
    const events = calendar.getAllSubcomponents('vevent').map((e) => new ICAL.Event(e));
    expect(events.map((e) => e.uid)).to.deep.equal(['atacama.a1-0@observatory-federation', 'atacama.a2-0@observatory-federation']);
    expect(events[0]!.summary).to.equal('Gran Telescopio Canarias, GTC (la-palma)');
    expect(events[0]!.startDate.toJSDate().toISOString()).to.equal('2026-12-05T04:00:00.000Z');
    expect(events.map((e) => e.component.getFirstPropertyValue('status'))).to.deep.equal(['CONFIRMED', 'CANCELLED']);
  });
});
