// Booking and cancelling, as the coordinator of the request: check what can be checked
// here, split the items by observatory, run the transaction through the protocol engine,
// and turn its outcome into the answer for the scientist. Transport-neutral: the HTTP
// routes are a thin adapter over it.
import { createHash, randomBytes } from 'node:crypto';
import type { AbortReason, ProtocolEngine, TransactionResult } from '../../../coordinator-2pc/src/index.js';
import { withLogContext, type AppLogger, type AuditLogger } from '../logging/logger.js';
import type { BookingLimits, BookingItem } from '../domain/slots.js';
import { bookingProblem, canonicalInstant, itemProblem } from '../domain/slots.js';
import type { Directory } from '../federation/directory.js';
import { HttpProblem } from '../http/problem.js';
import type { BookingRecord, BookingRepository } from '../storage/booking-repository.js';
import type { CreateBookingRequest } from './booking-schemas.js';

export interface BookingServiceDeps {
  directory: Directory;
  engine: ProtocolEngine;
  bookings: BookingRepository;
  scientists: Set<string>;
  nowMs: () => number;
  limits: BookingLimits;
  prepareTimeoutMs: number;
  log: AppLogger;
  audit: AuditLogger;
}

export interface BookingOutcome {
  booking: BookingRecord;
  replayed: boolean;
}

/** Reasons that may pass: a retry with the same Idempotency-Key tries again instead of replaying. */
/** A participant over a per-peer bound (`refused`, docs/PROTOCOL.md §14) may accept the same request later. */
const TRANSIENT: ReadonlyArray<AbortReason['code']> = ['unreachable', 'timeout', 'expired', 'refused'];

export class BookingService {
  private readonly inFlight = new Map<string, { hash: string; done: Promise<BookingOutcome> }>();
  private readonly cancelling = new Set<string>();

  constructor(private readonly deps: BookingServiceDeps) {}

  async create(request: CreateBookingRequest, idempotencyKey?: string): Promise<BookingOutcome> {
    const hash = requestHash(request);
    if (!idempotencyKey) return { booking: await this.book(request, hash, null), replayed: false };
    const slot = `${request.scientistId}/${idempotencyKey}`;
    const running = this.inFlight.get(slot);
    if (running) {
      if (running.hash !== hash) throw reusedKey(idempotencyKey);
      return { ...(await running.done), replayed: true };
    }
    const done = this.createOnce(request, hash, idempotencyKey);
    this.inFlight.set(slot, { hash, done });
    try {
      return await done;
    } finally {
      this.inFlight.delete(slot);
    }
  }

  async cancel(bookingId: string): Promise<BookingRecord> {
    const booking = await this.deps.bookings.find(bookingId);
    if (!booking) throw new HttpProblem('not-found', `no booking ${bookingId} at ${this.deps.directory.selfId}`);
    if (booking.status !== 'CONFIRMED') {
      throw new HttpProblem('booking-state-conflict', `booking ${bookingId} is ${booking.status}; only a CONFIRMED booking can be cancelled`);
    }
    if (this.cancelling.has(bookingId)) throw new HttpProblem('booking-state-conflict', `a cancellation of ${bookingId} is already in progress`);
    this.cancelling.add(bookingId);
    try {
      return await this.runCancellation(booking);
    } finally {
      this.cancelling.delete(bookingId);
    }
  }

  /** Items resolved to their observatories, or a 422 naming the first problem. */
  resolveItems(request: CreateBookingRequest): BookingItem[] {
    if (!this.deps.scientists.has(request.scientistId)) {
      throw new HttpProblem('unprocessable-booking', `unknown scientist ${request.scientistId}`);
    }
    const nowMs = this.deps.nowMs();
    const items = request.items.map((input, index) => {
      const telescope = this.deps.directory.telescopes.get(input.telescopeId);
      if (!telescope) throw new HttpProblem('unprocessable-booking', `items.${index}: unknown telescope ${input.telescopeId}`);
      const item = { telescopeId: telescope.id, observatoryId: telescope.observatoryId, start: canonicalInstant(Date.parse(input.start)), end: canonicalInstant(Date.parse(input.end)) };
      const problem = itemProblem(item, telescope, nowMs, this.deps.limits);
      if (problem) throw new HttpProblem('unprocessable-booking', `items.${index}: ${problem}`);
      return item;
    });
    const problem = bookingProblem(items, this.deps.limits);
    if (problem) throw new HttpProblem('unprocessable-booking', problem);
    return items;
  }

  private async createOnce(request: CreateBookingRequest, hash: string, key: string): Promise<BookingOutcome> {
    const earlier = await this.deps.bookings.findByIdempotencyKey(request.scientistId, key);
    if (!earlier) return { booking: await this.book(request, hash, key), replayed: false };
    if (earlier.requestHash !== hash) throw reusedKey(key);
    if (earlier.status === 'REJECTED') throw problemOf(earlier.reason);
    return { booking: earlier, replayed: true };
  }

  private async book(request: CreateBookingRequest, hash: string, key: string | null): Promise<BookingRecord> {
    const items = this.resolveItems(request);
    const timestampMs = this.deps.nowMs();
    const now = canonicalInstant(timestampMs);
    const booking: BookingRecord = {
      id: newTxId(this.deps.directory.selfId),
      scientistId: request.scientistId,
      status: 'PENDING',
      createdAt: now,
      updatedAt: now,
      timestampMs,
      items,
      reason: null,
      idempotencyKey: key,
      requestHash: hash,
      cancelTxId: null,
    };
    return withLogContext({ txId: booking.id }, () => this.decide(booking));
  }

  private async decide(booking: BookingRecord): Promise<BookingRecord> {
    // Not awaited: presumed abort needs no record before the decision, and the decision's
    // own write comes after this one in the same ordered log.
    this.deps.bookings.insert(booking).catch((error: unknown) => this.deps.log.error(`booking ${booking.id} could not be recorded: ${String(error)}`));
    this.deps.log.info(`booking ${booking.id} for ${booking.scientistId}: preparing ${describeItems(booking.items)}`);
    const result = await this.run(booking.id, 'book', booking, booking.timestampMs);
    if (result.outcome === 'committed') {
      this.deps.log.info(`booking ${booking.id} confirmed at ${observatoriesOf(booking.items)}`);
      this.deps.audit.event('BOOKING_CREATED', { bookingId: booking.id, scientistId: booking.scientistId, items: booking.items });
      return { ...booking, status: 'CONFIRMED' };
    }
    const problem = problemForAbort(result.reasons, 'booking', booking.id);
    const transient = result.reasons.every((r) => TRANSIENT.includes(r.code));
    const stored = { problem: problem.type, detail: problem.detail, ...problem.extensions, transient };
    await this.deps.bookings.markRejected(booking.id, stored, canonicalInstant(this.deps.nowMs()), transient);
    this.deps.log.info(`booking ${booking.id} rejected (${problem.status}): ${problem.detail}`);
    this.deps.audit.event('BOOKING_REJECTED', { bookingId: booking.id, scientistId: booking.scientistId, reasons: result.reasons });
    throw problem;
  }

  private runCancellation(booking: BookingRecord): Promise<BookingRecord> {
    const txId = newTxId(this.deps.directory.selfId);
    return withLogContext({ txId }, () => this.cancelThrough(txId, booking));
  }

  private async cancelThrough(txId: string, booking: BookingRecord): Promise<BookingRecord> {
    const timestampMs = this.deps.nowMs();
    await this.deps.bookings.setCancellation(booking.id, txId, canonicalInstant(timestampMs));
    this.deps.log.info(`booking ${booking.id}: cancelling through transaction ${txId}`);
    const result = await this.run(txId, 'cancel', booking, timestampMs);
    if (result.outcome === 'committed') {
      this.deps.log.info(`booking ${booking.id} cancelled: every slot released`);
      this.deps.audit.event('BOOKING_CANCELLED', { bookingId: booking.id, scientistId: booking.scientistId, cancelTxId: txId });
      return { ...booking, status: 'CANCELLED', cancelTxId: txId, updatedAt: canonicalInstant(this.deps.nowMs()) };
    }
    const problem = problemForAbort(result.reasons, 'cancellation', booking.id);
    await this.deps.bookings.recordCancellationRefused(booking.id, { cancellation: txId, problem: problem.type, detail: problem.detail }, canonicalInstant(this.deps.nowMs()));
    this.deps.log.info(`booking ${booking.id}: cancellation refused (${problem.status}): ${problem.detail}`);
    this.deps.audit.event('BOOKING_CANCEL_REFUSED', { bookingId: booking.id, cancelTxId: txId, reasons: result.reasons });
    throw problem;
  }

  private run(txId: string, kind: 'book' | 'cancel', booking: BookingRecord, timestampMs: number): Promise<TransactionResult> {
    const byObservatory = new Map<string, BookingItem[]>();
    for (const item of booking.items) byObservatory.set(item.observatoryId, [...(byObservatory.get(item.observatoryId) ?? []), item]);
    const parts = [...byObservatory].map(([node, items]) => ({
      node,
      payload: { bookingId: booking.id, scientistId: booking.scientistId, items: items.map(({ telescopeId, start, end }) => ({ telescopeId, start, end })) },
    }));
    return this.deps.engine.begin({ txId, kind, timestampMs, deadlineMs: timestampMs + this.deps.prepareTimeoutMs, parts });
  }
}

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

function problemOf(stored: unknown): HttpProblem {
  const s = (stored ?? {}) as { problem?: string; detail?: string; conflicts?: unknown };
  const type = (s.problem ?? 'slot-taken') as ConstructorParameters<typeof HttpProblem>[0];
  return new HttpProblem(type, s.detail ?? 'the booking was rejected', s.conflicts ? { conflicts: s.conflicts } : {});
}

function reusedKey(key: string): HttpProblem {
  return new HttpProblem('idempotency-key-reused', `Idempotency-Key ${key} was already used with a different request body`);
}

export function newTxId(nodeId: string): string {
  return `${nodeId}.${Date.now().toString(36)}${randomBytes(9).toString('base64url')}`;
}

function requestHash(request: CreateBookingRequest): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('hex');
}

function observatoriesOf(items: BookingItem[]): string {
  return [...new Set(items.map((i) => i.observatoryId))].join(', ');
}

function describeItems(items: BookingItem[]): string {
  return items.map((i) => `${i.telescopeId} ${i.start}–${i.end}`).join(', ');
}
