// The invariant checker. While the run goes: every durable record is replayed into its
// node's ledger (no slot held or owned by two transactions, nothing confirmed that was not
// held); no transaction is durably committed in one place and aborted in another; nothing
// leaves a node before the record it relies on is durable (a yes vote, a commit, an ack, a
// client's "committed"); after every step each live node's slots agree with its participant
// core. After the quiescent period: every acknowledged booking survives, every client whose
// coordinator lived got an answer, and everything is decided and finished.
import type { LogEntry } from '../../coordinator-2pc/src/engine.js';
import type { NodeId, Outcome, ProtocolMessage, TxId } from '../../coordinator-2pc/src/messages.js';
import type { CoordinatorRecord, ParticipantRecord } from '../../coordinator-2pc/src/ports.js';
import type { TransactionInfo } from './clients.js';
import { latestRecords, type SimNode } from './sim-node.js';

interface DurableOutcome {
  outcome: Outcome;
  where: string;
}

export class Checker {
  /** The first final outcome made durable anywhere, per transaction. */
  private readonly durableOutcomes = new Map<TxId, DurableOutcome>();
  /** Transactions whose commit decision is durable at their coordinator. */
  private readonly durablyCommitted = new Set<TxId>();
  /** Every participant state ever made durable, as `node/txId/state`. */
  private readonly durableParticipantStates = new Set<string>();

  constructor(
    private readonly nodes: Map<NodeId, SimNode>,
    private readonly transactions: Map<TxId, TransactionInfo>,
    private readonly report: (problem: string) => void,
  ) {}

  /** A record just became durable at `node`. */
  onDurable(node: SimNode, entry: LogEntry): void {
    if (entry.role === 'participant') {
      node.durableSlots.applyRecord(entry.record);
      this.durableParticipantStates.add(`${node.id}/${entry.record.txId}/${entry.record.state}`);
      if (entry.record.state !== 'prepared') this.noteOutcome(entry.record.txId, entry.record.state, `participant ${node.id}`);
    } else {
      this.noteOutcome(entry.record.txId, entry.record.decision, `coordinator ${node.id}`);
      if (entry.record.decision === 'committed') this.durablyCommitted.add(entry.record.txId);
    }
  }

  /** A message is leaving `nodeId`: what it promises must already be durable there (persist, then send). */
  onLeave(nodeId: NodeId, message: ProtocolMessage): void {
    const durable = (state: ParticipantRecord['state']): boolean => this.durableParticipantStates.has(`${nodeId}/${message.txId}/${state}`);
    const promise = (): string | undefined => {
      if (message.type === 'vote' && message.vote === 'yes' && !durable('prepared')) return 'a yes vote before its prepared record';
      if (message.type === 'ack' && message.outcome === 'committed' && !durable('committed')) return 'an ack of a commit before its committed record';
      const commitSent = message.type === 'commit' || (message.type === 'status-reply' && message.outcome === 'committed');
      if (commitSent && !this.durablyCommitted.has(message.txId)) return `a ${message.type} before the commit decision`;
      return undefined;
    };
    const broken = promise();
    if (broken) this.report(`${nodeId} sent ${broken} of ${message.txId} was durable`);
  }

  /** A client was just answered: a commit may be acknowledged only once it is durable. */
  onTold(info: TransactionInfo): void {
    if (info.told === 'committed' && !this.durablyCommitted.has(info.txId)) {
      this.report(`${info.txId} was acknowledged as committed before its commit decision was durable at ${info.coordinator}`);
    }
  }

  /** After every step: each live node's slots and participant core tell the same story. */
  afterStep(): void {
    for (const node of this.nodes.values()) {
      if (node.up) this.checkSlotsAgreeWithCore(node);
    }
  }

  /** After the quiescent period: everything decided, finished, and acknowledged work kept. */
  final(): void {
    for (const node of this.nodes.values()) this.checkNodeFinished(node);
    for (const info of this.transactions.values()) this.checkTransaction(info);
  }

  private noteOutcome(txId: TxId, outcome: Outcome, where: string): void {
    const first = this.durableOutcomes.get(txId);
    if (!first) this.durableOutcomes.set(txId, { outcome, where });
    else if (first.outcome !== outcome) this.report(`${txId} is durably ${first.outcome} at ${first.where} but ${outcome} at ${where}`);
  }

  private checkSlotsAgreeWithCore(node: SimNode): void {
    const { participant } = node.engine!;
    for (const [slot, state] of node.slots!.entries()) {
      if (state.state === 'held' && participant.view(state.owner)?.phase !== 'prepared') {
        this.report(`${node.id}: slot ${slot} is held by ${state.owner}, which its participant does not have as prepared`);
      }
      if (state.cancelBy && participant.view(state.cancelBy)?.phase !== 'prepared') {
        this.report(`${node.id}: slot ${slot} is being cancelled by ${state.cancelBy}, which its participant does not have as prepared`);
      }
    }
    for (const view of participant.unfinished()) {
      if (view.phase !== 'prepared') continue;
      const payload = this.transactions.get(view.txId)?.parts.find((p) => p.node === node.id)?.payload;
      if (!node.slots!.holds(view.txId, view.kind as 'book' | 'cancel', payload)) {
        this.report(`${node.id}: ${view.txId} is prepared but does not hold its slots`);
      }
    }
  }

  private checkNodeFinished(node: SimNode): void {
    if (!node.up) return this.report(`${node.id} is still down after the quiescent period`);
    const { participant, coordinator } = node.engine!;
    const open = participant.unfinished().map((v) => `${v.txId} ${v.phase}`);
    if (open.length > 0) this.report(`${node.id}: participant still has unfinished transactions: ${open.join(', ')}`);
    const driving = coordinator.unfinished().map((v) => `${v.txId} ${v.phase} waiting for ${v.waitingFor.join(',')}`);
    if (driving.length > 0) this.report(`${node.id}: coordinator still drives ${driving.join('; ')}`);
    const { participantRecords, coordinatorRecords } = latestRecords(node.disk.durable);
    const inDoubt = participantRecords.filter((r) => r.state === 'prepared').map((r) => r.txId);
    if (inDoubt.length > 0) this.report(`${node.id}: durable records still prepared: ${inDoubt.join(', ')}`);
    const unended = coordinatorRecords.filter((r) => r.state !== 'ended').map((r) => r.txId);
    if (unended.length > 0) this.report(`${node.id}: coordinator records not ended: ${unended.join(', ')}`);
    const [live, durable] = [node.slots!.snapshot(), node.durableSlots.snapshot()];
    if (live !== durable) this.report(`${node.id}: slots in memory differ from the durable records:\n  memory:  ${live}\n  durable: ${durable}`);
    for (const [slot, state] of node.slots!.entries()) {
      if (state.state === 'held' || state.cancelBy) this.report(`${node.id}: slot ${slot} still held after the quiescent period: ${JSON.stringify(state)}`);
    }
  }

  private checkTransaction(info: TransactionInfo): void {
    if (info.told === undefined && this.nodes.get(info.coordinator)!.incarnation === info.incarnation) {
      this.report(`${info.txId}: its coordinator ${info.coordinator} never crashed, yet the client never got an answer`);
    }
    const states = info.parts.map(({ node }) => ({ node, state: this.latestParticipantRecord(node, info.txId)?.state }));
    const committedAt = states.filter((s) => s.state === 'committed').map((s) => s.node);
    const decision = this.latestCoordinatorRecord(info.coordinator, info.txId)?.decision;
    const describe = (): string => states.map((s) => `${s.node}:${s.state ?? 'none'}`).join(' ');
    if (committedAt.length > 0 && committedAt.length < states.length) {
      this.report(`${info.txId} is not all-or-nothing: ${describe()}`);
    }
    if (info.told === 'committed' && (committedAt.length < states.length || decision !== 'committed')) {
      this.report(`${info.txId} was acknowledged as committed but is not committed everywhere: ${describe()}, coordinator record: ${decision ?? 'none'}`);
    }
    if (info.told === 'aborted' && (committedAt.length > 0 || decision === 'committed')) {
      this.report(`${info.txId} was reported aborted to its client but committed: ${describe()}, coordinator record: ${decision ?? 'none'}`);
    }
  }

  private latestParticipantRecord(nodeId: NodeId, txId: TxId): ParticipantRecord | undefined {
    let latest: ParticipantRecord | undefined;
    for (const entry of this.nodes.get(nodeId)!.disk.durable) {
      if (entry.role === 'participant' && entry.record.txId === txId) latest = entry.record;
    }
    return latest;
  }

  private latestCoordinatorRecord(nodeId: NodeId, txId: TxId): CoordinatorRecord | undefined {
    let latest: CoordinatorRecord | undefined;
    for (const entry of this.nodes.get(nodeId)!.disk.durable) {
      if (entry.role === 'coordinator' && entry.record.txId === txId) latest = entry.record;
    }
    return latest;
  }
}
