// `npm run sim:scale`: the scale profile (scale.ts) at 10, 30 and 100 observatories and
// bookings touching 1, 2, 3, 5 and 8 sites; prints one JSON line per run, then the Markdown
// table docs/PERFORMANCE.md shows.
//   --observatories 10,30,100   --sites 1,2,3,5,8   --rounds 10 (bookings per scientist)
//   --clients 2 (scientists per observatory)   --seed 1
//   --wan-min 10 --wan-max 80 --jitter 2 (one-way ms)   --disk-sync-max 2 (ms)
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { runScale, type ScaleResult } from './scale.js';

const list = (text: string) => text.split(',').map(Number);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      observatories: { type: 'string', default: '10,30,100' },
      sites: { type: 'string', default: '1,2,3,5,8' },
      rounds: { type: 'string', default: '10' },
      clients: { type: 'string', default: '2' },
      seed: { type: 'string', default: '1' },
      'wan-min': { type: 'string', default: '10' },
      'wan-max': { type: 'string', default: '80' },
      jitter: { type: 'string', default: '2' },
      'disk-sync-max': { type: 'string', default: '2' },
    },
  });
  const results: ScaleResult[] = [];
  for (const observatories of list(values.observatories)) {
    for (const sitesPerBooking of list(values.sites).filter((k) => k <= observatories)) {
      const clientsPerObservatory = Number(values.clients);
      const result = await runScale({
        observatories,
        sitesPerBooking,
        clientsPerObservatory,
        bookings: observatories * clientsPerObservatory * Number(values.rounds),
        seed: Number(values.seed),
        wanOneWayMinMs: Number(values['wan-min']),
        wanOneWayMaxMs: Number(values['wan-max']),
        jitterMs: Number(values.jitter),
        diskSyncMaxMs: Number(values['disk-sync-max']),
      });
      console.log(JSON.stringify(result));
      results.push(result);
    }
  }
  console.log(`\nWAN one way ${values['wan-min']}-${values['wan-max']} ms per pair ± ${values.jitter} ms, fsync 0.01-${values['disk-sync-max']} ms, ${values.clients} scientists per observatory (closed loop), ${values.rounds} bookings each, seed ${values.seed}\n`);
  console.log(markdownTable(results));
}

export function markdownTable(results: ScaleResult[]): string {
  const rows = results.map((r) => {
    const perSiteSecond = (x: number) => Math.round((r.commitsPerSimulatedSecond * x) / r.observatories);
    return `| ${r.observatories} | ${r.sitesPerBooking} | ${r.committed}/${r.bookings} | ${r.commitsPerSimulatedSecond} | ${r.messagesPerBooking} | ${r.forcedRecordsPerBooking} | ${r.fsyncsPerBooking} | ${perSiteSecond(r.messagesPerBooking)} | ${r.latencyMs.p50} / ${r.latencyMs.p95} / ${r.latencyMs.p99} |`;
  });
  return [
    '| observatories | sites per booking | committed | commits per simulated s | messages per booking | forced records per booking | fsyncs per booking | messages per observatory per s | latency p50 / p95 / p99 (ms) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
