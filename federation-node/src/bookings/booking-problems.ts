// The answers a scientist gets when a booking or a cancellation is not made: one problem type
// per kind of abort reason, and the stored problem of a rejected booking replayed by its
// Idempotency-Key.
import type { AbortReason } from '../../../coordinator-2pc/src/index.js';
import { HttpProblem } from '../http/problem.js';

/** The most useful answer for an aborted transaction: a conflict beats an invalid item beats an outage. */
export function problemForAbort(reasons: AbortReason[], what: 'booking' | 'cancellation', bookingId: string): HttpProblem {
  const conflicts = reasons.filter((r) => r.code === 'conflict');
  if (conflicts.length > 0) {
    return new HttpProblem(what === 'booking' ? 'slot-taken' : 'booking-state-conflict', conflicts.map((r) => `${r.node ?? '?'}: ${r.detail}`).join('; '), { bookingId, conflicts });
  }
  const invalid = reasons.filter((r) => r.code === 'invalid');
  if (invalid.length > 0) {
    return new HttpProblem(what === 'booking' ? 'unprocessable-booking' : 'booking-state-conflict', invalid.map((r) => `${r.node ?? '?'}: ${r.detail}`).join('; '), { bookingId });
  }
  const down = [...new Set(reasons.filter((r) => r.node).map((r) => r.node!))];
  const detail = `the ${what} was not made: ${reasons.map((r) => r.detail).join('; ') || 'the transaction aborted'}`;
  return new HttpProblem('observatory-unavailable', detail, { bookingId, unavailableObservatories: down }, { 'Retry-After': '5' });
}

export function problemOf(stored: unknown): HttpProblem {
  const s = (stored ?? {}) as { problem?: string; detail?: string; conflicts?: unknown };
  const type = (s.problem ?? 'slot-taken') as ConstructorParameters<typeof HttpProblem>[0];
  return new HttpProblem(type, s.detail ?? 'the booking was rejected', s.conflicts ? { conflicts: s.conflicts } : {});
}

export function reusedKey(key: string): HttpProblem {
  return new HttpProblem('idempotency-key-reused', `Idempotency-Key ${key} was already used with a different request body`);
}
