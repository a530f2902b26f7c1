// ParticipantCore, finished transactions (committed, aborted after a yes, refused with a
// no, tombstone of an abort never prepared) × every message; how long they are remembered.
import { expect } from 'chai';
import { ParticipantCore } from '../../../coordinator-2pc/src/participant.js';
import type { AbortReason, ProtocolMessage } from '../../../coordinator-2pc/src/messages.js';
import type { Effect } from '../../../coordinator-2pc/src/ports.js';
import {
  COORD,
  OTHER,
  SELF,
  SlotResourceManager,
  abortMsg,
  ackMsg,
  commitMsg,
  participantConfig,
  prepareMsg,
  send,
  statusQueryMsg,
  statusReplyMsg,
  tx,
  voteMsg,
} from './helpers.js';

const T = tx(1);
const prepare = prepareMsg({ txId: T });
const invalidReason: AbortReason = { code: 'invalid', detail: 'payload is not a list of slots', node: SELF };
const coordinatorAborted: AbortReason = { code: 'aborted', detail: 'the coordinator aborted the transaction' };

type State = 'committed' | 'aborted after yes' | 'refused' | 'tombstone';

function inState(state: State) {
  const rm = new SlotResourceManager();
  const core = new ParticipantCore(participantConfig, rm);
  const receive = (message: ProtocolMessage, nowMs: number) => core.step({ type: 'receive', message, nowMs });
  if (state === 'committed') {
    receive(prepare, 1000);
    receive(commitMsg(T), 1500);
  } else if (state === 'aborted after yes') {
    receive(prepare, 1000);
    receive(abortMsg(T), 1500);
  } else if (state === 'refused') {
    receive({ ...prepare, payload: 42 }, 1000);
  } else {
    receive(abortMsg(T), 1000);
  }
  const callsBefore = rm.calls.length;
  return { rm, core, receive, newCalls: () => rm.calls.slice(callsBefore) };
}

const yes = send(COORD, voteMsg(T, SELF, 'yes'));
const ack = (outcome: 'committed' | 'aborted', to = COORD) => send(to, ackMsg(T, SELF, outcome));
/** Cooperative termination: another participant in doubt asks; a finished one tells it its outcome. */
const peerAnswer = (outcome: 'committed' | 'aborted') => send(OTHER, statusReplyMsg(T, outcome, SELF));

/** What a finished transaction answers: never a new record, never a resource call. */
const matrix: Record<State, Array<[string, ProtocolMessage, Effect[]]>> = {
  committed: [
    ['duplicate prepare', prepare, [yes]],
    ['duplicate commit', commitMsg(T), [ack('committed')]],
    ['commit sent by a node that is not its coordinator (ignored)', commitMsg(T, OTHER), []],
    ['abort (reports the truth: committed)', abortMsg(T), [ack('committed')]],
    ['status-query of another participant (cooperative termination: committed)', statusQueryMsg(T, OTHER), [peerAnswer('committed')]],
    ['status-query of a node the prepare did not name (unknown: nothing disclosed)', statusQueryMsg(T, 'obs-x'), [send('obs-x', statusReplyMsg(T, 'unknown', SELF))]],
  ],
  'aborted after yes': [
    ['duplicate prepare', prepare, [send(COORD, voteMsg(T, SELF, 'no', coordinatorAborted))]],
    ['duplicate abort', abortMsg(T), [ack('aborted')]],
    ['commit (reports the truth: aborted)', commitMsg(T), [ack('aborted')]],
    ['status-query of another participant (cooperative termination: aborted)', statusQueryMsg(T, OTHER), [peerAnswer('aborted')]],
  ],
  refused: [
    ['duplicate prepare (the same no and reason)', prepare, [send(COORD, voteMsg(T, SELF, 'no', invalidReason))]],
    ['abort', abortMsg(T), [ack('aborted')]],
    ['commit (reports the truth: aborted)', commitMsg(T), [ack('aborted')]],
    ['status-query of another participant (cooperative termination: aborted)', statusQueryMsg(T, OTHER), [peerAnswer('aborted')]],
  ],
  tombstone: [
    ['late prepare', prepare, [send(COORD, voteMsg(T, SELF, 'no', coordinatorAborted))]],
    ['duplicate abort', abortMsg(T), [ack('aborted')]],
    ['commit (reports the truth: aborted)', commitMsg(T), [ack('aborted')]],
    ['status-query of any node (a tombstone names no participants: aborted)', statusQueryMsg(T, OTHER), [peerAnswer('aborted')]],
  ],
};

const ignored: Array<[string, ProtocolMessage]> = [
  ['status-reply committed', statusReplyMsg(T, 'committed')],
  ['status-reply aborted', statusReplyMsg(T, 'aborted')],
  ['status-reply pending', statusReplyMsg(T, 'pending')],
  ['vote', voteMsg(T, OTHER, 'yes')],
  ['ack', ackMsg(T, OTHER, 'committed')],
];

describe('ParticipantCore — finished transactions', () => {
  for (const state of Object.keys(matrix) as State[]) {
    describe(`${state} × every message`, () => {
      const phase = state === 'committed' ? 'committed' : 'aborted';
      for (const [name, message, expected] of matrix[state]) {
        it(`answers a ${name} with exactly ${JSON.stringify(expected.map((e) => e.type === 'send' ? e.message.type : e.type))}, no record, no resource call`, () => {
          const { core, receive, newCalls } = inState(state);
          expect(receive(message, 2000)).to.deep.equal(expected);
          expect(newCalls()).to.deep.equal([]);
          expect(core.view(T)?.phase).to.equal(phase);
        });
      }
      for (const [name, message] of ignored) {
        it(`ignores a ${name}`, () => {
          const { core, receive, newCalls } = inState(state);
          expect(receive(message, 2000)).to.deep.equal([]);
          expect(newCalls()).to.deep.equal([]);
          expect(core.view(T)?.phase).to.equal(phase);
        });
      }
      it('ignores an operator resolve and has nothing to do on a tick', () => {
        const { core, newCalls } = inState(state);
        expect(core.step({ type: 'resolve', txId: T, outcome: 'committed', nowMs: 2000 })).to.deep.equal([]);
        expect(core.step({ type: 'tick', nowMs: 2000 })).to.deep.equal([]);
        expect(core.nextWakeAtMs()).to.equal(undefined);
        expect(core.unfinished()).to.deep.equal([]);
        expect(newCalls()).to.deep.equal([]);
        expect(core.view(T)?.phase).to.equal(phase);
      });
    });
  }

  describe('forgetting', () => {
    it('forgets a committed transaction on the first tick after finishedRetentionMs, not before', () => {
      const { core, receive } = inState('committed'); // finished at 1500, deadline 10 000
      core.step({ type: 'tick', nowMs: 61_500 });
      expect(core.view(T)?.phase).to.equal('committed');
      core.step({ type: 'tick', nowMs: 61_501 });
      expect(core.view(T)).to.equal(undefined);
      expect(receive(commitMsg(T), 61_502)).to.deep.equal([ack('committed')], 'a forgotten commit is still acked committed');
    });

    it('never forgets a refusal before the prepare deadline, so a late duplicate prepare is still refused', () => {
      const rm = new SlotResourceManager();
      const core = new ParticipantCore(participantConfig, rm);
      const late = prepareMsg({ txId: T, deadlineMs: 100_000, payload: 'bad' });
      core.step({ type: 'receive', message: late, nowMs: 1000 });
      core.step({ type: 'tick', nowMs: 61_001 });
      expect(core.view(T)?.phase).to.equal('aborted');
      expect(core.step({ type: 'receive', message: { ...late, payload: ['ok'] }, nowMs: 99_000 })).to.deep.equal([
        send(COORD, voteMsg(T, SELF, 'no', invalidReason)),
      ]);
      core.step({ type: 'tick', nowMs: 100_000 });
      expect(core.view(T)?.phase).to.equal('aborted');
      core.step({ type: 'tick', nowMs: 100_001 });
      expect(core.view(T)).to.equal(undefined);
      expect(rm.calls).to.deep.equal([{ op: 'tryHold', txId: T }]);
    });

    it('forgets a tombstone after finishedRetentionMs', () => {
      const { core } = inState('tombstone'); // at 1000
      core.step({ type: 'tick', nowMs: 61_000 });
      expect(core.view(T)?.phase).to.equal('aborted');
      core.step({ type: 'tick', nowMs: 61_001 });
      expect(core.view(T)).to.equal(undefined);
    });

    it('never forgets a prepared transaction, however long it stays in doubt', () => {
      const rm = new SlotResourceManager();
      const core = new ParticipantCore(participantConfig, rm);
      core.step({ type: 'receive', message: prepare, nowMs: 1000 });
      core.step({ type: 'tick', nowMs: 10_000_000 });
      expect(core.view(T)?.phase).to.equal('prepared');
      expect(core.unfinished().map((v) => v.txId)).to.deep.equal([T]);
    });

    it('forgets each finished transaction on its own schedule, keeping the ones still needed', () => {
      const rm = new SlotResourceManager();
      const core = new ParticipantCore(participantConfig, rm);
      const receive = (message: ProtocolMessage, nowMs: number) => core.step({ type: 'receive', message, nowMs });
      receive(abortMsg(tx(1)), 1000);
      receive(abortMsg(tx(2)), 2000);
      receive(abortMsg(tx(3)), 3000);
      core.step({ type: 'tick', nowMs: 62_500 });
      expect([tx(1), tx(2), tx(3)].map((t) => core.view(t)?.phase)).to.deep.equal([undefined, undefined, 'aborted']);
    });
  });
});
