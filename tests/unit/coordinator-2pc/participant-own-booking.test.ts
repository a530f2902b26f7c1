// ParticipantCore with the production SlotTable: a cancellation that reaches a participant
// before its own booking's commit (a DELETE sent right after the 201) finds the slots still
// HELD by that booking. It waits for the booking's decision (bounded by waitMaxMs) instead of
// dying under wait-die, then proceeds; every other conflict keeps plain wait-die.
import { expect } from 'chai';
import { ParticipantCore } from '../../../coordinator-2pc/src/participant.js';
import type { AbortReason, PrepareMessage, ProtocolMessage } from '../../../coordinator-2pc/src/messages.js';
import type { Effect } from '../../../coordinator-2pc/src/ports.js';
import { partPayloadOf, slotTableOf } from '../../simulation/sim-domain.js';
import { problemForAbort } from '../../../federation-node/src/bookings/booking-problems.js';

const NODE = 'obs-b';
const COORDINATOR = 'obs-a';
const WAIT_MAX_MS = 200;
const BOOKING = 'obs-a.tx000001';

function prepareOf(txId: string, slots: string[], timestampMs: number, kind: 'book' | 'cancel' = 'book', bookingId = txId): PrepareMessage {
  return { type: 'prepare', txId, kind, coordinatorId: COORDINATOR, participants: [NODE], timestampMs, deadlineMs: timestampMs + 5_000, payload: partPayloadOf(NODE, slots, bookingId) };
}

/** A booking of slot s0 prepared here (its commit not yet arrived), and the core. */
function bookingHeld() {
  const slots = slotTableOf(NODE);
  const core = new ParticipantCore({ selfId: NODE, waitMaxMs: WAIT_MAX_MS, inDoubtQueryAfterMs: 10_000, queryBackoffMaxMs: 10_000, finishedRetentionMs: 60_000 }, slots);
  const receive = (message: ProtocolMessage, nowMs: number) => core.step({ type: 'receive', message, nowMs });
  const booking = prepareOf(BOOKING, ['s0'], 1_000);
  expect(votes(receive(booking, 1_000))).to.deep.equal([{ txId: BOOKING, vote: 'yes' }]);
  return { slots, core, receive, booking };
}

function votes(effects: Effect[]): Array<{ txId: string; vote: string; reason?: AbortReason }> {
  return effects.flatMap((e) => (e.type === 'send' && e.message.type === 'vote' ? [{ txId: e.message.txId, vote: e.message.vote, ...(e.message.reason ? { reason: e.message.reason } : {}) }] : []));
}

function events(effects: Effect[]): string[] {
  return effects.flatMap((e) => (e.type === 'audit' ? [`${e.event} ${e.txId}`] : []));
}

describe('ParticipantCore — a cancellation blocked by its own booking waits for the booking\'s decision', () => {
  const cancel = prepareOf('obs-a.tx000002', ['s0'], 2_000, 'cancel', BOOKING); // younger than the booking

  it('waits (no vote) instead of dying, and once the booking\'s commit arrives takes the slot and votes yes', () => {
    const { slots, core, receive } = bookingHeld();
    const waited = receive(cancel, 2_000);
    expect(votes(waited), 'no vote while the booking is unfinished here').to.deep.equal([]);
    expect(events(waited)).to.deep.equal([`TX_WAITING ${cancel.txId}`]);
    expect(core.view(cancel.txId)?.phase).to.equal('waiting');
    expect(core.nextWakeAtMs(), 'the wait is bounded by waitMaxMs').to.equal(2_000 + WAIT_MAX_MS);
    const committed = receive({ type: 'commit', txId: BOOKING, from: COORDINATOR }, 2_050);
    expect(events(committed)).to.deep.equal([`TX_COMMITTED ${BOOKING}`, `TX_PREPARED ${cancel.txId}`]);
    expect(votes(committed)).to.deep.equal([{ txId: cancel.txId, vote: 'yes' }]);
    expect(slots.allClaims().map((c) => `${c.bookingId} ${c.state} by ${c.txId}`)).to.deep.equal([`${BOOKING} RELEASING by ${cancel.txId}`]);
    receive({ type: 'commit', txId: cancel.txId, from: COORDINATOR }, 2_060);
    expect(slots.allClaims(), 'the cancellation gave the slot back').to.deep.equal([]);
  });

  it('votes no `invalid` naming the booking when the booking aborts meanwhile: there is nothing left to cancel', () => {
    const { slots, receive } = bookingHeld();
    receive(cancel, 2_000);
    const aborted = receive({ type: 'abort', txId: BOOKING, from: COORDINATOR }, 2_050);
    const [vote] = votes(aborted);
    expect(vote).to.deep.include({ txId: cancel.txId, vote: 'no' });
    expect(vote!.reason).to.deep.include({ code: 'invalid', node: NODE });
    expect(vote!.reason!.detail).to.contain(`is not booked by ${BOOKING}`);
    expect(slots.allClaims(), 'the aborted booking released the slot').to.deep.equal([]);
  });

  it('votes no `timeout` (a retry may succeed), naming the booking, when the booking\'s decision does not come within waitMaxMs', () => {
    const { core, receive, slots } = bookingHeld();
    receive(cancel, 2_000);
    expect(votes(core.step({ type: 'tick', nowMs: 2_000 + WAIT_MAX_MS - 1 })), 'still waiting before the bound').to.deep.equal([]);
    const [vote] = votes(core.step({ type: 'tick', nowMs: 2_000 + WAIT_MAX_MS }));
    expect(vote).to.deep.include({ txId: cancel.txId, vote: 'no' });
    expect(vote!.reason).to.deep.include({ code: 'timeout', node: NODE });
    expect(vote!.reason!.detail).to.match(new RegExp(`still held by ${BOOKING}, the transaction it undoes, whose decision had not arrived here after waiting ${WAIT_MAX_MS} ms`));
    expect(slots.allClaims().map((c) => `${c.state} by ${c.txId}`), 'the booking keeps its hold, untouched by the cancellation').to.deep.equal([`HELD by ${BOOKING}`]);
    const committed = receive({ type: 'commit', txId: BOOKING, from: COORDINATOR }, 2_300);
    expect(events(committed), 'the booking\'s commit never waited for the cancellation').to.deep.equal([`TX_COMMITTED ${BOOKING}`]);
  });

  it('answers the scientist 503 with Retry-After and a detail naming the observatory and the booking when that wait is over (a retry may succeed), 409 when the booking aborted meanwhile', () => {
    const late = bookingHeld();
    late.receive(cancel, 2_000);
    const [timedOut] = votes(late.core.step({ type: 'tick', nowMs: 2_000 + WAIT_MAX_MS }));
    const unavailable = problemForAbort([timedOut!.reason!], 'cancellation', BOOKING);
    expect(unavailable.status).to.equal(503);
    expect(unavailable.headers).to.deep.include({ 'Retry-After': '5' });
    expect(unavailable.detail).to.contain(`the cancellation was not made: still held by ${BOOKING}, the transaction it undoes`);
    expect(unavailable.extensions).to.deep.include({ unavailableObservatories: [NODE] });

    const gone = bookingHeld();
    gone.receive(cancel, 2_000);
    const [refused] = votes(gone.receive({ type: 'abort', txId: BOOKING, from: COORDINATOR }, 2_050));
    const conflict = problemForAbort([refused!.reason!], 'cancellation', BOOKING);
    expect(conflict.status).to.equal(409);
    expect(conflict.detail).to.contain(`${NODE}: `).and.to.contain(`is not booked by ${BOOKING}`);
  });

  it('never waits past the cancellation\'s own deadline', () => {
    const { core, receive } = bookingHeld();
    const hurried = { ...cancel, deadlineMs: 2_050 };
    receive(hurried, 2_000);
    expect(core.nextWakeAtMs()).to.equal(2_050);
    const [vote] = votes(core.step({ type: 'tick', nowMs: 2_051 }));
    expect(vote).to.deep.include({ txId: cancel.txId, vote: 'no' });
  });

  it('still dies at once behind an older cancellation of the same booking in progress (plain wait-die: only the booking itself is awaited)', () => {
    const { receive } = bookingHeld();
    receive({ type: 'commit', txId: BOOKING, from: COORDINATOR }, 1_500);
    const first = prepareOf('obs-a.tx000003', ['s0'], 1_600, 'cancel', BOOKING);
    expect(votes(receive(first, 1_600))).to.deep.equal([{ txId: first.txId, vote: 'yes' }]);
    const [vote] = votes(receive(cancel, 2_000));
    expect(vote).to.deep.include({ txId: cancel.txId, vote: 'no' });
    expect(vote!.reason).to.deep.include({ code: 'conflict' });
    expect(vote!.reason!.detail).to.contain('being cancelled');
  });

  it('a booking younger than a held booking still dies at once (the exception is for a cancellation\'s own booking only)', () => {
    const { receive } = bookingHeld();
    const rival = prepareOf('obs-a.tx000004', ['s0'], 2_000);
    const [vote] = votes(receive(rival, 2_000));
    expect(vote).to.deep.include({ txId: rival.txId, vote: 'no' });
    expect(vote!.reason).to.deep.include({ code: 'conflict' });
  });
});
