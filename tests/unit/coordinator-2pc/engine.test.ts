// ProtocolEngine with fake ports: a log whose writes are made durable by hand, a request()
// answered by hand and a manual clock. Proves that nothing leaves the node before the
// writes that precede it are durable, while local messages are not held back.
import { expect } from 'chai';
import { ProtocolEngine } from '../../../coordinator-2pc/src/engine.js';
import { ParticipantCore } from '../../../coordinator-2pc/src/participant.js';
import { CoordinatorCore, type BeginTransaction } from '../../../coordinator-2pc/src/coordinator.js';
import { ProtocolInvariantError } from '../../../coordinator-2pc/src/invariants.js';
import type { NodeId } from '../../../coordinator-2pc/src/messages.js';
import type { CoordinatorRecord, ParticipantRecord } from '../../../coordinator-2pc/src/ports.js';
import {
  COORD,
  FakePorts,
  ManualNetwork,
  OTHER,
  SELF,
  SlotResourceManager,
  ackMsg,
  coordinatorConfig,
  flush,
  participantConfig,
  prepareMsg,
  recordOf,
  statusQueryMsg,
  statusReplyMsg,
  track,
  tx,
  voteMsg,
} from './helpers.js';

const T = tx(1);

function node(selfId: NodeId) {
  const ports = new FakePorts();
  const rm = new SlotResourceManager();
  const participant = new ParticipantCore({ ...participantConfig, selfId }, rm);
  const coordinator = new CoordinatorCore({ ...coordinatorConfig, selfId });
  const engine = new ProtocolEngine(selfId, participant, coordinator, ports);
  return { engine, ports, rm, log: ports.log, net: ports.network as ManualNetwork };
}

function beginOf(parts: NodeId[]): BeginTransaction {
  return { txId: T, kind: 'book', timestampMs: 100, deadlineMs: 5000, parts: parts.map((n) => ({ node: n, payload: [`${n}/slot`] })) };
}

describe('ProtocolEngine — persist, then send, then reply', () => {
  describe('as a participant', () => {
    it('resolves handleRequest(prepare) with the yes vote only after the PREPARED record is durable', async () => {
      const { engine, log } = node(SELF);
      const reply = track(engine.handleRequest(prepareMsg({ txId: T })));
      expect(log.summary()).to.deep.equal([`participant:${T}:prepared`]);
      await flush();
      expect(reply.settled).to.equal(false);
      log.writes[0]!.resolve();
      await flush();
      expect(reply).to.deep.equal({ settled: true, value: voteMsg(T, SELF, 'yes') });
    });

    it('answers a commit for an unknown transaction with ack committed, writing nothing', async () => {
      const { engine, log } = node(SELF);
      expect(await engine.handleRequest({ type: 'commit', txId: T, from: COORD })).to.deep.equal(ackMsg(T, SELF, 'committed'));
      expect(log.writes).to.deep.equal([]);
    });

    it('answers an abort for an unknown transaction with ack aborted only once the tombstone is durable', async () => {
      const { engine, log } = node(SELF);
      const reply = track(engine.handleRequest({ type: 'abort', txId: T, from: COORD }));
      await flush();
      expect(reply.settled).to.equal(false);
      log.resolveAll();
      await flush();
      expect(reply.value).to.deep.equal(ackMsg(T, SELF, 'aborted'));
    });

    it('gives a prepare that waits for a hold, and its duplicate, the vote once the holder aborts', async () => {
      const { engine, log } = node(SELF);
      log.autoResolve = true;
      const holder = prepareMsg({ txId: tx(2), timestampMs: 200, payload: ['s'] });
      expect(await engine.handleRequest(holder)).to.deep.equal(voteMsg(tx(2), SELF, 'yes'));
      const first = track(engine.handleRequest(prepareMsg({ txId: T, timestampMs: 100, payload: ['s'] })));
      const duplicate = track(engine.handleRequest(prepareMsg({ txId: T, timestampMs: 100, payload: ['s'] })));
      await flush();
      expect([first.settled, duplicate.settled]).to.deep.equal([false, false]);
      expect(await engine.handleRequest({ type: 'abort', txId: tx(2), from: COORD })).to.deep.equal(ackMsg(tx(2), SELF, 'aborted'));
      await flush();
      expect(first.value).to.deep.equal(voteMsg(T, SELF, 'yes'));
      expect(duplicate.value).to.deep.equal(voteMsg(T, SELF, 'yes'));
    });

    it('answers a waiting prepare with no/conflict when wake() finds its wait over', async () => {
      const { engine, log, ports } = node(SELF);
      log.autoResolve = true;
      await engine.handleRequest(prepareMsg({ txId: tx(2), timestampMs: 200, payload: ['s'] }));
      const waiting = track(engine.handleRequest(prepareMsg({ txId: T, timestampMs: 100, deadlineMs: 1200, payload: ['s'] })));
      expect(ports.wakes.at(-1)).to.equal(1200, 'the engine asks to be woken when the wait ends');
      ports.nowValue = 1200;
      engine.wake();
      await flush();
      expect(waiting.value).to.deep.include({ type: 'vote', vote: 'no' });
    });

    it('asks the coordinator when in doubt: wake() sends a status-query and applies the reply', async () => {
      const { engine, log, net, ports, rm } = node(SELF);
      log.autoResolve = true;
      await engine.handleRequest(prepareMsg({ txId: T }));
      expect(ports.wakes.at(-1)).to.equal(2000);
      ports.nowValue = 2000;
      engine.wake();
      await flush();
      expect(net.summary()).to.deep.equal([`${COORD}:status-query`]);
      net.requests[0]!.resolve(statusReplyMsg(T, 'aborted'));
      await flush();
      expect(engine.participant.view(T)?.phase).to.equal('aborted');
      expect(rm.opsOf(T)).to.deep.equal(['tryHold', 'release']);
      expect(log.summary().at(-1)).to.equal(`participant:${T}:aborted`);
    });

    it('lets an operator resolve only a prepared transaction, persisting a heuristic record', async () => {
      const { engine, log, ports } = node(SELF);
      log.autoResolve = true;
      expect(engine.resolveInDoubt(T, 'committed')).to.equal(false);
      await engine.handleRequest(prepareMsg({ txId: T }));
      expect(engine.resolveInDoubt(T, 'aborted')).to.equal(true);
      expect(log.writes.at(-1)!.entry.record).to.include({ state: 'aborted', heuristic: true });
      expect(ports.auditEvents()).to.deep.equal(['TX_PREPARED', 'TX_HEURISTIC']);
      expect(engine.resolveInDoubt(T, 'aborted')).to.equal(false);
    });
  });

  describe('as a coordinator', () => {
    it('sends no commit before the decision is durable, and resolves begin() only after it is', async () => {
      const { engine, log, net } = node(COORD);
      const result = track(engine.begin(beginOf([SELF, OTHER])));
      await flush();
      expect(net.summary()).to.deep.equal([`${SELF}:prepare`, `${OTHER}:prepare`]);
      expect(log.writes).to.deep.equal([], 'presumed abort: nothing written before the decision');
      net.requests[0]!.resolve(voteMsg(T, SELF, 'yes'));
      net.requests[1]!.resolve(voteMsg(T, OTHER, 'yes'));
      await flush();
      expect(log.summary()).to.deep.equal([`coordinator:${T}:decided`]);
      expect(net.summary()).to.have.length(2);
      expect(result.settled).to.equal(false);
      log.writes[0]!.resolve();
      await flush();
      expect(net.summary()).to.deep.equal([`${SELF}:prepare`, `${OTHER}:prepare`, `${SELF}:commit`, `${OTHER}:commit`]);
      expect(result.value).to.deep.equal({ outcome: 'committed', reasons: [] });
    });

    it('delivers messages to its own participant at once, but holds the remote commit until every earlier write is durable', async () => {
      const { engine, log, net, ports } = node(COORD);
      const result = track(engine.begin(beginOf([COORD, SELF])));
      expect(engine.participant.view(T)?.phase).to.equal('prepared', 'the local prepare did not wait');
      await flush();
      net.find(SELF, 'prepare').resolve(voteMsg(T, SELF, 'yes'));
      await flush();
      // The local yes reached the coordinator while the PREPARED write was still pending.
      expect(log.summary()).to.deep.equal([`participant:${T}:prepared`, `coordinator:${T}:decided`, `participant:${T}:committed`]);
      log.writes[0]!.resolve();
      await flush();
      expect(net.summary()).to.deep.equal([`${SELF}:prepare`]);
      expect(result.settled).to.equal(false);
      log.writes[1]!.resolve();
      await flush();
      expect(net.summary()).to.deep.equal([`${SELF}:prepare`, `${SELF}:commit`]);
      expect(result.value).to.deep.equal({ outcome: 'committed', reasons: [] });
      net.find(SELF, 'commit').resolve(ackMsg(T, SELF, 'committed'));
      await flush();
      expect(log.summary().at(-1)).to.equal(`coordinator:${T}:ended`);
      expect(ports.auditEvents()).to.deep.equal(['TX_PREPARED', 'TX_DECIDED', 'TX_COMMITTED', 'TX_ENDED']);
    });

    it('aborts when request() rejects during collecting: begin() resolves aborted with reason unreachable', async () => {
      const { engine, log, net } = node(COORD);
      const result = engine.begin(beginOf([SELF, OTHER]));
      await flush();
      net.find(OTHER, 'prepare').reject(new Error('connect ECONNREFUSED'));
      expect(await result).to.deep.equal({
        outcome: 'aborted',
        reasons: [{ code: 'unreachable', detail: `observatory ${OTHER} did not answer: connect ECONNREFUSED`, node: OTHER }],
      });
      await flush();
      expect(net.summary()).to.deep.equal([`${SELF}:prepare`, `${OTHER}:prepare`, `${SELF}:abort`, `${OTHER}:abort`]);
      expect(log.writes).to.deep.equal([]);
    });

    it('answers a status-query committed only once the decision is durable', async () => {
      const { engine, log, net } = node(COORD);
      engine.begin(beginOf([SELF, OTHER]));
      expect(await engine.handleRequest(statusQueryMsg(T, SELF))).to.deep.equal(statusReplyMsg(T, 'pending', COORD));
      await flush();
      net.requests.forEach((r) => r.resolve(voteMsg(T, r.to, 'yes')));
      await flush();
      const reply = track(engine.handleRequest(statusQueryMsg(T, SELF)));
      await flush();
      expect(reply.settled).to.equal(false);
      log.resolveAll();
      await flush();
      expect(reply.value).to.deep.equal(statusReplyMsg(T, 'committed', COORD));
    });

    it('schedules a wake at which the prepare deadline aborts the transaction with timeout reasons', async () => {
      const { engine, ports } = node(COORD);
      const result = track(engine.begin(beginOf([SELF])));
      const wakeAt = ports.wakes.at(-1);
      expect(wakeAt).to.equal(engine.coordinator.nextWakeAtMs());
      ports.nowValue = wakeAt!;
      engine.wake();
      await flush();
      expect(result.value).to.deep.equal({
        outcome: 'aborted',
        reasons: [{ code: 'timeout', detail: `no vote before the prepare deadline from ${SELF}`, node: SELF }],
      });
    });

    it('re-drives a restored decided transaction at once and re-queries a restored in-doubt one', async () => {
      const { engine, net, ports } = node(COORD);
      const decided: CoordinatorRecord = {
        txId: T, kind: 'book', participants: [SELF], timestampMs: 100, decision: 'committed', acked: [], state: 'decided', createdAtMs: 10, updatedAtMs: 20,
      };
      const inDoubt: ParticipantRecord = recordOf(prepareMsg({ txId: tx(2, OTHER), coordinatorId: OTHER }), 'prepared', 30);
      engine.restore([inDoubt], [decided]);
      await flush();
      expect(net.summary()).to.deep.equal([`${SELF}:commit`, `${OTHER}:status-query`]);
      expect(ports.auditEvents()).to.deep.equal(['TX_RECOVERED', 'TX_RECOVERED', 'TX_IN_DOUBT']);
    });
  });

  describe('fail-stop', () => {
    it('calls fatal() when a log write fails, and never sends the vote that depended on it', async () => {
      const { engine, log, ports } = node(SELF);
      const reply = track(engine.handleRequest(prepareMsg({ txId: T })));
      const failure = new Error('disk full');
      log.writes[0]!.reject(failure);
      await flush();
      expect(ports.fatals).to.deep.equal([failure]);
      expect(reply.settled).to.equal(false);
    });

    it('calls fatal() with the ProtocolInvariantError when a core breaks an invariant', () => {
      const { engine, ports } = node(COORD);
      engine.begin(beginOf([SELF]));
      engine.begin(beginOf([SELF]));
      expect(ports.fatals).to.have.length(1);
      expect(ports.fatals[0]).to.be.instanceOf(ProtocolInvariantError);
    });
  });
});
