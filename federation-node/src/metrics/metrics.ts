// Prometheus metrics of one node (docs/OPERATIONS.md, "Metrics"): what an operator graphs and
// alerts on. Labels are bounded sets — route templates, member ids, message types, problem
// types — never a booking or transaction id, so that the number of series cannot grow with use.
// Counters and histograms are fed where the event happens; gauges of state (in-doubt
// transactions, holds per peer, the clock) are read from the running parts at scrape time.
import client from 'prom-client';

/** What the gauges read when Prometheus scrapes. */
export interface MetricSources {
  /** The participant's unfinished transactions. */
  participantOpen(): Array<{ coordinatorId: string; phase: string; createdAtMs: number }>;
  /** How many transactions this node coordinates and has not finished. */
  coordinatorOpen(): number;
  clock(): { offsetMs: number; errorBoundMs: number | null };
  nowMs(): number;
  /** One of an active/standby pair: the lease epoch this process holds and how long ago it was last renewed. */
  lease?: () => { epoch: number; sinceRenewalMs: number };
}

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class NodeMetrics {
  readonly registry = new client.Registry();
  readonly contentType = this.registry.contentType;
  private readonly httpRequests: client.Histogram<'method' | 'route' | 'status'>;
  private readonly bookingActions: client.Counter<'action' | 'outcome' | 'reason'>;
  private readonly peerRequests: client.Histogram<'peer' | 'message' | 'result'>;
  private readonly peerReachable: client.Gauge<'peer'>;
  private readonly logWrites: client.Histogram<'role' | 'state'>;
  private readonly batchStatements: client.Histogram;
  private readonly batchCommit: client.Histogram<'result'>;
  private readonly peerRefusals: client.Counter<'peer' | 'rule'>;

  constructor(selfId: string, sources: MetricSources) {
    this.registry.setDefaultLabels({ observatory: selfId });
    client.collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    const registers = [this.registry];
    this.httpRequests = new client.Histogram({ name: 'ofed_http_request_duration_seconds', help: 'HTTP requests answered, by route template and status', labelNames: ['method', 'route', 'status'], buckets: SECONDS, registers });
    this.bookingActions = new client.Counter({ name: 'ofed_booking_actions_total', help: 'Bookings and cancellations asked of this node as coordinator, by outcome and problem type', labelNames: ['action', 'outcome', 'reason'], registers });
    this.peerRequests = new client.Histogram({ name: 'ofed_peer_request_duration_seconds', help: 'Protocol requests to other observatories (round trip), by message type and result', labelNames: ['peer', 'message', 'result'], buckets: SECONDS, registers });
    this.peerReachable = new client.Gauge({ name: 'ofed_peer_reachable', help: '1 when the last protocol request to this observatory was answered, 0 when it was not', labelNames: ['peer'], registers });
    this.logWrites = new client.Histogram({ name: 'ofed_log_write_duration_seconds', help: 'Transaction-log records made durable (from the request to write until on disk), by role and record state; role=coordinator,state=decided is the decision write', labelNames: ['role', 'state'], buckets: SECONDS, registers });
    this.batchStatements = new client.Histogram({ name: 'ofed_group_commit_batch_statements', help: 'Statements per group-commit transaction (one fsync each)', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], registers });
    this.batchCommit = new client.Histogram({ name: 'ofed_group_commit_duration_seconds', help: 'Time to run and fsync one group-commit transaction', labelNames: ['result'], buckets: SECONDS, registers });
    this.peerRefusals = new client.Counter({ name: 'ofed_peer_prepares_refused_total', help: 'Prepares from another member refused by a per-peer bound (vote no "refused"), by peer and bound (docs/PROTOCOL.md §14)', labelNames: ['peer', 'rule'], registers });
    this.stateGauges(sources, registers);
  }

  /** A prepare from `peer` got a vote no `refused` under `rule`, a named bound. */
  peerRefusal(peer: string, rule: string): void {
    this.peerRefusals.inc({ peer, rule });
  }

  private stateGauges(sources: MetricSources, registers: client.Registry[]): void {
    new client.Gauge({
      name: 'ofed_participant_transactions', help: 'Unfinished transactions at this participant, by phase (prepared = holding slots, in doubt until told)', labelNames: ['phase'], registers,
      collect() {
        this.reset();
        for (const phase of ['waiting', 'prepared']) this.set({ phase }, 0);
        for (const t of sources.participantOpen()) this.inc({ phase: t.phase });
      },
    });
    new client.Gauge({
      name: 'ofed_participant_oldest_prepared_age_seconds', help: 'Age of the oldest transaction prepared here and not yet decided (0 when none)', registers,
      collect() {
        const prepared = sources.participantOpen().filter((t) => t.phase === 'prepared');
        const oldest = Math.min(...prepared.map((t) => t.createdAtMs));
        this.set(prepared.length === 0 ? 0 : Math.max(0, sources.nowMs() - oldest) / 1000);
      },
    });
    new client.Gauge({
      name: 'ofed_holds_by_coordinator', help: 'Transactions prepared or waiting here, by the observatory coordinating them', labelNames: ['coordinator'], registers,
      collect() {
        this.reset();
        for (const t of sources.participantOpen()) this.inc({ coordinator: t.coordinatorId });
      },
    });
    const lease = sources.lease;
    if (lease) {
      new client.Gauge({ name: 'ofed_lease_epoch', help: 'Active/standby: the lease epoch (fencing token) this active process holds', registers, collect() { this.set(lease().epoch); } });
      new client.Gauge({ name: 'ofed_lease_renewal_age_seconds', help: 'Active/standby: time since this active last renewed its lease; at LEASE_DURATION_MS it stops (exit 75)', registers, collect() { this.set(lease().sinceRenewalMs / 1000); } });
    }
    new client.Gauge({ name: 'ofed_coordinator_transactions', help: 'Transactions this node coordinates that have not finished', registers, collect() { this.set(sources.coordinatorOpen()); } });
    new client.Gauge({ name: 'ofed_clock_offset_seconds', help: 'Estimated offset of this node\'s clock from the federation time reference', registers, collect() { this.set(sources.clock().offsetMs / 1000); } });
    new client.Gauge({
      name: 'ofed_clock_error_bound_seconds', help: 'Error bound of the clock offset estimate (half the best round trip); -1 before the first synchronisation', registers,
      collect() {
        const bound = sources.clock().errorBoundMs;
        this.set(bound === null ? -1 : bound / 1000);
      },
    });
  }

  /** One HTTP request answered; `route` is the matched template, never the raw path. */
  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.observe({ method, route, status: String(status) }, seconds);
  }

  /** A booking or cancellation asked of this node ended: `reason` is the problem type when refused. */
  bookingAction(action: 'book' | 'cancel', status: number, reason: string | undefined): void {
    const outcome = status < 300 ? 'confirmed' : status < 500 ? 'refused' : 'failed';
    this.bookingActions.inc({ action, outcome: action === 'cancel' && status < 300 ? 'cancelled' : outcome, reason: reason ?? 'none' });
  }

  /** Times a protocol request to a peer and records whether it answered. */
  async peerRequest<T>(peer: string, message: string, request: Promise<T>): Promise<T> {
    const end = this.peerRequests.startTimer({ peer, message });
    try {
      const reply = await request;
      end({ result: 'answered' });
      this.peerReachable.set({ peer }, 1);
      return reply;
    } catch (error) {
      end({ result: 'failed' });
      this.peerReachable.set({ peer }, 0);
      throw error;
    }
  }

  /** Times a transaction-log write until it is durable. */
  async logWrite<T>(role: string, state: string, write: Promise<T>): Promise<T> {
    const end = this.logWrites.startTimer({ role, state });
    const result = await write;
    end();
    return result;
  }

  groupCommit(statements: number, seconds: number, ok: boolean): void {
    this.batchStatements.observe(statements);
    this.batchCommit.observe({ result: ok ? 'committed' : 'failed' }, seconds);
  }

  exposition(): Promise<string> {
    return this.registry.metrics();
  }
}
