// The participant's admission rules one by one, on a PeerAdmission fed by hand (the real
// processes run them in tests/integration/rogue-member.test.ts).
import { expect } from 'chai';
import type { ParticipantTxView, PrepareMessage } from '../../coordinator-2pc/src/index.js';
import type { PartPayload } from '../../federation-node/src/domain/slot-table.js';
import type { Telescope } from '../../federation-node/src/domain/slots.js';
import { PeerAdmission, type AdmissionLimits } from '../../federation-node/src/federation/peer-admission.js';
import { HttpProblem } from '../../federation-node/src/http/problem.js';
import { problemForAbort } from '../../federation-node/src/bookings/booking-problems.js';

const NOW = 1_800_000_000_000;
const LIMITS: AdmissionLimits = {
  clockSkewMaxMs: 1_000,
  timestampAgeMaxMs: 5_000,
  deadlineAheadMaxMs: 20_000,
  openTransactionsMax: 3,
  heldSlotsMax: 10,
  preparesPerSecondMax: 10,
  prepareBurstMax: 5,
  inDoubtReportAfterMs: 60_000,
};
const telescope: Telescope = { id: 'la-palma-gtc', observatoryId: 'la-palma', name: 'GTC', apertureM: 10, instrument: 'x', slotMinutes: 60, bookableFromHourUtc: 19, bookableToHourUtc: 7 };

function setup(unfinished: ParticipantTxView[] = [], held: Record<string, number> = {}) {
  const audits: Array<{ event: string; details: Record<string, unknown> }> = [];
  let monotonicMs = 0;
  const admission = new PeerAdmission(LIMITS, {
    selfId: 'la-palma',
    telescopes: new Map([[telescope.id, telescope]]),
    unfinished: () => unfinished,
    knows: (txId) => unfinished.some((t) => t.txId === txId),
    slotsHeldBy: (txId) => held[txId] ?? 0,
    nowMs: () => NOW,
    monotonicMs: () => monotonicMs,
    audit: (event, details) => audits.push({ event, details }),
  });
  return { admission, audits, advance: (ms: number) => (monotonicMs += ms) };
}

let sequence = 0;
function prepare(overrides: Partial<PrepareMessage> = {}, hours = 1): { prepare: PrepareMessage; part: PartPayload } {
  const txId = overrides.txId ?? `rogue.tx${String(sequence++).padStart(8, '0')}`;
  const part: PartPayload = { bookingId: txId, scientistId: 'vera-rubin', items: [{ telescopeId: 'la-palma-gtc', start: '2027-01-10T00:00:00.000Z', end: new Date(Date.parse('2027-01-10T00:00:00.000Z') + hours * 3_600_000).toISOString() }] };
  return { prepare: { type: 'prepare', txId, kind: 'book', coordinatorId: 'rogue', participants: ['la-palma'], timestampMs: NOW, deadlineMs: NOW + 3_000, payload: part, ...overrides }, part };
}

function view(txId: string, phase: ParticipantTxView['phase'], createdAtMs = NOW): ParticipantTxView {
  return { txId, phase, coordinatorId: txId.split('.')[0]!, participants: ['la-palma'], kind: 'book', timestampMs: createdAtMs, createdAtMs };
}

describe('peer admission: what a participant accepts from another member', () => {
  it('forbids a book whose booking id is not its transaction id', () => {
    const { admission } = setup();
    const { prepare: p, part } = prepare();
    expect(() => admission.authorize(p, { ...part, bookingId: 'atacama.someoneelse1' })).to.throw(HttpProblem, 'booking id is its transaction id');
  });

  it('forbids a cancel from any node but the coordinator of the booking it names', () => {
    const { admission } = setup();
    const { prepare: p, part } = prepare({ kind: 'cancel' });
    expect(() => admission.authorize(p, { ...part, bookingId: 'atacama.abcdefgh12' })).to.throw(HttpProblem, 'only atacama, the coordinator of booking atacama.abcdefgh12, may cancel it');
    expect(() => admission.authorize(p, { ...part, bookingId: 'rogue.abcdefgh12' })).not.to.throw();
  });

  it('refuses timestamps from the future or too far in the past, and deadlines too far ahead, naming the bound', () => {
    const { admission, audits } = setup();
    const cases: Array<[Partial<PrepareMessage>, string]> = [
      [{ timestampMs: 0, deadlineMs: NOW + 3_000 }, 'PEER_TIMESTAMP_AGE_MAX_MS'],
      [{ timestampMs: NOW - 5_001 }, 'PEER_TIMESTAMP_AGE_MAX_MS'],
      [{ timestampMs: NOW + 1_001, deadlineMs: NOW + 4_000 }, 'PEER_CLOCK_SKEW_MAX_MS'],
      [{ deadlineMs: NOW + 10 * 365 * 86_400_000 }, 'PEER_DEADLINE_AHEAD_MAX_MS'],
      [{ timestampMs: NOW, deadlineMs: NOW - 1 }, 'deadline-before-timestamp'],
    ];
    for (const [overrides, rule] of cases) {
      const { prepare: p, part } = prepare(overrides);
      const vote = admission.admit(p, part);
      expect(vote, rule).to.include({ vote: 'no', from: 'la-palma', txId: p.txId });
      expect(vote!.reason!.code).to.equal('refused');
      expect(audits.at(-1)).to.deep.include({ event: 'TX_VOTED_NO' });
      expect(audits.at(-1)!.details).to.include({ rule, reason: 'refused', coordinator: 'rogue' });
    }
    const edge = prepare({ timestampMs: NOW - 5_000, deadlineMs: NOW + 20_000 });
    expect(admission.admit(edge.prepare, edge.part), 'exactly on the bounds').to.equal(undefined);
  });

  it('bounds open transactions and held slots per coordinator, counting only that coordinator', () => {
    const open = [view('rogue.a0000001', 'prepared'), view('rogue.a0000002', 'waiting'), view('atacama.b0000001', 'prepared')];
    const { admission } = setup(open, { 'rogue.a0000001': 6, 'atacama.b0000001': 100 });
    const fits = prepare({}, 4);
    expect(admission.admit(fits.prepare, fits.part), '6 held + 4 asked = 10 = the limit').to.equal(undefined);
    const over = prepare({}, 5);
    expect(admission.admit(over.prepare, over.part)!.reason!.detail).to.contain('PEER_HELD_SLOTS_MAX');
    open.push(view('rogue.a0000003', 'prepared'));
    const third = prepare();
    expect(admission.admit(third.prepare, third.part)!.reason!.detail).to.contain('PEER_OPEN_TRANSACTIONS_MAX');
    expect(admission.usage()).to.deep.equal({ rogue: { openTransactions: 3, heldSlots: 6, inDoubtOverBound: 0 }, atacama: { openTransactions: 1, heldSlots: 100, inDoubtOverBound: 0 } });
  });

  it('limits the prepare rate per peer with a burst, and refills with time', () => {
    const { admission, advance } = setup();
    const votes = Array.from({ length: 7 }, () => {
      const { prepare: p, part } = prepare();
      return admission.admit(p, part);
    });
    expect(votes.slice(0, 5)).to.deep.equal([undefined, undefined, undefined, undefined, undefined]);
    expect(votes[5]!.reason!.detail).to.contain('PEER_PREPARES_PER_SECOND_MAX');
    advance(100); // one token at 10/s
    const later = prepare();
    expect(admission.admit(later.prepare, later.part)).to.equal(undefined);
  });

  it('lets a duplicate prepare of a known transaction through to get its earlier vote, whatever its fields', () => {
    const known = [view('rogue.known0001', 'prepared')];
    const { admission } = setup(known);
    const { prepare: p, part } = prepare({ txId: 'rogue.known0001', timestampMs: 0 });
    expect(admission.admit(p, part)).to.equal(undefined);
  });

  it('charges an abort of an unknown transaction to the sender\'s prepare rate (429 past it), and a known one nothing', () => {
    const { admission, audits } = setup([view('rogue.known0001', 'prepared')]);
    for (let i = 0; i < LIMITS.prepareBurstMax; i += 1) admission.admitAbort({ type: 'abort', txId: `rogue.unknown${String(i).padStart(4, '0')}`, from: 'rogue' });
    expect(() => admission.admitAbort({ type: 'abort', txId: 'rogue.unknown9999', from: 'rogue' })).to.throw(HttpProblem, 'PEER_PREPARES_PER_SECOND_MAX');
    expect(audits.at(-1)).to.deep.include({ event: 'PEER_RATE_LIMITED' });
    expect(() => admission.admitAbort({ type: 'abort', txId: 'rogue.known0001', from: 'rogue' })).not.to.throw();
  });

  it('reports prepared transactions in doubt longer than the bound, by coordinator', () => {
    const { admission } = setup([view('rogue.old00001', 'prepared', NOW - 60_001), view('rogue.new00001', 'prepared', NOW - 10), view('rogue.wait0001', 'waiting', NOW - 90_000)]);
    expect(admission.inDoubtReport()).to.deep.equal({ overBound: 1, oldestAgeMs: 60_001, byCoordinator: { rogue: 1 } });
  });
});

describe('a participant\'s "refused" vote at the honest coordinator', () => {
  it('becomes 503 with Retry-After naming the observatory (a bound that may free up), not a 422 about the booking', () => {
    const problem = problemForAbort([{ code: 'refused', detail: 'mauna-kea already has 256 unfinished transactions at la-palma; the limit is 256 (PEER_OPEN_TRANSACTIONS_MAX)', node: 'la-palma' }], 'booking', 'mauna-kea.abcdefgh12');
    expect(problem.status).to.equal(503);
    expect(problem.headers).to.have.property('Retry-After');
    expect(problem.extensions).to.deep.include({ unavailableObservatories: ['la-palma'] });
    expect(problem.detail).to.contain('PEER_OPEN_TRANSACTIONS_MAX');
  });
});
