// Booking and cancelling, as the coordinator of the request: check what can be checked
// here, split the items by observatory, run the transaction through the protocol engine,
// and turn its outcome into the answer for the scientist. Transport-neutral: the HTTP
// routes are a thin adapter over it.
import { createHash, randomBytes } from 'node:crypto';
import { chooseAcceptors, makeTxId, type AbortReason, type ProtocolEngine, type TransactionResult } from '../../../coordinator-2pc/src/index.js';
import { withLogContext, type AppLogger, type AuditLogger } from '../logging/logger.js';
import type { BookingLimits, BookingItem } from '../domain/slots.js';
import { bookingProblem, canonicalInstant, itemProblem } from '../domain/slots.js';
import type { Directory } from '../federation/directory.js';
import { partDigest } from '../security/booking-credentials.js';
import { HttpProblem } from '../http/problem.js';
import type { BookingRecord, BookingRepository } from '../storage/booking-repository.js';
import { type AvailabilityReader, type Segment, type Suggestion, keyOf, nextCombination, suggestionsFor, takenChoices } from './alternatives.js';
import type { CreateBookingRequest } from './booking-schemas.js';
import { problemForAbort, problemOf, reusedKey } from './booking-problems.js';

export interface BookingServiceDeps {
  directory: Directory;
  engine: ProtocolEngine;
  bookings: BookingRepository;
  scientists: Set<string>;
  nowMs: () => number;
  limits: BookingLimits;
  prepareTimeoutMs: number;
  /** How many acceptors decide a booking that involves another observatory (ACCEPTORS_PER_TRANSACTION). */
  acceptorsPerTransaction?: number;
  log: AppLogger;
  audit: AuditLogger;
  /** The store's incarnation, carried by every transaction id made here (durability/store-identity.ts). */
  incarnation?: number;
  /** Why this node serves no booking now (a reconciliation after a restore), or null. */
  refusalReason?: () => string | null;
  /** A credential from the scientist's home observatory for this booking and these parts (node.ts). */
  credentialFor: (request: CredentialRequest) => Promise<string>;
  /** Booking alternatives (bookings/alternatives.ts); without them, alternatives are refused. */
  alternatives?: AlternativesOptions;
  /** Told of every booking whose status this coordinator changed (the event stream). */
  onStatusChange?: (booking: BookingRecord) => void;
}

export interface CredentialRequest {
  scientistId: string;
  bookingId: string;
  /** Observatory → partDigest of its items. */
  parts: Record<string, string>;
  /** The scientist's own API token, shown only to the scientist's home observatory when it is another. */
  token: string | undefined;
}

export interface AlternativesOptions {
  perItemMax: number;
  attemptsMax: number;
  suggestionsMax: number;
  /** 409s computing suggestions at once; past it a 409 carries none, so that a contested slot under load costs no extra reads. */
  suggestionLookupsMax: number;
  readAvailability: AvailabilityReader;
}

type Refused = { booking: BookingRecord; confirmed: false; problem: HttpProblem; reasons: AbortReason[] };
type Attempt = { booking: BookingRecord; confirmed: true } | Refused;

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
  private suggestionLookups = 0;

  constructor(private readonly deps: BookingServiceDeps) {}

  async create(request: CreateBookingRequest, idempotencyKey?: string, token?: string): Promise<BookingOutcome> {
    const hash = requestHash(request);
    if (!idempotencyKey) return { booking: await this.book(request, hash, null, token), replayed: false };
    const slot = `${request.scientistId}/${idempotencyKey}`;
    const running = this.inFlight.get(slot);
    if (running) {
      if (running.hash !== hash) throw reusedKey(idempotencyKey);
      return { ...(await running.done), replayed: true };
    }
    const done = this.createOnce(request, hash, idempotencyKey, token);
    this.inFlight.set(slot, { hash, done });
    try {
      return await done;
    } finally {
      this.inFlight.delete(slot);
    }
  }

  async cancel(bookingId: string): Promise<BookingRecord> {
    this.refuseWhileReconciling();
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

  private refuseWhileReconciling(): void {
    const reason = this.deps.refusalReason?.();
    if (reason) throw new HttpProblem('observatory-unavailable', reason, { reconciling: true }, { 'Retry-After': '5' });
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

  private async createOnce(request: CreateBookingRequest, hash: string, key: string, token: string | undefined): Promise<BookingOutcome> {
    const earlier = await this.deps.bookings.findByIdempotencyKey(request.scientistId, key);
    if (!earlier) return { booking: await this.book(request, hash, key, token), replayed: false };
    if (earlier.requestHash !== hash) throw reusedKey(key);
    const latest = earlier.status === 'REJECTED' ? await this.latestAlternativeAttempt(request.scientistId, key, earlier) : earlier;
    if (latest.status === 'REJECTED') throw problemOf(latest.reason);
    return { booking: latest, replayed: true };
  }

  /** A request with alternatives stores its later tries under `<key>:alt<n>`: the last one made is its outcome. */
  private async latestAlternativeAttempt(scientistId: string, key: string, first: BookingRecord): Promise<BookingRecord> {
    let latest = first;
    for (let n = 1; n < (this.deps.alternatives?.attemptsMax ?? 1); n += 1) {
      const next = await this.deps.bookings.findByIdempotencyKey(scientistId, `${key}:alt${n}`);
      if (!next) break;
      latest = next;
    }
    return latest;
  }

  private async book(request: CreateBookingRequest, hash: string, key: string | null, token: string | undefined): Promise<BookingRecord> {
    this.refuseWhileReconciling();
    const segments = this.resolveSegments(request);
    const timestampMs = this.deps.nowMs();
    if (segments.some((s) => s.length > 1)) return this.bookFirstFree(request, segments, timestampMs, hash, key, token);
    const attempt = await this.attemptBooking(request, segments.map((s) => s[0]!), timestampMs, hash, key, token);
    if (attempt.confirmed) return attempt.booking;
    throw request.suggestAlternatives ? await this.withSuggestions(attempt, segments, [attempt.booking.id]) : attempt.problem;
  }

  /** Tries combinations of the alternatives, most preferred first, each atomically, with the one fairness timestamp. */
  private async bookFirstFree(request: CreateBookingRequest, segments: Segment[], timestampMs: number, hash: string, key: string | null, token: string | undefined): Promise<BookingRecord> {
    const taken = new Set<string>();
    const tried: string[] = [];
    let last: Refused | undefined;
    for (let n = 0; n < this.deps.alternatives!.attemptsMax; n += 1) {
      const next = nextCombination(segments, taken);
      if (!next) break;
      const problem = bookingProblem(next.items, this.deps.limits);
      if (problem) throw new HttpProblem('unprocessable-booking', `the combination ${next.choices.join(',')} of the alternatives: ${problem}`, { attempts: tried });
      const attempt = await this.attemptBooking(request, next.items, timestampMs, hash, n === 0 || !key ? key : `${key}:alt${n}`, token);
      tried.push(attempt.booking.id);
      if (attempt.confirmed) return attempt.booking;
      last = attempt;
      const nowTaken = takenChoices(attempt.reasons, next.items, next.choices);
      if (nowTaken.length === 0) throw attempt.problem; // not a taken slot (an outage, a refusal): no alternative helps
      for (const choice of nowTaken) taken.add(keyOf(choice));
      this.deps.log.info(`booking request of ${request.scientistId}: ${describeItems(nowTaken.map((t) => segments[t.segment]![t.choice]!))} taken; trying the next alternative`);
    }
    throw await this.withSuggestions(last!, segments, tried, nextCombination(segments, taken) ? 'BOOKING_ALTERNATIVE_ATTEMPTS_MAX tries made' : 'no alternative left');
  }

  /** A 409 that names the taken slots also suggests the nearest free alternatives. */
  private async withSuggestions(attempt: Refused, segments: Segment[], tried: string[], why?: string): Promise<HttpProblem> {
    const options = this.deps.alternatives;
    if (attempt.problem.type !== 'slot-taken' || !options) return attempt.problem;
    const items = attempt.booking.items;
    const taken = takenChoices(attempt.reasons, items, items.map(() => 0));
    const suggestions: Suggestion[] = [];
    if (this.suggestionLookups < options.suggestionLookupsMax) {
      this.suggestionLookups += 1;
      try {
        for (const { segment } of taken) {
          suggestions.push(...(await suggestionsFor(segment, items[segment]!, this.deps.directory.telescopes, options.readAvailability, options.suggestionsMax)));
        }
      } finally {
        this.suggestionLookups -= 1;
      }
    }
    const detail = segments.some((s) => s.length > 1) ? `no combination of the alternatives was wholly free (${why}); last try: ${attempt.problem.detail}` : attempt.problem.detail;
    return new HttpProblem('slot-taken', detail, {
      ...attempt.problem.extensions,
      takenSlots: taken.map(({ segment }) => ({ segment, ...items[segment]! })),
      suggestions,
      attempts: tried,
    });
  }

  /** Each segment's choices, validated: the item, then its alternatives. */
  private resolveSegments(request: CreateBookingRequest): Segment[] {
    const primary = this.resolveItems(request);
    const perItemMax = this.deps.alternatives?.perItemMax ?? 0;
    return request.items.map((input, index) => {
      const alternatives = input.alternatives ?? [];
      if (alternatives.length > perItemMax) {
        throw new HttpProblem('unprocessable-booking', `items.${index}: ${alternatives.length} alternatives, more than the limit of ${perItemMax} (BOOKING_ALTERNATIVES_PER_ITEM_MAX)`);
      }
      return [primary[index]!, ...alternatives.map((alternative, a) => this.resolveItem(alternative, `items.${index}.alternatives.${a}`))];
    });
  }

  private resolveItem(input: { telescopeId: string; start: string; end: string }, where: string): BookingItem {
    const telescope = this.deps.directory.telescopes.get(input.telescopeId);
    if (!telescope) throw new HttpProblem('unprocessable-booking', `${where}: unknown telescope ${input.telescopeId}`);
    const item = { telescopeId: telescope.id, observatoryId: telescope.observatoryId, start: canonicalInstant(Date.parse(input.start)), end: canonicalInstant(Date.parse(input.end)) };
    const problem = itemProblem(item, telescope, this.deps.nowMs(), this.deps.limits);
    if (problem) throw new HttpProblem('unprocessable-booking', `${where}: ${problem}`);
    return item;
  }

  private async attemptBooking(request: CreateBookingRequest, items: BookingItem[], timestampMs: number, hash: string, key: string | null, token: string | undefined): Promise<Attempt> {
    const now = canonicalInstant(this.deps.nowMs());
    const booking: BookingRecord = {
      id: newTxId(this.deps.directory.selfId, this.deps.incarnation),
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
    // Before anything is recorded or held: without the home observatory's word no participant would hold a slot.
    // Only other observatories check it: a booking of this node's telescopes alone needs none.
    const remote = booking.items.some((i) => i.observatoryId !== this.deps.directory.selfId);
    const credential = remote ? await this.deps.credentialFor({ scientistId: booking.scientistId, bookingId: booking.id, parts: partDigests(booking.items), token }) : undefined;
    return withLogContext({ txId: booking.id }, () => this.decide(booking, credential));
  }

  private async decide(booking: BookingRecord, credential: string | undefined): Promise<Attempt> {
    // Not awaited: presumed abort needs no record before the decision, and the decision's
    // own write comes after this one in the same ordered log.
    this.deps.bookings.insert(booking).catch((error: unknown) => this.deps.log.error(`booking ${booking.id} could not be recorded: ${String(error)}`));
    this.deps.log.info(`booking ${booking.id} for ${booking.scientistId}: preparing ${describeItems(booking.items)}`);
    const result = await this.run(booking.id, 'book', booking, booking.timestampMs, credential);
    if (result.outcome === 'committed') {
      this.deps.log.info(`booking ${booking.id} confirmed at ${observatoriesOf(booking.items)}`);
      this.deps.audit.event('BOOKING_CREATED', { bookingId: booking.id, scientistId: booking.scientistId, items: booking.items });
      const confirmed: BookingRecord = { ...booking, status: 'CONFIRMED' };
      this.deps.onStatusChange?.(confirmed);
      return { booking: confirmed, confirmed: true };
    }
    const problem = problemForAbort(result.reasons, 'booking', booking.id);
    const transient = result.reasons.every((r) => TRANSIENT.includes(r.code));
    const stored = { problem: problem.type, detail: problem.detail, ...problem.extensions, transient };
    await this.deps.bookings.markRejected(booking.id, stored, canonicalInstant(this.deps.nowMs()), transient);
    this.deps.log.info(`booking ${booking.id} rejected (${problem.status}): ${problem.detail}`);
    this.deps.audit.event('BOOKING_REJECTED', { bookingId: booking.id, scientistId: booking.scientistId, reasons: result.reasons });
    const rejected: BookingRecord = { ...booking, status: 'REJECTED', reason: stored };
    this.deps.onStatusChange?.(rejected);
    return { booking: rejected, confirmed: false, problem, reasons: result.reasons };
  }

  private runCancellation(booking: BookingRecord): Promise<BookingRecord> {
    const txId = newTxId(this.deps.directory.selfId, this.deps.incarnation);
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
      const cancelled: BookingRecord = { ...booking, status: 'CANCELLED', cancelTxId: txId, updatedAt: canonicalInstant(this.deps.nowMs()) };
      this.deps.onStatusChange?.(cancelled);
      return cancelled;
    }
    const problem = problemForAbort(result.reasons, 'cancellation', booking.id);
    await this.deps.bookings.recordCancellationRefused(booking.id, { cancellation: txId, problem: problem.type, detail: problem.detail }, canonicalInstant(this.deps.nowMs()));
    this.deps.log.info(`booking ${booking.id}: cancellation refused (${problem.status}): ${problem.detail}`);
    this.deps.audit.event('BOOKING_CANCEL_REFUSED', { bookingId: booking.id, cancelTxId: txId, reasons: result.reasons });
    throw problem;
  }

  private run(txId: string, kind: 'book' | 'cancel', booking: BookingRecord, timestampMs: number, credential?: string): Promise<TransactionResult> {
    const parts = [...partsOf(booking.items)].map(([node, items]) => ({
      node,
      payload: { bookingId: booking.id, scientistId: booking.scientistId, items, ...(credential ? { credential } : {}), ...(kind === 'book' ? { bookingItems: booking.items.map(({ observatoryId, telescopeId, start, end }) => ({ observatoryId, telescopeId, start, end })) } : {}) },
    }));
    const acceptors = chooseAcceptors(this.deps.directory.selfId, parts.map((p) => p.node), [...this.deps.directory.members.keys()], this.deps.acceptorsPerTransaction ?? 1);
    return this.deps.engine.begin({ txId, kind, timestampMs, deadlineMs: timestampMs + this.deps.prepareTimeoutMs, parts, acceptors });
  }
}

/** Each observatory's part of a booking: its items, as its prepare carries them. */
function partsOf(items: BookingItem[]): Map<string, Array<{ telescopeId: string; start: string; end: string }>> {
  const byObservatory = new Map<string, Array<{ telescopeId: string; start: string; end: string }>>();
  for (const { observatoryId, telescopeId, start, end } of items) byObservatory.set(observatoryId, [...(byObservatory.get(observatoryId) ?? []), { telescopeId, start, end }]);
  return byObservatory;
}

function partDigests(items: BookingItem[]): Record<string, string> {
  return Object.fromEntries([...partsOf(items)].map(([node, part]) => [node, partDigest(part)]));
}

export function newTxId(nodeId: string, incarnation = 1): string {
  return makeTxId(nodeId, Date.now(), incarnation, randomBytes(9).toString('base64url'));
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
