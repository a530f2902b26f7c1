// The pair invariants between participant records and slot claims (issue 10): slot changes
// travel in the persist effect of their own transaction, the transaction log refuses a write
// whose claims belong to another record, and recovery refuses a store whose claims and
// records disagree — with the production SlotTable and ParticipantCore.
import { expect } from 'chai';
import { ParticipantCore } from '../../coordinator-2pc/src/participant.js';
import type { LogEntry, PrepareMessage } from '../../coordinator-2pc/src/index.js';
import type { Effect, ParticipantRecord } from '../../coordinator-2pc/src/ports.js';
import type { Claim, ClaimChange } from '../../federation-node/src/domain/slot-table.js';
import { StoreInvariantError, checkLoadedStore, claimChangesOf } from '../../federation-node/src/storage/store-invariants.js';
import { recoverFromStore } from '../../federation-node/src/recovery.js';
import { partPayloadOf, slotTableOf } from '../simulation/sim-domain.js';

const NODE = 'obs-b';
const COORDINATOR = 'obs-a';
const HOUR_MS = 3_600_000;

function prepareOf(txId: string, slots: string[], timestampMs: number, kind: 'book' | 'cancel' = 'book', bookingId = txId): PrepareMessage {
  return { type: 'prepare', txId, kind, coordinatorId: COORDINATOR, participants: [NODE], timestampMs, deadlineMs: timestampMs + 5_000, payload: partPayloadOf(NODE, slots, bookingId) };
}

function recordOf(prepare: PrepareMessage, state: ParticipantRecord['state']): ParticipantRecord {
  const { txId, kind, coordinatorId, participants, timestampMs, deadlineMs, payload } = prepare;
  return { txId, kind, coordinatorId, participants, timestampMs, deadlineMs, payload, state, createdAtMs: timestampMs, updatedAtMs: timestampMs };
}

function heldClaim(txId: string, slot: number, state: Claim['state'] = 'HELD', bookingId = txId): Claim {
  const startMs = (slot + 1) * HOUR_MS;
  return { telescopeId: `${NODE}-scope`, startMs, endMs: startMs + HOUR_MS, bookingId, txId, state };
}

function persists(effects: Effect[]): Array<{ txId: string; state: string; changes: ClaimChange[] }> {
  return effects
    .filter((e): e is Extract<Effect, { type: 'persist-participant' }> => e.type === 'persist-participant')
    .map((e) => ({ txId: e.record.txId, state: e.record.state, changes: e.changes as ClaimChange[] }));
}

describe('slot changes travel with the record of their own transaction (issue 10, the hold-orphan bug)', () => {
  it('an abort that wakes a waiter persists the holder\'s released claim with the holder\'s record and the waiter\'s HELD claim with the waiter\'s PREPARED record', () => {
    const slots = slotTableOf(NODE);
    const core = new ParticipantCore({ selfId: NODE, waitMaxMs: 1_000, inDoubtQueryAfterMs: 10_000, queryBackoffMaxMs: 10_000, finishedRetentionMs: 60_000, recoveryBallotAfterMs: 20_000 }, slots);
    const younger = prepareOf('obs-a.tx000002', ['s0'], 2_000);
    const older = prepareOf('obs-a.tx000001', ['s0'], 1_000); // older: waits for the younger holder (wait-die)
    core.step({ type: 'receive', message: younger, nowMs: 2_000 });
    expect(persists(core.step({ type: 'receive', message: older, nowMs: 2_001 })), 'the waiter persists nothing yet').to.deep.equal([]);
    const effects = core.step({ type: 'receive', message: { type: 'abort', txId: younger.txId, from: COORDINATOR }, nowMs: 2_002 });
    const written = persists(effects);
    expect(written.map((w) => `${w.txId} ${w.state}`)).to.deep.equal([`${younger.txId} aborted`, `${older.txId} prepared`]);
    for (const write of written) {
      expect(write.changes.length, `${write.txId} carries its own change`).to.equal(1);
      expect(write.changes.every((c) => c.txId === write.txId), `${write.txId} carries no other transaction's change`).to.equal(true);
      expect(() => claimChangesOf({ role: 'participant', record: { ...recordOf(younger, 'prepared'), txId: write.txId, state: write.state as 'prepared' }, changes: write.changes })).to.not.throw();
    }
    expect(written[1]!.changes[0]).to.deep.include({ op: 'insert', txId: older.txId });
  });
});

describe('the transaction log\'s assertion before a write', () => {
  const prepare = prepareOf('obs-a.tx000010', ['s1'], 1_000);
  const other = prepareOf('obs-a.tx000011', ['s2'], 1_000);
  const insert = (claim: Claim): ClaimChange => ({ op: 'insert', txId: claim.txId, claim });

  it('accepts a PREPARED record with its own HELD claims, and a coordinator record with none', () => {
    const entry: LogEntry = { role: 'participant', record: recordOf(prepare, 'prepared'), changes: [insert(heldClaim(prepare.txId, 1))] };
    expect(claimChangesOf(entry)).to.have.length(1);
    expect(claimChangesOf({ role: 'coordinator', record: { txId: 'x', kind: 'book', participants: [NODE], timestampMs: 1, decision: 'committed', acked: [], state: 'decided', createdAtMs: 1, updatedAtMs: 1 } })).to.deep.equal([]);
  });

  it('refuses a record written with another transaction\'s HELD claim, naming the slot and the transaction', () => {
    const entry: LogEntry = { role: 'participant', record: recordOf(prepare, 'aborted'), changes: [insert(heldClaim(other.txId, 2))] };
    expect(() => claimChangesOf(entry)).to.throw(StoreInvariantError, /refusing to write the aborted record of obs-a\.tx000010 with insert of slot \(obs-b-scope, 1970-01-01T03:00:00\.000Z\) HELD: made by another transaction \(obs-a\.tx000011\)/);
  });

  it('refuses a committed record that would leave a slot HELD', () => {
    const entry: LogEntry = { role: 'participant', record: recordOf(prepare, 'committed'), changes: [{ op: 'update', txId: prepare.txId, claim: heldClaim(prepare.txId, 1) }] };
    expect(() => claimChangesOf(entry)).to.throw(StoreInvariantError, /a committed record leaves no slot HELD/);
  });

  it('accepts a committed record whose slot is held then confirmed in the same entry (a reapplied outcome), judging the slot by its last change', () => {
    const changes: ClaimChange[] = [insert(heldClaim(prepare.txId, 1)), { op: 'update', txId: prepare.txId, claim: heldClaim(prepare.txId, 1, 'BOOKED') }];
    expect(claimChangesOf({ role: 'participant', record: recordOf(prepare, 'committed'), changes })).to.have.length(2);
    const heldLast: ClaimChange[] = [changes[1]!, { op: 'update', txId: prepare.txId, claim: heldClaim(prepare.txId, 1) }];
    expect(() => claimChangesOf({ role: 'participant', record: recordOf(prepare, 'committed'), changes: heldLast })).to.throw(StoreInvariantError, /a committed record leaves no slot HELD/);
  });
});

describe('the recovery\'s assertion after loading the store', () => {
  const slots = slotTableOf(NODE);
  const booked = prepareOf('obs-a.tx000020', ['s0'], 1_000);
  const held = prepareOf('obs-a.tx000021', ['s1', 's2'], 1_000);
  const cancelling = prepareOf('obs-a.tx000022', ['s0'], 1_000, 'cancel', booked.txId);

  it('accepts a store whose claims and records pair up (HELD with a prepared book, RELEASING with a prepared cancel)', () => {
    const records = [recordOf(booked, 'committed'), recordOf(held, 'prepared'), recordOf(cancelling, 'prepared')];
    const claims = [heldClaim(cancelling.txId, 0, 'RELEASING', booked.txId), heldClaim(held.txId, 1), heldClaim(held.txId, 2)];
    expect(() => checkLoadedStore(records, claims, slots)).to.not.throw();
  });

  it('refuses an orphaned HELD claim (no prepared record), naming the row', () => {
    const records = [recordOf(held, 'aborted')];
    expect(() => checkLoadedStore(records, [heldClaim(held.txId, 1)], slots)).to.throw(
      StoreInvariantError,
      /slot_claims \(obs-b-scope, 1970-01-01T02:00:00\.000Z\) is HELD by obs-a\.tx000021, which has no prepared participant_transactions row/,
    );
  });

  it('refuses a prepared record that lacks one of its claims, naming the record and the slot', () => {
    expect(() => checkLoadedStore([recordOf(held, 'prepared')], [heldClaim(held.txId, 1)], slots)).to.throw(
      StoreInvariantError,
      /participant_transactions obs-a\.tx000021 is prepared but slot_claims lacks HELD for obs-b-scope 1970-01-01T03:00:00\.000Z/,
    );
  });

  it('refuses a RELEASING claim whose prepared record is a booking, not a cancellation', () => {
    expect(() => checkLoadedStore([recordOf(held, 'prepared')], [heldClaim(held.txId, 1, 'RELEASING'), heldClaim(held.txId, 2)], slots)).to.throw(
      StoreInvariantError,
      /is RELEASING by obs-a\.tx000021, whose prepared record is a book/,
    );
  });

  it('stops recovery before anything is restored when the store disagrees', () => {
    const fresh = slotTableOf(NODE);
    const engineNeverUsed = new Proxy({}, { get: () => { throw new Error('the engine must not be touched'); } });
    const stored = { participantRecords: [], decidedRecords: [], claims: [heldClaim(held.txId, 1)], undecided: [] };
    expect(() => recoverFromStore(stored, { nowMs: 10_000, finishedRetentionMs: 60_000 }, fresh, engineNeverUsed as never)).to.throw(StoreInvariantError);
    expect(fresh.allClaims(), 'no claim loaded').to.deep.equal([]);
  });
});
