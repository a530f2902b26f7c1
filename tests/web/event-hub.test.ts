// The event hub's bounds, on the real stream classes: a client that never reads is dropped
// once its queue passes SSE_CLIENT_QUEUE_EVENTS_MAX (so it cannot grow memory without bound)
// while a reading client beside it receives every event; the connection limit is enforced.
import { expect } from 'chai';
import { EventHub, EventStreamRefused } from '../../federation-node/src/web/event-hub.js';

const LIMITS = { replayEventsMax: 50, clientQueueEventsMax: 100, connectionsMax: 3, heartbeatMs: 60_000 };

describe('event hub (SSE) bounds', () => {
  it('drops a client that never reads once its queue passes the limit, and keeps serving a reading client every event', async () => {
    const hub = new EventHub(LIMITS);
    const slow = hub.open(undefined); // nobody reads it: the PassThrough fills, then the hub's queue
    const fast = hub.open(undefined);
    let received = '';
    fast.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const padding = 'x'.repeat(1_000);
    for (let batch = 0; batch < 100; batch += 1) {
      for (let i = 0; i < 50; i += 1) hub.publish('slot', { i: batch * 50 + i, padding });
      await new Promise((resolve) => setImmediate(resolve)); // the reading client reads between batches
    }
    expect(slow.destroyed, 'the slow client was dropped').to.equal(true);
    expect(hub.droppedClients).to.equal(1);
    expect(hub.connections).to.equal(1);
    // What the slow client held at most: the stream's buffer (16 KiB) plus the queue limit of events.
    expect(slow.writableLength).to.be.at.most(16 * 1024 + 2_000);
    return new Promise<void>((resolve) => setImmediate(() => {
      const ids = [...received.matchAll(/^id: \w+\.(\d+)$/gm)].map((m) => Number(m[1]));
      expect(ids.length, 'the reading client got all 5,000 events').to.equal(5_000);
      expect(ids.every((id, index) => index === 0 || id === ids[index - 1]! + 1)).to.equal(true);
      hub.close();
      resolve();
    }));
  });

  it('refuses a stream past SSE_CONNECTIONS_MAX and frees the place when one closes', () => {
    const hub = new EventHub(LIMITS);
    const streams = [hub.open(undefined), hub.open(undefined), hub.open(undefined)];
    expect(() => hub.open(undefined)).to.throw(EventStreamRefused, /SSE_CONNECTIONS_MAX/);
    streams[0]!.destroy();
    return new Promise<void>((resolve) => setImmediate(() => {
      expect(hub.connections).to.equal(2);
      expect(() => hub.open(undefined)).not.to.throw();
      hub.close();
      resolve();
    }));
  });

  it('resumes after Last-Event-ID with exactly the missed events, and asks for a resync when they are no longer kept', async () => {
    const hub = new EventHub(LIMITS);
    for (let i = 0; i < 10; i += 1) hub.publish('booking', { i });
    const first = await readAll(hub.open(undefined), () => hub.publish('slot', { i: 10 }));
    const lastId = /^id: (\S+)$/m.exec(first)![1]!;
    for (let i = 11; i < 20; i += 1) hub.publish('slot', { i });
    const resumed = await readAll(hub.open(lastId));
    expect([...resumed.matchAll(/"i":(\d+)/g)].map((m) => Number(m[1]))).to.deep.equal([11, 12, 13, 14, 15, 16, 17, 18, 19]);
    for (let i = 20; i < 200; i += 1) hub.publish('slot', { i }); // past replayEventsMax: 11..149 are gone
    const stale = await readAll(hub.open(lastId));
    expect(stale).to.match(/^event: resync$/m);
    expect(stale).not.to.match(/"i":/);
    const foreign = await readAll(hub.open('another-boot.3'));
    expect(foreign).to.match(/^event: resync$/m);
    hub.close();
  });
});

/** What a stream carries until now (after `then` ran), without waiting for its end. */
async function readAll(stream: NodeJS.ReadableStream & { destroy(): void }, then?: () => void): Promise<string> {
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  then?.();
  await new Promise((resolve) => setImmediate(resolve));
  stream.destroy();
  return text;
}
