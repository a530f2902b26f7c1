// One observatory's node, assembled: storage, the booking domain, the protocol engine with
// its ports, the HTTP API, the clock. Start-up ends with recovery, so that the node answers
// only once every unfinished transaction is back in the engine's hands.
import { writeSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AcceptorCore, CoordinatorCore, ParticipantCore, ProtocolEngine, recordsComplete } from '../../coordinator-2pc/src/index.js';
import { enginePorts, instrumented } from './engine-ports.js';
import { credentialProof } from './durability/own-transactions.js';
import { Reconciler } from './durability/reconciler.js';
import { StoreIdentityStore } from './durability/store-identity.js';
import { readScientists } from '../../seeds/catalog.js';
import { loadSeeds } from '../../seeds/loader.js';
import { BookingService } from './bookings/booking-service.js';
import type { Config, NodeConfig } from './config/config.js';
import { SlotTable } from './domain/slot-table.js';
import { FederationClock } from './federation/clock.js';
import { Directory } from './federation/directory.js';
import { MemberUrlProber } from './federation/member-url-prober.js';
import { PeerClient } from './federation/peer-client.js';
import { createAdmission } from './federation/peer-admission.js';
import { createApp } from './http/app.js';
import { docsRoutes } from './http/docs-routes.js';
import { federationRoutes } from './http/federation-routes.js';
import { forwardingRoutes } from './http/forwarding-routes.js';
import { clientAddress } from './http/client-address.js';
import { EdgeRateLimits } from './http/rate-limits.js';
import { operationsRoutes } from './http/operations-routes.js';
import { publicRoutes } from './http/public-routes.js';
import { FaultInjector } from './faults.js';
import { catalogOf, readMembership } from './security/membership.js';
import { MembershipReloader } from './security/membership-reloader.js';
import { credentialSource, type CredentialDeps } from './security/credential-exchange.js';
import { restrictToOwner } from './security/file-permissions.js';
import { loadSecurity, type NodeSecurity } from './security/node-security.js';
import { PeerAuthenticator } from './security/peer-authenticator.js';
import { ed25519CommitProofs } from './federation/commit-proofs.js';
import { signPeerAnswers } from './http/peer-signatures.js';
import { admitRequests } from './http/admission.js';
import { createLoggers } from './logging/logger.js';
import { NodeMetrics } from './metrics/metrics.js';
import { metricsObserver, metricsRoutes } from './http/metrics-routes.js';
import type { NodeParts } from './node-parts.js';
import { BookingRepository } from './storage/booking-repository.js';
import { openDatabase, type LeaseFence } from './storage/database.js';
import type { SqlSession } from './storage/sql.js';
import { StoreDamagedError, checkStore } from './storage/store-check.js';
import { StoreInvariantError } from './storage/store-invariants.js';
import { RecordPruner } from './storage/record-pruner.js';
import { DiskGuard, waitForSpace } from './storage/disk-guard.js';
import { GroupCommitWriter, WriterClosedError } from './storage/group-commit-writer.js';
import { stopGracefully, type StopState } from './graceful-stop.js';
import { TransactionLog } from './storage/transaction-log.js';
import { recover } from './start-up-recovery.js';
import { publishClaimChanges } from './web/slot-events.js';
import { availabilityReader, createEventHub, publishBookingStatus } from './web/web-parts.js';
import { publicReadCors, webRoutes } from './web/web-routes.js';

export interface RunningNode {
  url: string;
  parts: NodeParts;
  stop(): Promise<void>;
}

export interface NodeOptions {
  /** What to do when the node must stop at once (a failed write, a broken invariant). */
  onFatal?: (error: unknown) => void;
  /** One of an active/standby pair (ha/): the lease every group commit checks first. */
  leaseFence?: () => LeaseFence;
  /** One of an active/standby pair: the lease's epoch and age since renewal, for /metrics. */
  leaseStatus?: () => { epoch: number; sinceRenewalMs: number };
}

export async function startNode(environment: Config, options: NodeOptions = {}): Promise<RunningNode> {
  const startedAtMs = Date.now();
  const rotation = { fileMaxBytes: environment.LOG_FILE_MAX_MB * 1_048_576, filesMax: environment.LOG_FILES_MAX };
  const loggers = createLoggers({ service: environment.NODE_ID, level: environment.LOG_LEVEL, logDir: environment.logDir, toStdout: environment.LOG_TO_STDOUT, format: environment.LOG_FORMAT, rotation });
  const log = loggers.app;
  const membership = readMembership(environment.MEMBERSHIP_FILE);
  const catalog = catalogOf(membership);
  const directory = new Directory(environment.NODE_ID, membership, environment.peerUrls);
  const config = resolveConfig(environment, directory, membership.timeReference);
  const security = loadSecurity(config, membership);
  const membershipReloader = new MembershipReloader({ membershipFile: config.MEMBERSHIP_FILE, signingKeyFile: config.SIGNING_KEY_FILE }, membership, directory, security, loggers);
  restrictToOwner(config.dataDir); // what an older version or another umask left readable by others
  const diskFreeMinBytes = config.DISK_FREE_MIN_MB * 1_048_576;
  // Also on stderr: with the disk full, the log files may not take the line.
  await waitForSpace(config.logDir, diskFreeMinBytes, config.DISK_CHECK_INTERVAL_MS, (line) => {
    log.warn(line);
    process.stderr.write(`WARN:${new Date().toISOString()}:${config.NODE_ID}:${line}\n`);
  });
  const database = await openDatabase(config.dataDir, { databaseUrl: config.DATABASE_URL, readPoolMax: config.DATABASE_READ_POOL_MAX });
  try {
    const check = await checkStore(database, directory.ownTelescopes());
    log.info(`schema of ${database.file}: ${database.migrated.length ? `applied ${database.migrated.join(', ')}` : 'up to date'}`);
    log.info(`store check of ${database.file}: ${check.checked} and domain invariants hold (${check.ms} ms)`);
  } catch (error) {
    await database.close();
    throw error;
  }
  const disk = new DiskGuard(config.dataDir, diskFreeMinBytes, config.DISK_CHECK_INTERVAL_MS, (low, freeBytes) => {
    const details = { freeBytes, minFreeBytes: diskFreeMinBytes, dataDir: config.dataDir };
    if (low) log.warn(`disk nearly full: ${disk.status().detail}`);
    else log.info(`disk space returned: ${disk.status().detail}; writes admitted again`);
    loggers.audit.event(low ? 'DISK_LOW' : 'DISK_RECOVERED', details);
  });
  await disk.start();
  // The gauges read the parts below only when Prometheus scrapes, after start-up.
  const metrics: NodeMetrics = new NodeMetrics(config.NODE_ID, {
    participantOpen: () => engine.participant.unfinished(),
    coordinatorOpen: () => engine.coordinator.unfinished().length,
    clock: () => clock!.status(),
    nowMs: () => clock!.nowMs(),
    ...(options.leaseStatus ? { lease: options.leaseStatus } : {}),
  });
  const writer = new GroupCommitWriter(database.committer(options.leaseFence), config.WRITE_BATCH_MAX, (statements, seconds, ok) => metrics.groupCommit(statements, seconds, ok));
  const scientists = config.SEED_SCIENTISTS ? readScientists() : [];
  await writer.write((batch) => batch.statement((runner) => loadSeeds(runner, catalog, scientists)));
  await writer.write((batch) => batch.statement((runner) => storeTokenHashes(runner, security)));
  const scientistRows: Array<{ id: string; institution: string }> = await database.reader.query('SELECT id, institution FROM scientists');
  const scientistIds = new Set<string>(scientistRows.map((r) => r.id));
  const homes = new Map(scientistRows.map((r) => [r.id, r.institution]));

  const limits = {
    itemsPerBookingMax: config.ITEMS_PER_BOOKING_MAX,
    itemDurationMaxMinutes: config.ITEM_DURATION_MAX_MINUTES,
    bookingSpanMaxHours: config.BOOKING_SPAN_MAX_HOURS,
    bookingHorizonDays: config.BOOKING_HORIZON_DAYS,
  };
  const slots = new SlotTable(directory.ownTelescopes(), limits);
  const transactionLog = new TransactionLog(writer, database.reader);
  const identityStore = new StoreIdentityStore(writer, database.reader, config.dataDir);
  const identity = await identityStore.beginIncarnation(Date.now(), async () => Math.max(0, (await transactionLog.newestRecordMs()) - config.RECONCILIATION_MARGIN_MS)); // margin: peers' clocks (seed 1028)
  const bookings = new BookingRepository(writer, database.reader);

  const timeReference = config.timeReference;
  let clock: FederationClock | undefined;
  const nowMs = () => clock!.nowMs();
  const peerAuth = new PeerAuthenticator(config.NODE_ID, security, nowMs);
  const peers = new PeerClient({
    selfId: config.NODE_ID,
    auth: peerAuth,
    peers: directory.urls,
    requestTimeoutMs: config.PEER_REQUEST_TIMEOUT_MS,
    attemptsMax: config.PEER_REQUEST_ATTEMPTS_MAX,
    nowMs,
    batching: config.PEER_BATCHING,
    batchMessagesMax: config.PEER_BATCH_MESSAGES_MAX,
    batchesInFlightMax: config.PEER_BATCHES_IN_FLIGHT_MAX,
    batchStallMs: config.PEER_BATCH_STALL_MS,
    batchBytesMax: config.BODY_BYTES_MAX,
    credentialBatchAsksMax: config.CREDENTIAL_BATCH_ASKS_MAX,
  });
  const clockLimits = { jumpMaxMs: config.CLOCK_JUMP_MAX_MS, jumpHoldMs: config.CLOCK_JUMP_HOLD_MS, offsetStepMaxMs: config.CLOCK_OFFSET_STEP_MAX_MS };
  clock = new FederationClock(timeReference, timeReference === config.NODE_ID, () => peers.referenceTime(timeReference), config.CLOCK_SYNC_SAMPLES, clockLimits, (event, details) => {
    log.warn(`${event} ${JSON.stringify(details)}`);
    loggers.audit.event(event, details);
  });

  const events = createEventHub(config);
  let answerInFlight: ((detail: string) => void) | undefined;
  const stopState: StopState = { stopping: false, engineStopped: false };
  const failStop = options.onFatal ?? ((error: unknown) => {
    answerInFlight?.(`${config.NODE_ID} stopped at once (${error instanceof Error ? error.message : String(error)}); the outcome of this request is unknown: ask again (GET /bookings/{id}) once the node is back`);
    exitAtOnce(error);
  });
  const fatal = (error: unknown): void => {
    if (!(stopState.engineStopped && error instanceof WriterClosedError)) return failStop(error);
    log.warn(`a protocol write asked for during the graceful stop was refused (${error.message}); the next start's recovery finishes its transaction`);
  };
  const faults = FaultInjector.parse(config.FAULT_POINTS);
  if (faults.enabled) log.warn(`fault injection enabled (test setting): ${config.FAULT_POINTS}`);
  const commitProofs = ed25519CommitProofs(() => security.keyRing);
  const engine: ProtocolEngine = new ProtocolEngine(
    config.NODE_ID,
    new ParticipantCore(
      {
        selfId: config.NODE_ID,
        waitMaxMs: config.WAIT_DIE_MAX_WAIT_MS,
        inDoubtQueryAfterMs: config.IN_DOUBT_QUERY_AFTER_MS,
        queryBackoffMaxMs: config.IN_DOUBT_QUERY_MAX_INTERVAL_MS,
        finishedRetentionMs: config.FINISHED_RETENTION_MS,
        recoveryBallotAfterMs: config.RECOVERY_BALLOT_AFTER_MS,
        proofs: commitProofs,
      },
      slots,
    ),
    new CoordinatorCore({
      selfId: config.NODE_ID,
      resendInitialMs: config.DECISION_RESEND_INITIAL_MS,
      resendMaxMs: config.DECISION_RESEND_MAX_MS,
      abortedRetentionMs: config.FINISHED_RETENTION_MS,
      proofs: commitProofs,
    }),
    instrumented(enginePorts({ transactionLog, peers, nowMs, loggers, fatal, faults, wake: () => { if (!stopState.engineStopped) engine.wake(); }, debugLogged: config.LOG_LEVEL === 'debug', identity, selfId: config.NODE_ID, clockMarginMs: config.STORE_CLOCK_MARGIN_MS, acceptorMarginMs: config.ACCEPTOR_CLOCK_MARGIN_MS, onDurableClaims: (changes) => publishClaimChanges(events, directory.telescopes, changes) }), metrics),
    new AcceptorCore({ selfId: config.NODE_ID, retentionMs: config.FINISHED_RETENTION_MS, proofs: commitProofs, mayHaveLost: (txId) => !recordsComplete(txId, config.NODE_ID, { completeSinceMs: identity.completeSinceMs, completeSinceIncarnation: identity.completeSinceIncarnation, marginMs: config.ACCEPTOR_CLOCK_MARGIN_MS }) }),
  );
  const reconciler = new Reconciler({
    selfId: config.NODE_ID,
    peers: () => [...directory.members.keys()].filter((id) => id !== config.NODE_ID),
    identity,
    identityStore,
    transactionLog,
    engine,
    peerClient: peers,
    audit: loggers.audit,
    warn: (line) => log.warn(line),
    nowMs,
    retryMs: config.RECONCILIATION_RETRY_MS,
    marginMs: config.RECONCILIATION_MARGIN_MS,
    own: { bookings, unproven: credentialProof(security.keyRing, (id) => homes.get(id), { ttlMaxS: config.CREDENTIAL_TTL_S, skewS: security.maxSkewS }) },
  });

  const credentials: CredentialDeps = { selfId: config.NODE_ID, security, homes, peers, nowMs, ttlS: config.CREDENTIAL_TTL_S, deadlineMs: config.PREPARE_TIMEOUT_MS, loggers };
  const bookingService = new BookingService({
    credentialFor: credentialSource(credentials),
    directory,
    engine,
    bookings,
    scientists: scientistIds,
    nowMs,
    limits,
    prepareTimeoutMs: config.PREPARE_TIMEOUT_MS,
    acceptorsPerTransaction: config.ACCEPTORS_PER_TRANSACTION,
    log,
    audit: loggers.audit,
    incarnation: identity.incarnation,
    refusalReason: () => reconciler.refusalReason(),
    alternatives: { perItemMax: config.BOOKING_ALTERNATIVES_PER_ITEM_MAX, attemptsMax: config.BOOKING_ALTERNATIVE_ATTEMPTS_MAX, suggestionsMax: config.BOOKING_SUGGESTIONS_MAX, suggestionLookupsMax: config.BOOKING_SUGGESTION_LOOKUPS_MAX, readAvailability: availabilityReader(directory, slots, peers, nowMs) },
    onStatusChange: (booking) => publishBookingStatus(events, booking),
  });
  const readiness = { recoveryFinished: false };
  const rateLimits = new EdgeRateLimits(config, loggers.audit);
  const admission = createAdmission(config, directory, engine, slots, nowMs, loggers, metrics);
  const parts: NodeParts = { config, directory, clock, slots, database, transactionLog, bookings, bookingService, engine, peers, loggers, readiness, security, peerAuth, membership: membershipReloader, credentials, startedAtMs, admission, identity, reconciler, disk, rateLimits };

  await clock.start(config.CLOCK_SYNC_INTERVAL_MS);
  membershipReloader.start(config.MEMBERSHIP_POLL_INTERVAL_MS);
  await recover(parts).catch((error: unknown) => {
    // Claims and records that disagree (store-invariants.ts) are damage like the start check's: exit 65, one line.
    throw error instanceof StoreInvariantError ? new StoreDamagedError(database.file, [error.message]) : error;
  });
  log.info(`store ${identity.storeId}, incarnation ${identity.incarnation}, complete since ${new Date(identity.completeSinceMs).toISOString()}${identity.reconciliation ? `; reconciling (${identity.reconciliation.reason})` : ''}`);
  await reconciler.start();
  const pruner = new RecordPruner({ writer, reader: database.reader, nowMs, retentionMs: config.TRANSACTION_RECORD_RETENTION_MINUTES * 60_000, intervalMs: config.PRUNE_INTERVAL_MS, rowsMax: config.PRUNE_ROWS_MAX, log, audit: loggers.audit, paused: () => disk.isLow() });
  pruner.start();
  const urlProber = new MemberUrlProber(directory, config.MEMBER_URL_PROBE_INTERVAL_MS, (member, from, to) => log.info(`${member} is now reached at ${to} (was ${from}): the active process of its pair`));
  urlProber.start();
  const routers = [webRoutes(parts, events), publicRoutes(parts), federationRoutes(parts), forwardingRoutes(parts), operationsRoutes(parts, (node) => peerProblem(peers, node)), docsRoutes(parts), metricsRoutes(metrics, security.tokens, config.NODE_ID)];
  const app = createApp(routers, log, loggers.audit, [clientAddress(config.TRUSTED_PROXIES), signPeerAnswers(peerAuth), publicReadCors], [metricsObserver(metrics)]);
  const admitting = admitRequests(app.callback(), {
    nowMs,
    graceMs: config.STALE_REQUEST_GRACE_MS,
    writeRefusal: () => (stopState.stopping ? `${config.NODE_ID} is stopping; try again once it is back` : writeRefusal(parts)),
    onDropped: (count, lateMs) => log.warn(`dropped ${count} protocol request(s) read after their sender's deadline (the latest ${lateMs} ms late): this node was paused or overloaded`),
  });
  answerInFlight = admitting.answerInFlight;
  const server = http.createServer(admitting);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = config.HTTP_HEADERS_TIMEOUT_MS; // a slow client cannot hold a connection forever
  server.requestTimeout = config.HTTP_REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.PORT, config.HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info(`observatory ${config.NODE_ID} (${directory.self.name}) listening on http://${config.HOST}:${port}, public URL ${config.publicUrl}, time reference ${timeReference}`);
  loggers.audit.event('NODE_STARTED', { url: config.publicUrl, telescopes: [...directory.ownTelescopes().keys()], timeReference });

  return {
    url: `http://${config.HOST}:${port}`,
    parts,
    async stop() {
      events.close();
      await stopGracefully({
        state: stopState,
        graceMs: config.SHUTDOWN_GRACE_MS,
        timers: [clock!, reconciler, membershipReloader, disk, urlProber],
        pruner,
        server,
        admitting,
        writer,
        closeDatabase: () => database.close(),
        unfinishedDetail: `${config.NODE_ID} stopped before this request finished; its outcome is unknown: ask again (GET /bookings/{id}) once the node is back`,
      });
      log.info(`observatory ${config.NODE_ID} stopped`);
      await loggers.close();
    },
  };
}


/** Fill in from the membership document what the environment left open: the public URL, the time reference. */
function resolveConfig(environment: Config, directory: Directory, documentReference: string | undefined): NodeConfig {
  const timeReference = environment.TIME_REFERENCE ?? documentReference ?? directory.firstMember();
  if (!directory.members.has(timeReference)) throw new Error(`TIME_REFERENCE ${timeReference} is not a member of the federation`);
  return { ...environment, publicUrl: environment.publicUrl ?? directory.self.url, timeReference };
}


/** The scientists' API token hashes, kept with their records (the node authenticates from memory). */
async function storeTokenHashes(session: SqlSession, security: NodeSecurity): Promise<void> {
  for (const [scientistId, hash] of security.tokens.scientistHashes()) {
    await session.query('UPDATE scientists SET token_hash = ? WHERE id = ?', [hash, scientistId]);
  }
}

async function peerProblem(peers: PeerClient, node: string): Promise<string | null> {
  try {
    const answer = await peers.forward(node, 'GET', '/health');
    return answer.status === 200 ? null : `answered ${answer.status}`;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Why this node refuses new writes now (its own clock jumped, its disk is nearly full), or null. */
function writeRefusal(parts: NodeParts): string | null {
  const clock = parts.clock.trust();
  if (!clock.ok) return `${parts.directory.selfId} is not taking new work: ${clock.detail}`;
  return parts.disk.refusal(parts.directory.selfId);
}

/** Fail-stop: nothing more may leave this process once its log and its memory may disagree. */
function exitAtOnce(error: unknown): void {
  const what = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  writeSync(2, `FATAL:${new Date().toISOString()}:${what}\nstopping at once; recovery runs on the next start\n`);
  process.exit(70);
}
