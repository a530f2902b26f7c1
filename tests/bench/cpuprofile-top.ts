// Summarise V8 .cpuprofile files (node --cpu-prof): for each file, the top N functions by
// self time, and self time grouped by component (crypto, SQLite, HTTP, logging, ...), so that
// "where does a booking's CPU go" has an answer in numbers.
//   node dist/tests/bench/cpuprofile-top.js DIR_OR_FILES... [--top 25] [--json]
//     [--from-ms A --to-ms B]   only the samples A..B ms after each profile started
//                               (bench:profile prints its measured window that way)
//     [--bookings N]            also show each component's ms per booking (N committed in the window)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  where: string;
  selfMs: number;
}

/** The component a function belongs to, judged by its name and file. First match wins. */
const COMPONENTS: Array<[string, RegExp]> = [
  ['idle', /^\(idle\)$/],
  ['gc', /^\(garbage collector\)$/],
  ['module loading (start-up)', /node:internal\/modules|cjs-module-lexer|^wrapSafe$|^compileSourceTextModule$|^internalModuleStat$|^compileForInternalLoader$/],
  ['socket writes (syscalls)', /^(writev|writeBuffer|writeBuffers|writeUtf8String|writeLatin1String)$/],
  ['crypto (sign/verify/hash)', /node:internal\/crypto|crypto\/|verifyOneShot|signOneShot|createHash|Hmac|KeyObject|createPublicKey|createPrivateKey/],
  ['signature headers (RFC 9421)', /structured-headers|message-signatures|peer-signatures|peer-authenticator|nonce-cache/],
  ['sqlite3 / storage', /sqlite3|storage\/|typeorm/],
  ['logging', /winston|logform|sonic-boom|logging\/|triple-beam|readable-stream|daily-rotate|file-stream-rotator|moment|colorspace|colors|fecha/],
  ['zod validation', /zod/],
  ['metrics', /prom-client|metrics\//],
  ['http server (koa, routes)', /koa|@koa|http\/|delegates|rate-limiter-flexible|proxy-addr|path-to-regexp|raw-body|co-body|iconv|statuses|on-finished|accepts|negotiator|type-is|content-type|mime/],
  ['http/net core', /node:_http|node:http|node:net|node:internal\/stream|node:stream|node:events|node:internal\/streams|_http_|writev|node:internal\/http|llhttp|node:internal\/net|node:internal\/timers/],
  ['protocol core (coordinator-2pc)', /coordinator-2pc\//],
  ['federation (peers, admission)', /federation\/|security\//],
  ['bookings, domain', /bookings\/|domain\/|node\.js|engine-ports/],
  ['async hooks / ALS', /async_hooks|AsyncLocalStorage|node:internal\/async/],
  ['json', /^JSON|stringify|parse$/],
  ['program (native, unattributed)', /^\(program\)$/],
];

export function componentOf(f: { name: string; where: string }): string {
  const text = `${f.name} ${f.where}`;
  for (const [name, pattern] of COMPONENTS) if (pattern.test(f.name) || pattern.test(f.where) || pattern.test(text)) return name;
  return 'other';
}

/**
 * Self time per node of the call tree, summed by function (name + file + line), counting only
 * the samples between `fromMs` and `toMs` after the profile started (to leave out start-up).
 */
export function selfTimes(profile: CpuProfile, fromMs = 0, toMs = Infinity): { totalMs: number; functions: FunctionTime[] } {
  const selfUs = new Map<number, number>();
  let atUs = 0;
  profile.samples.forEach((id, i) => {
    atUs += profile.timeDeltas[i] ?? 0;
    if (atUs < fromMs * 1000 || atUs > toMs * 1000) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const byFunction = new Map<string, FunctionTime>();
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (!us) continue;
    const frame = node.callFrame;
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName}|${where}`;
    const entry = byFunction.get(key) ?? { name: frame.functionName || '(anonymous)', where, selfMs: 0 };
    entry.selfMs += us / 1000;
    byFunction.set(key, entry);
  }
  const functions = [...byFunction.values()].sort((a, b) => b.selfMs - a.selfMs);
  const totalMs = Math.min(toMs, (profile.endTime - profile.startTime) / 1000) - fromMs;
  return { totalMs, functions };
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/');
}

function profileFiles(args: string[]): string[] {
  return args.flatMap((arg) => (statSync(arg).isDirectory() ? readdirSync(arg).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(arg, f)) : [arg]));
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, json: { type: 'boolean', default: false }, 'from-ms': { type: 'string', default: '0' }, 'to-ms': { type: 'string', default: 'Infinity' }, bookings: { type: 'string' } } });
  const perBooking = values.bookings ? Number(values.bookings) : undefined;
  const top = Number(values.top);
  for (const file of profileFiles(positionals)) {
    const { totalMs, functions } = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(values['from-ms']), Number(values['to-ms']));
    const busyMs = functions.filter((f) => f.name !== '(idle)').reduce((s, f) => s + f.selfMs, 0);
    const components = new Map<string, number>();
    for (const f of functions) components.set(componentOf(f), (components.get(componentOf(f)) ?? 0) + f.selfMs);
    const componentRows = [...components].filter(([c]) => c !== 'idle').sort((a, b) => b[1] - a[1]);
    if (values.json) {
      const value = (ms: number) => (perBooking ? Math.round((ms / perBooking) * 1000) / 1000 : Math.round(ms));
      console.log(JSON.stringify({ file: path.basename(file), totalMs: Math.round(totalMs), busyMs: value(busyMs), unit: perBooking ? 'ms per booking' : 'ms', components: Object.fromEntries(componentRows.map(([c, ms]) => [c, value(ms)])) }));
      continue;
    }
    console.log(`\n== ${path.basename(file)}: ${totalMs.toFixed(0)} ms profiled, ${busyMs.toFixed(0)} ms busy (not idle)`);
    console.log('  by component (self time, % of busy):');
    for (const [c, ms] of componentRows) console.log(`    ${pct(ms, busyMs)}  ${ms.toFixed(0).padStart(7)} ms${perBooking ? `  ${(ms / perBooking).toFixed(3).padStart(7)} ms/booking` : ''}  ${c}`);
    console.log(`  top ${top} functions by self time:`);
    for (const f of functions.filter((x) => x.name !== '(idle)').slice(0, top)) console.log(`    ${pct(f.selfMs, busyMs)}  ${f.selfMs.toFixed(1).padStart(8)} ms  ${f.name}  ${f.where}`);
  }
}

function pct(part: number, whole: number): string {
  return `${((part / whole) * 100).toFixed(1).padStart(5)} %`;
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) main();
