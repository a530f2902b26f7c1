// `npm run bench:contention`: hot slots. In every round, `--clients` scientists ask at the
// same moment for the same three-observatory slot (one telescope at each site), each through
// a coordinator of its own (round robin). Reports the abort rate, how often the round has a
// winner, how often the winner is the earliest asker judged on the federation clock (the
// fairness timestamp, `requestedAt`, each coordinator stamped), and the latency. Last line:
// one JSON object.
//   --clients 16   competing scientists per round
//   --rounds 40    rounds (each on a fresh slot)
//   --trace        for every round without a winner or won by a later asker, print each
//                  asker's answer in the order of their fairness timestamps
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import axios from 'axios';
import { readScientists } from '../../seeds/catalog.js';
import { LocalFederation } from '../support/federation-harness.js';
import { benchCatalogFile } from './bench-catalog.js';
import { percentile } from './floor.js';

const { values } = parseArgs({ options: { clients: { type: 'string', default: '16' }, rounds: { type: 'string', default: '40' }, trace: { type: 'boolean', default: false } } });
const HOUR_MS = 3_600_000;

interface Attempt {
  status: number;
  bookingId: string | undefined;
  coordinatorUrl: string;
  token: string;
  latencyMs: number;
  /** A refusal's problem detail (why this asker lost). */
  detail: string | undefined;
}

async function main(): Promise<void> {
  const clients = Number(values.clients);
  const rounds = Number(values.rounds);
  const federation = await LocalFederation.start({ env: { CATALOG_FILE: benchCatalogFile(), LOG_LEVEL: 'warn', BOOKING_HORIZON_DAYS: '3660' } });
  try {
    const urls = [...federation.nodes.values()].map((n) => n.url);
    const scientists = readScientists().map((s) => s.id).slice(0, clients);
    if (scientists.length < clients) throw new Error(`only ${scientists.length} seeded scientists: --clients ${clients} is too many`);
    const latencies: number[] = [];
    let winners = 0;
    let earliestWon = 0;
    let attempts = 0;
    let refused = 0;
    let unavailable = 0;
    const dayZero = Date.now() - (Date.now() % (24 * HOUR_MS)) + 2 * 24 * HOUR_MS;
    for (let round = 0; round < rounds; round += 1) {
      const start = dayZero + round * HOUR_MS;
      const items = ['atacama-ut1', 'mauna-kea-keck1', 'la-palma-gtc'].map((telescopeId) => ({ telescopeId, start: new Date(start).toISOString(), end: new Date(start + 5 * 60_000).toISOString() }));
      const answers = await Promise.all(scientists.map((scientistId, i) => book(urls[i % urls.length]!, federation.tokens.scientists[scientistId]!, scientistId, items)));
      attempts += answers.length;
      latencies.push(...answers.map((a) => a.latencyMs));
      refused += answers.filter((a) => a.status === 409).length;
      unavailable += answers.filter((a) => a.status === 503).length;
      const stamps = await Promise.all(answers.map(requestedAtOf));
      const won = answers.findIndex((a) => a.status === 201);
      const earliest = Math.min(...stamps.filter((s): s is number => s !== undefined));
      if (values.trace && (won < 0 || stamps[won] !== earliest)) trace(round, answers, stamps);
      if (won < 0) continue;
      winners += 1;
      if (stamps[won] === earliest) earliestWon += 1;
    }
    const summary = {
      clients,
      rounds,
      roundsWithWinner: winners,
      earliestAskerWonShare: winners ? round3(earliestWon / winners) : null,
      abortRate: round3(1 - winners / attempts),
      refused409: refused,
      unavailable503: unavailable,
      p50Ms: round3(percentile(latencies, 0.5)),
      p99Ms: round3(percentile(latencies, 0.99)),
    };
    console.log(`${rounds} rounds of ${clients} competing scientists: ${winners} rounds with a winner; the earliest asker (federation clock) won ${earliestWon} of them; ${refused} refused (409), ${unavailable} unavailable (503); latency p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms`);
    console.log(JSON.stringify(summary));
  } finally {
    await federation.stop();
  }
}

async function book(coordinatorUrl: string, token: string, scientistId: string, items: unknown[]): Promise<Attempt> {
  const t0 = performance.now();
  const res = await axios.post(`${coordinatorUrl}/bookings`, { scientistId, items }, { headers: { Authorization: `Bearer ${token}` }, validateStatus: () => true });
  const bookingId = (res.data?.id ?? res.data?.bookingId) as string | undefined;
  return { status: res.status, bookingId, coordinatorUrl, token, latencyMs: performance.now() - t0, detail: res.status === 201 ? undefined : String(res.data?.detail ?? '') };
}

/** A round's askers in the order of their fairness timestamps: who got what, and why. */
function trace(round: number, answers: Attempt[], stamps: Array<number | undefined>): void {
  const first = Math.min(...stamps.filter((s): s is number => s !== undefined));
  const order = answers.map((a, i) => ({ a, stamp: stamps[i] })).sort((x, y) => (x.stamp ?? Infinity) - (y.stamp ?? Infinity));
  console.log(`round ${round}: ${answers.some((a) => a.status === 201) ? 'won by a later asker' : 'no winner'}`);
  for (const { a, stamp } of order) console.log(`  +${stamp === undefined ? '?' : stamp - first} ms  ${a.status}  ${a.latencyMs.toFixed(0)} ms  ${a.bookingId ?? '-'}  ${a.detail ?? ''}`);
}

/** The fairness timestamp the coordinator gave the request, confirmed or rejected. */
async function requestedAtOf(attempt: Attempt): Promise<number | undefined> {
  if (!attempt.bookingId) return undefined;
  const res = await axios.get(`${attempt.coordinatorUrl}/bookings/${encodeURIComponent(attempt.bookingId)}`, { headers: { Authorization: `Bearer ${attempt.token}` }, validateStatus: () => true });
  return res.status === 200 ? Date.parse(res.data.requestedAt as string) : undefined;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
