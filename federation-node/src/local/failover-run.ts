// Failover under load, measured (`npm run demo:failover`, tests/bench/failover.ts, the
// failover test): clients book two-observatory bookings through the pair's URLs (the
// membership lists both; a client moves to the other URL when one refuses the connection or
// answers 503 "standby"), the active is SIGKILLed mid-load, and the run records when the
// standby took the lease (detection), when it answered its first booking (failover), how many
// requests failed meanwhile, and whether every acknowledged booking is still confirmed.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { readScientists } from '../../../seeds/catalog.js';
import { settled, snapshot, violations } from './federation-audit.js';
import type { LocalFederation, Process } from './local-federation.js';

const DAY_MS = 86_400_000;

export interface FailoverOptions {
  observatory: string;
  /** The other observatory each booking also takes a slot at (a real two-phase commit). */
  peer: string;
  clients: number;
  /** Load before the kill. */
  beforeKillMs: number;
  /** Load after the standby answered its first booking. */
  afterTakeoverMs: number;
  /** Give up waiting for the takeover after this long. */
  takeoverTimeoutMs: number;
  /** Which process of the pair is the active one, to be killed (default: the primary). */
  active?: Process;
  /** Where this run's unique slots start (a later round must not ask for an earlier round's slots). */
  requestOffset?: number;
}

export interface FailoverReport {
  /** Kill → the standby stopped answering as a standby (it took the lease). */
  detectionMs: number | null;
  /** Kill → the first booking answered 201 by the new active. */
  failoverMs: number | null;
  requests: number;
  acknowledged: number;
  /** Refusals that are the protocol's normal answers (409, 422). */
  refused: number;
  /** Attempts that got no answer or a 5xx between the kill and the first 201 after it (each client retries every 50 ms, on the pair's other URL). */
  failedDuringFailover: number;
  /** Outside that window, answers "standby" from the process that is not active (the client then moves to the other URL). */
  standbyAnswers: number;
  failedOtherwise: number;
  /** The failed answers by status and problem type (status 0: no answer — connection refused or reset, timeout). */
  failureStatuses: Record<string, number>;
  /** Bookings answered 201 that are not CONFIRMED at their coordinator after settling (must be none). */
  lostAcknowledged: string[];
  violations: string[];
}

interface Tally { requests: number; acknowledged: Set<string>; refused: number; failedDuring: number; standbyAnswers: number; failedOtherwise: number; statuses: Record<string, number>; firstAfterKillAt: number | null }

export async function runFailover(federation: LocalFederation, options: FailoverOptions): Promise<FailoverReport> {
  const tally: Tally = { requests: 0, acknowledged: new Set(), refused: 0, failedDuring: 0, standbyAnswers: 0, failedOtherwise: 0, statuses: {}, firstAfterKillAt: null };
  const clock = { killing: false, killedAt: null as number | null, running: true, next: options.requestOffset ?? 0 };
  const urls = federation.urlsOf(options.observatory);
  const agent = new http.Agent({ keepAlive: true });
  const loops = Array.from({ length: options.clients }, () => clientLoop(federation, options, urls, agent, tally, clock));
  await sleep(options.beforeKillMs);
  const active = options.active ?? 'primary';
  const standbyUrl = active === 'primary' ? federation.standbys.get(options.observatory)!.url : federation.url(options.observatory);
  const detection = watchTakeover(standbyUrl, options.takeoverTimeoutMs);
  clock.killing = true; // requests in flight now fail because of the kill
  await federation.kill(options.observatory, 'SIGKILL', active);
  clock.killedAt = performance.now(); // the process is gone: every answer from now on is the pair's new state
  const detectedAt = await detection;
  const deadline = performance.now() + options.takeoverTimeoutMs;
  while (tally.firstAfterKillAt === null && performance.now() < deadline) await sleep(50);
  if (tally.firstAfterKillAt !== null) await sleep(options.afterTakeoverMs);
  clock.running = false;
  await Promise.all(loops);
  agent.destroy();
  await settled(federation, 30_000);
  const snap = await snapshot(federation);
  const coordinated = new Map(snap.get(options.observatory)!.bookings.map((b) => [b.id, b.status]));
  return {
    detectionMs: detectedAt === null ? null : Math.round(detectedAt - clock.killedAt),
    failoverMs: tally.firstAfterKillAt === null ? null : Math.round(tally.firstAfterKillAt - clock.killedAt),
    requests: tally.requests,
    acknowledged: tally.acknowledged.size,
    refused: tally.refused,
    failedDuringFailover: tally.failedDuring,
    standbyAnswers: tally.standbyAnswers,
    failedOtherwise: tally.failedOtherwise,
    failureStatuses: tally.statuses,
    lostAcknowledged: [...tally.acknowledged].filter((id) => coordinated.get(id) !== 'CONFIRMED'),
    violations: violations(snap, { confirmed: tally.acknowledged }),
  };
}

/** When the standby's /health stops saying "standby" (it took the lease and is starting the node), or null. */
async function watchTakeover(standbyUrl: string, timeoutMs: number): Promise<number | null> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const status = await fetch(`${standbyUrl}/health`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.json() as Promise<{ status?: string }>).then((b) => b.status, () => 'unreachable');
    if (status !== 'standby') return performance.now();
    await sleep(25);
  }
  return null;
}

async function clientLoop(federation: LocalFederation, options: FailoverOptions, urls: string[], agent: http.Agent, tally: Tally, clock: { killing: boolean; killedAt: number | null; running: boolean; next: number }): Promise<void> {
  const scientists = readScientists().filter((s) => federation.nodes.has(s.institution)); // their home observatory vouches for them
  let current = 0; // the membership's order, as a client reading it would
  while (clock.running) {
    const n = clock.next++;
    const scientist = scientists[n % scientists.length]!;
    const sentAt = performance.now();
    const answer = await postBooking(urls[current]!, federation.tokens.scientists[scientist.id]!, scientist.id, bookingItems(n, options), agent);
    tally.requests += 1;
    const duringFailover = clock.killing && tally.firstAfterKillAt === null;
    if (answer.status === 201) {
      tally.acknowledged.add(answer.id!);
      // Only a request sent after the kill shows the new active (one in flight may have been answered by the old one).
      if (clock.killedAt !== null && sentAt > clock.killedAt && tally.firstAfterKillAt === null) tally.firstAfterKillAt = performance.now();
    } else if (answer.status === 409 || answer.status === 422) {
      tally.refused += 1;
    } else {
      const kind = `${answer.status}${answer.problem ? ` ${answer.problem.replace('urn:observatory-federation:problem:', '')}` : ''}${duringFailover ? ' (during failover)' : ''}`;
      tally.statuses[kind] = (tally.statuses[kind] ?? 0) + 1;
      if (duringFailover) tally.failedDuring += 1;
      else if (answer.problem?.endsWith(':standby')) tally.standbyAnswers += 1;
      else tally.failedOtherwise += 1;
      current = (current + 1) % urls.length; // the other process of the pair
      await sleep(50);
    }
  }
}

/** A unique pair of slots per request: two telescopes at each site, hours 05–09 UTC, days 10–360 ahead. */
function bookingItems(n: number, options: FailoverOptions): Array<{ telescopeId: string; start: string; end: string }> {
  const today = Date.now() - (Date.now() % DAY_MS);
  const day = 10 + Math.floor(n / 10) % 350;
  const hour = 5 + (n % 5);
  const unit = Math.floor(n / 5) % 2 + 1;
  const start = new Date(today + day * DAY_MS + hour * 3_600_000).toISOString();
  const end = new Date(today + day * DAY_MS + (hour + 1) * 3_600_000).toISOString();
  const local = options.observatory === 'atacama' ? `atacama-ut${unit}` : `${options.observatory}-unknown`;
  const remote = unit === 1 ? 'mauna-kea-keck1' : 'mauna-kea-subaru';
  return [{ telescopeId: local, start, end }, { telescopeId: remote, start, end }];
}

async function postBooking(base: string, token: string, scientistId: string, items: unknown[], agent: http.Agent): Promise<{ status: number; id?: string; problem?: string }> {
  const body = JSON.stringify({ scientistId, items });
  return new Promise((resolve) => {
    const request = http.request(`${base}/bookings`, { method: 'POST', agent, timeout: 15_000, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(body) } }, (response) => {
      let raw = '';
      response.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      response.on('end', () => {
        let parsed: { id?: string; type?: string } = {};
        try {
          parsed = JSON.parse(raw) as { id?: string; type?: string };
        } catch { /* a non-JSON answer: counted by its status */ }
        resolve({ status: response.statusCode ?? 0, ...(parsed.id ? { id: parsed.id } : {}), ...(parsed.type ? { problem: parsed.type } : {}) });
      });
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', () => resolve({ status: 0 }));
    request.end(body);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
