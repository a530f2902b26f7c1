// A full disk on a real process: the node's data directory is a small tmpfs this test mounts
// (as root; unmounted in cleanup). Filling it below DISK_FREE_MIN_MB makes the node refuse
// writes with 503 while it serves reads; freeing space resumes it by itself with nothing lost;
// a restart with the disk still full waits for space instead of failing in a loop.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { item } from '../support/slots.js';

const TMPFS_MB = 48;
const DISK_FREE_MIN_MB = 12;

describe('disk full (a small tmpfs under a real node)', function () {
  this.timeout(120_000);
  let root: string;
  let mountPoint: string;
  let mounted = false;
  let federation: LocalFederation | undefined;
  const filler = () => path.join(mountPoint, 'filler.bin');

  before(function () {
    root = mkdtempSync(path.join(os.tmpdir(), 'observatory-diskfull-'));
    mountPoint = path.join(root, 'mnt');
    mkdirSync(mountPoint);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MB}m`, 'tmpfs', mountPoint]);
    mounted = true;
  });
  after(async () => {
    await federation?.stop();
    if (mounted) execFileSync('umount', ['-l', mountPoint]);
    rmSync(root, { recursive: true, force: true });
  });

  /** Fill the tmpfs until `leaveMb` MB are free. */
  function fillLeaving(leaveMb: number): void {
    const stats = statfsSync(mountPoint);
    const toWrite = stats.bavail * stats.bsize - leaveMb * 1_048_576;
    const fd = openSync(filler(), 'a');
    const chunk = Buffer.alloc(1_048_576, 0x61);
    for (let written = 0; written < toWrite; written += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, toWrite - written));
    closeSync(fd);
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it(`below DISK_FREE_MIN_MB the node refuses writes with a 503 naming the cause and serves reads; with space back it resumes by itself, nothing lost`, async () => {
    federation = await LocalFederation.start({
      observatories: ['atacama', 'mauna-kea'],
      env: { DISK_FREE_MIN_MB: String(DISK_FREE_MIN_MB), DISK_CHECK_INTERVAL_MS: '200' },
    });
    // The harness keeps each node's data under its own root; move atacama's onto the tmpfs.
    await federation.kill('atacama');
    federation.node('atacama').dataDir = path.join(mountPoint, 'atacama');
    federation.node('atacama').dbFile = path.join(mountPoint, 'atacama', 'node.sqlite');
    await federation.launch('atacama');
    const atacama = federationClient(federation, 'atacama');
    const maunaKea = federationClient(federation, 'mauna-kea');

    const before = await atacama.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 90, 5), item('mauna-kea-keck1', 90, 5)] });
    expect(before.status).to.equal(201);

    fillLeaving(DISK_FREE_MIN_MB / 2);
    const notReady = await until('atacama not ready', async () => {
      const ready = await atacama.get('/ready');
      return ready.status === 503 ? ready : undefined;
    });
    expect(notReady.data.checks.disk.ok).to.equal(false);
    expect(notReady.data.checks.disk.detail).to.match(/MB free in .*below DISK_FREE_MIN_MB = 12\.0: writes are refused, reads are served/);

    const refused = await atacama.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 91, 5)] });
    expect(refused.status).to.equal(503);
    expect(refused.headers['content-type']).to.match(/application\/problem\+json/);
    expect(refused.data.detail).to.match(/^atacama is refusing writes: its disk is nearly full/);
    const viaPeer = await maunaKea.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 91, 6), item('mauna-kea-keck1', 91, 6)] });
    expect(viaPeer.status).to.equal(503);
    expect(viaPeer.data.detail).to.include('atacama is refusing writes: its disk is nearly full');
    const read = await atacama.get(`/bookings/${before.data.id}`);
    expect(read.status, 'reads are served').to.equal(200);
    expect(read.data.status).to.equal('CONFIRMED');
    expect((await atacama.get('/telescopes/atacama-ut1/availability', { params: { from: item('atacama-ut1', 90, 0).start, to: item('atacama-ut1', 91, 0).start } })).status).to.equal(200);

    rmSync(filler());
    await until('atacama ready again', async () => ((await atacama.get('/ready')).status === 200 ? true : undefined));
    const after = await atacama.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 92, 5), item('mauna-kea-keck1', 92, 5)] });
    expect(after.status, JSON.stringify(after.data)).to.equal(201);
    expect((await atacama.get(`/bookings/${before.data.id}`)).data.status).to.equal('CONFIRMED');
  });

  it('a restart with the disk still full waits for space (one log line, no exit, no restart loop) and starts once space returns', async () => {
    await federation!.kill('atacama');
    fillLeaving(DISK_FREE_MIN_MB / 2);
    let started = false;
    const launching = federation!.launch('atacama').then(() => (started = true));
    launching.catch(() => undefined); // awaited below
    await until('the waiting line on stderr', async () => (/disk nearly full at start/.test(federation!.node('atacama').output.join('')) ? true : undefined), 12_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const child = federation!.node('atacama').child;
    expect(child, 'the node is still running').to.not.equal(undefined);
    expect(child!.exitCode, 'it did not exit').to.equal(null);
    expect(started, 'it does not listen while the disk is full').to.equal(false);
    expect(federation!.node('atacama').output.join(''), 'said on stderr').to.match(/WARN:.*:atacama:disk nearly full at start: .* waiting for space before starting/);

    rmSync(filler());
    await launching;
    expect((await federationClient(federation!, 'atacama').get('/ready')).status).to.equal(200);
  });
});
