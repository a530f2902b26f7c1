// The simulated node's reconciliation after a restore or a new disk: the server's shared step
// (federation-node/src/durability/reconciliation-step.ts) driven over the simulated network, as
// the server's Reconciler drives it over signed HTTP: each peer is asked for the committed
// transactions it coordinated that involve this node since the store's horizon; each one is
// kept, applied again through the engine, or a conflict; a peer that does not answer is asked
// again after `retryMs`; when every peer answered with no conflict, the node serves bookings.
import type { NodeId } from '../../coordinator-2pc/src/messages.js';
import type { CoordinatorRecord } from '../../coordinator-2pc/src/ports.js';
import { ReconciliationProgress, applyUntilSettled, reconcileAction, reportedTo, reportedTransactionOf, undecidedInvolving, type ReportedTransaction } from '../../federation-node/src/durability/reconciliation-step.js';
import type { Scheduler } from './sim-disk.js';
import type { SimNetwork } from './sim-network.js';
import type { SimNode } from './sim-node.js';
import type { Trace } from './trace.js';

/**
 * The side that answers (the server's reconciliation-pages.ts): the committed transactions
 * `selfId` coordinated that involve `node`, each with its part, and those it has not decided
 * durably yet.
 */
export function reconciliationAnswer(
  selfId: NodeId,
  coordinators: readonly CoordinatorRecord[],
  unfinished: ReadonlyArray<{ txId: string; phase: string; participants: readonly NodeId[] }>,
  partOf: (txId: string) => unknown,
  node: NodeId,
  sinceMs: number,
): { transactions: ReportedTransaction[]; undecided: string[] } {
  const transactions = coordinators
    .filter((record) => reportedTo(record, node, sinceMs))
    .sort((a, b) => a.createdAtMs - b.createdAtMs || a.txId.localeCompare(b.txId))
    .map((record) => reportedTransactionOf(selfId, record, partOf(record.txId)));
  const durable = new Set(coordinators.filter((r) => r.decision === 'committed').map((r) => r.txId));
  return { transactions, undecided: undecidedInvolving(unfinished, node, durable) };
}

export interface ReconcilerHost {
  readonly scheduler: Scheduler;
  readonly network: SimNetwork;
  readonly trace: Trace;
  members(): NodeId[];
}

export class SimReconciler {
  readonly progress: ReconciliationProgress;

  constructor(
    private readonly node: SimNode,
    private readonly incarnation: number,
    private readonly sinceMs: number,
    private readonly retryMs: number,
    private readonly host: ReconcilerHost,
    /** The store is reconciled: it may serve bookings again (the identity row is written). */
    private readonly onReconciled: () => void,
  ) {
    this.progress = new ReconciliationProgress(node.id, () => host.members());
  }

  private get alive(): boolean {
    return this.node.isAlive(this.incarnation);
  }

  async round(): Promise<void> {
    for (const peer of this.progress.peersToAsk()) {
      if (!this.alive) return;
      try {
        const label = `reconciliation of ${this.node.id} since ${this.sinceMs}`;
        const page = await this.host.network.query(this.node, peer, label, (target) => (target as SimNode).reconciliationPage(this.node.id, this.sinceMs));
        this.progress.received(peer, page.transactions, page.undecided);
      } catch (error) {
        this.progress.unreachable(peer, error instanceof Error ? error.message : String(error));
      }
    }
    if (!this.alive) return;
    const holdsInDoubt = (): boolean => this.node.engine!.participant.unfinished().some((view) => view.phase === 'prepared');
    await applyUntilSettled(this.progress, (peer, transaction) => this.applyOne(peer, transaction), holdsInDoubt, () => this.alive);
    if (!this.alive) return;
    if (this.progress.complete()) {
      this.host.trace.add(this.node.id, () => `STORE RECONCILED (${this.progress.applied()} outcome(s) applied again)`);
      return this.onReconciled();
    }
    if (this.progress.waitsForOperator()) {
      this.host.trace.add(this.node.id, () => `reconciliation needs an operator: ${JSON.stringify(this.progress.conflicts())}`);
      return;
    }
    this.host.scheduler.after(this.retryMs, () => this.node.whenAwake(() => void this.round()));
  }

  private async applyOne(peer: NodeId, transaction: ReportedTransaction): Promise<boolean> {
    const local = this.node.disk.tables.participants.get(transaction.txId)?.state;
    const action = reconcileAction(local, transaction, peer, this.node.nowMs());
    this.host.trace.add(this.node.id, () => `reconcile ${transaction.txId} from ${peer}: ${action.action}${local ? ` (stored ${local})` : ' (no record)'}`);
    if (action.action === 'reapply') await this.node.engine!.reapply(action.record).catch(() => undefined);
    if (!this.alive) return false;
    return this.progress.checked(peer, transaction.txId, action, this.node.engine!.participant.view(transaction.txId)?.phase);
  }
}
