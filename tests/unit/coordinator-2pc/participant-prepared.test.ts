// ParticipantCore, a prepared (in-doubt) transaction × every message, tick and resolve; the
// status queries with backoff; restore after a restart.
import { expect } from 'chai';
import { ParticipantCore, type ParticipantConfig } from '../../../coordinator-2pc/src/participant.js';
import type { ProtocolMessage } from '../../../coordinator-2pc/src/messages.js';
import type { Effect, ParticipantRecord } from '../../../coordinator-2pc/src/ports.js';
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
  send,
  statusQueryMsg,
  statusReplyMsg,
  tx,
  voteMsg,
} from './helpers.js';

const prepare = prepareMsg({ txId: tx(1) });
const SLOT = 't1@02:00';

function setup(config: ParticipantConfig = participantConfig) {
  const rm = new SlotResourceManager();
  const core = new ParticipantCore(config, rm);
  const receive = (message: ProtocolMessage, nowMs: number) => core.step({ type: 'receive', message, nowMs });
  const tick = (nowMs: number) => core.step({ type: 'tick', nowMs });
  expect(receive(prepare, 1000)).to.deep.equal(preparedEffects(prepare, 1000));
  return { rm, core, receive, tick };
}

function finished(outcome: 'committed' | 'aborted', atMs: number, event = outcome === 'committed' ? 'TX_COMMITTED' : 'TX_ABORTED'): Effect[] {
  const heuristic = event === 'TX_HEURISTIC' ? { heuristic: true } : {};
  return [
    persist(recordOf(prepare, outcome, 1000, { updatedAtMs: atMs, ...heuristic }), [finishChange(prepare.txId, outcome)]),
    audit(event as 'TX_COMMITTED', prepare.txId, { role: 'participant', outcome, kind: 'book' }),
    send(COORD, ackMsg(prepare.txId, SELF, outcome)),
  ];
}

const query = (txId = prepare.txId): Effect => send(COORD, statusQueryMsg(txId, SELF));

describe('ParticipantCore — prepared transaction', () => {
  describe('× every message', () => {
    it('answers a duplicate prepare with the same yes vote, without a new record or hold', () => {
      const { rm, core, receive } = setup();
      expect(receive(prepare, 1100)).to.deep.equal([send(COORD, voteMsg(prepare.txId, SELF, 'yes'))]);
      expect(rm.opsOf(prepare.txId)).to.deep.equal(['tryHold']);
      expect(core.view(prepare.txId)?.phase).to.equal('prepared');
    });

    it('on commit confirms the slots, persists committed, audits TX_COMMITTED and acks committed', () => {
      const { rm, core, receive } = setup();
      expect(receive(commitMsg(prepare.txId), 1500)).to.deep.equal(finished('committed', 1500));
      expect(rm.opsOf(prepare.txId)).to.deep.equal(['tryHold', 'confirm']);
      expect(rm.holderOf(SLOT)).to.deep.equal({ txId: prepare.txId, committed: true });
      expect(core.view(prepare.txId)?.phase).to.equal('committed');
      expect(core.unfinished()).to.deep.equal([]);
      expect(core.nextWakeAtMs()).to.equal(undefined);
    });

    it('on abort releases the slots, persists aborted, audits TX_ABORTED and acks aborted', () => {
      const { rm, core, receive } = setup();
      expect(receive(abortMsg(prepare.txId), 1500)).to.deep.equal(finished('aborted', 1500));
      expect(rm.opsOf(prepare.txId)).to.deep.equal(['tryHold', 'release']);
      expect(rm.holderOf(SLOT)).to.equal(undefined);
      expect(core.view(prepare.txId)?.phase).to.equal('aborted');
      expect(core.unfinished()).to.deep.equal([]);
    });

    it('ignores a decision from a node that is not its coordinator and stays in doubt', () => {
      const { core, rm, receive } = setup();
      expect(receive(commitMsg(prepare.txId, OTHER), 1500)).to.deep.equal([]);
      expect(core.view(prepare.txId)?.phase).to.equal('prepared');
      expect(rm.opsOf(prepare.txId)).to.deep.equal(['tryHold']);
    });

    it('finishes committed on a status-reply committed from its coordinator', () => {
      const { rm, receive } = setup();
      expect(receive(statusReplyMsg(prepare.txId, 'committed'), 1500)).to.deep.equal(finished('committed', 1500));
      expect(rm.opsOf(prepare.txId)).to.deep.equal(['tryHold', 'confirm']);
    });

    it('finishes aborted on a status-reply aborted from its coordinator (presumed abort)', () => {
      const { rm, receive } = setup();
      expect(receive(statusReplyMsg(prepare.txId, 'aborted'), 1500)).to.deep.equal(finished('aborted', 1500));
      expect(rm.opsOf(prepare.txId)).to.deep.equal(['tryHold', 'release']);
    });

    it('stays prepared on a status-reply pending', () => {
      const { rm, core, receive } = setup();
      expect(receive(statusReplyMsg(prepare.txId, 'pending'), 1500)).to.deep.equal([]);
      expect(core.view(prepare.txId)?.phase).to.equal('prepared');
      expect(rm.opsOf(prepare.txId)).to.deep.equal(['tryHold']);
    });

    it('ignores a status-reply from a node that is not its coordinator', () => {
      const { rm, core, receive } = setup();
      expect(receive(statusReplyMsg(prepare.txId, 'aborted', OTHER), 1500)).to.deep.equal([]);
      expect(receive(statusReplyMsg(prepare.txId, 'committed', OTHER), 1500)).to.deep.equal([]);
      expect(core.view(prepare.txId)?.phase).to.equal('prepared');
      expect(rm.opsOf(prepare.txId)).to.deep.equal(['tryHold']);
    });

    for (const [name, message] of [
      ['vote', voteMsg(prepare.txId, OTHER, 'no', { code: 'conflict', detail: 'x' })],
      ['ack', ackMsg(prepare.txId, OTHER, 'aborted')],
      ['status-query', statusQueryMsg(prepare.txId, OTHER)],
    ] as Array<[string, ProtocolMessage]>) {
      it(`ignores a ${name} meant for the coordinator role and stays prepared`, () => {
        const { core, receive } = setup();
        expect(receive(message, 1500)).to.deep.equal([]);
        expect(core.view(prepare.txId)?.phase).to.equal('prepared');
      });
    }
  });

  describe('operator resolve', () => {
    it('forces committed: confirms, persists a heuristic committed record, audits TX_HEURISTIC and acks', () => {
      const { rm, core } = setup();
      expect(core.step({ type: 'resolve', txId: prepare.txId, outcome: 'committed', nowMs: 1500 })).to.deep.equal(
        finished('committed', 1500, 'TX_HEURISTIC'),
      );
      expect(rm.opsOf(prepare.txId)).to.deep.equal(['tryHold', 'confirm']);
    });

    it('forces aborted: releases and persists a heuristic aborted record', () => {
      const { rm, core } = setup();
      expect(core.step({ type: 'resolve', txId: prepare.txId, outcome: 'aborted', nowMs: 1500 })).to.deep.equal(
        finished('aborted', 1500, 'TX_HEURISTIC'),
      );
      expect(rm.holderOf(SLOT)).to.equal(undefined);
    });

    it('cannot resolve twice: the second resolve of a finished transaction does nothing', () => {
      const { core } = setup();
      core.step({ type: 'resolve', txId: prepare.txId, outcome: 'aborted', nowMs: 1500 });
      expect(core.step({ type: 'resolve', txId: prepare.txId, outcome: 'committed', nowMs: 1600 })).to.deep.equal([]);
      expect(core.view(prepare.txId)?.phase).to.equal('aborted');
    });
  });

  describe('in doubt: status queries', () => {
    it('does not query before inDoubtQueryAfterMs, then queries its coordinator with a TX_IN_DOUBT audit', () => {
      const { core, tick } = setup();
      expect(core.nextWakeAtMs()).to.equal(2000);
      expect(tick(1999)).to.deep.equal([]);
      expect(tick(2000)).to.deep.equal([
        audit('TX_IN_DOUBT', prepare.txId, { coordinator: COORD, preparedForMs: 1000 }),
        query(),
      ]);
    });

    it('backs off exponentially, capped at queryBackoffMaxMs, and audits TX_IN_DOUBT only on the first query', () => {
      const { core, tick } = setup();
      const queriedAt: number[] = [];
      const audits: number[] = [];
      for (let now = 1000; now <= 20_000; now += 1) {
        const effects = tick(now);
        if (effects.some((e) => e.type === 'send')) queriedAt.push(now);
        if (effects.some((e) => e.type === 'audit')) audits.push(now);
        expect(effects.filter((e) => e.type === 'send')).to.deep.equal(effects.some((e) => e.type === 'send') ? [query()] : []);
      }
      // gaps: 1000, 2000, 4000, then capped at 5000
      expect(queriedAt).to.deep.equal([2000, 3000, 5000, 9000, 14000, 19000]);
      expect(audits).to.deep.equal([2000]);
      expect(core.nextWakeAtMs()).to.equal(24_000);
    });

    it('audits TX_IN_DOUBT only once even when inDoubtQueryAfterMs equals queryBackoffMaxMs', () => {
      const { tick } = setup({ ...participantConfig, inDoubtQueryAfterMs: 1000, queryBackoffMaxMs: 1000 });
      expect(tick(2000)).to.deep.equal([audit('TX_IN_DOUBT', prepare.txId, { coordinator: COORD, preparedForMs: 1000 }), query()]);
      expect(tick(3000)).to.deep.equal([query()]);
      expect(tick(4000)).to.deep.equal([query()]);
    });

    it('keeps querying after a status-reply pending', () => {
      const { receive, tick } = setup();
      tick(2000);
      expect(receive(statusReplyMsg(prepare.txId, 'pending'), 2001)).to.deep.equal([]);
      expect(tick(3000)).to.deep.equal([query()]);
    });

    it('stops querying once the reply tells the outcome', () => {
      const { core, receive, tick } = setup();
      tick(2000);
      receive(statusReplyMsg(prepare.txId, 'committed'), 2001);
      expect(core.nextWakeAtMs()).to.equal(undefined);
      expect(tick(3000)).to.deep.equal([]);
    });
  });

  describe('restore after a restart', () => {
    const preparedRecord: ParticipantRecord = { ...recordOf(prepare, 'prepared', 500) };
    const committedPrepare = prepareMsg({ txId: tx(2), payload: ['s2'] });
    const committedRecord = recordOf(committedPrepare, 'committed', 400, { updatedAtMs: 450 });
    const abortedPrepare = prepareMsg({ txId: tx(3), payload: ['s3'] });
    const abortedRecord = recordOf(abortedPrepare, 'aborted', 400, { reason: { code: 'conflict', detail: 'held by x', node: SELF } });

    function restored() {
      const rm = new SlotResourceManager();
      const core = new ParticipantCore(participantConfig, rm);
      const effects = core.restore([preparedRecord, committedRecord, abortedRecord], 5000);
      return { rm, core, effects, receive: (m: ProtocolMessage, nowMs: number) => core.step({ type: 'receive', message: m, nowMs }) };
    }

    it('audits TX_RECOVERED for each prepared record only, and does not touch the resources', () => {
      const { rm, effects } = restored();
      expect(effects).to.deep.equal([audit('TX_RECOVERED', tx(1), { role: 'participant', state: 'prepared', coordinator: COORD })]);
      expect(rm.calls).to.deep.equal([]);
    });

    it('lists the prepared transaction as unfinished and re-queries its coordinator on the very next tick', () => {
      const { core } = restored();
      expect(core.unfinished().map((v) => [v.txId, v.phase])).to.deep.equal([[tx(1), 'prepared']]);
      expect(core.view(tx(2))?.phase).to.equal('committed');
      expect(core.view(tx(3))?.phase).to.equal('aborted');
      expect(core.nextWakeAtMs()).to.equal(5000);
      expect(core.step({ type: 'tick', nowMs: 5000 })).to.deep.equal([
        audit('TX_IN_DOUBT', tx(1), { coordinator: COORD, preparedForMs: 4500 }),
        query(tx(1)),
      ]);
      expect(core.nextWakeAtMs()).to.equal(6000);
    });

    it('answers duplicates from the restored records: yes for prepared and committed, the recorded no for aborted', () => {
      const { rm, receive } = restored();
      expect(receive(prepare, 5000)).to.deep.equal([send(COORD, voteMsg(tx(1), SELF, 'yes'))]);
      expect(receive(committedPrepare, 5000)).to.deep.equal([send(COORD, voteMsg(tx(2), SELF, 'yes'))]);
      expect(receive(abortedPrepare, 5000)).to.deep.equal([send(COORD, voteMsg(tx(3), SELF, 'no', abortedRecord.reason))]);
      expect(rm.calls).to.deep.equal([]);
    });

    it('finishes a restored prepared transaction on commit with the restored record', () => {
      const { rm, receive } = restored();
      expect(receive(commitMsg(tx(1)), 5100)).to.deep.equal([
        persist({ ...preparedRecord, state: 'committed', updatedAtMs: 5100 }, [finishChange(tx(1), 'committed')]),
        audit('TX_COMMITTED', tx(1), { role: 'participant', outcome: 'committed', kind: 'book' }),
        send(COORD, ackMsg(tx(1), SELF, 'committed')),
      ]);
      expect(rm.calls).to.deep.equal([{ op: 'confirm', txId: tx(1) }]);
    });
  });
});
