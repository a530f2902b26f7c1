// The shapes of the public API's answers, as zod schemas: the OpenAPI document is generated
// from them (with the request schemas the routes validate with), and the tests check real
// answers against that document.
import { z } from 'zod';
import { Link } from '../bookings/booking-schemas.js';

const Links = z.record(z.string(), z.union([Link.extend({ templated: z.boolean().optional() }), z.array(Link)]));

const ProblemItem = z.object({ telescopeId: z.string(), observatoryId: z.string(), start: z.string(), end: z.string() });

export const Problem = z
  .object({
    type: z.string().describe('A URN naming the kind of problem, e.g. urn:observatory-federation:problem:slot-taken'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().describe('What went wrong, for a person to read'),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional().describe('400: each offending field'),
    bookingId: z.string().optional().describe('A rejected booking\'s id (GET it for its reason)'),
    conflicts: z.array(z.object({ code: z.string(), detail: z.string(), node: z.string().optional() })).optional(),
    unavailableObservatories: z.array(z.string()).optional(),
    takenSlots: z.array(ProblemItem.extend({ segment: z.number().int() })).optional().describe('409 slot-taken: the items that were taken (`segment`: the item\'s index in the request)'),
    suggestions: z.array(ProblemItem.extend({ segment: z.number().int() })).optional().describe('409 slot-taken: free alternatives for each taken item, nearest first (free when answered, not held)'),
    attempts: z.array(z.string()).optional().describe('409 slot-taken: the booking ids of the tries made (alternatives)'),
    outcome: z.literal('unknown').optional().describe('504: the request was passed on to the booking\'s coordinator and may or may not have been carried out'),
    coordinator: z.string().optional().describe('504: the observatory that coordinates the booking'),
    _links: z.object({ booking: Link }).optional().describe('504: where to GET the booking to learn the outcome'),
  })
  .describe('RFC 9457 problem details');

export const ClockStatus = z.object({
  reference: z.string(),
  isReference: z.boolean(),
  offsetMs: z.number(),
  errorBoundMs: z.number().nullable(),
  lastSyncAt: z.string().nullable(),
  lastError: z.string().nullable(),
  samples: z.number().int(),
  ownClockJump: z.object({ jumpMs: z.number().int(), detectedAt: z.string() }).nullable().describe("This node's own wall clock jumped against its monotonic clock (docs/OPERATIONS.md, \"Clock jumps\")"),
  referenceWarning: z.string().nullable().describe("The time reference's time moved more than CLOCK_OFFSET_STEP_MAX_MS since the last sync"),
});

export const TimeResponse = z.object({
  utc: z.string().describe('Federation time, ISO-8601 UTC'),
  epochMs: z.number().int().describe('Federation time, milliseconds since the epoch'),
  observatory: z.string(),
  clock: ClockStatus,
});

export const Observatory = z.object({
  id: z.string(),
  name: z.string(),
  site: z.string(),
  timezone: z.string(),
  latitude: z.number(),
  longitude: z.number(),
  url: z.string(),
  telescopes: z.array(z.string()),
  _links: Links,
});

export const ObservatoryList = z.object({ observatories: z.array(Observatory) });

export const Telescope = z.object({
  id: z.string(),
  observatoryId: z.string(),
  name: z.string(),
  apertureM: z.number(),
  instrument: z.string(),
  slotMinutes: z.number().int(),
  bookableHoursUtc: z.object({ from: z.number().int(), to: z.number().int() }),
  _links: Links,
});

export const TelescopeList = z.object({ observatory: z.string(), scope: z.enum(['local', 'federation']), telescopes: z.array(Telescope) });

export const Availability = z.object({
  telescopeId: z.string(),
  from: z.string(),
  to: z.string(),
  slotMinutes: z.number().int(),
  slots: z.array(z.object({
    start: z.string(),
    end: z.string(),
    state: z.enum(['free', 'held', 'releasing', 'booked', 'past']),
    bookingId: z.string().optional(),
  })),
  _links: Links,
});

export const Health = z.object({ status: z.literal('ok'), observatory: z.string(), uptimeS: z.number().int() });

const Check = z.object({ ok: z.boolean(), detail: z.string() });
/** Prepared transactions whose decision is overdue (IN_DOUBT_REPORT_AFTER_MS): `ok: false` makes the node `degraded`, never not-ready. */
const InDoubtCheck = z.object({
  ok: z.boolean(),
  detail: z.string(),
  overBound: z.number().int(),
  oldestAgeMs: z.number().nullable(),
  byCoordinator: z.record(z.string(), z.number().int()),
});

export const Ready = z.object({
  status: z.enum(['ready', 'degraded', 'not-ready']),
  observatory: z.string(),
  checks: z.object({
    database: Check,
    recovery: Check,
    reconciliation: Check,
    peers: z.record(z.string(), Check),
    clock: ClockStatus.extend(Check.shape).describe('not ok while this node\'s own clock jumped and is not yet confirmed'),
    inDoubt: InDoubtCheck,
    disk: Check.extend({ freeBytes: z.number().nullable() }).describe('not ok below DISK_FREE_MIN_MB free: writes refused, reads served'),
  }),
});

/** Paxos Commit (docs/PROTOCOL.md §20): a ballot, and what an acceptor promised and accepted. */
const BallotShape = z.object({ round: z.number().int(), node: z.string() });
const AcceptorState = z.object({
  txId: z.string(),
  promised: BallotShape.describe('no lower ballot is joined any more'),
  accepted: z.object({ ballot: BallotShape, value: z.enum(['commit', 'abort']) }).optional().describe('the value accepted last, and at which ballot'),
  acceptors: z.array(z.string()),
}).describe('This node as one of the transaction\'s acceptors');
const LedBallot = z.object({
  ballot: BallotShape,
  phase: z.enum(['promising', 'accepting', 'chosen', 'outranked']),
  value: z.enum(['commit', 'abort']).optional(),
  acceptors: z.array(z.string()),
  promisedBy: z.array(z.string()),
  acceptedBy: z.array(z.string()),
  unknownAt: z.array(z.string()).describe('acceptors whose store may have lost the transaction (they take no part)'),
}).describe('The ballot this node leads for the transaction: the coordinator at round 0, or a participant in doubt (recovery)');

export const UnfinishedTransactions = z.object({
  observatory: z.string(),
  transactions: z.array(z.object({
    txId: z.string(),
    role: z.enum(['coordinator', 'participant']),
    phase: z.string(),
    kind: z.string(),
    participants: z.array(z.string()),
    timestampMs: z.number(),
    createdAtMs: z.number(),
    ageMs: z.number(),
    coordinatorId: z.string().optional(),
    waitingFor: z.array(z.string()).optional(),
    inDoubtOverBound: z.boolean().optional().describe('a participant transaction prepared longer than IN_DOUBT_REPORT_AFTER_MS'),
    answers: z.record(z.string(), z.string()).optional().describe('In doubt: what the coordinator and the other participants last answered (cooperative termination)'),
    acceptors: z.array(z.string()).optional().describe('The acceptors the prepare named (participant)'),
    ballot: LedBallot.optional(),
    acceptor: AcceptorState.nullable().optional(),
    stuck: z.string().optional().describe('Where it stands and what it waits for, in one sentence'),
  })),
  peers: z.record(z.string(), z.object({ openTransactions: z.number().int(), heldSlots: z.number().int(), inDoubtOverBound: z.number().int() }))
    .describe('per coordinator: what it has open at this participant, against PEER_OPEN_TRANSACTIONS_MAX and PEER_HELD_SLOTS_MAX'),
});

export const ResolveRequest = z.strictObject({
  outcome: z.enum(['committed', 'aborted']),
  reason: z.string().min(1).max(500).describe('Why, for the audit trail (e.g. a ticket number)'),
});

export const Resolved = z.object({ txId: z.string(), outcome: z.enum(['committed', 'aborted']), heuristic: z.literal(true) });

export const TransactionView = z.object({
  txId: z.string(),
  observatory: z.string(),
  /** `unknown`: the coordinator's store may have lost the record (restored, new disk, pruned). */
  coordinatorOutcome: z.enum(['committed', 'aborted', 'pending', 'unknown']).nullable(),
  participant: z.union([
    z.object({
      txId: z.string(), phase: z.string(), coordinatorId: z.string(), participants: z.array(z.string()), kind: z.string(), timestampMs: z.number(), createdAtMs: z.number(),
      answers: z.record(z.string(), z.string()).optional().describe('In doubt: what the coordinator and the other participants last answered (cooperative termination)'),
      acceptors: z.array(z.string()).optional(),
      ballot: LedBallot.optional(),
    }),
    z.object({ phase: z.enum(['prepared', 'committed', 'aborted']), fromRecord: z.literal(true) }).describe('No longer in memory: the state of the durable record'),
  ]).nullable(),
  recordsComplete: z.boolean().describe('False when this store may have lost records of the transaction'),
  acceptor: AcceptorState.optional(),
  coordinatorBallot: LedBallot.optional(),
});

const ReconciliationPeer = z.object({
  state: z.enum(['pending', 'done', 'unreachable', 'conflict']),
  detail: z.string(),
  applied: z.number().int(),
  checked: z.number().int(),
  conflicts: z.array(z.object({ txId: z.string(), detail: z.string() })),
});

export const ReconciliationStatus = z.object({
  observatory: z.string(),
  storeId: z.string(),
  incarnation: z.number().int(),
  completeSince: z.string(),
  required: z.object({ reason: z.string(), sinceMs: z.number() }).nullable(),
  sinceMs: z.number(),
  servingBookings: z.boolean(),
  overridden: z.object({ reason: z.string(), atMs: z.number(), pending: z.array(z.string()) }).nullable(),
  peers: z.record(z.string(), ReconciliationPeer),
  /** Cancellations this node coordinated that it could not apply again (not every participant reported them): an operator decides. */
  ownConflicts: z.array(z.object({ txId: z.string(), detail: z.string() })),
});
