// Server-Sent Events of one node: its slot changes (held, booked, releasing, released) and the
// state changes of the bookings it coordinates. Every event gets an id `<boot>.<seq>`; the
// last SSE_REPLAY_EVENTS_MAX are kept so that a client reconnecting with Last-Event-ID is
// sent what it missed. A client whose own queue passes SSE_CLIENT_QUEUE_EVENTS_MAX (it reads
// too slowly) is dropped: its memory is bounded, and its browser reconnects and resumes.
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';

export interface EventHubLimits {
  /** Events kept for resumption. */
  replayEventsMax: number;
  /** Events waiting for one slow client before it is dropped. */
  clientQueueEventsMax: number;
  /** Open event streams at this node. */
  connectionsMax: number;
  /** A comment line this often keeps proxies and the browser from closing an idle stream. */
  heartbeatMs: number;
}

export interface FederationEvent {
  id: string;
  type: 'slot' | 'booking' | 'resync';
  data: Record<string, unknown>;
}

/** Why a stream could not be opened. */
export class EventStreamRefused extends Error {}

interface Client {
  stream: PassThrough;
  queue: string[];
  waitingForDrain: boolean;
}

/** The bytes the PassThrough itself may buffer before write() says "wait". */
const STREAM_HIGH_WATER_BYTES = 16 * 1024;

export class EventHub {
  private readonly boot = randomBytes(4).toString('hex');
  private seq = 0;
  private readonly replay: FederationEvent[] = [];
  private readonly clients = new Set<Client>();
  private readonly heartbeat: NodeJS.Timeout;
  /** Clients dropped for reading too slowly, since start. */
  droppedClients = 0;

  constructor(private readonly limits: EventHubLimits) {
    this.heartbeat = setInterval(() => this.broadcast(': heartbeat\n\n'), limits.heartbeatMs);
    this.heartbeat.unref();
  }

  get connections(): number {
    return this.clients.size;
  }

  publish(type: 'slot' | 'booking', data: Record<string, unknown>): void {
    this.seq += 1;
    const event: FederationEvent = { id: `${this.boot}.${this.seq}`, type, data };
    this.replay.push(event);
    if (this.replay.length > this.limits.replayEventsMax) this.replay.shift();
    this.broadcast(frame(event));
  }

  /** A new stream; what was missed since `lastEventId` first (or one `resync` event when that is no longer known). */
  open(lastEventId: string | undefined): PassThrough {
    if (this.clients.size >= this.limits.connectionsMax) {
      throw new EventStreamRefused(`this node already serves ${this.clients.size} event streams (SSE_CONNECTIONS_MAX)`);
    }
    const client: Client = { stream: new PassThrough({ highWaterMark: STREAM_HIGH_WATER_BYTES }), queue: [], waitingForDrain: false };
    this.clients.add(client);
    const forget = () => this.clients.delete(client);
    client.stream.on('close', forget);
    client.stream.on('error', forget);
    client.stream.on('drain', () => this.flush(client));
    this.send(client, 'retry: 2000\n\n');
    for (const chunk of this.missedSince(lastEventId)) this.send(client, chunk);
    return client.stream;
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const client of this.clients) client.stream.end();
    this.clients.clear();
  }

  private missedSince(lastEventId: string | undefined): string[] {
    if (lastEventId === undefined) return [];
    const [boot, seqText] = lastEventId.split('.');
    const seq = Number(seqText);
    const oldest = this.replay[0] ? Number(this.replay[0].id.split('.')[1]) : this.seq + 1;
    // Another boot, a gap we no longer hold, or nonsense: the client must reload what it shows.
    if (boot !== this.boot || !Number.isInteger(seq) || seq > this.seq || seq < oldest - 1) {
      this.seq += 1;
      return [frame({ id: `${this.boot}.${this.seq}`, type: 'resync', data: { reason: 'the events since Last-Event-ID are no longer kept; reload the schedule' } })];
    }
    return this.replay.filter((e) => Number(e.id.split('.')[1]) > seq).map(frame);
  }

  private broadcast(chunk: string): void {
    for (const client of this.clients) this.send(client, chunk);
  }

  private send(client: Client, chunk: string): void {
    if (client.waitingForDrain) {
      client.queue.push(chunk);
      if (client.queue.length > this.limits.clientQueueEventsMax) this.drop(client);
      return;
    }
    if (!client.stream.write(chunk)) client.waitingForDrain = true;
  }

  private flush(client: Client): void {
    client.waitingForDrain = false;
    while (client.queue.length > 0 && !client.waitingForDrain) {
      if (!client.stream.write(client.queue.shift()!)) client.waitingForDrain = true;
    }
  }

  private drop(client: Client): void {
    this.droppedClients += 1;
    this.clients.delete(client);
    client.queue = [];
    client.stream.destroy();
  }
}

function frame(event: FederationEvent): string {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}
