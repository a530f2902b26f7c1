// An RFC 5545 calendar of a scientist's bookings: one VEVENT per booked telescope slot range.
// A small writer is enough for this one component; the rules that matter are kept here:
// CRLF line ends (3.1), lines folded at 75 octets without splitting a UTF-8 character (3.1),
// TEXT values escaped (3.3.11), UTC date-times (3.3.5), a stable UID per event (3.8.4.7).
import type { BookingRecord } from '../storage/booking-repository.js';

export interface CalendarContext {
  scientistId: string;
  observatoryName: string;
  telescopeName: (telescopeId: string) => string;
  bookingUrl: (bookingId: string) => string;
  nowMs: number;
}

const LINE_OCTETS_MAX = 75;

export function bookingsCalendar(bookings: BookingRecord[], context: CalendarContext): string {
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Observatory Federation//Bookings//EN',
    'CALSCALE:GREGORIAN',
    `X-WR-CALNAME:${escapeText(`Telescope bookings of ${context.scientistId} (${context.observatoryName})`)}`,
  ];
  for (const booking of bookings) {
    if (booking.status !== 'CONFIRMED' && booking.status !== 'CANCELLED') continue;
    booking.items.forEach((item, index) => {
      lines.push(
        'BEGIN:VEVENT',
        `UID:${booking.id}-${index}@observatory-federation`,
        `DTSTAMP:${utc(context.nowMs)}`,
        `DTSTART:${utc(Date.parse(item.start))}`,
        `DTEND:${utc(Date.parse(item.end))}`,
        `SUMMARY:${escapeText(`${context.telescopeName(item.telescopeId)} (${item.observatoryId})`)}`,
        `DESCRIPTION:${escapeText(`Booking ${booking.id}, item ${index + 1} of ${booking.items.length}; telescope ${item.telescopeId}; ${booking.status === 'CONFIRMED' ? 'confirmed' : 'cancelled'} by the federation.`)}`,
        `LOCATION:${escapeText(item.observatoryId)}`,
        `STATUS:${booking.status === 'CONFIRMED' ? 'CONFIRMED' : 'CANCELLED'}`,
        `URL:${context.bookingUrl(booking.id)}`,
        'END:VEVENT',
      );
    });
  }
  lines.push('END:VCALENDAR');
  return lines.map(fold).join('\r\n') + '\r\n';
}

/** TEXT escaping: backslash, semicolon, comma and newlines. */
export function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
}

/** Folds a content line into pieces of at most 75 octets, continuation lines starting with a space. */
export function fold(line: string): string {
  const pieces: string[] = [];
  let current = '';
  let octets = 0;
  for (const char of line) {
    const size = Buffer.byteLength(char);
    const limit = pieces.length === 0 ? LINE_OCTETS_MAX : LINE_OCTETS_MAX - 1; // the leading space counts
    if (octets + size > limit) {
      pieces.push(current);
      current = '';
      octets = 0;
    }
    current += char;
    octets += size;
  }
  pieces.push(current);
  return pieces.join('\r\n ');
}

function utc(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}
