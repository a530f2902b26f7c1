// CoordinatorCore while it collects votes: begin, yes and no votes, unreachable
// participants, the prepare deadline, duplicates and messages that are not its own.
import { expect } from 'chai';
import { CoordinatorCore, type BeginTransaction } from '../../../coordinator-2pc/src/coordinator.js';
import { ProtocolInvariantError } from '../../../coordinator-2pc/src/invariants.js';
import type { AbortReason, ProtocolMessage } from '../../../coordinator-2pc/src/messages.js';
import type { CoordinatorRecord, Effect } from '../../../coordinator-2pc/src/ports.js';
import {
  COORD,
  OTHER,
  SELF,
  abortMsg,
  ackMsg,
  audit,
  commitMsg,
  coordinatorConfig,
  prepareMsg,
  send,
  statusQueryMsg,
  statusReplyMsg,
  tx,
  voteMsg,
} from './helpers.js';

const T = tx(1);
const begin: BeginTransaction = {
  txId: T,
  kind: 'book',
  timestampMs: 100,
  deadlineMs: 5000,
  parts: [
    { node: SELF, payload: ['b1'] },
    { node: OTHER, payload: ['c1'] },
  ],
};

function setup(transaction: BeginTransaction = begin) {
  const core = new CoordinatorCore(coordinatorConfig);
  const effects = core.step({ type: 'begin', transaction, nowMs: 1000 });
  const receive = (message: ProtocolMessage, nowMs: number) => core.step({ type: 'receive', message, nowMs });
  return { core, effects, receive };
}

function decidedRecord(atMs: number, extra: Partial<CoordinatorRecord> = {}): CoordinatorRecord {
  return {
    txId: T, kind: 'book', participants: [SELF, OTHER], timestampMs: 100, decision: 'committed', acked: [], state: 'decided',
    createdAtMs: 1000, updatedAtMs: atMs, ...extra,
  };
}

function aborted(reasons: AbortReason[], abortTo: string[]): Effect[] {
  return [
    audit('TX_ABORTED', T, { role: 'coordinator', reasons }),
    { type: 'outcome', txId: T, outcome: 'aborted', reasons },
    ...abortTo.map((node) => send(node, abortMsg(T))),
  ];
}

describe('CoordinatorCore — collecting votes', () => {
  it('begin sends a prepare to each part, in order, with its own payload and the same participants list', () => {
    const { core, effects } = setup();
    const common = { txId: T, coordinatorId: COORD, participants: [SELF, OTHER], timestampMs: 100, deadlineMs: 5000 };
    expect(effects).to.deep.equal([
      send(SELF, prepareMsg({ ...common, payload: ['b1'] })),
      send(OTHER, prepareMsg({ ...common, payload: ['c1'] })),
    ]);
    expect(core.outcomeOf(T)).to.equal('pending');
    expect(core.unfinished()).to.deep.equal([
      { txId: T, phase: 'collecting', kind: 'book', participants: [SELF, OTHER], timestampMs: 100, createdAtMs: 1000, waitingFor: [SELF, OTHER] },
    ]);
  });

  it('writes nothing before the decision (presumed abort): begin and a first yes have no persist effect', () => {
    const { effects, receive } = setup();
    expect(effects.filter((e) => e.type.startsWith('persist'))).to.deep.equal([]);
    expect(receive(voteMsg(T, SELF, 'yes'), 1100)).to.deep.equal([]);
  });

  it('on all yes persists the commit decision BEFORE the outcome and the commit sends', () => {
    const { core, receive } = setup();
    receive(voteMsg(T, SELF, 'yes'), 1100);
    expect(receive(voteMsg(T, OTHER, 'yes'), 1200)).to.deep.equal([
      { type: 'persist-coordinator', record: decidedRecord(1200) },
      audit('TX_DECIDED', T, { decision: 'commit', participants: [SELF, OTHER] }),
      { type: 'outcome', txId: T, outcome: 'committed', reasons: [] },
      send(SELF, commitMsg(T)),
      send(OTHER, commitMsg(T)),
    ]);
    expect(core.outcomeOf(T)).to.equal('committed');
    expect(core.unfinished()[0]).to.include({ phase: 'committing' });
  });

  it('commits a single-participant transaction on its one yes', () => {
    const { receive } = setup({ ...begin, parts: [{ node: SELF, payload: ['b1'] }] });
    const effects = receive(voteMsg(T, SELF, 'yes'), 1200);
    expect(effects.map((e) => e.type)).to.deep.equal(['persist-coordinator', 'audit', 'outcome', 'send']);
  });

  it('counts a duplicate yes once: it still waits for the other participant', () => {
    const { core, receive } = setup();
    expect(receive(voteMsg(T, SELF, 'yes'), 1100)).to.deep.equal([]);
    expect(receive(voteMsg(T, SELF, 'yes'), 1150)).to.deep.equal([]);
    expect(core.outcomeOf(T)).to.equal('pending');
  });

  it('on a no aborts with the voter reason, sends abort only to the others, and persists nothing', () => {
    const { core, receive } = setup();
    const reason: AbortReason = { code: 'conflict', detail: 'held by obs-a.tx000009', node: OTHER };
    expect(receive(voteMsg(T, OTHER, 'no', reason), 1100)).to.deep.equal(aborted([reason], [SELF]));
    expect(core.outcomeOf(T)).to.equal('aborted');
    expect(core.unfinished()[0]).to.include({ phase: 'aborting' });
    expect(core.unfinished()[0]!.waitingFor).to.deep.equal([SELF]);
  });

  it('on a no after a yes sends abort to the yes voter', () => {
    const { receive } = setup();
    receive(voteMsg(T, SELF, 'yes'), 1100);
    const reason: AbortReason = { code: 'expired', detail: 'late', node: OTHER };
    expect(receive(voteMsg(T, OTHER, 'no', reason), 1200)).to.deep.equal(aborted([reason], [SELF]));
  });

  it('names the voter as the node of the reason, and gives a no without reason the code refused', () => {
    const a = setup();
    expect(a.receive(voteMsg(T, OTHER, 'no', { code: 'invalid', detail: 'bad', node: 'obs-z' }), 1100)).to.deep.equal(
      aborted([{ code: 'invalid', detail: 'bad', node: OTHER }], [SELF]),
    );
    const b = setup();
    expect(b.receive(voteMsg(T, OTHER, 'no'), 1100)).to.deep.equal(
      aborted([{ code: 'refused', detail: 'participant voted no', node: OTHER }], [SELF]),
    );
  });

  it('answers a late yes after the abort with an abort to that voter alone', () => {
    const { receive } = setup();
    receive(voteMsg(T, OTHER, 'no', { code: 'conflict', detail: 'x', node: OTHER }), 1100);
    expect(receive(voteMsg(T, SELF, 'yes'), 1200)).to.deep.equal([send(SELF, abortMsg(T))]);
    expect(receive(voteMsg(T, SELF, 'yes'), 1300)).to.deep.equal([send(SELF, abortMsg(T))], 'and again for a duplicate');
  });

  it('ignores a second no after the abort', () => {
    const { receive } = setup();
    receive(voteMsg(T, OTHER, 'no', { code: 'conflict', detail: 'x', node: OTHER }), 1100);
    expect(receive(voteMsg(T, SELF, 'no', { code: 'conflict', detail: 'y', node: SELF }), 1200)).to.deep.equal([]);
  });

  it('ignores votes from nodes that are not participants, and votes for unknown transactions', () => {
    const { core, receive } = setup();
    expect(receive(voteMsg(T, 'obs-z', 'no', { code: 'conflict', detail: 'x' }), 1100)).to.deep.equal([]);
    expect(receive(voteMsg(T, 'obs-z', 'yes'), 1100)).to.deep.equal([]);
    expect(receive(voteMsg(tx(2), SELF, 'yes'), 1100)).to.deep.equal([]);
    expect(core.outcomeOf(T)).to.equal('pending');
    expect(core.outcomeOf(tx(2))).to.equal('aborted');
  });

  it('aborts naming a participant that is unreachable while collecting, and sends abort to everyone', () => {
    const { core } = setup();
    const effects = core.step({ type: 'unreachable', txId: T, node: OTHER, detail: 'connection refused', nowMs: 1100 });
    expect(effects).to.deep.equal(aborted([{ code: 'unreachable', detail: 'connection refused', node: OTHER }], [SELF, OTHER]));
  });

  it('ignores unreachable for a participant that already voted, a non-participant, an unknown or a decided transaction', () => {
    const { core, receive } = setup();
    receive(voteMsg(T, SELF, 'yes'), 1100);
    const unreachable = (txId: string, node: string) => core.step({ type: 'unreachable', txId, node, detail: 'x', nowMs: 1150 });
    expect(unreachable(T, SELF)).to.deep.equal([]);
    expect(unreachable(T, 'obs-z')).to.deep.equal([]);
    expect(unreachable(tx(2), OTHER)).to.deep.equal([]);
    expect(core.outcomeOf(T)).to.equal('pending');
    receive(voteMsg(T, OTHER, 'yes'), 1200);
    expect(unreachable(T, OTHER)).to.deep.equal([]);
    expect(core.outcomeOf(T)).to.equal('committed');
  });

  it('does nothing on a tick up to the deadline, and aborts with timeout reasons naming only the silent participants after it', () => {
    const { core, receive } = setup();
    receive(voteMsg(T, SELF, 'yes'), 1100);
    expect(core.step({ type: 'tick', nowMs: 5000 })).to.deep.equal([]);
    const detail = `no vote before the prepare deadline from ${OTHER}`;
    expect(core.step({ type: 'tick', nowMs: 5001 })).to.deep.equal(aborted([{ code: 'timeout', detail, node: OTHER }], [SELF, OTHER]));
  });

  it('names every silent participant when none voted before the deadline', () => {
    const { core } = setup();
    const detail = `no vote before the prepare deadline from ${SELF}, ${OTHER}`;
    expect(core.step({ type: 'tick', nowMs: 6000 })).to.deep.equal(
      aborted([{ code: 'timeout', detail, node: SELF }, { code: 'timeout', detail, node: OTHER }], [SELF, OTHER]),
    );
  });

  it('asks to be woken at a time when a tick does abort the timed-out transaction', () => {
    const { core } = setup();
    const at = core.nextWakeAtMs();
    expect(at).to.be.a('number').and.to.be.greaterThan(5000);
    expect(core.step({ type: 'tick', nowMs: at! }).map((e) => e.type)).to.deep.equal(['audit', 'outcome', 'send', 'send']);
  });

  it('answers a status-query while collecting with pending, to the node that asked', () => {
    const { receive } = setup();
    expect(receive(statusQueryMsg(T, SELF), 1100)).to.deep.equal([send(SELF, statusReplyMsg(T, 'pending', COORD))]);
  });

  it('ignores an ack while collecting', () => {
    const { core, receive } = setup();
    expect(receive(ackMsg(T, SELF, 'aborted'), 1100)).to.deep.equal([]);
    expect(core.outcomeOf(T)).to.equal('pending');
  });

  for (const [name, message] of [
    ['prepare', prepareMsg({ txId: T })],
    ['commit', commitMsg(T, OTHER)],
    ['abort', abortMsg(T, OTHER)],
    ['status-reply', statusReplyMsg(T, 'aborted', OTHER)],
  ] as Array<[string, ProtocolMessage]>) {
    it(`ignores a ${name} meant for the participant role`, () => {
      const { core, receive } = setup();
      expect(receive(message, 1100)).to.deep.equal([]);
      expect(core.outcomeOf(T)).to.equal('pending');
    });
  }

  it('throws ProtocolInvariantError when a transaction is begun twice', () => {
    const { core } = setup();
    expect(() => core.step({ type: 'begin', transaction: begin, nowMs: 1100 })).to.throw(ProtocolInvariantError, /begun twice/);
  });

  it('throws ProtocolInvariantError for a transaction with no participant or a participant named twice', () => {
    const core = new CoordinatorCore(coordinatorConfig);
    expect(() => core.step({ type: 'begin', transaction: { ...begin, parts: [] }, nowMs: 1000 })).to.throw(ProtocolInvariantError);
    const twice = { ...begin, txId: tx(2), parts: [{ node: SELF, payload: 1 }, { node: SELF, payload: 2 }] };
    expect(() => core.step({ type: 'begin', transaction: twice, nowMs: 1000 })).to.throw(ProtocolInvariantError);
  });
});
