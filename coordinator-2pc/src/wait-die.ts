// The participant's wait-die rule, with its one exception: a transaction may wait for a
// blocker whose own finish never waits for it (a cancellation for the booking it cancels,
// whose commit has simply not arrived here yet), whatever their ages.
//
// How long: an older transaction blocked only by younger holders waits until its own prepare
// deadline. Each such holder is undecided here and ends one of two ways: it commits (the wait
// ends at once with a refusal: the slot is taken) or it aborts — typically because it met the
// older one's hold at another site and died there — and the slot goes to the older one. Giving
// up earlier (it used to be WAIT_DIE_MAX_WAIT_MS) let the earliest asker lose to nobody on an
// overloaded machine, where the younger one's abort takes longer to arrive (docs/PERFORMANCE.md,
// "Contention"). A wait for the exception's blocker stays bounded by WAIT_DIE_MAX_WAIT_MS.
import type { AbortReason, PrepareMessage, TxId } from './messages.js';
import type { HoldAttempt } from './ports.js';
import { isOlder } from './invariants.js';
import type { Entry, Waiting } from './participant-entries.js';

export type HoldConflict = Extract<HoldAttempt, { ok: false; code: 'conflict' }>;

/**
 * True when `prepare` may wait for every blocker of `conflict`: each is a prepared transaction
 * here that is younger (classic wait-die: waits go from older to younger only), or one the
 * resource manager marked awaitable (its decision depends on nothing this transaction holds,
 * so waiting for it cannot close a cycle). A committed holder (`final`) means no wait.
 */
export function mayWait(conflict: HoldConflict, prepare: PrepareMessage, entryOf: (txId: TxId) => Entry | undefined): boolean {
  if (conflict.final) return false;
  return conflict.blockers.every((blockerTxId) => {
    const holder = entryOf(blockerTxId);
    if (!holder || holder.phase !== 'prepared') return false;
    return isOlder(prepare, holder.record) || (conflict.awaitable ?? []).includes(blockerTxId);
  });
}

/**
 * Until when `prepare` may wait for the blockers of `conflict` (mayWait said it may): its own
 * deadline when every blocker is a younger transaction prepared here, else `boundedUntilMs`
 * (WAIT_DIE_MAX_WAIT_MS after the wait began), never past its deadline.
 */
export function waitUntilMs(conflict: HoldConflict, prepare: PrepareMessage, entryOf: (txId: TxId) => Entry | undefined, boundedUntilMs: number): number {
  const allYounger = conflict.blockers.every((blockerTxId) => {
    const holder = entryOf(blockerTxId);
    return holder?.phase === 'prepared' && isOlder(prepare, holder.record);
  });
  return allYounger ? prepare.deadlineMs : Math.min(boundedUntilMs, prepare.deadlineMs);
}

/**
 * Why a transaction whose wait is over gives up. Blocked only by awaitable transactions (the
 * booking it cancels, still unfinished here), the cause is a decision that has not arrived
 * yet — a `timeout` a retry may overcome — not a slot taken by someone else (`otherwise`).
 */
export function waitOverReason(blockers: TxId[], awaitable: TxId[] | undefined, waitedMs: number, otherwise: AbortReason): AbortReason {
  if (blockers.length === 0 || !blockers.every((blocker) => (awaitable ?? []).includes(blocker))) return otherwise;
  return {
    code: 'timeout',
    detail: `still held by ${blockers.join(', ')}, the transaction it undoes, whose decision had not arrived here after waiting ${waitedMs} ms; try again`,
  };
}

/** The waiting entry for `prepare` blocked by `conflict`. */
export function waitingEntry(prepare: PrepareMessage, conflict: HoldConflict, sinceMs: number, waitUntilMs: number): Waiting {
  const entry: Waiting = { phase: 'waiting', prepare, sinceMs, waitUntilMs, waitForMs: Math.max(0, waitUntilMs - sinceMs), blockers: conflict.blockers };
  if (conflict.awaitable && conflict.awaitable.length > 0) entry.awaitable = conflict.awaitable;
  return entry;
}
