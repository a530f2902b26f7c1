// Simulated scientists: they begin book (and sometimes cancel) transactions at random
// nodes, over 1-3 random nodes with random, overlapping slots, and remember what they were
// told. The registry of every transaction begun is what the checker judges against.
import { chooseAcceptors } from '../../coordinator-2pc/src/leader.js';
import type { NodeId, Outcome, TxId, TxKind } from '../../coordinator-2pc/src/messages.js';
import type { BeginTransaction } from '../../coordinator-2pc/src/coordinator.js';
import type { TransactionResult } from '../../coordinator-2pc/src/engine.js';
import type { PartPayload } from '../../federation-node/src/domain/slot-table.js';
import type { Prng } from './prng.js';
import type { SimulationProfile } from './profile.js';
import { partPayloadOf, slotKeyOf } from './sim-domain.js';
import type { SimNode } from './sim-node.js';
import type { Scheduler } from './sim-disk.js';
import type { Trace } from './trace.js';

export interface TransactionInfo {
  txId: TxId;
  kind: TxKind;
  coordinator: NodeId;
  parts: BeginTransaction['parts'];
  /** What the client was told; undefined while it waits (forever, if its coordinator died). */
  told?: Outcome;
  /** For a cancel: the booking it gives back. */
  booking?: TxId;
  /** A cancel sent by the booking's client right after it was told committed (the DELETE after the 201). */
  rightAfter?: boolean;
  /** The coordinator's incarnation when the transaction began: while it lives, an answer is owed. */
  incarnation?: number;
  /** Simulated time when it began (what a transaction id's time tells a real node). */
  begunAtUs?: number;
}

const PARTICIPANTS_MAX = 3;
const SLOTS_PER_PART_MAX = 2;
/** Now and then a client asks for a slot that does not exist (the participant votes no/invalid). */
const INVALID_SLOT_PROBABILITY = 0.01;

export class Clients {
  readonly transactions = new Map<TxId, TransactionInfo>();
  private counter = 0;
  /** Bookings told committed and not yet (being) cancelled. */
  private readonly cancellable: TxId[] = [];

  constructor(
    private readonly nodes: Map<NodeId, SimNode>,
    private readonly profile: SimulationProfile,
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    private readonly trace: Trace,
    /** Told of every answer a client gets, as it gets it. */
    private readonly onTold: (info: TransactionInfo) => void,
  ) {}

  private rightAfterPrng: Prng | undefined;
  private cancelRightAfterProbability = 0;

  /**
   * Let clients cancel a booking right after its 201, drawn from `prng` — a generator of its
   * own, so that seeds which never do it replay as they did before it existed.
   */
  cancelRightAfterWith(prng: Prng): void {
    this.rightAfterPrng = prng;
    this.cancelRightAfterProbability = prng.pick([0, 0, 0.3, 0.8]);
  }

  /** Spread the run's transactions over the fault phase. */
  scheduleAll(): void {
    for (let i = 0; i < this.profile.transactionCount; i++) {
      this.scheduler.after(this.prng.between(0, this.profile.faultPhaseMs), () => this.beginOne());
    }
  }

  private beginOne(): void {
    const coordinator = this.prng.pick([...this.nodes.values()]);
    const cancel = this.cancellable.length > 0 && this.prng.chance(this.profile.cancelProbability);
    this.begin(coordinator, cancel ? this.cancelOf(coordinator.id) : this.bookingAt(coordinator.id));
  }

  private begin(coordinator: SimNode, info: TransactionInfo): void {
    const refusal = coordinator.refusal ?? coordinator.bookingRefusal ?? (coordinator.beginsNothing ? 'it coordinates nothing between its backup and its restore (the simulated node cannot get that back)' : undefined);
    if (!coordinator.up || refusal) {
      this.trace.add(coordinator.id, () => `client: ${info.kind} refused, ${refusal ? `503: ${refusal}` : 'node is down'}`);
      if (info.booking) this.cancellable.push(info.booking);
      return;
    }
    this.transactions.set(info.txId, info);
    info.begunAtUs = this.scheduler.nowUs();
    const nowMs = coordinator.nowMs();
    const transaction: BeginTransaction = {
      txId: info.txId,
      kind: info.kind,
      timestampMs: nowMs,
      deadlineMs: nowMs + this.profile.prepareTimeoutMs,
      parts: info.parts,
      acceptors: chooseAcceptors(coordinator.id, info.parts.map((p) => p.node), [...this.nodes.keys()], this.profile.acceptorsPerTransaction),
    };
    this.trace.add(coordinator.id, () => `client begins ${info.kind} ${info.txId}: ${describeParts(info)}`);
    const incarnation = coordinator.incarnation;
    info.incarnation = incarnation;
    coordinator.whenAwake(() => {
      if (!coordinator.isAlive(incarnation)) return;
      coordinator.recordBookingBegun({ txId: info.txId, kind: info.kind, participants: info.parts.map((p) => p.node), timestampMs: nowMs });
      coordinator.engine!.begin(transaction).then((result) => this.told(info, coordinator, incarnation, result));
    });
  }

  private told(info: TransactionInfo, coordinator: SimNode, incarnation: number, result: TransactionResult): void {
    if (!coordinator.isAlive(incarnation)) return;
    if (result.outcome === 'aborted') coordinator.recordBookingSettled(info.txId);
    info.told = result.outcome;
    this.onTold(info);
    const reasons = result.reasons.map((r) => `${r.code}@${r.node ?? '?'}`).join(' ');
    this.trace.add(coordinator.id, () => `client told ${info.txId} ${result.outcome}${reasons ? ` (${reasons})` : ''}`);
    if (info.kind === 'book' && result.outcome === 'committed') this.bookingTold(info, coordinator);
    if (info.booking && result.outcome === 'aborted') this.cancellable.push(info.booking);
  }

  /** A booking was told committed: now and then its client cancels it at once, at its coordinator. */
  private bookingTold(booking: TransactionInfo, coordinator: SimNode): void {
    if (!this.rightAfterPrng?.chance(this.cancelRightAfterProbability)) {
      this.cancellable.push(booking.txId);
      return;
    }
    const parts = booking.parts.map((part) => ({ node: part.node, payload: part.payload }));
    this.begin(coordinator, { txId: this.nextTxId(coordinator.id), kind: 'cancel', coordinator: coordinator.id, parts, booking: booking.txId, rightAfter: true });
  }

  private bookingAt(coordinator: NodeId): TransactionInfo {
    const count = this.prng.int(1, Math.min(PARTICIPANTS_MAX, this.nodes.size));
    const chosen = this.prng.sample([...this.nodes.values()], count);
    const parts = chosen.map((node) => {
      const slots = this.prng.sample([...node.slotKeys], this.prng.int(1, SLOTS_PER_PART_MAX)).sort();
      if (this.prng.chance(INVALID_SLOT_PROBABILITY)) slots.push('no-such-slot');
      return { node: node.id, slots };
    });
    const txId = this.nextTxId(coordinator);
    return { txId, kind: 'book', coordinator, parts: parts.map(({ node, slots }) => ({ node, payload: partPayloadOf(node, slots, txId) })) };
  }

  private cancelOf(coordinator: NodeId): TransactionInfo {
    const index = this.prng.int(0, this.cancellable.length - 1);
    const booking = this.cancellable.splice(index, 1)[0]!;
    const booked = this.transactions.get(booking)!;
    // The same items, naming the booking they give back (as the booking service builds a cancellation).
    const parts = booked.parts.map((part) => ({ node: part.node, payload: part.payload }));
    return { txId: this.nextTxId(coordinator), kind: 'cancel', coordinator, parts, booking };
  }

  private nextTxId(coordinator: NodeId): TxId {
    this.counter++;
    return `${coordinator}.tx${String(this.counter).padStart(6, '0')}`;
  }
}

export function describeParts(info: TransactionInfo): string {
  const keysOf = (payload: unknown): string => (payload as PartPayload).items.map((i) => (i.telescopeId.endsWith('-scope') ? slotKeyOf(Date.parse(i.start)) : 'no-such-slot')).join(',');
  const parts = info.parts.map((p) => `${p.node}[${keysOf(p.payload)}]`).join(' ');
  return info.booking ? `${parts} of ${info.booking}` : parts;
}
