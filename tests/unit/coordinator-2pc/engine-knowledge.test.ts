// ProtocolEngine × the knowledgeOf port: a status query about a transaction no longer in
// memory is answered from the node's records (durable-knowledge.ts), and a query about a
// transaction another node coordinates goes to the participant role (cooperative termination).
import { expect } from 'chai';
import { CoordinatorCore } from '../../../coordinator-2pc/src/coordinator.js';
import type { DurableKnowledge } from '../../../coordinator-2pc/src/durable-knowledge.js';
import { ProtocolEngine } from '../../../coordinator-2pc/src/engine.js';
import type { NodeId, TxId } from '../../../coordinator-2pc/src/messages.js';
import { ParticipantCore } from '../../../coordinator-2pc/src/participant.js';
import { COORD, FakePorts, OTHER, SELF, SlotResourceManager, coordinatorConfig, flush, participantConfig, prepareMsg, statusQueryMsg, statusReplyMsg, tx } from './helpers.js';

class KnowingPorts extends FakePorts {
  readonly lookedUp: TxId[] = [];
  constructor(private readonly records: Map<TxId, DurableKnowledge>) {
    super();
    this.log.autoResolve = true;
  }
  knowledgeOf(txId: TxId): Promise<DurableKnowledge> {
    this.lookedUp.push(txId);
    return Promise.resolve(this.records.get(txId) ?? { complete: true });
  }
}

function node(selfId: NodeId, records: Map<TxId, DurableKnowledge>) {
  const ports = new KnowingPorts(records);
  const engine = new ProtocolEngine(selfId, new ParticipantCore({ ...participantConfig, selfId }, new SlotResourceManager()), new CoordinatorCore({ ...coordinatorConfig, selfId }), ports);
  return { engine, ports };
}

describe('ProtocolEngine — status queries answered from the records', () => {
  it('as coordinator: committed for a transaction that ended (its record), aborted for one never decided, unknown where the store may have lost it', async () => {
    const records = new Map<TxId, DurableKnowledge>([[tx(1), { complete: true, coordinatorDecision: 'committed' }], [tx(3), { complete: false }]]);
    const { engine } = node(COORD, records);
    expect(await engine.handleRequest(statusQueryMsg(tx(1), SELF))).to.deep.equal(statusReplyMsg(tx(1), 'committed', COORD));
    expect(await engine.handleRequest(statusQueryMsg(tx(2), SELF))).to.deep.equal(statusReplyMsg(tx(2), 'aborted', COORD));
    expect(await engine.handleRequest(statusQueryMsg(tx(3), SELF))).to.deep.equal(statusReplyMsg(tx(3), 'unknown', COORD));
  });

  it('as participant asked by another participant: answers from memory without a look-up while it holds the transaction', async () => {
    const { engine, ports } = node(SELF, new Map());
    await engine.handleRequest(prepareMsg({ txId: tx(1) }));
    expect(await engine.handleRequest(statusQueryMsg(tx(1), OTHER))).to.deep.equal(statusReplyMsg(tx(1), 'pending', SELF));
    expect(ports.lookedUp).to.deep.equal([]);
  });

  it('as participant: a forgotten commit is answered committed from its record; an id it never saw, with a complete store, is refused for good', async () => {
    const { engine, ports } = node(SELF, new Map([[tx(1), { complete: true, participantState: 'committed' }]]));
    expect(await engine.handleRequest(statusQueryMsg(tx(1), OTHER))).to.deep.equal(statusReplyMsg(tx(1), 'committed', SELF));
    expect(await engine.handleRequest(statusQueryMsg(tx(2), OTHER))).to.deep.equal(statusReplyMsg(tx(2), 'aborted', SELF));
    await flush();
    expect(ports.log.summary()).to.deep.equal([`participant:${tx(2)}:aborted`], 'the refusal (tombstone) is written');
    expect(engine.participant.view(tx(2))?.phase).to.equal('aborted');
  });

  it('without the port (the simulator), the coordinator presumes abort and a participant answers unknown', async () => {
    const ports = new FakePorts();
    const engine = new ProtocolEngine(SELF, new ParticipantCore(participantConfig, new SlotResourceManager()), new CoordinatorCore({ ...coordinatorConfig, selfId: SELF }), ports);
    expect(await engine.handleRequest(statusQueryMsg(tx(1, SELF), OTHER))).to.deep.equal(statusReplyMsg(tx(1, SELF), 'aborted', SELF));
    expect(await engine.handleRequest(statusQueryMsg(tx(2), OTHER))).to.deep.equal(statusReplyMsg(tx(2), 'unknown', SELF));
  });
});
