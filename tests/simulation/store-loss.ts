// The whole-store fault of the simulation (issue 11): one node's WHOLE store is backed up (an
// online backup of the SQLite file), then the node crashes and comes back with that older store
// (restore) or an empty one (new disk), marked as the runbook's `npm run store -- restore|new-disk`
// marks it: unknown for everything begun before, and no booking served until it has reconciled
// with every peer (docs/PROTOCOL.md §15–16).
import type { NodeId } from '../../coordinator-2pc/src/messages.js';
import type { Prng } from './prng.js';
import type { SimulationProfile } from './profile.js';
import type { DiskWrite, SimDisk } from './sim-disk.js';
import type { BugHook, SimNode } from './sim-node.js';
import type { Trace } from './trace.js';

export interface StoreLossHost {
  readonly profile: SimulationProfile;
  readonly bug: BugHook;
  readonly trace: Trace;
  nodes(): ReadonlyMap<NodeId, SimNode>;
  nowUs(): number;
  after(delayMs: number, action: () => void): void;
  failStop(node: SimNode): void;
  counted(restored: boolean): void;
}

export class StoreLoss {
  /** A targeted loss waiting for its moment. */
  private armed: (() => void) | undefined;
  private armedAt: SimNode | undefined;

  constructor(private readonly host: StoreLossHost, private readonly prng: Prng) {}

  schedule(): void {
    const { profile, bug, trace } = this.host;
    const node = this.prng.pick([...this.host.nodes().values()]);
    let backup: ReturnType<SimDisk['snapshot']> | undefined;
    // The simulated node has no credentials and no booking items in its prepares, so it cannot
    // get back what it coordinated itself (PROTOCOL.md §16, "A restored coordinator"): the node
    // under test coordinates nothing its replaced store would lose, unless `coordinates-after-backup`.
    const coordinatesNothing = bug !== 'coordinates-after-backup';
    if (profile.storeLoss === 'empty') node.beginsNothing = coordinatesNothing;
    const takeBackup = (): void => {
      // Nothing of its own in flight either (seed 510844: its cancellation begun just before the backup was lost).
      const ownInFlight = coordinatesNothing && (!node.up || node.engine!.coordinator.unfinished().length > 0 || node.disk.tables.pendingBookings.size > 0);
      if (ownInFlight) return this.host.after(10, takeBackup);
      backup = node.disk.snapshot();
      trace.add(node.id, () => `backup of the whole store (${backup!.participants.size} participant, ${backup!.coordinators.size} coordinator, ${backup!.acceptors.size} acceptor records, ${backup!.claims.size} claims)`);
    };
    this.host.after(profile.storeSnapshotAtMs, () => {
      node.beginsNothing = coordinatesNothing;
      takeBackup();
    });
    const lose = (): void => {
      if (profile.storeLoss === 'restore' && !backup) {
        this.armed = undefined;
        node.beginsNothing = false;
        return trace.add(node.id, () => 'no restore: the backup was never taken (its own transactions were still in flight)');
      }
      this.lose(node, profile.storeLoss === 'restore' ? backup : undefined);
    };
    // Half the time the loss waits for this node's next durable acceptance of a COMMIT that other
    // participants still wait for, and its coordinator crashes with it (restarting later): recovery
    // leaders then ballot while the restored acceptor has forgotten that acceptance — where an
    // acceptor that ignores its store's horizon could let a second value be chosen.
    const targeted = this.prng.chance(0.5);
    this.host.after(profile.storeLossAtMs, () => {
      if (!targeted) return lose();
      this.armed = lose;
      this.armedAt = node;
      trace.add(node.id, () => 'store loss armed: at its next acceptance of a COMMIT others wait for');
    });
  }

  /** A durable write at `node`: lose the armed store now if it is the acceptance awaited. */
  onDurable(node: SimNode, write: DiskWrite): void {
    if (!this.armed || this.armedAt !== node || write.type !== 'log' || write.entry.role !== 'acceptor') return;
    const record = write.entry.record;
    const coordinator = this.host.nodes().get(record.txId.split('.')[0]!);
    const othersWait = record.participants.some((p) => p !== node.id && p !== coordinator?.id);
    if (record.accepted?.value !== 'commit' || !othersWait || !coordinator || coordinator === node) return;
    this.host.trace.add(coordinator.id, () => `crashes with ${node.id}, which just accepted COMMIT of ${record.txId}`);
    if (coordinator.up) this.host.failStop(coordinator);
    this.armed();
  }

  /** Faults stop: a targeted loss whose moment never came happens now. */
  loseIfArmed(): void {
    this.armed?.();
  }

  private lose(node: SimNode, restored: ReturnType<SimDisk['snapshot']> | undefined): void {
    this.armed = undefined;
    if (node.up) this.host.failStop(node);
    node.beginsNothing = false;
    const reason = restored ? 'restored from a backup (simulated npm run store -- restore)' : 'a new, empty disk (simulated npm run store -- new-disk)';
    node.disk.replaceAll(restored, reason, this.reconciliationMarginMs());
    node.storeHorizonUs = this.host.nowUs();
    node.storeReplacedAtUs = this.host.nowUs();
    this.host.counted(restored !== undefined);
    this.host.trace.add(node.id, () => `WHOLE STORE ${restored ? 'RESTORED from the backup' : 'LOST (new disk)'}: unknown for transactions begun before; reconciles before serving bookings`);
  }

  /**
   * RECONCILIATION_MARGIN_MS: a peer's record carries its transaction's begin time, and a prepare
   * may reach this node up to the admitted deadline span after that begin, so the margin covers
   * that span and the clock error between two nodes (seed 567: a booking begun just before the
   * backup's newest record, prepared here after it).
   */
  private reconciliationMarginMs(): number {
    const { profile } = this.host;
    const jumpMs = Number.isFinite(profile.clockJumpEveryMs) ? profile.clockJumpMaxMs : 0;
    return 2 * (profile.clockSkewMaxMs + jumpMs) + profile.prepareTimeoutMs + profile.network.deadlineAheadMaxMs + 1;
  }
}
