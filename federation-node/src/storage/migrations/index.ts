// Every migration, in order; both engines run the same list (column-types.ts for the differences).
import { InitialSchema1795000000000 } from './1795000000000-initial-schema.js';
import { StoreIdentity1795000100000 } from './1795000100000-store-identity.js';
import { PruneHorizon1795000200000 } from './1795000200000-prune-horizon.js';
import { Acceptors1795000300000 } from './1795000300000-acceptors.js';
import { CommitProofs1795000500000 } from './1795000500000-commit-proofs.js';
import { NodeLease1795000400000 } from './1795000400000-node-lease.js';

export const MIGRATIONS = [InitialSchema1795000000000, StoreIdentity1795000100000, PruneHorizon1795000200000, Acceptors1795000300000, NodeLease1795000400000, CommitProofs1795000500000];
