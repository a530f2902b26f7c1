// Closed-loop load: `concurrency` clients, each sending one three-observatory booking after
// another to the nodes in turn, for `seconds`. Every booking takes fresh slots (one per site),
// so an abort here is a real failure of the protocol path, not a lost race for a slot.
// The client shares the machine's two cores with the three nodes, so it speaks HTTP/1.1 itself
// over one kept-alive socket per client and node (real HTTP, a fraction of node:http's CPU).
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { CatalogSeed } from '../../seeds/catalog.js';
import { percentile } from './floor.js';

export interface LoadOptions {
  urls: string[];
  catalog: CatalogSeed;
  concurrency: number;
  seconds: number;
  firstDay: number;
  /** The scientist's API token, sent as `Authorization: Bearer <token>`. */
  token?: string;
  /**
   * Per node URL, the scientist who books there (with their token) instead of vera-rubin with
   * `token`: a scientist of that observatory books at home, so no credential round trip.
   */
  bookerAt?: Record<string, { scientistId: string; token: string }>;
}

export interface LoadResult {
  committed: number;
  aborted: number;
  failed: number;
  seconds: number;
  bookingsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  abortRate: number;
  daysUsed: number;
  /** Every answer other than 201, by status and problem type ("503 observatory-unavailable", "transport"), with the first detail seen. */
  failures: Record<string, { count: number; detail: string }>;
}

/** What a booking request got back: the status, and for a problem its type (last segment) and detail. */
interface Answer {
  status: number;
  problemType?: string;
  detail?: string;
}

const DAY_MS = 86_400_000;

export async function driveLoad(options: LoadOptions): Promise<LoadResult> {
  const slots = new SlotSequence(options.catalog, options.firstDay);
  const latencies: number[] = [];
  let committed = 0;
  let aborted = 0;
  let failed = 0;
  let sent = 0;
  const failures: LoadResult['failures'] = {};
  const note = (answer: Answer) => {
    const key = answer.status === 0 ? 'transport' : `${answer.status} ${answer.problemType ?? '-'}`;
    (failures[key] ??= { count: 0, detail: answer.detail ?? '' }).count += 1;
  };
  const startedAt = performance.now();
  const endAt = startedAt + options.seconds * 1000;
  const client = async () => {
    const bookers = options.urls.map((url) => options.bookerAt?.[url] ?? { scientistId: 'vera-rubin', token: options.token });
    const connections = options.urls.map((url, i) => new HttpConnection(url, bookers[i]!.token));
    while (performance.now() < endAt) {
      const index = sent++ % connections.length;
      const connection = connections[index]!;
      const body = JSON.stringify({ scientistId: bookers[index]!.scientistId, items: slots.next() });
      const t0 = performance.now();
      const answer = await connection.post('/bookings', body).catch((error: Error): Answer => ({ status: 0, detail: error.message }));
      latencies.push(performance.now() - t0);
      if (answer.status !== 201) note(answer);
      if (answer.status === 201) committed += 1;
      else if (answer.status === 409 || answer.status === 503) aborted += 1;
      else failed += 1;
    }
    connections.forEach((c) => c.close());
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
  const seconds = (performance.now() - startedAt) / 1000;
  const total = committed + aborted + failed;
  return {
    committed,
    aborted,
    failed,
    seconds,
    bookingsPerSecond: committed / seconds,
    p50Ms: percentile(latencies, 0.5),
    p95Ms: percentile(latencies, 0.95),
    p99Ms: percentile(latencies, 0.99),
    abortRate: total ? aborted / total : 0,
    daysUsed: slots.daysUsed(),
    failures,
  };
}

/** Fresh slots: for each booking, the next free slot of one telescope at each observatory. */
class SlotSequence {
  private index = 0;
  private readonly perSite: Array<{ telescopes: Array<{ id: string; slotMinutes: number }> }>;
  private readonly dayZero: number;
  private readonly slotsPerDay: number;

  constructor(catalog: CatalogSeed, firstDay: number) {
    this.perSite = catalog.observatories.map((o) => ({ telescopes: o.telescopes.map((t) => ({ id: t.id, slotMinutes: t.slotMinutes })) }));
    const now = Date.now();
    this.dayZero = now - (now % DAY_MS) + firstDay * DAY_MS;
    this.slotsPerDay = Math.min(...this.perSite.map((s) => s.telescopes.length * (1440 / Math.max(...s.telescopes.map((t) => t.slotMinutes)))));
  }

  next(): Array<{ telescopeId: string; start: string; end: string }> {
    const i = this.index++;
    const day = Math.floor(i / this.slotsPerDay);
    const withinDay = i % this.slotsPerDay;
    return this.perSite.map((site) => {
      const telescope = site.telescopes[withinDay % site.telescopes.length]!;
      const slot = Math.floor(withinDay / site.telescopes.length);
      const start = this.dayZero + day * DAY_MS + slot * telescope.slotMinutes * 60_000;
      return { telescopeId: telescope.id, start: new Date(start).toISOString(), end: new Date(start + telescope.slotMinutes * 60_000).toISOString() };
    });
  }

  daysUsed(): number {
    return Math.floor(this.index / this.slotsPerDay) + 1;
  }
}

/** One kept-alive HTTP/1.1 connection, one request at a time; answers with the status code (and a problem's type and detail). */
class HttpConnection {
  private socket: net.Socket | undefined;
  private received: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (answer: Answer) => void; reject: (error: Error) => void } | undefined;
  private readonly host: string;
  private readonly port: number;
  private readonly authorization: string;

  constructor(url: string, token?: string) {
    const parsed = new URL(url);
    this.host = parsed.hostname;
    this.port = Number(parsed.port);
    this.authorization = token ? `Authorization: Bearer ${token}\r\n` : '';
  }

  post(path: string, body: string): Promise<Answer> {
    const head = `POST ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n${this.authorization}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.connected().write(head + body);
    });
  }

  close(): void {
    this.socket?.destroy();
  }

  private connected(): net.Socket {
    if (this.socket) return this.socket;
    const socket = net.connect(this.port, this.host);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const broken = (error?: Error) => {
      this.socket = undefined;
      this.received = Buffer.alloc(0);
      this.settle((w) => w.reject(error ?? new Error('connection closed')));
    };
    socket.on('error', broken);
    socket.on('close', () => broken());
    return (this.socket = socket);
  }

  /** A response is complete once its headers and Content-Length bytes of body have arrived. */
  private onData(chunk: Buffer): void {
    this.received = this.received.length ? Buffer.concat([this.received, chunk]) : chunk;
    const headEnd = this.received.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.received.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) return void this.socket?.destroy(new Error('a response without Content-Length'));
    const end = headEnd + 4 + Number(length[1]);
    if (this.received.length < end) return;
    const status = Number(head.slice(9, 12));
    const answer: Answer = { status };
    if (status !== 201) Object.assign(answer, problemOf(this.received.toString('utf8', headEnd + 4, end)));
    this.received = this.received.subarray(end);
    this.settle((w) => w.resolve(answer));
  }

  private settle(action: (waiting: { resolve: (answer: Answer) => void; reject: (error: Error) => void }) => void): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) action(waiting);
  }
}

function problemOf(body: string): Pick<Answer, 'problemType' | 'detail'> {
  try {
    const problem = JSON.parse(body) as { type?: unknown; detail?: unknown };
    return { problemType: typeof problem.type === 'string' ? problem.type.split(':').pop() : undefined, detail: typeof problem.detail === 'string' ? problem.detail : undefined };
  } catch {
    return { detail: body.slice(0, 200) };
  }
}
