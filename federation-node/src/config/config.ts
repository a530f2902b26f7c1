// The node's configuration: environment variables, validated once at start-up. A missing
// or malformed variable stops the node with one line naming it. Every variable is listed,
// with its meaning, in .env.example.
import path from 'node:path';
import proxyaddr from 'proxy-addr';
import { z } from 'zod';
import { NodeId } from '../../../coordinator-2pc/src/messages.js';

const ms = (fallback: number) => z.coerce.number().int().min(0).max(86_400_000).default(fallback);
const count = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

const PeerList = z
  .string()
  .min(1)
  .transform((text, ctx) => {
    const peers = new Map<string, string>();
    for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
      const [id, url, ...rest] = pair.split('=');
      if (!id || !url || rest.length > 0 || !NodeId.safeParse(id).success || !/^https?:\/\/[^\s]+$/.test(url)) {
        ctx.addIssue({ code: 'custom', message: `"${pair}" is not "<observatory id>=<http url>"` });
        return z.NEVER;
      }
      peers.set(id, url.replace(/\/+$/, ''));
    }
    return peers;
  });

/** proxy-addr's trust list: comma-separated addresses, CIDRs and the names loopback, linklocal, uniquelocal. */
const TrustedProxies = z.string().transform((text, ctx) => {
  const entries = text.split(',').map((e) => e.trim()).filter(Boolean);
  try {
    proxyaddr.compile(entries);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not a list of IP addresses, CIDRs or loopback/linklocal/uniquelocal: ${(error as Error).message}` });
    return z.NEVER;
  }
  return entries;
});

const Flag = z.enum(['true', 'false']).transform((v) => v === 'true');

export const ConfigSchema = z.object({
  NODE_ID: NodeId,
  DEPLOYMENT: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(1).max(65535).default(7101),
  PUBLIC_URL: z.url().optional(),
  /** The membership document: members, their URLs, public keys and telescopes (docs/SECURITY.md). */
  MEMBERSHIP_FILE: z.string().min(1),
  /** This node's Ed25519 private key, PKCS#8 PEM, readable only by the node's user. */
  SIGNING_KEY_FILE: z.string().min(1),
  /** How often the membership document and the key file are checked for changes. */
  MEMBERSHIP_POLL_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(2_000),
  /** Optional: "<id>=<url>,..." URLs that replace the document's for this node (a private network, a proxy). */
  FEDERATION_PEERS: PeerList.optional(),
  SEED_SCIENTISTS: Flag.default(true),
  DATA_DIR: z.string().min(1).optional(),
  LOG_DIR: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  LOG_TO_STDOUT: Flag.default(true),
  LOG_FORMAT: z.enum(['text', 'json']).default('text'),
  /** A log file is closed and a new one begun at this size (and every UTC day). */
  LOG_FILE_MAX_MB: count(50, 10_000),
  /** Log files kept per stream (app, audit); the oldest beyond it are deleted. */
  LOG_FILES_MAX: count(20, 10_000),
  TIME_REFERENCE: NodeId.optional(),
  CLOCK_SYNC_INTERVAL_MS: ms(30_000),
  CLOCK_SYNC_SAMPLES: count(5, 50),
  /** Wall clock against monotonic clock: a disagreement beyond this is a jump of the node's own clock. */
  CLOCK_JUMP_MAX_MS: ms(1_000),
  /** After its own clock jumped, the node refuses new work (503) at least this long and until a sync confirms its time. */
  CLOCK_JUMP_HOLD_MS: ms(5_000),
  /** The most one sync changes the offset from the time reference; a larger change is reported, not followed at once. */
  CLOCK_OFFSET_STEP_MAX_MS: ms(1_000),
  PREPARE_TIMEOUT_MS: ms(3_000),
  /** How long a cancellation waits for its own booking's commit (an older transaction waits for younger holders until its deadline). */
  WAIT_DIE_MAX_WAIT_MS: ms(250),
  IN_DOUBT_QUERY_AFTER_MS: ms(2_000),
  IN_DOUBT_QUERY_MAX_INTERVAL_MS: ms(30_000),
  DECISION_RESEND_INITIAL_MS: ms(500),
  DECISION_RESEND_MAX_MS: ms(30_000),
  FINISHED_RETENTION_MS: ms(600_000),
  /** Acceptors of a booking that involves another observatory (Paxos Commit, docs/PROTOCOL.md §20): 3 survives the loss of any one node; 1 is plain 2PC. */
  ACCEPTORS_PER_TRANSACTION: z.coerce.number().int().refine((n) => [1, 3, 5].includes(n), 'one of 1, 3 or 5').default(3),
  /** A participant in doubt this long, its coordinator silent or unsure, leads a recovery ballot of the acceptors. */
  RECOVERY_BALLOT_AFTER_MS: ms(5_000),
  /**
   * An acceptor whose store is new or restored takes no part in transactions begun before the
   * store came back, this much clock difference included (docs/PROTOCOL.md §20).
   */
  ACCEPTOR_CLOCK_MARGIN_MS: ms(0),
  /** Finished transaction records, tombstones and rejected or cancelled bookings are deleted this long after they ended. */
  TRANSACTION_RECORD_RETENTION_MINUTES: count(10_080, 5_256_000),
  /** How often finished records are pruned. */
  PRUNE_INTERVAL_MS: count(60_000, 86_400_000),
  /** The most rows of one table deleted in one pruning round (one write transaction). */
  PRUNE_ROWS_MAX: count(5_000, 1_000_000),
  PEER_REQUEST_TIMEOUT_MS: ms(2_000),
  PEER_REQUEST_ATTEMPTS_MAX: count(3, 10),
  /** Send protocol messages to a peer in batches (POST /federation/v1/messages); false: one request per message. */
  PEER_BATCHING: Flag.default(true),
  /** The most protocol messages in one batch, sent or accepted. */
  PEER_BATCH_MESSAGES_MAX: count(64, 1_000),
  /** Batches of one kind (prepares, or decisions and queries) in flight to one peer before messages wait to be coalesced. */
  PEER_BATCHES_IN_FLIGHT_MAX: count(1, 64),
  /** A batch unanswered after this long no longer holds back the next (a prepare may wait under wait-die until its deadline). */
  PEER_BATCH_STALL_MS: ms(25),
  BODY_BYTES_MAX: count(65_536, 10_485_760),
  ITEMS_PER_BOOKING_MAX: count(12, 100),
  ITEM_DURATION_MAX_MINUTES: count(480, 1440),
  BOOKING_SPAN_MAX_HOURS: count(72, 8760),
  BOOKING_HORIZON_DAYS: count(366, 3660),
  AVAILABILITY_RANGE_MAX_DAYS: count(31, 366),
  WRITE_BATCH_MAX: count(512, 10_000),
  /** postgres://user:password@host:port/database: the node's tables in PostgreSQL; unset: SQLite in DATA_DIR. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// or postgresql:// URL').optional(),
  /** PostgreSQL: connections of the node's read pool. */
  DATABASE_READ_POOL_MAX: count(8, 200),
  /** One of an active/standby pair on one PostgreSQL database (docs/OPERATIONS.md): a lease decides which process serves. */
  ACTIVE_STANDBY: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** How long the active's lease lasts without a renewal (on the database's clock): the bound on detecting its death. */
  LEASE_DURATION_MS: z.coerce.number().int().min(1_000).max(600_000).default(10_000),
  /** How often the active renews its lease. */
  LEASE_RENEW_INTERVAL_MS: z.coerce.number().int().min(100).max(300_000).default(2_000),
  /** This process's name in the lease (logs, the standby's answers); default: NODE_ID@host:pid. */
  INSTANCE_ID: z.string().min(1).max(200).optional(),
  /** How often this node checks which URL of a member listed with several (an active/standby pair) is the active one. */
  MEMBER_URL_PROBE_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(1_000),
  /** How often a standby looks at the lease. */
  LEASE_POLL_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
  /** Below this much free space in DATA_DIR the node refuses new writes (503) and serves reads; at start it waits. */
  DISK_FREE_MIN_MB: count(64, 1_000_000),
  /** How often the free space of DATA_DIR is checked. */
  DISK_CHECK_INTERVAL_MS: count(1_000, 60_000),
  /** A graceful stop lets the requests in progress finish this long before it answers the rest 503 and closes the store. */
  SHUTDOWN_GRACE_MS: ms(5_000),
  FAULT_POINTS: z.string().default(''),
  TOKEN_HASHES_FILE: z.string().min(1),
  SIGNATURE_MAX_SKEW_S: count(30, 3_600),
  /** How long a scientist's booking credential is valid; a longer one is refused. */
  CREDENTIAL_TTL_S: count(60, 3_600),
  /** The most credential requests in one batch to a scientist's home, sent or accepted. */
  CREDENTIAL_BATCH_ASKS_MAX: count(64, 1_000),
  NONCE_CACHE_MAX: count(200_000, 10_000_000),
  RATE_LIMIT_PER_TOKEN_PER_MINUTE: count(600, 10_000_000),
  RATE_LIMIT_PER_ADDRESS_PER_MINUTE: count(1_200, 10_000_000),
  /** Signed requests from one observatory (by its verified identity, whatever its address). */
  RATE_LIMIT_PER_PEER_PER_MINUTE: count(300_000, 100_000_000),
  /** Proxies whose X-Forwarded-For is believed: IPs, CIDRs or loopback/linklocal/uniquelocal; empty: none. */
  TRUSTED_PROXIES: z.string().default('').pipe(TrustedProxies),
  /** How long a read or cancellation passed on to a booking's coordinator may take before its outcome is unknown. */
  FORWARDED_REQUEST_TIMEOUT_MS: ms(10_000),
  HTTP_HEADERS_TIMEOUT_MS: ms(10_000),
  /** What a participant accepts from another member (docs/PROTOCOL.md §14). */
  PEER_CLOCK_SKEW_MAX_MS: ms(5_000),
  PEER_TIMESTAMP_AGE_MAX_MS: ms(10_000),
  PEER_DEADLINE_AHEAD_MAX_MS: ms(60_000),
  PEER_OPEN_TRANSACTIONS_MAX: count(256, 1_000_000),
  PEER_HELD_SLOTS_MAX: count(2_000, 10_000_000),
  PEER_PREPARES_PER_SECOND_MAX: count(2_000, 1_000_000),
  PEER_PREPARE_BURST_MAX: count(4_000, 1_000_000),
  IN_DOUBT_REPORT_AFTER_MS: ms(60_000),
  HTTP_REQUEST_TIMEOUT_MS: ms(30_000),
  RECONCILIATION_RETRY_MS: ms(2_000),
  RECONCILIATION_MARGIN_MS: ms(120_000),
  RECONCILIATION_PAGE_TRANSACTIONS_MAX: count(200, 1_000),
  STORE_CLOCK_MARGIN_MS: ms(60_000),
  /** How far past its sender's deadline a protocol request is still handled; later it is dropped unread (a resumed node). */
  STALE_REQUEST_GRACE_MS: ms(500),
  SSE_CONNECTIONS_MAX: count(256, 100_000),
  SSE_CLIENT_QUEUE_EVENTS_MAX: count(1_000, 1_000_000),
  SSE_REPLAY_EVENTS_MAX: count(10_000, 1_000_000),
  SSE_HEARTBEAT_MS: count(15_000, 3_600_000),
  CALENDAR_BOOKINGS_MAX: count(500, 10_000),
  BOOKING_ALTERNATIVES_PER_ITEM_MAX: count(5, 10),
  BOOKING_ALTERNATIVE_ATTEMPTS_MAX: count(4, 64),
  BOOKING_SUGGESTIONS_MAX: count(3, 20),
  BOOKING_SUGGESTION_LOOKUPS_MAX: count(2, 1_000),
});

export type RawConfig = z.infer<typeof ConfigSchema>;

export interface Config extends RawConfig {
  /** PUBLIC_URL, else this node's FEDERATION_PEERS entry; undefined: the membership document's URL (node.ts). */
  publicUrl: string | undefined;
  dataDir: string;
  logDir: string;
  /** URL overrides by member (FEDERATION_PEERS), empty when unset. */
  peerUrls: Map<string, string>;
}

/** The configuration once the membership document has filled in what the environment left open. */
export type NodeConfig = Config & { publicUrl: string; timeReference: string };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parse the environment; throws ConfigError with one line naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = ConfigSchema.safeParse(blankAsMissing(env));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    const shown = env[name] === undefined || env[name] === '' ? 'missing' : `"${env[name]}"`;
    throw new ConfigError(`configuration: ${name} is ${shown === 'missing' ? 'missing' : `invalid (${shown})`}: ${issue.message}`);
  }
  const raw = parsed.data;
  if (raw.FAULT_POINTS && raw.DEPLOYMENT === 'production') {
    throw new ConfigError('configuration: FAULT_POINTS is refused when DEPLOYMENT=production (fault injection is for tests only)');
  }
  if (raw.FINISHED_RETENTION_MS <= raw.PREPARE_TIMEOUT_MS) {
    throw new ConfigError('configuration: FINISHED_RETENTION_MS must exceed PREPARE_TIMEOUT_MS, so that a late prepare meets its tombstone');
  }
  if (raw.PREPARE_TIMEOUT_MS > raw.PEER_TIMESTAMP_AGE_MAX_MS || raw.PREPARE_TIMEOUT_MS > raw.PEER_DEADLINE_AHEAD_MAX_MS) {
    throw new ConfigError('configuration: PREPARE_TIMEOUT_MS must not exceed PEER_TIMESTAMP_AGE_MAX_MS nor PEER_DEADLINE_AHEAD_MAX_MS, or the peers (configured alike) refuse this node\'s own prepares');
  }
  if (raw.RECOVERY_BALLOT_AFTER_MS <= raw.PREPARE_TIMEOUT_MS) {
    throw new ConfigError('configuration: RECOVERY_BALLOT_AFTER_MS must exceed PREPARE_TIMEOUT_MS, so that no participant leads a ballot while its coordinator still collects votes');
  }
  const protocolTimeoutsMaxMs = Math.max(raw.FINISHED_RETENTION_MS, raw.DECISION_RESEND_MAX_MS, raw.IN_DOUBT_QUERY_MAX_INTERVAL_MS, raw.PREPARE_TIMEOUT_MS);
  if (raw.TRANSACTION_RECORD_RETENTION_MINUTES * 60_000 <= protocolTimeoutsMaxMs) {
    throw new ConfigError('configuration: TRANSACTION_RECORD_RETENTION_MINUTES must exceed FINISHED_RETENTION_MS and every protocol timeout, so that no message of a pruned transaction can still arrive');
  }
  // A tombstone knows no deadline: it must outlive every prepare a participant still admits
  // (found by the simulator, seed 53624; docs/PROTOCOL.md §9).
  if (raw.FINISHED_RETENTION_MS <= raw.PEER_DEADLINE_AHEAD_MAX_MS + raw.PEER_CLOCK_SKEW_MAX_MS) {
    throw new ConfigError('configuration: FINISHED_RETENTION_MS must exceed PEER_DEADLINE_AHEAD_MAX_MS + PEER_CLOCK_SKEW_MAX_MS, so that a tombstone outlives every prepare still admitted');
  }
  if (raw.ACTIVE_STANDBY && !raw.DATABASE_URL) {
    throw new ConfigError('configuration: ACTIVE_STANDBY=true needs DATABASE_URL (the pair shares one PostgreSQL database)');
  }
  if (raw.LEASE_RENEW_INTERVAL_MS * 3 > raw.LEASE_DURATION_MS) {
    throw new ConfigError('configuration: LEASE_RENEW_INTERVAL_MS must be at most a third of LEASE_DURATION_MS, so that two renewals can fail before the lease runs out');
  }
  const dataDir = path.resolve(raw.DATA_DIR ?? path.join('data', raw.NODE_ID));
  return {
    ...raw,
    publicUrl: (raw.PUBLIC_URL ?? raw.FEDERATION_PEERS?.get(raw.NODE_ID))?.replace(/\/+$/, ''),
    dataDir,
    logDir: path.resolve(raw.LOG_DIR ?? path.join(dataDir, 'logs')),
    peerUrls: raw.FEDERATION_PEERS ?? new Map(),
  };
}

function blankAsMissing(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === '' ? undefined : v]));
}
