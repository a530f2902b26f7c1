// The shared reconciliation step (federation-node/src/durability/reconciliation-step.ts), the
// decisions the server's Reconciler and the simulator both take from it: what a reported
// transaction does to the store, when reports are applied and in which order, what is a
// conflict, and when the node may serve bookings again.
import { expect } from 'chai';
import { ReconciliationProgress, applyUntilSettled, reconcileAction, undecidedInvolving, type ReportedTransaction } from '../../federation-node/src/durability/reconciliation-step.js';

const part = { bookingId: 'b', scientistId: 's', items: [{ telescopeId: 't', start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T01:00:00.000Z' }] };

function reported(txId: string, timestampMs: number, kind: 'book' | 'cancel' = 'book', payload: unknown = part): ReportedTransaction {
  return { txId, kind, coordinatorId: txId.split('.')[0]!, participants: ['la-palma'], timestampMs, payload };
}

describe('the shared reconciliation step', () => {
  it('keeps an outcome the store has, applies again one it lost or holds in doubt, and calls a report without slots a conflict', () => {
    expect(reconcileAction('committed', reported('a.1', 1), 'a', 10).action).to.equal('keep');
    expect(reconcileAction('aborted', reported('a.1', 1), 'a', 10).action).to.equal('keep');
    const lost = reconcileAction(undefined, reported('a.1', 1), 'a', 10);
    expect(lost).to.include({ action: 'reapply', recordLost: true });
    expect(lost.action === 'reapply' && lost.record).to.include({ state: 'committed', txId: 'a.1', createdAtMs: 10 });
    expect(reconcileAction('prepared', reported('a.1', 1), 'a', 10)).to.include({ action: 'reapply', recordLost: false });
    expect(reconcileAction(undefined, reported('a.1', 1, 'book', null), 'a', 10)).to.deep.equal({ action: 'conflict', detail: 'a no longer has the booking: the slots are unknown' });
  });

  it('applies nothing until every peer has answered, then in the order the transactions began, again while anything more applies', async () => {
    const progress = new ReconciliationProgress('la-palma', () => ['la-palma', 'atacama', 'mauna-kea']);
    progress.received('mauna-kea', [reported('mauna-kea.3', 30)]);
    expect(progress.inOrder(), 'atacama has not answered').to.deep.equal([]);
    progress.received('atacama', [reported('atacama.2', 20, 'cancel'), reported('atacama.1', 10)]);
    expect(progress.inOrder().map((r) => r.transaction.txId)).to.deep.equal(['atacama.1', 'atacama.2', 'mauna-kea.3']);
    // atacama.1 began first but needs a slot mauna-kea.3 frees (say, a later cancellation's): it applies on the second pass.
    const tries: string[] = [];
    const applied = new Set<string>();
    await applyUntilSettled(progress, async (peer, t) => {
      tries.push(t.txId);
      if (t.txId !== 'atacama.1' || applied.has('mauna-kea.3')) applied.add(t.txId);
      return progress.checked(peer, t.txId, reconcileAction(undefined, t, peer, 0), applied.has(t.txId) ? 'committed' : undefined);
    }, () => false);
    expect(tries).to.deep.equal(['atacama.1', 'atacama.2', 'mauna-kea.3', 'atacama.1']);
    expect(progress.complete()).to.equal(true);
    expect(progress.applied()).to.equal(3);
    expect(progress.refusalReason(null)).to.equal(null);
  });

  it('leaves what still cannot apply as a conflict for an operator, except a cancellation (its booking is not here: already true), and waits while a hold is in doubt', async () => {
    const progress = new ReconciliationProgress('la-palma', () => ['atacama']);
    progress.received('atacama', [reported('atacama.1', 10, 'book', { ...part, bookingId: 'atacama.1' }), reported('atacama.2', 20, 'cancel', { ...part, bookingId: 'atacama.0' })]);
    const failing = (peer: string, t: ReportedTransaction): Promise<boolean> => Promise.resolve(progress.checked(peer, t.txId, reconcileAction(undefined, t, peer, 0), undefined));
    await applyUntilSettled(progress, failing, () => true);
    expect(progress.complete(), 'a hold in doubt may still free the slot').to.equal(false);
    expect(progress.waitsForOperator()).to.equal(false);
    await applyUntilSettled(progress, failing, () => false);
    expect(progress.waitsForOperator()).to.equal(true);
    expect(progress.conflicts().map((c) => c.txId)).to.deep.equal(['atacama.1']);
    expect(progress.refusalReason({ reason: 'restored' })).to.match(/reconciling its store \(restored\).*waiting for atacama/);
  });

  it('calls no conflict a booking that cannot apply when its cancellation is reported committed too: its slots end free either way (seed 850259)', async () => {
    const progress = new ReconciliationProgress('la-palma', () => ['atacama']);
    progress.received('atacama', [reported('atacama.1', 10, 'book', { ...part, bookingId: 'atacama.1' }), reported('atacama.2', 20, 'cancel', { ...part, bookingId: 'atacama.1' })]);
    const failing = (peer: string, t: ReportedTransaction): Promise<boolean> => Promise.resolve(progress.checked(peer, t.txId, reconcileAction(undefined, t, peer, 0), undefined));
    await applyUntilSettled(progress, failing, () => false);
    expect(progress.conflicts()).to.deep.equal([]);
    expect(progress.complete()).to.equal(true);
  });

  it('asks a peer again while it names undecided transactions that involve this node', () => {
    const progress = new ReconciliationProgress('la-palma', () => ['atacama']);
    progress.received('atacama', [], ['atacama.7']);
    expect(progress.peersToAsk()).to.deep.equal(['atacama']);
    expect(progress.inOrder()).to.deep.equal([]);
    const views = [
      { txId: 'atacama.7', phase: 'collecting', participants: ['la-palma'] },
      { txId: 'atacama.8', phase: 'committing', participants: ['la-palma'] },
      { txId: 'atacama.9', phase: 'committing', participants: ['la-palma'] },
      { txId: 'atacama.10', phase: 'proposing', participants: ['paranal'] },
      { txId: 'atacama.11', phase: 'aborting', participants: ['la-palma'] },
    ];
    expect(undecidedInvolving(views, 'la-palma', new Set(['atacama.9'])), 'a commit whose record is durable is reported, not undecided').to.deep.equal(['atacama.7', 'atacama.8']);
  });
});
