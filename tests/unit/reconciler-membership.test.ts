// The reconciler follows the live membership document: a member that joins while a restored
// store reconciles is asked too, and the store serves no booking until it has answered.
import { expect } from 'chai';
import { Reconciler, type ReconcilerDeps } from '../../federation-node/src/durability/reconciler.js';
import type { StoreIdentity } from '../../federation-node/src/durability/store-identity.js';

function reconcilerWith(members: string[], asked: string[]): Reconciler {
  const identity: StoreIdentity = { storeId: 's', incarnation: 2, createdAtMs: 0, completeSinceMs: 1_000, completeSinceIncarnation: 2, reconciliation: { reason: 'restored from a backup', sinceMs: 500 } };
  const deps = {
    selfId: 'la-palma',
    peers: () => [...members],
    identity,
    identityStore: { reconciled: async (id: StoreIdentity) => { id.reconciliation = null; } },
    transactionLog: { newestRecordMs: async () => 0 },
    engine: {},
    peerClient: {
      signedGet: async (peer: string) => {
        asked.push(peer);
        return { status: 200, data: { observatory: peer, node: 'la-palma', sinceMs: 500, transactions: [], next: null } };
      },
    },
    audit: { event: () => undefined },
    warn: () => undefined,
    nowMs: () => 2_000,
    retryMs: 10,
    marginMs: 0,
  } as unknown as ReconcilerDeps;
  return new Reconciler(deps);
}

describe('reconciliation follows the live membership', () => {
  it('asks a member that joined after the node started, and keeps refusing bookings until it answered', async () => {
    const members = ['atacama', 'mauna-kea'];
    const asked: string[] = [];
    const reconciler = reconcilerWith(members, asked);
    expect(Object.keys(reconciler.status().peers)).to.deep.equal(['atacama', 'mauna-kea']);
    members.push('paranal'); // the membership document was reloaded with a new member
    expect(reconciler.refusalReason()).to.contain('paranal');
    await reconciler.start();
    for (let i = 0; i < 50 && reconciler.refusalReason() !== null; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    reconciler.stop();
    expect(asked).to.include.members(['atacama', 'mauna-kea', 'paranal']);
    expect(reconciler.refusalReason()).to.equal(null);
  });

  it('stops waiting for a member that left the federation', () => {
    const members = ['atacama', 'mauna-kea'];
    const reconciler = reconcilerWith(members, []);
    members.splice(1, 1);
    expect(Object.keys(reconciler.status().peers)).to.deep.equal(['atacama']);
    expect(reconciler.refusalReason()).to.not.contain('mauna-kea');
  });
});
