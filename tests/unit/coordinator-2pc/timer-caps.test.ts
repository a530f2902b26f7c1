// The cores' timers after the clock is stepped back (a jump undone by synchronisation,
// simulator seed 67054): given the clock, nextWakeAtMs brings every timer back to at most its
// longest interval from now, so that a re-send, a status query, a wait or a vote collection
// never waits for the size of the step as well. Without the clock it answers as before.
import { expect } from 'chai';
import { CoordinatorCore, type BeginTransaction } from '../../../coordinator-2pc/src/coordinator.js';
import { ParticipantCore } from '../../../coordinator-2pc/src/participant.js';
import { COORD, OTHER, SELF, SlotResourceManager, coordinatorConfig, participantConfig, prepareMsg, tx, voteMsg } from './helpers.js';

const STEP_BACK_MS = 60_000;

describe('core timers after a backwards clock step are capped at their longest interval', () => {
  const T = tx(1);
  const begin: BeginTransaction = { txId: T, kind: 'book', timestampMs: 100_000, deadlineMs: 103_000, parts: [{ node: SELF, payload: ['b1'] }, { node: OTHER, payload: ['c1'] }] };

  it('a coordinator\'s decision re-send: at most resendMaxMs after the stepped-back clock, and due then', () => {
    const c = new CoordinatorCore(coordinatorConfig);
    c.step({ type: 'begin', transaction: begin, nowMs: 100_000 });
    c.step({ type: 'receive', message: voteMsg(T, SELF, 'yes'), nowMs: 100_100 });
    c.step({ type: 'receive', message: voteMsg(T, OTHER, 'yes'), nowMs: 100_200 });
    expect(c.nextWakeAtMs(), 'uncapped: the instant set on the old clock').to.equal(100_200 + coordinatorConfig.resendInitialMs);
    const steppedNowMs = 100_300 - STEP_BACK_MS;
    const wakeAtMs = c.nextWakeAtMs(steppedNowMs)!;
    expect(wakeAtMs).to.equal(Math.min(100_700, steppedNowMs + coordinatorConfig.resendMaxMs));
    const sent = c.step({ type: 'tick', nowMs: wakeAtMs });
    expect(sent.map((e) => (e.type === 'send' ? `${e.to}:${e.message.type}` : e.type))).to.deep.equal([`${SELF}:commit`, `${OTHER}:commit`]);
  });

  it('a coordinator\'s vote collection: times out at most one prepare window after the stepped-back clock', () => {
    const c = new CoordinatorCore(coordinatorConfig);
    c.step({ type: 'begin', transaction: begin, nowMs: 100_000 });
    const steppedNowMs = 100_010 - STEP_BACK_MS;
    const wakeAtMs = c.nextWakeAtMs(steppedNowMs)!;
    expect(wakeAtMs).to.equal(steppedNowMs + (begin.deadlineMs - begin.timestampMs) + 1);
    const effects = c.step({ type: 'tick', nowMs: wakeAtMs });
    expect(effects.find((e) => e.type === 'outcome')).to.deep.include({ type: 'outcome', txId: T, outcome: 'aborted' });
  });

  it('a participant\'s status query of an in-doubt transaction: at most its longest query interval away, and due then', () => {
    const core = new ParticipantCore(participantConfig, new SlotResourceManager());
    const prepare = prepareMsg({ deadlineMs: 200_000 });
    core.step({ type: 'receive', message: prepare, nowMs: 100_000 });
    expect(core.nextWakeAtMs()).to.equal(100_000 + participantConfig.inDoubtQueryAfterMs);
    const steppedNowMs = 100_100 - STEP_BACK_MS;
    const wakeAtMs = core.nextWakeAtMs(steppedNowMs)!;
    expect(wakeAtMs).to.be.at.most(steppedNowMs + Math.max(participantConfig.inDoubtQueryAfterMs, participantConfig.queryBackoffMaxMs));
    const effects = core.step({ type: 'tick', nowMs: wakeAtMs });
    expect(effects.some((e) => e.type === 'send' && e.to === COORD && e.message.type === 'status-query')).to.equal(true);
  });

  it('a participant\'s wait-die wait: ends at most its own length (here until its deadline, 3 s) after the stepped-back clock', () => {
    const rm = new SlotResourceManager();
    const core = new ParticipantCore(participantConfig, rm);
    const holder = prepareMsg({ txId: tx(2), timestampMs: 200, deadlineMs: 103_000 });
    const waiter = prepareMsg({ txId: tx(1), timestampMs: 100, deadlineMs: 103_000 });
    core.step({ type: 'receive', message: holder, nowMs: 100_000 });
    core.step({ type: 'receive', message: waiter, nowMs: 100_000 });
    expect(core.view(waiter.txId)?.phase).to.equal('waiting');
    const steppedNowMs = 100_050 - STEP_BACK_MS;
    const wakeAtMs = core.nextWakeAtMs(steppedNowMs)!;
    expect(wakeAtMs).to.equal(steppedNowMs + 3_000);
    core.step({ type: 'tick', nowMs: wakeAtMs });
    expect(core.view(waiter.txId)?.phase, 'the wait ended: voted no').to.equal('aborted');
  });
});
