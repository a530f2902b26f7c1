// The node's recovery at start-up, before it serves (docs/PROTOCOL.md §4, §15, §20): it reads
// from the store what every unfinished transaction left, hands it to the shared recovery step
// (recovery.ts, the one the simulator runs too) and settles what presumed abort settles.
import { recordsComplete } from '../../coordinator-2pc/src/index.js';
import type { NodeParts } from './node-parts.js';
import { recoverFromStore, type StoredState, type UndecidedTransaction } from './recovery.js';
import type { BookingRecord } from './storage/booking-repository.js';

/** Bring back every unfinished transaction and settle what presumed abort settles. */
export async function recover(parts: NodeParts): Promise<void> {
  const { config, transactionLog, engine, bookings, loggers, slots } = parts;
  const nowMs = parts.clock.nowMs();
  const reason = { problem: 'observatory-unavailable', detail: `coordinator ${config.NODE_ID} restarted before deciding`, transient: true };
  // A booking whose COMMIT this node proposed to its acceptors is not this node's to abort: it is led again (§20).
  const horizon = { completeSinceMs: parts.identity.completeSinceMs, completeSinceIncarnation: parts.identity.completeSinceIncarnation, marginMs: config.STORE_CLOCK_MARGIN_MS };
  const mayHaveLost = (txId: string) => !recordsComplete(txId, config.NODE_ID, horizon);
  const undecidedIds = await bookings.undecidedTxIds();
  const proposed = new Set((await transactionLog.acceptorRecordsOf(undecidedIds)).map((r) => r.txId));
  // Neither those it proposed nor those its restored store may have lost the proposal of are this node's to reject.
  const kept = new Set([...proposed, ...undecidedIds.filter(mayHaveLost)]);
  const undecidedBookings = await bookings.rejectUndecided(reason, new Date(nowMs).toISOString(), kept);
  const cancellations = await bookings.undecidedCancellations();
  const stored: StoredState = {
    participantRecords: await transactionLog.participantRecordsForRecovery(nowMs - config.FINISHED_RETENTION_MS, nowMs),
    decidedRecords: await transactionLog.coordinatorRecordsForRecovery(),
    claims: await transactionLog.claims(),
    acceptorRecords: [...await transactionLog.acceptorRecordsForRecovery(nowMs - config.FINISHED_RETENTION_MS), ...await transactionLog.acceptorRecordsOf([...proposed])],
    undecided: [
      ...undecidedBookings.map((b) => undecidedOf(b.id, 'book', b)),
      ...cancellations.map((b) => undecidedOf(b.cancelTxId!, 'cancel', b)),
    ],
  };
  const summary = recoverFromStore(stored, { nowMs, finishedRetentionMs: config.FINISHED_RETENTION_MS, mayHaveLost }, slots, engine);
  const { inDoubt, redriven, presumedAborted, proposals } = summary;
  loggers.app.info(`recovery: ${inDoubt} in-doubt participant transaction(s), ${redriven} decided transaction(s) to finish, ${presumedAborted.length} undecided transaction(s) aborted, ${proposals.length} proposed to the acceptors and led again`);
  if (inDoubt + redriven + presumedAborted.length + proposals.length > 0) {
    loggers.audit.event('RECOVERY_STARTED', { inDoubt, redriven, abortedUndecided: presumedAborted, ledAgain: proposals });
  }
  parts.readiness.recoveryFinished = true;
}

function undecidedOf(txId: string, kind: 'book' | 'cancel', booking: BookingRecord): UndecidedTransaction {
  return { txId, kind, participants: [...new Set(booking.items.map((i) => i.observatoryId))], timestampMs: booking.timestampMs };
}
