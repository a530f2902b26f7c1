// Reconciliation of a restored coordinator's own transactions (docs/PROTOCOL.md §16, "A restored
// coordinator"). A booking this node coordinated after its backup was taken is gone from its
// store, but every participant kept it: the prepare carried the whole booking (`bookingItems`)
// and the scientist's credential. The restored node believes a report only as far as it can
// prove it — the credential, signed by the scientist's home, binds the booking id and every
// observatory's part — and then applies the booking again: its own slots (a committed participant
// record and its claims, through the engine), the booking row CONFIRMED, and an ended coordinator
// record, so that it answers "committed" from its records again. A cancellation carries no such
// proof: it is applied only when every other participant of it reports it committed.
import type { NodeId, ParticipantRecord, ProtocolEngine } from '../../../coordinator-2pc/src/index.js';
import { canonicalInstant } from '../domain/slots.js';
import { CredentialError, verifyBookingAsIssued } from '../security/booking-credentials.js';
import type { KeyRing } from '../security/key-ring.js';
import type { AuditLogger } from '../logging/logger.js';
import type { BookingRepository } from '../storage/booking-repository.js';
import type { TransactionLog } from '../storage/transaction-log.js';
import type { ReconciledTransaction } from './reconciliation-pages.js';

export interface OwnTransactionDeps {
  selfId: NodeId;
  transactionLog: TransactionLog;
  bookings: BookingRepository;
  engine: ProtocolEngine;
  audit: AuditLogger;
  nowMs: () => number;
  /** Why the kept credential does not prove this booking, or undefined when it does. */
  unproven: (payload: NonNullable<ReconciledTransaction['payload']>) => string | undefined;
}

export type OwnOutcome = { applied: boolean } | { conflict: string };
type Part = Array<{ telescopeId: string; start: string; end: string }>;

export class OwnTransactions {
  private readonly cancellations = new Map<string, { transaction: ReconciledTransaction; reporters: Set<NodeId> }>();

  constructor(private readonly deps: OwnTransactionDeps) {}

  /**
   * Whether this store still holds the transaction: its coordinator record, its acceptor record,
   * or (a booking) its booking row — a booking still PENDING here is being finished by the
   * protocol (§20), not lost. Only a transaction with no trace proves a gap.
   */
  async known(transaction: ReconciledTransaction): Promise<boolean> {
    const local = await this.deps.transactionLog.recordsOf(transaction.txId);
    if (local.coordinatorDecision || local.acceptor) return true;
    return transaction.kind === 'book' && (await this.deps.bookings.find(transaction.txId)) !== undefined;
  }

  /** A peer reports a committed transaction this node coordinated and no longer knows; a cancellation waits for `settleCancellations`. */
  async report(peer: NodeId, transaction: ReconciledTransaction): Promise<OwnOutcome> {
    if (transaction.kind === 'book') return this.applyBooking(peer, transaction);
    const known = this.cancellations.get(transaction.txId) ?? { transaction, reporters: new Set<NodeId>() };
    known.reporters.add(peer);
    this.cancellations.set(transaction.txId, known);
    return { applied: false };
  }

  /** Once every peer has answered: the cancellations every other participant reported, applied; the others need an operator. */
  async settleCancellations(): Promise<Array<{ txId: string; detail: string }>> {
    const conflicts: Array<{ txId: string; detail: string }> = [];
    for (const { transaction, reporters } of this.cancellations.values()) {
      const missing = transaction.participants.filter((node) => node !== this.deps.selfId && !reporters.has(node));
      const outcome = missing.length > 0
        ? { conflict: `cancellation ${transaction.txId} coordinated here is reported committed by ${[...reporters].join(', ')} but not by ${missing.join(', ')}: an operator must decide` }
        : await this.applyCancellation(transaction);
      if ('conflict' in outcome) conflicts.push({ txId: transaction.txId, detail: outcome.conflict });
    }
    this.cancellations.clear();
    return conflicts;
  }

  private async applyBooking(peer: NodeId, transaction: ReconciledTransaction): Promise<OwnOutcome> {
    const payload = transaction.payload;
    if (!payload?.bookingItems) return { conflict: `${peer} kept no items of booking ${transaction.txId} (prepared by an older version): an operator must decide` };
    if (payload.bookingId !== transaction.txId) return { conflict: `${peer} reports booking ${payload.bookingId} under transaction ${transaction.txId}` };
    const why = this.deps.unproven(payload);
    if (why) return { conflict: `${peer} reports booking ${transaction.txId}, which its credential does not prove: ${why}` };
    const own = payload.bookingItems.filter((item) => item.observatoryId === this.deps.selfId).map(({ telescopeId, start, end }) => ({ telescopeId, start, end }));
    if (own.length > 0 && !(await this.reapplied(transaction, own))) return { conflict: `booking ${transaction.txId}: its slots here could not be taken again (taken since the backup?): see TX_REAPPLIED in the audit trail` };
    if (!(await this.deps.bookings.find(payload.bookingId))) {
      await this.deps.bookings.insert({
        id: payload.bookingId, scientistId: payload.scientistId, status: 'CONFIRMED', createdAt: canonicalInstant(transaction.createdAtMs),
        updatedAt: canonicalInstant(this.deps.nowMs()), timestampMs: transaction.timestampMs, items: payload.bookingItems,
        reason: null, idempotencyKey: null, requestHash: null, cancelTxId: null,
      });
    }
    await this.endRecord(transaction);
    this.deps.audit.event('TX_REAPPLIED', { txId: transaction.txId, role: 'coordinator', kind: 'book', reportedBy: peer, bookingId: payload.bookingId, items: payload.bookingItems.length });
    return { applied: true };
  }

  private async applyCancellation(transaction: ReconciledTransaction): Promise<OwnOutcome> {
    const bookingId = transaction.payload?.bookingId;
    const booking = bookingId ? await this.deps.bookings.find(bookingId) : undefined;
    if (!booking || !bookingId) return { conflict: `cancellation ${transaction.txId} coordinated here: its booking ${bookingId ?? '(unnamed)'} is not in this store` };
    if (booking.status === 'CONFIRMED') {
      const own = booking.items.filter((item) => item.observatoryId === this.deps.selfId).map(({ telescopeId, start, end }) => ({ telescopeId, start, end }));
      await this.deps.bookings.setCancellation(bookingId, transaction.txId, canonicalInstant(this.deps.nowMs()));
      if (own.length > 0 && !(await this.reapplied(transaction, own, booking.scientistId))) return { conflict: `cancellation ${transaction.txId}: the slots of ${bookingId} here could not be released` };
      await this.deps.bookings.markCancelled(bookingId, transaction.txId, canonicalInstant(this.deps.nowMs()));
    } else if (booking.status !== 'CANCELLED') {
      return { conflict: `cancellation ${transaction.txId} of ${bookingId}, which is ${booking.status} here` };
    }
    await this.endRecord(transaction);
    this.deps.audit.event('TX_REAPPLIED', { txId: transaction.txId, role: 'coordinator', kind: 'cancel', reportedBy: transaction.participants.filter((n) => n !== this.deps.selfId), bookingId });
    return { applied: true };
  }

  /** This node's own part, committed through the engine (memory, record and claims together). */
  private async reapplied(transaction: ReconciledTransaction, own: Part, scientistId = transaction.payload?.scientistId ?? ''): Promise<boolean> {
    const local = await this.deps.transactionLog.recordsOf(transaction.txId);
    if (local.participantState === 'committed') return true;
    const record: ParticipantRecord = {
      txId: transaction.txId, kind: transaction.kind, coordinatorId: this.deps.selfId, participants: transaction.participants,
      timestampMs: transaction.timestampMs, deadlineMs: transaction.timestampMs,
      payload: { bookingId: transaction.payload?.bookingId ?? transaction.txId, scientistId, items: own },
      state: 'committed', createdAtMs: this.deps.nowMs(), updatedAtMs: this.deps.nowMs(),
    };
    await this.deps.engine.reapply(record);
    return this.deps.engine.participant.view(transaction.txId)?.phase === 'committed';
  }

  /** The coordinator's record again: committed, every participant has it (they reported it). */
  private endRecord(transaction: ReconciledTransaction): Promise<void> {
    const nowMs = this.deps.nowMs();
    return this.deps.transactionLog.write({
      role: 'coordinator',
      record: { txId: transaction.txId, kind: transaction.kind, participants: transaction.participants, timestampMs: transaction.timestampMs, decision: 'committed', acked: transaction.participants, state: 'ended', createdAtMs: transaction.createdAtMs, updatedAtMs: nowMs },
    });
  }
}

/** The proof a restored coordinator asks of a reported booking: its kept credential, checked as when it was issued. */
export function credentialProof(ring: KeyRing, homeOf: (scientistId: string) => string | undefined, limits: { ttlMaxS: number; skewS: number }): OwnTransactionDeps['unproven'] {
  return (payload) => {
    const home = homeOf(payload.scientistId);
    if (!home) return `${payload.scientistId} is not a scientist of this federation`;
    try {
      verifyBookingAsIssued(payload.credential, { scientistId: payload.scientistId, home, bookingId: payload.bookingId }, payload.bookingItems ?? [], ring, limits);
      return undefined;
    } catch (error) {
      if (error instanceof CredentialError) return error.message;
      throw error;
    }
  };
}
