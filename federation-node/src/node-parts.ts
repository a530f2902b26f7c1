// The parts of a running node that the HTTP adapters use. Built once in node.ts and passed
// in: no framework, no globals.
import type { ProtocolEngine } from '../../coordinator-2pc/src/index.js';
import type { BookingService } from './bookings/booking-service.js';
import type { NodeConfig } from './config/config.js';
import type { SlotTable } from './domain/slot-table.js';
import type { FederationClock } from './federation/clock.js';
import type { EdgeRateLimits } from './http/rate-limits.js';
import type { Directory } from './federation/directory.js';
import type { PeerClient } from './federation/peer-client.js';
import type { PeerAdmission } from './federation/peer-admission.js';
import type { Loggers } from './logging/logger.js';
import type { BookingRepository } from './storage/booking-repository.js';
import type { NodeSecurity } from './security/node-security.js';
import type { MembershipReloader } from './security/membership-reloader.js';
import type { CredentialDeps } from './security/credential-exchange.js';
import type { PeerAuthenticator } from './security/peer-authenticator.js';
import type { Database } from './storage/database.js';
import type { DiskGuard } from './storage/disk-guard.js';
import type { TransactionLog } from './storage/transaction-log.js';
import type { Reconciler } from './durability/reconciler.js';
import type { StoreIdentity } from './durability/store-identity.js';

export interface Readiness {
  recoveryFinished: boolean;
}

export interface NodeParts {
  config: NodeConfig;
  directory: Directory;
  clock: FederationClock;
  slots: SlotTable;
  database: Database;
  transactionLog: TransactionLog;
  bookings: BookingRepository;
  bookingService: BookingService;
  engine: ProtocolEngine;
  peers: PeerClient;
  loggers: Loggers;
  readiness: Readiness;
  security: NodeSecurity;
  peerAuth: PeerAuthenticator;
  membership: MembershipReloader;
  credentials: CredentialDeps;
  /** Request-rate limits: per address and token, per signed peer; probes exempt (http/rate-limits.ts). */
  rateLimits: EdgeRateLimits;
  startedAtMs: number;
  /** What this participant lets each other member ask of it. */
  admission: PeerAdmission;
  identity: StoreIdentity;
  reconciler: Reconciler;
  /** The free-space guard of DATA_DIR (storage/disk-guard.ts). */
  disk: DiskGuard;
}
