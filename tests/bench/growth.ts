// The growth run (`npm run bench:growth`, docs/PERFORMANCE.md "Growth"): a three-node
// federation under a steady load of three-observatory bookings, each cancelled right after it
// is confirmed (so the business data stays bounded and every byte of growth is the node's
// own: transaction records, tombstones, finished bookings, logs, memory), for 10 minutes by
// default. Every sample prints each node's RSS, database (+ WAL) and log sizes; with pruning
// and rotation they must level off. Retention and rotation are set short so that a plateau
// shows within the run: records older than 2 minutes pruned, 2 log files of 1 MB per stream.
//   npm run bench:growth -- --minutes 10 --clients 6
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { item } from '../support/slots.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, clients: { type: 'string', default: '6' }, 'sample-s': { type: 'string', default: '30' } } });
const DURATION_MS = Number(values.minutes) * 60_000;
const CLIENTS = Number(values.clients);
const SAMPLE_MS = Number(values['sample-s']) * 1000;
const GROWTH_ENV = {
  TRANSACTION_RECORD_RETENTION_MINUTES: '2',
  FINISHED_RETENTION_MS: '90000', // above PEER_DEADLINE_AHEAD_MAX_MS + PEER_CLOCK_SKEW_MAX_MS (config refuses less)
  PRUNE_INTERVAL_MS: '10000',
  LOG_FILE_MAX_MB: '1',
  LOG_FILES_MAX: '2',
  CLOCK_SYNC_INTERVAL_MS: '5000',
};
/** Hours when atacama-ut1 (0–10 UTC), mauna-kea-keck1 (5–16) and la-palma-gtc (19–7) can all be booked. */
const HOURS = [5, 6];

interface Sample { atS: number; transactions: number; failures: number; nodes: Record<string, { rssMb: number; dbMb: number; logsMb: number }> }

async function main(): Promise<void> {
  const federation = await LocalFederation.start({ env: GROWTH_ENV });
  const samples: Sample[] = [];
  let transactions = 0;
  let failures = 0;
  const startedAt = Date.now();
  const endAt = startedAt + DURATION_MS;
  try {
    const apis = [...federation.nodes.keys()].map((id) => federationClient(federation, id));
    const client = async (index: number) => {
      for (let round = 0; Date.now() < endAt; round += 1) {
        // Each client cycles over its own 40 slots: no conflicts, bounded claims.
        const position = index * 40 + (round % 40);
        const day = 30 + Math.floor(position / HOURS.length);
        const hour = HOURS[position % HOURS.length]!;
        const api = apis[round % apis.length]!;
        const booked = await api.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', day, hour), item('mauna-kea-keck1', day, hour), item('la-palma-gtc', day, hour)] }).catch(() => undefined);
        if (booked?.status !== 201) { failures += 1; await sleep(100); continue; }
        const cancelled = await api.delete(`/bookings/${booked.data.id}`).catch(() => undefined);
        transactions += cancelled?.status === 200 ? 2 : 1;
        if (cancelled?.status !== 200) failures += 1;
      }
    };
    const sampler = (async () => {
      while (Date.now() < endAt) {
        await sleep(Math.min(SAMPLE_MS, Math.max(0, endAt - Date.now())));
        const sample = { atS: Math.round((Date.now() - startedAt) / 1000), transactions, failures, nodes: Object.fromEntries([...federation.nodes.values()].map((n) => [n.id, measure(n.child?.pid, n.dataDir)])) };
        const previous = samples[samples.length - 1] ?? { atS: 0, transactions: 0, failures: 0 };
        const rate = Math.round((transactions - previous.transactions) / Math.max(1, sample.atS - previous.atS));
        samples.push(sample);
        console.log(`${String(sample.atS).padStart(4)} s  ${String(transactions).padStart(6)} tx (${rate} tx/s)  ${failures - previous.failures} failed  ${Object.entries(sample.nodes).map(([id, m]) => `${id}: rss ${m.rssMb} MB, db ${m.dbMb} MB, logs ${m.logsMb} MB`).join(' | ')}`);
      }
    })();
    await Promise.all([...Array.from({ length: CLIENTS }, (_, i) => client(i)), sampler]);
  } finally {
    await federation.stop();
  }
  const seconds = (Date.now() - startedAt) / 1000;
  console.log(JSON.stringify({ minutes: Number(values.minutes), clients: CLIENTS, transactions, txPerSecond: Math.round(transactions / seconds), failures, first: samples[0], half: samples[Math.floor(samples.length / 2)], last: samples[samples.length - 1] }));
}

function measure(pid: number | undefined, dataDir: string): { rssMb: number; dbMb: number; logsMb: number } {
  const rssKb = pid ? Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) : 0;
  const db = ['node.sqlite', 'node.sqlite-wal'].reduce((sum, f) => sum + sizeOf(path.join(dataDir, f)), 0);
  const logsDir = path.join(dataDir, 'logs');
  const logs = readdirSync(logsDir).reduce((sum, f) => sum + sizeOf(path.join(logsDir, f)), 0);
  return { rssMb: mb(rssKb * 1024), dbMb: mb(db), logsMb: mb(logs) };
}

function sizeOf(file: string): number {
  try {
    const stats = lstatSync(file); // the fixed log names are links to the current files: count each file once
    return stats.isFile() ? stats.size : 0;
  } catch {
    return 0;
  }
}

const mb = (bytes: number) => Math.round((bytes / 1_048_576) * 10) / 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
