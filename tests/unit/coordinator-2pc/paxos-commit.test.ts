// Three ProtocolEngines wired in memory with acceptors (Paxos Commit, docs/PROTOCOL.md §20):
// obs-a coordinates a booking of obs-b and obs-c, the acceptors are obs-a, obs-b, obs-c. The
// commit needs a majority of accepts before anyone hears of it, and the participants finish the
// transaction without the coordinator when it is gone for good.
import { expect } from 'chai';
import { ProtocolEngine, type ReplyMessage, type RequestMessage } from '../../../coordinator-2pc/src/engine.js';
import { ParticipantCore } from '../../../coordinator-2pc/src/participant.js';
import { CoordinatorCore, type BeginTransaction } from '../../../coordinator-2pc/src/coordinator.js';
import type { NodeId } from '../../../coordinator-2pc/src/messages.js';
import { FakePorts, ManualLog, SlotResourceManager, coordinatorConfig, flush, participantConfig, track, tx } from './helpers.js';

const [A, B, C] = ['obs-a', 'obs-b', 'obs-c'];
const T = tx(1, A);

const booking: BeginTransaction = {
  txId: T, kind: 'book', timestampMs: 100, deadlineMs: 5000,
  parts: [{ node: B, payload: ['b/02:00'] }, { node: C, payload: ['c/03:00'] }],
  acceptors: [A, B, C],
};

type Node = { engine: ProtocolEngine; ports: FakePorts; log: ManualLog; rm: SlotResourceManager };

async function settle(): Promise<void> {
  for (let i = 0; i < 8; i += 1) await flush();
}

function federation() {
  const nodes = new Map<NodeId, Node>();
  /** `to:type` (or `to:*`) requests fail as if the node were down or the message lost. */
  const failing = new Set<string>();
  const sent: string[] = [];
  const request = async (from: NodeId, to: NodeId, message: RequestMessage): Promise<ReplyMessage> => {
    sent.push(`${to}:${message.type}`);
    if (failing.has(`${to}:${message.type}`) || failing.has(`${to}:*`) || !nodes.has(to)) throw new Error(`${to} is down`);
    const reply = await nodes.get(to)!.engine.handleRequest(message);
    if (!nodes.has(from)) return new Promise<ReplyMessage>(() => undefined); // a lost node hears nothing more
    if (!reply) throw new Error(`${to} gave no reply`);
    return reply;
  };
  const start = (id: NodeId): Node => {
    const log = new ManualLog();
    log.autoResolve = true;
    const ports = new FakePorts(log, { request: (to, message) => request(id, to, message) });
    const rm = new SlotResourceManager();
    const engine = new ProtocolEngine(id, new ParticipantCore({ ...participantConfig, selfId: id }, rm), new CoordinatorCore({ ...coordinatorConfig, selfId: id }), ports);
    const node = { engine, ports, log, rm };
    nodes.set(id, node);
    return node;
  };
  const a = start(A);
  const b = start(B);
  const c = start(C);
  /** Advance every live node's clock and let each one's timers run. */
  const advance = async (toMs: number) => {
    for (const node of nodes.values()) node.ports.nowValue = toMs;
    for (const node of nodes.values()) node.engine.wake();
    await settle();
  };
  const lose = (id: NodeId) => nodes.delete(id);
  return { a, b, c, failing, sent, advance, lose };
}

describe('ProtocolEngine with acceptors (Paxos Commit, F = 1)', () => {
  it('commits only after a majority accepted COMMIT; the coordinator\'s own acceptance is written before the others are asked', async () => {
    const { a, b, c, sent } = federation();
    expect(await a.engine.begin(booking)).to.deep.equal({ outcome: 'committed', reasons: [] });
    await settle();
    const firstAccept = sent.findIndex((s) => s.endsWith(':accept'));
    const firstCommit = sent.findIndex((s) => s.endsWith(':commit'));
    expect(firstAccept).to.be.greaterThan(-1);
    expect(firstCommit).to.be.greaterThan(firstAccept);
    expect(a.log.summary().slice(0, 2)).to.deep.equal([`acceptor:${T}:commit@0`, `coordinator:${T}:decided`]);
    expect(b.log.summary()).to.include(`acceptor:${T}:commit@0`);
    expect(b.rm.holderOf('b/02:00')).to.deep.equal({ txId: T, committed: true });
    expect(c.rm.holderOf('c/03:00')).to.deep.equal({ txId: T, committed: true });
    expect(a.engine.coordinator.unfinished()).to.deep.equal([]);
  });

  it('does not tell commit, nor answer the client, while only its own acceptor accepted', async () => {
    const { a, b, failing } = federation();
    failing.add(`${B}:accept`).add(`${C}:accept`);
    const result = track(a.engine.begin(booking));
    await settle();
    expect(result.settled).to.equal(false);
    expect(a.engine.coordinator.view(T)?.phase).to.equal('proposing');
    expect(a.engine.coordinator.outcomeOf(T)).to.equal('pending');
    expect(b.engine.participant.view(T)?.phase).to.equal('prepared');
    failing.clear();
    await a.engine.coordinator.nextWakeAtMs() !== undefined && (a.ports.nowValue = a.engine.coordinator.nextWakeAtMs()!);
    a.engine.wake();
    await settle();
    expect(result.value?.outcome).to.equal('committed');
  });

  it('lets the participants commit on their own when the coordinator is lost for good after a majority accepted COMMIT', async () => {
    const { a, b, c, failing, advance, lose } = federation();
    failing.add(`${B}:commit`).add(`${C}:commit`);
    expect((await a.engine.begin(booking)).outcome).to.equal('committed');
    await settle();
    lose(A);
    expect(b.engine.participant.view(T)?.phase).to.equal('prepared');
    for (let at = 2000; at <= 20_000 && (b.engine.participant.view(T)?.phase === 'prepared' || c.engine.participant.view(T)?.phase === 'prepared'); at += 1000) await advance(at);
    expect(b.engine.participant.view(T)?.phase).to.equal('committed');
    expect(c.engine.participant.view(T)?.phase).to.equal('committed');
    expect(b.ports.auditEvents().concat(c.ports.auditEvents())).to.include('TX_CHOSEN');
    void a;
  });

  it('lets the participants abort on their own when the coordinator is lost for good before it proposed anything', async () => {
    const { a, b, c, advance, lose } = federation();
    void a.engine.begin(booking);
    lose(A); // before the votes come back: it never proposes
    await settle();
    expect(b.engine.participant.view(T)?.phase).to.equal('prepared');
    for (let at = 2000; at <= 20_000 && (b.engine.participant.view(T)?.phase === 'prepared' || c.engine.participant.view(T)?.phase === 'prepared'); at += 1000) await advance(at);
    expect(b.engine.participant.view(T)?.phase).to.equal('aborted');
    expect(c.engine.participant.view(T)?.phase).to.equal('aborted');
    expect(b.rm.holderOf('b/02:00')).to.equal(undefined);
  });

  it('a coordinator outranked by a recovery ballot that chose ABORT learns it and tells its client aborted', async () => {
    const { a, b, c, failing, advance } = federation();
    failing.add(`${B}:accept`).add(`${C}:accept`); // its round 0 reaches no other acceptor
    const result = track(a.engine.begin(booking));
    await settle();
    expect(a.engine.coordinator.view(T)?.phase).to.equal('proposing');
    // obs-b and obs-c, in doubt, lead recovery ballots: obs-a's acceptor reports COMMIT at round 0 only if asked.
    failing.add(`${A}:ballot`).add(`${A}:accept`).add(`${A}:status-query`);
    failing.delete(`${B}:accept`);
    failing.delete(`${C}:accept`);
    for (let at = 2000; at <= 20_000 && b.engine.participant.view(T)?.phase === 'prepared'; at += 1000) {
      b.ports.nowValue = at;
      c.ports.nowValue = at;
      b.engine.wake();
      c.engine.wake();
      await settle();
    }
    expect(b.engine.participant.view(T)?.phase).to.equal('aborted');
    failing.clear();
    for (let at = 21_000; at <= 60_000 && !result.settled; at += 1000) await advance(at);
    expect(result.value?.outcome).to.equal('aborted');
    expect(c.engine.participant.view(T)?.phase).to.equal('aborted');
    expect(a.log.summary()).to.include(`coordinator:${T}:ended`);
  });
});
