// The invariant checker. While the run goes: no transaction is durably committed in one
// place and aborted in another; the store never takes a second claim of one slot; nothing
// leaves a node before the record it relies on is durable (a yes vote, a commit, an ack, a
// client's "committed"); after every step each live node's slot claims (the production
// SlotTable) agree with its participant core: a HELD or RELEASING claim belongs to a
// transaction prepared there, and a prepared transaction holds all its slots. After the
// quiescent period: every acknowledged booking survives, every client whose coordinator lived
// got an answer, everything is decided and finished, and each node's claims in memory are
// the claims in its store, none of them still HELD or RELEASING.
import type { NodeId, Outcome, ProtocolMessage, TxId } from '../../coordinator-2pc/src/messages.js';
import type { AcceptorRecord, CoordinatorRecord, ParticipantRecord } from '../../coordinator-2pc/src/ports.js';
import type { TransactionInfo } from './clients.js';
import type { Claim, PartPayload, SlotTable } from '../../federation-node/src/domain/slot-table.js';
import type { DiskWrite } from './sim-disk.js';
import { checkLoadedStore } from '../../federation-node/src/storage/store-invariants.js';
import { slotCountOf, slotKeyOf, slotTableOf } from './sim-domain.js';
import type { SimNode } from './sim-node.js';

interface DurableOutcome {
  outcome: Outcome;
  where: string;
}

export class Checker {
  /** The first final outcome made durable anywhere, per transaction. */
  private readonly durableOutcomes = new Map<TxId, DurableOutcome>();
  /** Transactions whose commit decision is durable at their coordinator. */
  private readonly durablyCommitted = new Set<TxId>();
  /** Per node, an empty slot table: only resolves payloads to slots for the store check. */
  private readonly resolvers = new Map<NodeId, SlotTable>();
  /** Every participant state ever made durable, as `node/txId/state`. */
  private readonly durableParticipantStates = new Set<string>();
  /** Paxos Commit: per transaction and ballot, the value accepted there and by which acceptors (durably). */
  private readonly acceptances = new Map<TxId, Map<string, { value: string; by: Set<NodeId> }>>();
  /** Transactions whose COMMIT a majority of their acceptors accepted at one ballot: chosen. */
  private readonly chosenCommit = new Set<TxId>();
  private readonly chosenAbort = new Set<TxId>();
  /** How many acceptors each transaction named (from the first acceptor record made durable). */
  private readonly acceptorCount = new Map<TxId, number>();

  constructor(
    private readonly nodes: Map<NodeId, SimNode>,
    private readonly transactions: Map<TxId, TransactionInfo>,
    private readonly report: (problem: string) => void,
  ) {}

  /** A write just became durable at `node`. */
  onDurable(node: SimNode, write: DiskWrite): void {
    if (write.type !== 'log') return;
    const { entry } = write;
    if (entry.role === 'acceptor') return this.onAcceptance(node, entry.record);
    if (entry.role === 'participant') {
      const decidedElsewhere = entry.record.coordinatorId !== node.id || this.committedSomewhere(entry.record.txId);
      if (entry.record.state === 'committed' && !entry.record.heuristic && !decidedElsewhere) {
        this.report(`${node.id}: the participant's commit of ${entry.record.txId} is durable before its own coordinator's decision`);
      }
      this.durableParticipantStates.add(`${node.id}/${entry.record.txId}/${entry.record.state}`);
      if (entry.record.state !== 'prepared' && !this.ownLostOutcome(node, entry.record.txId, entry.record.state)) this.noteOutcome(entry.record.txId, entry.record.state, `participant ${node.id}`);
    } else {
      this.noteOutcome(entry.record.txId, entry.record.decision, `coordinator ${node.id}`);
      if (entry.record.decision === 'committed') this.durablyCommitted.add(entry.record.txId);
    }
  }

  /** An acceptor's record became durable: count its accepted value at its ballot; a majority chooses it. */
  private onAcceptance(node: SimNode, record: AcceptorRecord): void {
    this.acceptorCount.set(record.txId, record.acceptors.length);
    if (!record.accepted) return;
    const byBallot = this.acceptances.get(record.txId) ?? new Map<string, { value: string; by: Set<NodeId> }>();
    this.acceptances.set(record.txId, byBallot);
    const key = `${record.accepted.ballot.round}/${record.accepted.ballot.node}`;
    const at = byBallot.get(key) ?? { value: record.accepted.value, by: new Set<NodeId>() };
    if (at.value !== record.accepted.value) this.report(`${record.txId}: two values accepted at ballot ${key} (${at.value} and ${record.accepted.value} at ${node.id})`);
    at.by.add(node.id);
    byBallot.set(key, at);
    if (at.by.size < Math.floor(record.acceptors.length / 2) + 1) return;
    const chosen = at.value === 'commit' ? this.chosenCommit : this.chosenAbort;
    chosen.add(record.txId);
    if (this.chosenCommit.has(record.txId) && this.chosenAbort.has(record.txId)) this.report(`${record.txId}: the acceptors chose both commit and abort (Paxos agreement broken)`);
  }

  /**
   * A node whose whole store was replaced aborts at start-up a transaction of its own telescopes
   * alone whose decision the store lost (recovery.ts: no one else can hold a commit): that
   * booking is lost with the store (docs/PROTOCOL.md §16), not decided twice.
   */
  private ownLostOutcome(node: SimNode, txId: TxId, state: ParticipantRecord['state']): boolean {
    const info = this.transactions.get(txId);
    const alone = info !== undefined && info.parts.every((p) => p.node === node.id);
    return state === 'aborted' && alone && info.coordinator === node.id && (node.storeReplacedAtUs ?? -1) >= (info.begunAtUs ?? 0);
  }

  /**
   * A transaction begun before `nodeId`'s store was replaced, of which the store now has no
   * record, a cancellation of a booking the store no longer has either: its reconciliation found
   * the cancellation already true and applied nothing (seed 807610). A commit acknowledged then
   * promises nothing more; the final states are checked as for every transaction.
   */
  private lostWithStore(nodeId: NodeId, txId: TxId): boolean {
    const node = this.nodes.get(nodeId);
    const info = this.transactions.get(txId);
    if (node === undefined || info === undefined || info.kind !== 'cancel' || !info.booking) return false;
    const replacedSince = (node.storeReplacedAtUs ?? -1) >= (info.begunAtUs ?? 0);
    return replacedSince && !node.disk.tables.participants.has(txId) && !node.disk.tables.participants.has(info.booking);
  }

  /** Commit is decided: the coordinator's commit record is durable, or a majority of the acceptors accepted COMMIT. */
  private committedSomewhere(txId: TxId): boolean {
    return this.durablyCommitted.has(txId) || this.chosenCommit.has(txId);
  }

  /**
   * A group commit just became durable at `node`: the store must be one a restart accepts (a
   * crash may come at any commit boundary), with claims and records in pairs.
   */
  onCommit(node: SimNode): void {
    const { participants, claims } = node.disk.tables;
    const prepared = [...participants.values()].filter((r) => r.state === 'prepared');
    const pending = [...claims.values()].filter((c) => c.state !== 'BOOKED');
    if (prepared.length === 0 && pending.length === 0) return;
    try {
      checkLoadedStore(prepared, pending, this.payloadResolver(node.id));
    } catch (error) {
      this.report(`${node.id}: after a group commit, a restart would find: ${(error as Error).message}`);
    }
  }

  private payloadResolver(nodeId: NodeId): SlotTable {
    let table = this.resolvers.get(nodeId);
    if (!table) this.resolvers.set(nodeId, (table = slotTableOf(nodeId)));
    return table;
  }

  /** A message is leaving `nodeId`: what it promises must already be durable there (persist, then send). */
  onLeave(nodeId: NodeId, message: ProtocolMessage): void {
    const durable = (state: ParticipantRecord['state']): boolean => this.durableParticipantStates.has(`${nodeId}/${message.txId}/${state}`);
    const promise = (): string | undefined => {
      if (message.type === 'vote' && message.vote === 'yes' && !durable('prepared')) return 'a yes vote before its prepared record';
      if (message.type === 'ack' && message.outcome === 'committed' && !durable('committed') && !this.lostWithStore(nodeId, message.txId)) return 'an ack of a commit before its committed record';
      const commitSent = message.type === 'commit' || (message.type === 'status-reply' && message.outcome === 'committed');
      if (commitSent && !this.committedSomewhere(message.txId)) return `a ${message.type} before the commit decision`;
      const withAcceptors = (this.acceptorCount.get(message.txId) ?? 1) > 1;
      if (message.type === 'commit' && withAcceptors && !this.chosenCommit.has(message.txId)) return 'a commit before a majority of the acceptors accepted COMMIT';
      return undefined;
    };
    const broken = promise() ?? this.abortedAnswerOfCommitted(message);
    if (broken) this.report(`${nodeId} sent ${broken} of ${message.txId} was durable`);
    this.checkCancelNotKilledByOwnBooking(nodeId, message);
  }

  /**
   * No node answers `aborted` for a transaction whose commit is decided: a node whose store was
   * restored or replaced must answer `unknown` for what it cannot see (§15), never presume abort.
   */
  private abortedAnswerOfCommitted(message: ProtocolMessage): string | undefined {
    if (message.type !== 'status-reply' || message.outcome !== 'aborted' || !this.committedSomewhere(message.txId)) return undefined;
    return `an "aborted" answer though the commit`;
  }

  /**
   * A cancellation blocked by its own booking's hold (the booking's commit not yet applied
   * here) must wait for that booking's decision, never die under wait-die (wait-die.ts).
   * Every HELD claim a cancellation meets is its own booking's (the slot table refuses one of
   * another booking as `invalid`), so a `conflict` that names a held slot is that death.
   */
  private checkCancelNotKilledByOwnBooking(nodeId: NodeId, message: ProtocolMessage): void {
    if (message.type !== 'vote' || message.vote !== 'no' || message.reason?.code !== 'conflict') return;
    if (this.transactions.get(message.txId)?.kind !== 'cancel' || !message.reason.detail.includes('held by a booking in progress')) return;
    this.report(`${nodeId} refused cancellation ${message.txId} at once behind its own booking's hold instead of waiting for the booking's decision: ${message.reason.detail}`);
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
    for (const node of this.nodes.values()) if (!node.lost) this.checkNodeFinished(node);
    for (const node of this.nodes.values()) {
      const required = node.disk.reconcileRequired;
      if (!node.lost && required) this.report(`${node.id} has not reconciled its store (${required.reason}) after the quiescent period: ${JSON.stringify(node.reconciler?.progress.conflicts() ?? 'not started')}`);
    }
    for (const info of this.transactions.values()) this.checkTransaction(info);
    for (const info of this.transactions.values()) this.checkStillBooked(info);
  }

  /**
   * Every booking told 201 and not cancelled holds its slots, BOOKED under its own booking id,
   * in the store of every part that is not lost — also at a node that forgot it (restore, new
   * disk): no slot given twice, nothing confirmed lost.
   */
  private checkStillBooked(info: TransactionInfo): void {
    if (info.kind !== 'book' || info.told !== 'committed') return;
    const cancelled = [...this.transactions.values()].some((t) => t.booking === info.txId && this.durableOutcomes.get(t.txId)?.outcome === 'committed');
    if (cancelled) return;
    for (const { node, payload } of info.parts) {
      if (this.isLost(node) || this.ownPartLost(info, node)) continue;
      const claims = this.nodes.get(node)!.disk.tables.claims;
      for (const item of (payload as PartPayload).items) {
        const claim = claims.get(`${item.telescopeId}|${Date.parse(item.start)}`);
        if (claim?.bookingId !== info.txId || claim.state !== 'BOOKED') {
          this.report(`${info.txId} was told 201 and never cancelled, but ${node}'s slot ${slotKeyOf(Date.parse(item.start))} is ${claim ? `${claim.state} by ${claim.bookingId}` : 'free'}`);
        }
      }
    }
  }

  private noteOutcome(txId: TxId, outcome: Outcome, where: string): void {
    const first = this.durableOutcomes.get(txId);
    if (!first) this.durableOutcomes.set(txId, { outcome, where });
    else if (first.outcome !== outcome) this.report(`${txId} is durably ${first.outcome} at ${first.where} but ${outcome} at ${where}`);
  }

  private checkSlotsAgreeWithCore(node: SimNode): void {
    const { participant } = node.engine!;
    const heldBy = new Map<string, number>();
    for (const claim of node.slots!.allClaims()) {
      if (claim.state === 'BOOKED') continue;
      heldBy.set(claim.txId, (heldBy.get(claim.txId) ?? 0) + 1);
      const phase = participant.view(claim.txId)?.phase;
      if (phase !== 'prepared') {
        this.report(`${node.id}: slot ${describeClaim(claim)} is ${claim.state} by ${claim.txId}, which its participant has ${phase ? `as ${phase}` : 'no record of'} (an orphaned claim: the slot is lost)`);
      }
    }
    for (const view of participant.unfinished()) {
      if (view.phase !== 'prepared') continue;
      const payload = this.transactions.get(view.txId)?.parts.find((p) => p.node === node.id)?.payload;
      if ((heldBy.get(view.txId) ?? 0) !== slotCountOf(payload)) {
        this.report(`${node.id}: ${view.txId} is prepared but holds ${heldBy.get(view.txId) ?? 0} of its ${slotCountOf(payload)} slots`);
      }
    }
  }

  private checkNodeFinished(node: SimNode): void {
    if (!node.up) return this.report(`${node.id} is still down after the quiescent period`);
    const { participant, coordinator } = node.engine!;
    const open = participant.unfinished().map((v) => `${v.txId} ${v.phase}`);
    if (open.length > 0) this.report(`${node.id}: participant still has unfinished transactions: ${open.join(', ')}`);
    // A decision cannot be acknowledged by a node lost for good: waiting only for lost nodes is no fault.
    const driving = coordinator.unfinished().filter((v) => v.phase === 'proposing' || v.waitingFor.some((n) => !this.isLost(n))).map((v) => `${v.txId} ${v.phase} waiting for ${v.waitingFor.join(',')}`);
    if (driving.length > 0) this.report(`${node.id}: coordinator still drives ${driving.join('; ')}`);
    const { participants, coordinators, claims } = node.disk.tables;
    const inDoubt = [...participants.values()].filter((r) => r.state === 'prepared').map((r) => r.txId);
    if (inDoubt.length > 0) this.report(`${node.id}: durable records still prepared: ${inDoubt.join(', ')}`);
    const waitingOnlyForLost = (txId: TxId): boolean => {
      const view = coordinator.view(txId);
      return view !== undefined && view.waitingFor.length > 0 && view.waitingFor.every((n) => this.isLost(n));
    };
    const unended = [...coordinators.values()].filter((r) => r.state !== 'ended' && !waitingOnlyForLost(r.txId)).map((r) => r.txId);
    if (unended.length > 0) this.report(`${node.id}: coordinator records not ended: ${unended.join(', ')}`);
    const [live, durable] = [snapshot(node.slots!.allClaims()), snapshot(claims.values())];
    if (live !== durable) this.report(`${node.id}: slot claims in memory differ from the stored claims:\n  memory: ${live}\n  stored: ${durable}`);
    for (const claim of node.slots!.allClaims()) {
      if (claim.state !== 'BOOKED') this.report(`${node.id}: slot ${describeClaim(claim)} still ${claim.state} by ${claim.txId} after the quiescent period`);
    }
  }

  private checkTransaction(info: TransactionInfo): void {
    if (info.told === undefined && this.nodes.get(info.coordinator)!.incarnation === info.incarnation && !this.isLost(info.coordinator)) {
      this.report(`${info.txId}: its coordinator ${info.coordinator} never crashed, yet the client never got an answer`);
    }
    // A node lost for good keeps what it had; the others must agree with each other and with what the client was told.
    const states = info.parts.filter(({ node }) => !this.isLost(node) && !this.ownPartLost(info, node) && !this.cancelledPartLost(info, node)).map(({ node }) => ({ node, state: this.latestParticipantRecord(node, info.txId)?.state }));
    const committedAt = states.filter((s) => s.state === 'committed').map((s) => s.node);
    const decision = this.latestCoordinatorRecord(info.coordinator, info.txId)?.decision;
    const describe = (): string => states.map((s) => `${s.node}:${s.state ?? 'none'}`).join(' ');
    if (committedAt.length > 0 && committedAt.length < states.length) {
      this.report(`${info.txId} is not all-or-nothing: ${describe()}`);
    }
    // A coordinator whose whole store was replaced after the transaction began lost its decision record (§16): it must not say aborted.
    const coordinatorForgot = (this.nodes.get(info.coordinator)!.storeReplacedAtUs ?? -1) >= (info.begunAtUs ?? 0) && decision === undefined;
    if (info.told === 'committed' && (committedAt.length < states.length || (decision !== 'committed' && !coordinatorForgot))) {
      this.report(`${info.txId} was acknowledged as committed but is not committed everywhere: ${describe()}, coordinator record: ${decision ?? 'none'}`);
    }
    if (info.told === 'aborted' && (committedAt.length > 0 || decision === 'committed')) {
      this.report(`${info.txId} was reported aborted to its client but committed: ${describe()}, coordinator record: ${decision ?? 'none'}`);
    }
  }

  /**
   * A booking's part lost with a replaced store, when a cancellation of that booking committed:
   * reconciliation applies neither (the slots end free either way, and a later booking may hold
   * them since, seed 850259), so no record of either is left there. The slots are checked as
   * for every booking.
   */
  private cancelledPartLost(info: TransactionInfo, nodeId: NodeId): boolean {
    const node = this.nodes.get(nodeId)!;
    if (info.kind === 'cancel') {
      const booking = info.booking ? this.transactions.get(info.booking) : undefined;
      return booking !== undefined && !node.disk.tables.participants.has(info.txId) && this.cancelledPartLost(booking, nodeId);
    }
    if (node.disk.tables.participants.has(info.txId) || (node.storeReplacedAtUs ?? -1) < (info.begunAtUs ?? 0)) return false;
    return [...this.transactions.values()].some((t) => t.kind === 'cancel' && t.booking === info.txId && this.committedSomewhere(t.txId));
  }

  /**
   * A store replaced by an older backup or an empty one: what the node coordinated itself before
   * that and its store no longer holds — its own part included — the simulated node cannot get
   * back (it does not model docs/PROTOCOL.md §16's restored-coordinator pass). That part is
   * excused; the other parts are still checked.
   */
  private ownPartLost(info: TransactionInfo, nodeId: NodeId): boolean {
    const node = this.nodes.get(nodeId)!;
    if (info.kind === 'cancel' && info.booking) {
      // The cancellation of a booking whose part here was lost has nothing to give back here.
      const booking = this.transactions.get(info.booking);
      if (booking && this.ownPartLost(booking, nodeId) && !node.disk.tables.participants.has(info.txId)) return true;
    }
    const record = node.disk.tables.participants.get(info.txId);
    return info.coordinator === nodeId && (node.storeReplacedAtUs ?? -1) >= (info.begunAtUs ?? 0) && (!record || this.ownLostOutcome(node, info.txId, record.state));
  }

  private isLost(nodeId: NodeId): boolean {
    return this.nodes.get(nodeId)!.lost;
  }

  private latestParticipantRecord(nodeId: NodeId, txId: TxId): ParticipantRecord | undefined {
    return this.nodes.get(nodeId)!.disk.tables.participants.get(txId);
  }

  private latestCoordinatorRecord(nodeId: NodeId, txId: TxId): CoordinatorRecord | undefined {
    return this.nodes.get(nodeId)!.disk.tables.coordinators.get(txId);
  }
}

function describeClaim(claim: Claim): string {
  return `${slotKeyOf(claim.startMs)} (${claim.telescopeId})`;
}

/** A canonical text of a set of claims, to compare two sets. */
function snapshot(claims: Iterable<Claim>): string {
  return [...claims]
    .map((c) => `${describeClaim(c)}=${c.bookingId}:${c.state}:${c.txId}`)
    .sort()
    .join(' ');
}
