// Before/after in one run: two built trees (each a checkout with its own dist/), measured by
// their own `bench:profile` in interleaved rounds (A B, B A, A B, ...); prints each run, then
// per client count the medians and the ratios B / A, one JSON line each.
//   node dist/tests/bench/ab-compare.js --a /path/to/before --b /path/to/after
//        [--clients 1,64] [--seconds 5] [--rounds 3]
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    clients: { type: 'string', default: '1,64' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
  },
});

interface Run {
  concurrency: number;
  bookingsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
  cpuMsPerBooking: Record<string, { user: number; system: number }>;
}

/** One run of a tree's profile driver; its JSON lines, one per client count. */
function runTree(tree: string): Run[] {
  const script = path.join(tree, 'dist/tests/bench/profile.js');
  const out = execFileSync(process.execPath, [script, '--clients', values.clients, '--seconds', values.seconds], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Run);
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const nodeCpu = (r: Run) => Object.entries(r.cpuMsPerBooking).filter(([id]) => id !== 'loadClient').reduce((s, [, c]) => s + c.user + c.system, 0);

function summary(runs: Run[]) {
  return {
    bookingsPerSecond: median(runs.map((r) => r.bookingsPerSecond)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    nodesCpuMsPerBooking: Math.round(median(runs.map(nodeCpu)) * 1000) / 1000,
    failed: runs.reduce((s, r) => s + r.failed, 0),
  };
}

function main(): void {
  if (!values.a || !values.b) throw new Error('--a and --b (two built trees) are required');
  const rounds = Number(values.rounds);
  const results: Record<'a' | 'b', Run[]> = { a: [], b: [] };
  for (let round = 0; round < rounds; round += 1) {
    for (const which of round % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
      const runs = runTree(values[which]!);
      results[which].push(...runs);
      console.log(`round ${round + 1} ${which}: load ${os.loadavg()[0]!.toFixed(2)}; ${runs.map((r) => `${r.concurrency} clients ${r.bookingsPerSecond}/s p50 ${r.p50Ms} p99 ${r.p99Ms} nodes CPU ${nodeCpu(r).toFixed(2)} ms/booking`).join('; ')}`);
    }
  }
  for (const clients of values.clients.split(',').map(Number)) {
    const a = summary(results.a.filter((r) => r.concurrency === clients));
    const b = summary(results.b.filter((r) => r.concurrency === clients));
    const ratio = (k: 'bookingsPerSecond' | 'p50Ms' | 'p99Ms' | 'nodesCpuMsPerBooking') => Math.round((b[k] / a[k]) * 100) / 100;
    console.log(JSON.stringify({ clients, rounds, a, b, ratiosBoverA: { bookingsPerSecond: ratio('bookingsPerSecond'), p50: ratio('p50Ms'), p99: ratio('p99Ms'), nodesCpuPerBooking: ratio('nodesCpuMsPerBooking') } }));
  }
}

main();
