// Two ProtocolEngines wired to each other in memory (request() calls the other engine's
// handleRequest): a booking across obs-a (coordinator and participant) and obs-b, committed,
// aborted, and recovered after a lost commit and after a coordinator restart.
import { expect } from 'chai';
import { ProtocolEngine, type ReplyMessage, type RequestMessage } from '../../../coordinator-2pc/src/engine.js';
import { ParticipantCore } from '../../../coordinator-2pc/src/participant.js';
import { CoordinatorCore, type BeginTransaction } from '../../../coordinator-2pc/src/coordinator.js';
import type { NodeId } from '../../../coordinator-2pc/src/messages.js';
import type { CoordinatorRecord, ParticipantRecord } from '../../../coordinator-2pc/src/ports.js';
import { FakePorts, ManualLog, SlotResourceManager, coordinatorConfig, flush, participantConfig, tx } from './helpers.js';

const A: NodeId = 'obs-a';
const B: NodeId = 'obs-b';
const T = tx(1, A);

type Node = { engine: ProtocolEngine; ports: FakePorts; log: ManualLog; rm: SlotResourceManager };

function federation() {
  const nodes = new Map<NodeId, Node>();
  /** Requests of these types to these nodes fail as if the node were down: `obs-b:commit`. */
  const failing = new Set<string>();
  const request = async (to: NodeId, message: RequestMessage): Promise<ReplyMessage> => {
    if (failing.has(`${to}:${message.type}`) || failing.has(`${to}:*`)) throw new Error(`${to} is down`);
    const reply = await nodes.get(to)!.engine.handleRequest(message);
    if (!reply) throw new Error(`${to} gave no reply`);
    return reply;
  };
  const start = (id: NodeId, rm = new SlotResourceManager()): Node => {
    const log = new ManualLog();
    log.autoResolve = true;
    const ports = new FakePorts(log, { request });
    const engine = new ProtocolEngine(id, new ParticipantCore({ ...participantConfig, selfId: id }, rm), new CoordinatorCore({ ...coordinatorConfig, selfId: id }), ports);
    const node = { engine, ports, log, rm };
    nodes.set(id, node);
    return node;
  };
  const setNow = (nowMs: number) => nodes.forEach((n) => (n.ports.nowValue = nowMs));
  return { a: start(A), b: start(B), start, failing, setNow };
}

const booking: BeginTransaction = {
  txId: T, kind: 'book', timestampMs: 100, deadlineMs: 5000,
  parts: [{ node: A, payload: ['a/02:00'] }, { node: B, payload: ['b/03:00'] }],
};

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await flush();
}

/** The last record of each transaction, as a restart would read the log. */
function latest(log: ManualLog): { participant: ParticipantRecord[]; coordinator: CoordinatorRecord[] } {
  const participant = new Map<string, ParticipantRecord>();
  const coordinator = new Map<string, CoordinatorRecord>();
  for (const { entry } of log.writes) {
    if (entry.role === 'participant') participant.set(entry.record.txId, entry.record);
    else if (entry.role === 'coordinator') coordinator.set(entry.record.txId, entry.record);
  }
  return { participant: [...participant.values()], coordinator: [...coordinator.values()] };
}

describe('ProtocolEngine — two nodes wired in memory', () => {
  it('commits a booking across both nodes: both slots confirmed, every record written, the coordinator forgets it', async () => {
    const { a, b } = federation();
    expect(await a.engine.begin(booking)).to.deep.equal({ outcome: 'committed', reasons: [] });
    await settle();
    expect(a.rm.holderOf('a/02:00')).to.deep.equal({ txId: T, committed: true });
    expect(b.rm.holderOf('b/03:00')).to.deep.equal({ txId: T, committed: true });
    expect(a.log.summary()).to.deep.equal([`participant:${T}:prepared`, `coordinator:${T}:decided`, `participant:${T}:committed`, `coordinator:${T}:ended`]);
    expect(b.log.summary()).to.deep.equal([`participant:${T}:prepared`, `participant:${T}:committed`]);
    expect(a.engine.coordinator.unfinished()).to.deep.equal([]);
    expect(a.engine.participant.unfinished()).to.deep.equal([]);
    expect(b.engine.participant.unfinished()).to.deep.equal([]);
    expect(b.ports.auditEvents()).to.deep.equal(['TX_PREPARED', 'TX_COMMITTED']);
    expect([...a.ports.fatals, ...b.ports.fatals]).to.deep.equal([]);
  });

  it('aborts the whole booking when obs-b refuses: obs-a releases its hold and writes no coordinator record', async () => {
    const { a, b } = federation();
    b.rm.seed('b/03:00', tx(9, B), true);
    expect(await a.engine.begin(booking)).to.deep.equal({
      outcome: 'aborted',
      reasons: [{ code: 'conflict', detail: `held by ${tx(9, B)}`, node: B }],
    });
    await settle();
    expect(a.rm.holderOf('a/02:00')).to.equal(undefined);
    expect(a.rm.opsOf(T)).to.deep.equal(['tryHold', 'release']);
    expect(a.log.summary()).to.deep.equal([`participant:${T}:prepared`, `participant:${T}:aborted`]);
    expect(b.log.summary()).to.deep.equal([`participant:${T}:aborted`]);
    expect(a.engine.coordinator.unfinished()).to.deep.equal([], 'everyone acked the abort');
    expect(a.engine.coordinator.outcomeOf(T)).to.equal('aborted');
  });

  it('aborts the booking when obs-b is down during prepare, and obs-a releases its hold', async () => {
    const { a, failing } = federation();
    failing.add(`${B}:*`);
    const result = await a.engine.begin(booking);
    expect(result.outcome).to.equal('aborted');
    expect(result.reasons.map((r) => [r.code, r.node])).to.deep.equal([['unreachable', B]]);
    await settle();
    expect(a.rm.holderOf('a/02:00')).to.equal(undefined);
    expect(a.engine.participant.view(T)?.phase).to.equal('aborted');
  });

  it('lets obs-b, which missed the commit, learn it by asking the coordinator; the coordinator ends once it acks', async () => {
    const { a, b, failing, setNow } = federation();
    failing.add(`${B}:commit`);
    expect((await a.engine.begin(booking)).outcome).to.equal('committed');
    await settle();
    expect(b.engine.participant.view(T)?.phase).to.equal('prepared');
    setNow(1000 + participantConfig.inDoubtQueryAfterMs);
    b.engine.wake();
    await settle();
    expect(b.engine.participant.view(T)?.phase).to.equal('committed');
    expect(b.rm.holderOf('b/03:00')).to.deep.equal({ txId: T, committed: true });
    expect(a.engine.coordinator.unfinished().map((v) => v.waitingFor)).to.deep.equal([[B]]);
    failing.clear();
    expect(a.engine.coordinator.nextWakeAtMs()).to.be.at.most(a.ports.nowMs(), 'the commit resend is due');
    a.engine.wake();
    await settle();
    expect(a.engine.coordinator.unfinished()).to.deep.equal([]);
    expect(a.log.summary().at(-1)).to.equal(`coordinator:${T}:ended`);
  });

  it('after a coordinator restart from its log, re-sends the durable commit decision and ends the transaction', async () => {
    const { a, b, failing, start } = federation();
    failing.add(`${B}:commit`);
    expect((await a.engine.begin(booking)).outcome).to.equal('committed');
    await settle();
    failing.clear();
    // obs-a crashes; its holds in memory are rebuilt by their owner (the booking domain), its cores from the log.
    const rm = new SlotResourceManager();
    rm.seed('a/02:00', T, true);
    const a2 = start(A, rm);
    const records = latest(a.log);
    a2.engine.restore(records.participant, records.coordinator);
    await settle();
    expect(b.engine.participant.view(T)?.phase).to.equal('committed');
    expect(a2.log.summary()).to.deep.equal([`coordinator:${T}:ended`]);
    expect(a2.engine.coordinator.unfinished()).to.deep.equal([]);
    expect(a2.ports.auditEvents()).to.deep.equal(['TX_RECOVERED', 'TX_ENDED']);
  });
});
