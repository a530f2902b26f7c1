// Outcomes from the durable record, `unknown`, cooperative termination and reconciliation:
// every new state × message of the participant and coordinator cores, and the pure rules of
// durable-knowledge.ts (docs/PROTOCOL.md, "Store identity, incarnation and unknown").
import { expect } from 'chai';
import { CoordinatorCore } from '../../../coordinator-2pc/src/coordinator.js';
import { makeTxId, recordsComplete, txOrigin, type DurableKnowledge } from '../../../coordinator-2pc/src/durable-knowledge.js';
import type { ProtocolMessage } from '../../../coordinator-2pc/src/messages.js';
import { ParticipantCore } from '../../../coordinator-2pc/src/participant.js';
import type { AbortReason } from '../../../coordinator-2pc/src/messages.js';
import {
  changeOf,
  COORD, OTHER, SELF, SlotResourceManager, ackMsg, audit, coordinatorConfig, participantConfig, persist, prepareMsg,
  preparedEffects, recordOf, refusedEffects, send, statusQueryMsg, statusReplyMsg, tx, voteMsg,
} from './helpers.js';

const T = tx(1);
const SLOT = 't1@02:00';
const complete: DurableKnowledge = { complete: true };
const incomplete: DurableKnowledge = { complete: false };

function participant() {
  const rm = new SlotResourceManager();
  const core = new ParticipantCore(participantConfig, rm);
  const receive = (message: ProtocolMessage, nowMs: number, knowledge?: DurableKnowledge) =>
    core.step({ type: 'receive', message, nowMs, ...(knowledge ? { knowledge } : {}) });
  return { rm, core, receive };
}

function prepared() {
  const ctx = participant();
  const prepare = prepareMsg({ txId: T });
  expect(ctx.receive(prepare, 1000)).to.deep.equal(preparedEffects(prepare, 1000));
  return { ...ctx, prepare };
}

describe('durable outcomes — participant asked by another participant (cooperative termination)', () => {
  describe('a transaction it no longer holds in memory', () => {
    it('without a look-up of its records answers unknown and writes nothing (it may have committed and forgotten)', () => {
      const { core, receive, rm } = participant();
      expect(receive(statusQueryMsg(T, OTHER), 1000)).to.deep.equal([send(OTHER, statusReplyMsg(T, 'unknown', SELF))]);
      expect(core.view(T)).to.equal(undefined);
      expect(rm.calls).to.deep.equal([]);
    });

    it('with a complete store and no record: refuses the id for good (tombstone) and answers aborted', () => {
      const { core, receive } = participant();
      const reason: AbortReason = { code: 'aborted', detail: `refused for good when ${OTHER}, in doubt, asked for the outcome`, node: SELF };
      expect(receive(statusQueryMsg(T, OTHER), 1000, complete)).to.deep.equal([
        persist({ txId: T, kind: 'book', coordinatorId: COORD, participants: [], timestampMs: 0, deadlineMs: 0, payload: null, state: 'aborted', createdAtMs: 1000, updatedAtMs: 1000, reason }),
        audit('TX_ABORTED', T, { role: 'participant', tombstone: true, askedBy: OTHER }),
        send(OTHER, statusReplyMsg(T, 'aborted', SELF)),
      ]);
      expect(core.view(T)?.phase).to.equal('aborted');
      expect(receive(prepareMsg({ txId: T }), 1100)).to.deep.equal([send(COORD, voteMsg(T, SELF, 'no', reason))], 'the late prepare is refused');
    });

    it('with a store that may have lost the record (restored, new, pruned): answers unknown, never aborted', () => {
      const { core, receive } = participant();
      expect(receive(statusQueryMsg(T, OTHER), 1000, incomplete)).to.deep.equal([send(OTHER, statusReplyMsg(T, 'unknown', SELF))]);
      expect(core.view(T)).to.equal(undefined);
    });

    for (const state of ['committed', 'aborted'] as const) {
      it(`answers from its ${state} record`, () => {
        const { receive } = participant();
        expect(receive(statusQueryMsg(T, OTHER), 1000, { complete: true, participantState: state })).to.deep.equal([send(OTHER, statusReplyMsg(T, state, SELF))]);
      });
    }
  });

  describe('a transaction waiting for a hold (never voted)', () => {
    function waiting() {
      const ctx = participant();
      const holder = prepareMsg({ txId: tx(2), timestampMs: 200, payload: [SLOT] });
      const waiter = prepareMsg({ txId: T, timestampMs: 100, payload: [SLOT] });
      ctx.receive(holder, 900);
      expect(ctx.receive(waiter, 1000)[0]).to.include({ type: 'audit', event: 'TX_WAITING' });
      return { ...ctx, waiter };
    }

    it('asked by another participant: votes no, refuses for good and answers aborted', () => {
      const { core, receive, waiter } = waiting();
      expect(receive(statusQueryMsg(T, OTHER), 1050)).to.deep.equal([
        ...refusedEffects(waiter, 1050, 'aborted', `refused for good when ${OTHER}, in doubt, asked for the outcome`),
        send(OTHER, statusReplyMsg(T, 'aborted', SELF)),
      ]);
      expect(core.view(T)?.phase).to.equal('aborted');
    });

    it('asked by a node the prepare did not name: answers unknown and keeps waiting', () => {
      const { core, receive } = waiting();
      expect(receive(statusQueryMsg(T, 'obs-x'), 1050)).to.deep.equal([send('obs-x', statusReplyMsg(T, 'unknown', SELF))]);
      expect(core.view(T)?.phase).to.equal('waiting');
    });
  });
});

describe('durable outcomes — prepared participant in doubt × status replies', () => {
  for (const outcome of ['committed', 'aborted'] as const) {
    it(`finishes ${outcome} on another participant's ${outcome}, audited TX_TERMINATED_BY_PEER`, () => {
      const { core, receive, rm, prepare } = prepared();
      const effects = receive(statusReplyMsg(T, outcome, OTHER), 5000);
      expect(effects[0]).to.deep.equal(audit('TX_TERMINATED_BY_PEER', T, { peer: OTHER, outcome, coordinator: COORD, answers: { [OTHER]: outcome } }));
      expect(effects.slice(1)).to.deep.equal([
        persist(recordOf(prepare, outcome, 1000, { updatedAtMs: 5000 }), [changeOf(outcome === 'committed' ? 'confirm' : 'release', T)]),
        audit(outcome === 'committed' ? 'TX_COMMITTED' : 'TX_ABORTED', T, { role: 'participant', outcome, kind: 'book' }),
        send(COORD, ackMsg(T, SELF, outcome)),
      ]);
      expect(core.view(T)?.phase).to.equal(outcome);
      expect(rm.opsOf(T)).to.deep.equal(['tryHold', outcome === 'committed' ? 'confirm' : 'release']);
    });
  }

  for (const outcome of ['pending', 'unknown'] as const) {
    it(`stays prepared on another participant's ${outcome} and shows the answer in its view`, () => {
      const { core, receive } = prepared();
      expect(receive(statusReplyMsg(T, outcome, OTHER), 5000)).to.deep.equal([]);
      expect(core.view(T)).to.include({ phase: 'prepared' });
      expect(core.view(T)?.answers).to.deep.equal({ [OTHER]: outcome });
    });
  }

  it("asks the other participants at once when its coordinator answers unknown (audited once)", () => {
    const { core, receive } = prepared();
    expect(receive(statusReplyMsg(T, 'unknown'), 3000)).to.deep.equal([
      audit('TX_TERMINATION_ASKED', T, { coordinator: COORD, peers: [OTHER], coordinatorAnswer: 'unknown', preparedForMs: 2000 }),
      send(OTHER, statusQueryMsg(T, SELF)),
    ]);
    expect(receive(statusReplyMsg(T, 'unknown'), 4000)).to.deep.equal([send(OTHER, statusQueryMsg(T, SELF))]);
    expect(core.view(T)?.phase).to.equal('prepared');
  });

  it('has nobody to ask when it and the coordinator are the only participants: stays prepared (blocked)', () => {
    const ctx = participant();
    const prepare = prepareMsg({ txId: T, participants: [COORD, SELF] });
    ctx.receive(prepare, 1000);
    expect(ctx.receive(statusReplyMsg(T, 'unknown'), 3000)).to.deep.equal([]);
    expect(ctx.core.view(T)?.phase).to.equal('prepared');
  });
});

describe('durable outcomes — reconciliation re-applies an outcome the store lost', () => {
  const lost = (state: 'committed' | 'aborted') => recordOf(prepareMsg({ txId: T }), state, 0);

  it('an unknown committed transaction: takes its slots, confirms them and records it committed', () => {
    const { core, rm } = participant();
    expect(core.step({ type: 'reapply', record: lost('committed'), nowMs: 7000 })).to.deep.equal([
      // The hold and its confirmation travel with the record they belong to, in that order.
      persist({ ...lost('committed'), createdAtMs: 7000, updatedAtMs: 7000 }, [changeOf('hold', lost('committed').txId), changeOf('confirm', lost('committed').txId)]),
      audit('TX_REAPPLIED', T, { applied: true, outcome: 'committed', kind: 'book', coordinator: COORD }),
    ]);
    expect(rm.holderOf(SLOT)).to.deep.equal({ txId: T, committed: true });
    expect(core.view(T)?.phase).to.equal('committed');
  });

  it('whose slot another transaction took since: applies nothing and audits why', () => {
    const { core, rm } = participant();
    rm.seed(SLOT, tx(9), true);
    expect(core.step({ type: 'reapply', record: lost('committed'), nowMs: 7000 })).to.deep.equal([
      audit('TX_REAPPLIED', T, { applied: false, outcome: 'committed', detail: `held by ${tx(9)}` }),
    ]);
    expect(core.view(T)).to.equal(undefined);
  });

  it('a transaction still prepared here (the backup caught it in doubt): finishes it', () => {
    const { core, rm } = prepared();
    const effects = core.step({ type: 'reapply', record: lost('committed'), nowMs: 7000 });
    expect(effects.map((e) => (e.type === 'audit' ? e.event : e.type))).to.deep.equal(['persist-participant', 'TX_COMMITTED', 'send']);
    expect(rm.opsOf(T)).to.deep.equal(['tryHold', 'confirm']);
  });

  it('a transaction already finished here: nothing', () => {
    const { core, receive } = prepared();
    receive({ type: 'commit', txId: T, from: COORD }, 2000);
    expect(core.step({ type: 'reapply', record: lost('committed'), nowMs: 7000 })).to.deep.equal([]);
  });

  it('an unknown aborted transaction: a tombstone', () => {
    const { core } = participant();
    const effects = core.step({ type: 'reapply', record: lost('aborted'), nowMs: 7000 });
    expect(effects[0]?.type).to.equal('persist-participant');
    expect(core.view(T)?.phase).to.equal('aborted');
  });
});

describe('durable outcomes — coordinator status answers from its records', () => {
  const core = () => new CoordinatorCore(coordinatorConfig);
  const ask = (c: CoordinatorCore, knowledge?: DurableKnowledge) =>
    c.step({ type: 'receive', message: statusQueryMsg(T, SELF), nowMs: 1000, ...(knowledge ? { knowledge } : {}) });

  it('answers committed for a transaction it ended (its END record says committed), not aborted', () => {
    expect(ask(core(), { complete: true, coordinatorDecision: 'committed' })).to.deep.equal([send(SELF, statusReplyMsg(T, 'committed', COORD))]);
  });

  it('presumes abort for a transaction it has no record of, when its store is complete', () => {
    expect(ask(core(), complete)).to.deep.equal([send(SELF, statusReplyMsg(T, 'aborted', COORD))]);
  });

  it('answers unknown for a transaction it has no record of, when its store may have lost it', () => {
    expect(ask(core(), incomplete)).to.deep.equal([send(SELF, statusReplyMsg(T, 'unknown', COORD))]);
  });

  it('answers from memory while the transaction is unfinished, whatever the records say', () => {
    const c = core();
    c.step({ type: 'begin', transaction: { txId: T, kind: 'book', timestampMs: 1, deadlineMs: 9000, parts: [{ node: SELF, payload: [SLOT] }] }, nowMs: 900 });
    expect(ask(c, incomplete)).to.deep.equal([send(SELF, statusReplyMsg(T, 'pending', COORD))]);
  });
});

describe('durable outcomes — transaction ids and store horizons', () => {
  const horizon = { completeSinceMs: 1_700_000_000_000, completeSinceIncarnation: 3, marginMs: 60_000 };

  it('an id made here carries its time and incarnation, and reads back', () => {
    const id = makeTxId('atacama', 1_700_000_123_456, 42, 'AbCdEf-_1234');
    expect(id).to.match(/^atacama\.[0-9a-z]{8}_i16_AbCdEf-_1234$/);
    expect(txOrigin(id)).to.deep.equal({ coordinatorId: 'atacama', createdAtMs: 1_700_000_123_456, incarnation: 42 });
  });

  it('an id of the older form (time only) still gives its time', () => {
    const id = `atacama.${(1_700_000_000_001).toString(36)}Xy_Z09ab`;
    expect(txOrigin(id)).to.deep.equal({ coordinatorId: 'atacama', createdAtMs: 1_700_000_000_001 });
  });

  it("own ids: complete from the horizon's incarnation and time on, incomplete before either", () => {
    expect(recordsComplete(makeTxId('a', horizon.completeSinceMs + 5, 3, 'rnd12345'), 'a', horizon)).to.equal(true);
    expect(recordsComplete(makeTxId('a', horizon.completeSinceMs + 5, 2, 'rnd12345'), 'a', horizon)).to.equal(false, 'an earlier incarnation');
    expect(recordsComplete(makeTxId('a', horizon.completeSinceMs - 5, 3, 'rnd12345'), 'a', horizon)).to.equal(false, 'before the horizon');
  });

  it("other nodes' ids: incomplete until the clock margin has passed, and always for an id it cannot read", () => {
    expect(recordsComplete(makeTxId('b', horizon.completeSinceMs + 59_000, 1, 'rnd12345'), 'a', horizon)).to.equal(false);
    expect(recordsComplete(makeTxId('b', horizon.completeSinceMs + 61_000, 1, 'rnd12345'), 'a', horizon)).to.equal(true);
    expect(recordsComplete('b.!!!!!!!!!!', 'a', horizon)).to.equal(false);
  });
});
