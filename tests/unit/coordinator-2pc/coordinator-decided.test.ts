// CoordinatorCore once decided: acknowledgements, resends with backoff, forgetting aborted
// transactions, status queries, and restore of a decided record after a restart.
import { expect } from 'chai';
import { CoordinatorCore, type BeginTransaction } from '../../../coordinator-2pc/src/coordinator.js';
import type { ProtocolMessage } from '../../../coordinator-2pc/src/messages.js';
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
  send,
  statusQueryMsg,
  statusReplyMsg,
  tx,
  voteMsg,
} from './helpers.js';

const T = tx(1);
const begin: BeginTransaction = {
  txId: T, kind: 'book', timestampMs: 100, deadlineMs: 5000,
  parts: [{ node: SELF, payload: ['b1'] }, { node: OTHER, payload: ['c1'] }],
};

function core(transaction: BeginTransaction = begin) {
  const c = new CoordinatorCore(coordinatorConfig);
  c.step({ type: 'begin', transaction, nowMs: 1000 });
  const receive = (message: ProtocolMessage, nowMs: number) => c.step({ type: 'receive', message, nowMs });
  const tick = (nowMs: number) => c.step({ type: 'tick', nowMs });
  return { c, receive, tick };
}

/** Decided commit at 1200 (resend due at 1700). */
function committing() {
  const ctx = core();
  ctx.receive(voteMsg(T, SELF, 'yes'), 1100);
  expect(ctx.receive(voteMsg(T, OTHER, 'yes'), 1200)[0]!.type).to.equal('persist-coordinator');
  return ctx;
}

/** Decided abort at 1100 because OTHER was unreachable (nobody acked; resend due at 1600). */
function aborting() {
  const ctx = core();
  ctx.c.step({ type: 'unreachable', txId: T, node: OTHER, detail: 'down', nowMs: 1100 });
  return ctx;
}

function endedRecord(atMs: number, acked: string[]): CoordinatorRecord {
  return { txId: T, kind: 'book', participants: [SELF, OTHER], timestampMs: 100, decision: 'committed', acked, state: 'ended', createdAtMs: 1000, updatedAtMs: atMs };
}

const ended = (atMs: number, acked: string[]): Effect[] => [
  { type: 'persist-coordinator', record: endedRecord(atMs, acked) },
  audit('TX_ENDED', T, { decision: 'commit' }),
];

describe('CoordinatorCore — decided', () => {
  describe('commit acknowledgements', () => {
    it('waits for every ack, then persists the ended record, audits TX_ENDED and forgets the transaction', () => {
      const { c, receive } = committing();
      expect(receive(ackMsg(T, SELF, 'committed'), 1300)).to.deep.equal([]);
      expect(c.unfinished()[0]!.waitingFor).to.deep.equal([OTHER]);
      expect(receive(ackMsg(T, OTHER, 'committed'), 1400)).to.deep.equal(ended(1400, [SELF, OTHER]));
      expect(c.unfinished()).to.deep.equal([]);
      expect(c.nextWakeAtMs()).to.equal(undefined);
    });

    it('counts a duplicate ack once', () => {
      const { c, receive } = committing();
      receive(ackMsg(T, SELF, 'committed'), 1300);
      expect(receive(ackMsg(T, SELF, 'committed'), 1350)).to.deep.equal([]);
      expect(c.unfinished()[0]!.waitingFor).to.deep.equal([OTHER]);
    });

    it('audits TX_HEURISTIC for an ack that reports the other outcome, and still counts it', () => {
      const { receive } = committing();
      expect(receive(ackMsg(T, SELF, 'aborted'), 1300)).to.deep.equal([
        audit('TX_HEURISTIC', T, { participant: SELF, expected: 'committed', reported: 'aborted' }),
      ]);
      expect(receive(ackMsg(T, OTHER, 'committed'), 1400)).to.deep.equal(ended(1400, [SELF, OTHER]));
    });

    it('ignores acks from non-participants and for unknown transactions', () => {
      const { c, receive } = committing();
      expect(receive(ackMsg(T, 'obs-z', 'committed'), 1300)).to.deep.equal([]);
      expect(receive(ackMsg(tx(2), SELF, 'committed'), 1300)).to.deep.equal([]);
      expect(c.unfinished()[0]!.waitingFor).to.deep.equal([SELF, OTHER]);
    });

    it('ignores duplicate votes and unreachable events once committing', () => {
      const { c, receive } = committing();
      expect(receive(voteMsg(T, SELF, 'yes'), 1300)).to.deep.equal([]);
      expect(receive(voteMsg(T, OTHER, 'no', { code: 'conflict', detail: 'x' }), 1300)).to.deep.equal([]);
      expect(c.step({ type: 'unreachable', txId: T, node: OTHER, detail: 'x', nowMs: 1300 })).to.deep.equal([]);
      expect(c.outcomeOf(T)).to.equal('committed');
    });
  });

  describe('resends', () => {
    it('re-sends the commit to unacked participants only, with exponential backoff capped at resendMaxMs', () => {
      const { c, receive, tick } = committing();
      receive(ackMsg(T, SELF, 'committed'), 1300);
      expect(c.nextWakeAtMs()).to.equal(1700);
      const sentAt: number[] = [];
      for (let now = 1201; now <= 9300; now += 1) {
        const effects = tick(now);
        if (effects.length > 0) {
          expect(effects).to.deep.equal([send(OTHER, commitMsg(T))]);
          sentAt.push(now);
        }
      }
      // gaps: 500, 1000, then capped at 2000
      expect(sentAt).to.deep.equal([1700, 2200, 3200, 5200, 7200, 9200]);
      expect(c.nextWakeAtMs()).to.equal(11_200);
    });

    it('re-sends the abort to every participant that has not acked it', () => {
      const { receive, tick } = aborting();
      expect(tick(1599)).to.deep.equal([]);
      expect(tick(1600)).to.deep.equal([send(SELF, abortMsg(T)), send(OTHER, abortMsg(T))]);
      receive(ackMsg(T, SELF, 'aborted'), 1700);
      expect(tick(2100)).to.deep.equal([send(OTHER, abortMsg(T))]);
    });
  });

  describe('abort acknowledgements and forgetting', () => {
    it('forgets an aborted transaction once all acked, without writing anything', () => {
      const { c, receive } = core();
      receive(voteMsg(T, OTHER, 'no', { code: 'conflict', detail: 'x', node: OTHER }), 1100);
      expect(receive(ackMsg(T, SELF, 'aborted'), 1200)).to.deep.equal([]);
      expect(c.unfinished()).to.deep.equal([]);
      expect(c.outcomeOf(T)).to.equal('aborted');
    });

    it('audits TX_HEURISTIC for a participant that acks committed an aborted transaction', () => {
      const { receive } = aborting();
      expect(receive(ackMsg(T, SELF, 'committed'), 1200)).to.deep.equal([
        audit('TX_HEURISTIC', T, { participant: SELF, expected: 'aborted', reported: 'committed' }),
      ]);
    });

    it('keeps re-sending an abort until abortedRetentionMs has passed since the decision', () => {
      const { c, tick } = aborting();
      expect(tick(11_100)).to.deep.equal([send(SELF, abortMsg(T)), send(OTHER, abortMsg(T))]);
      expect(c.outcomeOf(T)).to.equal('aborted');
      expect(c.unfinished()).to.have.length(1);
    });

    it('drops an aborted entry on the first resend after abortedRetentionMs, sending nothing', () => {
      const { c, tick, receive } = aborting();
      expect(tick(11_101)).to.deep.equal([]);
      expect(c.unfinished()).to.deep.equal([]);
      expect(c.nextWakeAtMs()).to.equal(undefined);
      expect(c.outcomeOf(T)).to.equal('aborted', 'presumed abort: unknown means aborted');
      expect(receive(voteMsg(T, SELF, 'yes'), 11_200)).to.deep.equal([], 'a very late yes is no longer answered');
    });

    it('drops a single-participant abort (its only participant voted no) after abortedRetentionMs', () => {
      const { c, receive, tick } = core({ ...begin, parts: [{ node: SELF, payload: ['b1'] }] });
      const reason = { code: 'conflict' as const, detail: 'x', node: SELF };
      expect(receive(voteMsg(T, SELF, 'no', reason), 1100)).to.deep.equal([
        audit('TX_ABORTED', T, { role: 'coordinator', reasons: [reason] }),
        { type: 'outcome', txId: T, outcome: 'aborted', reasons: [reason] },
      ]);
      expect(tick(1600)).to.deep.equal([]);
      tick(11_101);
      expect(c.unfinished()).to.deep.equal([]);
    });
  });

  describe('status queries (presumed abort)', () => {
    it('answers committed while committing and aborted while aborting, to the node that asked', () => {
      const a = committing();
      expect(a.receive(statusQueryMsg(T, OTHER), 1300)).to.deep.equal([send(OTHER, statusReplyMsg(T, 'committed', COORD))]);
      const b = aborting();
      expect(b.receive(statusQueryMsg(T, SELF), 1300)).to.deep.equal([send(SELF, statusReplyMsg(T, 'aborted', COORD))]);
    });

    it('answers aborted for a transaction it does not know', () => {
      const c = new CoordinatorCore(coordinatorConfig);
      expect(c.step({ type: 'receive', message: statusQueryMsg(tx(5), SELF), nowMs: 1000 })).to.deep.equal([
        send(SELF, statusReplyMsg(tx(5), 'aborted', COORD)),
      ]);
      expect(c.unfinished()).to.deep.equal([], 'answering does not create an entry');
    });
  });

  describe('restore after a restart', () => {
    const decided: CoordinatorRecord = {
      txId: T, kind: 'book', participants: [SELF, OTHER], timestampMs: 100, decision: 'committed', acked: [SELF], state: 'decided', createdAtMs: 1000, updatedAtMs: 1200,
    };

    it('audits TX_RECOVERED naming the unacked participants and answers status queries with committed', () => {
      const c = new CoordinatorCore(coordinatorConfig);
      expect(c.restore([decided], 9000)).to.deep.equal([
        audit('TX_RECOVERED', T, { role: 'coordinator', decision: 'committed', waitingFor: [OTHER] }),
      ]);
      expect(c.outcomeOf(T)).to.equal('committed');
      expect(c.unfinished()).to.deep.equal([
        { txId: T, phase: 'committing', kind: 'book', participants: [SELF, OTHER], timestampMs: 100, createdAtMs: 1000, waitingFor: [OTHER] },
      ]);
    });

    it('re-sends the commit to the unacked participant on the first tick, then backs off', () => {
      const c = new CoordinatorCore(coordinatorConfig);
      c.restore([decided], 9000);
      expect(c.nextWakeAtMs()).to.equal(9000);
      expect(c.step({ type: 'tick', nowMs: 9000 })).to.deep.equal([send(OTHER, commitMsg(T))]);
      expect(c.nextWakeAtMs()).to.equal(9500);
    });

    it('ends the restored transaction on the last ack with the original creation time', () => {
      const c = new CoordinatorCore(coordinatorConfig);
      c.restore([decided], 9000);
      expect(c.step({ type: 'receive', message: ackMsg(T, OTHER, 'committed'), nowMs: 9100 })).to.deep.equal(ended(9100, [SELF, OTHER]));
    });

    it('skips ended records: nothing to drive, and a query about them is answered aborted', () => {
      const c = new CoordinatorCore(coordinatorConfig);
      expect(c.restore([endedRecord(1500, [SELF, OTHER])], 9000)).to.deep.equal([]);
      expect(c.unfinished()).to.deep.equal([]);
      expect(c.nextWakeAtMs()).to.equal(undefined);
    });
  });
});
