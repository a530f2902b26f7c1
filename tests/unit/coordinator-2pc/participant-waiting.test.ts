// ParticipantCore, wait-die: a transaction waiting for a hold × every message, tick and
// resolve, and what happens to it when the transaction that blocks it finishes.
import { expect } from 'chai';
import { ParticipantCore } from '../../../coordinator-2pc/src/participant.js';
import type { PrepareMessage, ProtocolMessage } from '../../../coordinator-2pc/src/messages.js';
import type { Effect } from '../../../coordinator-2pc/src/ports.js';
import {
  COORD,
  OTHER,
  SELF,
  SlotResourceManager,
  abortMsg,
  ackMsg,
  audit,
  commitMsg,
  participantConfig,
  finishChange,
  persist,
  prepareMsg,
  preparedEffects,
  recordOf,
  refusedEffects,
  send,
  statusReplyMsg,
  tx,
  voteMsg,
} from './helpers.js';

const SLOT = 't1@02:00';
/** The younger holder: prepared at 900. */
const holder = prepareMsg({ txId: tx(2), timestampMs: 200, payload: [SLOT] });
/** The older transaction that waits for it: prepare at 1000, waits for the younger holder until its own deadline, 10,000 (not waitMaxMs). */
const waiter = prepareMsg({ txId: tx(1), timestampMs: 100, payload: [SLOT] });

function setup() {
  const rm = new SlotResourceManager();
  const core = new ParticipantCore(participantConfig, rm);
  const receive = (message: ProtocolMessage, nowMs: number) => core.step({ type: 'receive', message, nowMs });
  return { rm, core, receive };
}

/** `waiter` blocked by the younger prepared `holder`. */
function waiting() {
  const ctx = setup();
  expect(ctx.receive(holder, 900)).to.deep.equal(preparedEffects(holder, 900));
  expect(ctx.receive(waiter, 1000)).to.deep.equal([
    audit('TX_WAITING', waiter.txId, { blockers: [holder.txId], waitUntilMs: 10_000, detail: `held by ${holder.txId}` }),
  ]);
  return ctx;
}

/** The transaction an effect is about. */
function txIdOf(effect: Effect): string | undefined {
  if (effect.type === 'audit') return effect.txId;
  if (effect.type === 'send') return effect.message.txId;
  if (effect.type === 'persist-participant') return effect.record.txId;
  return undefined;
}

function finishedEffects(prepare: PrepareMessage, preparedAtMs: number, outcome: 'committed' | 'aborted', atMs: number): Effect[] {
  return [
    persist(recordOf(prepare, outcome, preparedAtMs, { updatedAtMs: atMs }), [finishChange(prepare.txId, outcome)]),
    audit(outcome === 'committed' ? 'TX_COMMITTED' : 'TX_ABORTED', prepare.txId, { role: 'participant', outcome, kind: prepare.kind }),
    send(COORD, ackMsg(prepare.txId, SELF, outcome)),
  ];
}

describe('ParticipantCore — wait-die', () => {
  it('lets an older transaction blocked by a younger prepared holder wait, with no record and no vote yet', () => {
    const { core } = waiting();
    expect(core.view(waiter.txId)).to.deep.equal({
      txId: waiter.txId, phase: 'waiting', coordinatorId: COORD, participants: [SELF, OTHER], kind: 'book', timestampMs: 100, createdAtMs: 1000,
    });
    expect(core.unfinished().map((v) => [v.txId, v.phase])).to.deep.equal([[holder.txId, 'prepared'], [waiter.txId, 'waiting']]);
    expect(core.nextWakeAtMs(), 'the holder\'s in-doubt query comes first; the waiter wakes at its deadline').to.equal(1900);
  });

  it('makes a younger transaction blocked by an older holder die at once with no/conflict', () => {
    const { core, receive } = setup();
    const older = prepareMsg({ txId: tx(2), timestampMs: 50, payload: [SLOT] });
    receive(older, 900);
    const younger = prepareMsg({ txId: tx(1), timestampMs: 100, payload: [SLOT] });
    expect(receive(younger, 1000)).to.deep.equal(refusedEffects(younger, 1000, 'conflict', `held by ${older.txId}`));
    expect(core.view(younger.txId)?.phase).to.equal('aborted');
  });

  it('breaks a timestamp tie by transaction id: the smaller id waits, the larger dies', () => {
    const a = setup();
    a.receive(prepareMsg({ txId: tx(2), timestampMs: 100, payload: [SLOT] }), 900);
    expect(a.receive(prepareMsg({ txId: tx(1), timestampMs: 100, payload: [SLOT] }), 1000)[0]).to.include({ type: 'audit', event: 'TX_WAITING' });
    const b = setup();
    b.receive(prepareMsg({ txId: tx(1), timestampMs: 100, payload: [SLOT] }), 900);
    const loser = prepareMsg({ txId: tx(2), timestampMs: 100, payload: [SLOT] });
    expect(b.receive(loser, 1000)).to.deep.equal(refusedEffects(loser, 1000, 'conflict', `held by ${tx(1)}`));
  });

  it('makes an older transaction die at once when one of its blockers is older than it, even if another is younger', () => {
    const { receive } = setup();
    receive(prepareMsg({ txId: tx(2), timestampMs: 200, payload: ['s1'] }), 900);
    receive(prepareMsg({ txId: tx(3), timestampMs: 10, payload: ['s2'] }), 900);
    const middle = prepareMsg({ txId: tx(1), timestampMs: 100, payload: ['s1', 's2'] });
    expect(receive(middle, 1000)).to.deep.equal(refusedEffects(middle, 1000, 'conflict', `held by ${tx(2)}, ${tx(3)}`));
  });

  it('caps the wait at the prepare deadline and votes no/conflict on the tick at that deadline', () => {
    const { core, receive } = setup();
    receive(holder, 900);
    const short = { ...waiter, deadlineMs: 1100 };
    expect(receive(short, 1000)).to.deep.equal([
      audit('TX_WAITING', short.txId, { blockers: [holder.txId], waitUntilMs: 1100, detail: `held by ${holder.txId}` }),
    ]);
    expect(core.step({ type: 'tick', nowMs: 1099 })).to.deep.equal([]);
    expect(core.step({ type: 'tick', nowMs: 1100 })).to.deep.equal(
      refusedEffects(short, 1100, 'conflict', `still held by ${holder.txId} after waiting 100 ms`),
    );
  });

  it('does not wait at all when the deadline is now: no/conflict at once', () => {
    const { receive } = setup();
    receive(holder, 900);
    const now = { ...waiter, deadlineMs: 1000 };
    expect(receive(now, 1000)).to.deep.equal(refusedEffects(now, 1000, 'conflict', `held by ${holder.txId}`));
  });

  describe('a waiting transaction × every message', () => {
    it('gives a duplicate prepare no vote yet and does not try the hold again', () => {
      const { rm, core, receive } = waiting();
      expect(receive(waiter, 1050)).to.deep.equal([]);
      expect(rm.opsOf(waiter.txId)).to.deep.equal(['tryHold']);
      expect(core.view(waiter.txId)?.phase).to.equal('waiting');
    });

    it('ignores a commit (no vote was given, so no correct coordinator can commit)', () => {
      const { rm, core, receive } = waiting();
      expect(receive(commitMsg(waiter.txId), 1050)).to.deep.equal([]);
      expect(core.view(waiter.txId)?.phase).to.equal('waiting');
      expect(rm.opsOf(waiter.txId)).to.deep.equal(['tryHold']);
    });

    it('on abort stops waiting: persists aborted, votes no/aborted and acks aborted, releasing nothing', () => {
      const { rm, core, receive } = waiting();
      expect(receive(abortMsg(waiter.txId), 1050)).to.deep.equal([
        ...refusedEffects(waiter, 1050, 'aborted', 'the coordinator aborted the transaction'),
        send(COORD, ackMsg(waiter.txId, SELF, 'aborted')),
      ]);
      expect(core.view(waiter.txId)?.phase).to.equal('aborted');
      expect(core.unfinished().map((v) => v.txId)).to.deep.equal([holder.txId]);
      expect(rm.opsOf(waiter.txId)).to.deep.equal(['tryHold']);
      expect(rm.holderOf(SLOT)?.txId).to.equal(holder.txId);
    });

    for (const outcome of ['committed', 'aborted', 'pending'] as const) {
      it(`ignores a status-reply ${outcome} (it is not in doubt)`, () => {
        const { core, receive } = waiting();
        expect(receive(statusReplyMsg(waiter.txId, outcome), 1050)).to.deep.equal([]);
        expect(core.view(waiter.txId)?.phase).to.equal('waiting');
      });
    }

    for (const [name, message] of [
      ['vote', voteMsg(waiter.txId, OTHER, 'yes')],
      ['ack', ackMsg(waiter.txId, OTHER, 'aborted')],
    ] as Array<[string, ProtocolMessage]>) {
      it(`ignores a ${name} meant for the coordinator role`, () => {
        const { core, receive } = waiting();
        expect(receive(message, 1050)).to.deep.equal([]);
        expect(core.view(waiter.txId)?.phase).to.equal('waiting');
      });
    }

    it('refuses an operator resolve (only a prepared transaction is in doubt)', () => {
      const { core } = waiting();
      expect(core.step({ type: 'resolve', txId: waiter.txId, outcome: 'committed', nowMs: 1050 })).to.deep.equal([]);
      expect(core.view(waiter.txId)?.phase).to.equal('waiting');
    });

    it('waits for a younger holder past waitMaxMs, until its own deadline, and votes no/conflict on the tick at that deadline', () => {
      const { core } = waiting();
      const waiterOnly = (effects: Effect[]) => effects.filter((e) => txIdOf(e) === waiter.txId);
      expect(waiterOnly(core.step({ type: 'tick', nowMs: 1200 })), 'waitMaxMs has passed: still waiting').to.deep.equal([]);
      expect(waiterOnly(core.step({ type: 'tick', nowMs: 9_999 }))).to.deep.equal([]);
      expect(core.view(waiter.txId)?.phase).to.equal('waiting');
      expect(waiterOnly(core.step({ type: 'tick', nowMs: 10_000 }))).to.deep.equal(
        refusedEffects(waiter, 10_000, 'conflict', `still held by ${holder.txId} after waiting 9000 ms`),
      );
    });

    it('prepares an older waiter whose younger holder aborts long after waitMaxMs (the earliest asker still wins under overload)', () => {
      const { receive } = waiting();
      expect(receive(abortMsg(holder.txId), 4_000)).to.deep.equal([...finishedEffects(holder, 900, 'aborted', 4_000), ...preparedEffects(waiter, 4_000)]);
    });

    it('after the clock is stepped back, brings the wait back to at most its own length from now (capTimers)', () => {
      const core = new ParticipantCore({ ...participantConfig, inDoubtQueryAfterMs: 60_000, queryBackoffMaxMs: 60_000 }, new SlotResourceManager());
      core.step({ type: 'receive', message: holder, nowMs: 900 });
      core.step({ type: 'receive', message: waiter, nowMs: 1000 });
      expect(core.nextWakeAtMs(1000)).to.equal(10_000);
      expect(core.nextWakeAtMs(-5_000), 'stepped back 6 s: the 9,000 ms wait ends at most 9,000 ms from now').to.equal(4_000);
    });
  });

  describe('when the holder finishes', () => {
    it('prepares the waiter (yes) right after the holder aborts, in the same step', () => {
      const { rm, core, receive } = waiting();
      expect(receive(abortMsg(holder.txId), 1100)).to.deep.equal([
        ...finishedEffects(holder, 900, 'aborted', 1100),
        ...preparedEffects(waiter, 1100),
      ]);
      expect(rm.holderOf(SLOT)).to.deep.equal({ txId: waiter.txId, committed: false });
      expect(core.view(waiter.txId)?.phase).to.equal('prepared');
    });

    it('votes no/conflict for the waiter right after the holder commits', () => {
      const { rm, core, receive } = waiting();
      expect(receive(commitMsg(holder.txId), 1100)).to.deep.equal([
        ...finishedEffects(holder, 900, 'committed', 1100),
        ...refusedEffects(waiter, 1100, 'conflict', `held by ${holder.txId}`),
      ]);
      expect(rm.holderOf(SLOT)).to.deep.equal({ txId: holder.txId, committed: true });
      expect(core.view(waiter.txId)?.phase).to.equal('aborted');
    });

    it('prepares the waiter when the holder learns "aborted" from a status-reply', () => {
      const { receive } = waiting();
      expect(receive(statusReplyMsg(holder.txId, 'aborted'), 1100)).to.deep.equal([
        ...finishedEffects(holder, 900, 'aborted', 1100),
        ...preparedEffects(waiter, 1100),
      ]);
    });

    it('retries the waiters oldest first: the oldest prepares, the next one then dies against it', () => {
      const { receive } = setup();
      receive(holder, 900);
      const second = prepareMsg({ txId: tx(3), timestampMs: 150, payload: [SLOT] });
      receive(second, 1000);
      receive(waiter, 1010);
      expect(receive(abortMsg(holder.txId), 1100)).to.deep.equal([
        ...finishedEffects(holder, 900, 'aborted', 1100),
        ...preparedEffects(waiter, 1100),
        ...refusedEffects(second, 1100, 'conflict', `held by ${waiter.txId}`),
      ]);
    });

    it('keeps waiting, silently and with its first deadline, while another blocker still holds a slot', () => {
      const { core, receive } = setup();
      const h1 = prepareMsg({ txId: tx(2), timestampMs: 200, payload: ['s1'] });
      const h2 = prepareMsg({ txId: tx(3), timestampMs: 300, payload: ['s2'] });
      receive(h1, 900);
      receive(h2, 900);
      const both = prepareMsg({ txId: tx(1), timestampMs: 100, payload: ['s1', 's2'] });
      expect(receive(both, 1000)).to.deep.equal([
        audit('TX_WAITING', both.txId, { blockers: [h1.txId, h2.txId], waitUntilMs: 10_000, detail: `held by ${h1.txId}, ${h2.txId}` }),
      ]);
      expect(receive(abortMsg(h1.txId), 1050)).to.deep.equal(finishedEffects(h1, 900, 'aborted', 1050));
      expect(core.view(both.txId)).to.include({ phase: 'waiting', createdAtMs: 1000 });
      expect(core.nextWakeAtMs(), 'h2\'s in-doubt query; the waiter still waits until its deadline').to.equal(1900);
      expect(receive(abortMsg(h2.txId), 1100)).to.deep.equal([...finishedEffects(h2, 900, 'aborted', 1100), ...preparedEffects(both, 1100)]);
    });
  });
});
