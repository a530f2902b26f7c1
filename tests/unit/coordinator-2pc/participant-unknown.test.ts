// ParticipantCore, a transaction it has never seen × every message: prepare (yes, expired,
// invalid, conflict), commit, abort, status-reply, and the coordinator's messages.
import { expect } from 'chai';
import { ParticipantCore } from '../../../coordinator-2pc/src/participant.js';
import type { ProtocolMessage } from '../../../coordinator-2pc/src/messages.js';
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
  persist,
  prepareMsg,
  preparedEffects,
  refusedEffects,
  send,
  statusReplyMsg,
  tx,
  voteMsg,
} from './helpers.js';

function setup() {
  const rm = new SlotResourceManager();
  const core = new ParticipantCore(participantConfig, rm);
  const receive = (message: ProtocolMessage, nowMs = 1000) => core.step({ type: 'receive', message, nowMs });
  return { rm, core, receive };
}

describe('ParticipantCore — unknown transaction', () => {
  describe('prepare', () => {
    it('holds the slots, persists a PREPARED record, audits TX_PREPARED and votes yes, in that order', () => {
      const { rm, core, receive } = setup();
      const prepare = prepareMsg();
      expect(receive(prepare, 1000)).to.deep.equal(preparedEffects(prepare, 1000));
      expect(rm.calls).to.deep.equal([{ op: 'tryHold', txId: prepare.txId }]);
      expect(rm.holderOf('t1@02:00')).to.deep.equal({ txId: prepare.txId, committed: false });
      expect(core.view(prepare.txId)).to.deep.equal({
        txId: prepare.txId, phase: 'prepared', coordinatorId: COORD, participants: [SELF, OTHER], kind: 'book', timestampMs: 100, createdAtMs: 1000,
      });
      expect(core.unfinished().map((v) => v.txId)).to.deep.equal([prepare.txId]);
    });

    it('accepts a prepare that arrives exactly at its deadline', () => {
      const { receive } = setup();
      const prepare = prepareMsg({ deadlineMs: 1000 });
      expect(receive(prepare, 1000)).to.deep.equal(preparedEffects(prepare, 1000));
    });

    it('refuses a prepare after its deadline with no/expired, writing no record and touching no resource', () => {
      const { rm, core, receive } = setup();
      const prepare = prepareMsg({ deadlineMs: 900 });
      const reason = { code: 'expired' as const, detail: 'prepare arrived after its deadline (100 ms late)', node: SELF };
      const expected = [
        audit('TX_VOTED_NO', prepare.txId, { coordinator: COORD, reason: 'expired', detail: reason.detail }),
        send(COORD, voteMsg(prepare.txId, SELF, 'no', reason)),
      ];
      expect(receive(prepare, 1000)).to.deep.equal(expected);
      expect(rm.calls).to.deep.equal([]);
      expect(core.view(prepare.txId)).to.equal(undefined);
      expect(core.unfinished()).to.deep.equal([]);
      expect(receive(prepare, 1000)).to.deep.equal(expected, 'a duplicate is just as late');
    });

    it('does not overwrite the record of a committed transaction it has forgotten when a stale prepare comes back', () => {
      const { rm, core, receive } = setup();
      const prepare = prepareMsg({ deadlineMs: 5000 });
      receive(prepare, 1000);
      receive(commitMsg(prepare.txId), 1100);
      core.step({ type: 'tick', nowMs: 61_101 });
      expect(core.view(prepare.txId)).to.equal(undefined);
      const effects = receive(prepare, 61_200);
      expect(effects.filter((e) => e.type === 'persist-participant')).to.deep.equal([]);
      expect(effects.at(-1)).to.deep.include({ type: 'send', to: COORD });
      expect(rm.opsOf(prepare.txId)).to.deep.equal(['tryHold', 'confirm']);
      expect(rm.holderOf('t1@02:00')).to.deep.equal({ txId: prepare.txId, committed: true });
    });

    it('refuses an invalid payload with no/invalid carrying the resource manager detail', () => {
      const { rm, core, receive } = setup();
      const prepare = prepareMsg({ payload: { not: 'slots' } });
      expect(receive(prepare, 1000)).to.deep.equal(refusedEffects(prepare, 1000, 'invalid', 'payload is not a list of slots'));
      expect(rm.calls).to.deep.equal([{ op: 'tryHold', txId: prepare.txId }]);
      expect(core.view(prepare.txId)?.phase).to.equal('aborted');
    });

    it('votes no/conflict at once when a committed booking holds a slot, even for the older transaction', () => {
      const { rm, core, receive } = setup();
      const committed = prepareMsg({ txId: tx(9), timestampMs: 500, payload: ['t1@02:00'] });
      expect(receive(committed, 900)).to.deep.equal(preparedEffects(committed, 900));
      receive(commitMsg(committed.txId), 950);
      const older = prepareMsg({ txId: tx(1), timestampMs: 1, payload: ['t1@03:00', 't1@02:00'] });
      expect(receive(older, 1000)).to.deep.equal(refusedEffects(older, 1000, 'conflict', `held by ${committed.txId}`));
      expect(core.unfinished()).to.deep.equal([]);
      expect(rm.holderOf('t1@03:00')).to.equal(undefined, 'all-or-nothing: the free slot is not taken either');
    });

    it('votes no/conflict at once when a slot is held by a transaction the core does not know as prepared', () => {
      const { rm, receive } = setup();
      rm.seed('t1@02:00', tx(7, 'obs-z'), false);
      const prepare = prepareMsg({ timestampMs: 1 });
      expect(receive(prepare, 1000)).to.deep.equal(refusedEffects(prepare, 1000, 'conflict', `held by ${tx(7, 'obs-z')}`));
    });

    it('names the coordinator of the prepare as the recipient of its vote, whoever that is', () => {
      const { receive } = setup();
      const prepare = prepareMsg({ txId: tx(1, 'obs-q'), coordinatorId: 'obs-q' });
      const effects = receive(prepare, 1000);
      expect(effects[2]).to.deep.equal(send('obs-q', voteMsg(prepare.txId, SELF, 'yes')));
    });
  });

  describe('commit', () => {
    it('acks committed without any record or resource call (it was prepared, finished and forgotten here)', () => {
      const { rm, core, receive } = setup();
      expect(receive(commitMsg(tx(1)), 1000)).to.deep.equal([send(COORD, ackMsg(tx(1), SELF, 'committed'))]);
      expect(rm.calls).to.deep.equal([]);
      expect(core.view(tx(1))).to.equal(undefined);
    });

    it('acks a commit to the node that sent it', () => {
      const { receive } = setup();
      expect(receive(commitMsg(tx(1), OTHER), 1000)).to.deep.equal([send(OTHER, ackMsg(tx(1), SELF, 'committed'))]);
    });
  });

  describe('abort', () => {
    it('persists a tombstone, audits TX_ABORTED and acks aborted', () => {
      const { rm, core, receive } = setup();
      const effects = receive(abortMsg(tx(1)), 1000);
      expect(effects).to.deep.equal([
        persist({
          txId: tx(1), kind: 'book', coordinatorId: COORD, participants: [], timestampMs: 0, deadlineMs: 0, payload: null,
          state: 'aborted', createdAtMs: 1000, updatedAtMs: 1000, reason: { code: 'aborted', detail: 'the coordinator aborted the transaction' },
        }),
        audit('TX_ABORTED', tx(1), { role: 'participant', tombstone: true }),
        send(COORD, ackMsg(tx(1), SELF, 'aborted')),
      ]);
      expect(rm.calls).to.deep.equal([]);
      expect(core.view(tx(1))?.phase).to.equal('aborted');
      expect(core.unfinished()).to.deep.equal([]);
    });

    it('refuses a prepare that arrives after the abort (no hanging hold), without touching the resources', () => {
      const { rm, receive } = setup();
      receive(abortMsg(tx(1)), 1000);
      const late = prepareMsg({ txId: tx(1) });
      expect(receive(late, 1100)).to.deep.equal([
        send(COORD, voteMsg(tx(1), SELF, 'no', { code: 'aborted', detail: 'the coordinator aborted the transaction' })),
      ]);
      expect(rm.calls).to.deep.equal([]);
      expect(rm.holderOf('t1@02:00')).to.equal(undefined);
    });

    it('acks a duplicate abort of the tombstone as aborted without a second record', () => {
      const { receive } = setup();
      receive(abortMsg(tx(1)), 1000);
      expect(receive(abortMsg(tx(1)), 1100)).to.deep.equal([send(COORD, ackMsg(tx(1), SELF, 'aborted'))]);
    });
  });

  describe('status-reply', () => {
    for (const outcome of ['committed', 'aborted', 'pending'] as const) {
      it(`ignores a status-reply ${outcome} for a transaction it does not know`, () => {
        const { rm, core, receive } = setup();
        expect(receive(statusReplyMsg(tx(1), outcome), 1000)).to.deep.equal([]);
        expect(core.view(tx(1))).to.equal(undefined);
        expect(rm.calls).to.deep.equal([]);
      });
    }
  });

  describe("the coordinator's messages", () => {
    const forCoordinator: Array<[string, ProtocolMessage]> = [
      ['vote yes', voteMsg(tx(1), OTHER, 'yes')],
      ['vote no', voteMsg(tx(1), OTHER, 'no', { code: 'conflict', detail: 'x' })],
      ['ack', ackMsg(tx(1), OTHER, 'committed')],
    ];
    for (const [name, message] of forCoordinator) {
      it(`ignores a ${name} and remembers nothing`, () => {
        const { rm, core, receive } = setup();
        expect(receive(message, 1000)).to.deep.equal([]);
        expect(core.view(tx(1))).to.equal(undefined);
        expect(rm.calls).to.deep.equal([]);
      });
    }
  });

  describe('tick, resolve and wake time', () => {
    it('has nothing to do and no wake time when it knows no transaction', () => {
      const { core } = setup();
      expect(core.step({ type: 'tick', nowMs: 1000 })).to.deep.equal([]);
      expect(core.nextWakeAtMs()).to.equal(undefined);
    });

    it('refuses an operator resolve of a transaction it does not know', () => {
      const { rm, core } = setup();
      expect(core.step({ type: 'resolve', txId: tx(1), outcome: 'committed', nowMs: 1000 })).to.deep.equal([]);
      expect(core.view(tx(1))).to.equal(undefined);
      expect(rm.calls).to.deep.equal([]);
    });
  });
});
