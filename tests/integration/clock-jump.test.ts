// Clock jumps on real processes, made with libfaketime (Debian package libfaketime, installed
// by .ci/run): each node's wall clock is shifted at run time through its own
// FAKETIME_TIMESTAMP_FILE, while its monotonic clock runs on (FAKETIME_DONT_FAKE_MONOTONIC).
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient, httpClient } from '../support/http-client.js';
import { item } from '../support/slots.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
const HOLD_MS = 3_000;

describe('clock jumps (libfaketime on real processes)', function () {
  this.timeout(120_000);
  let federation: LocalFederation;
  let timeDir: string;
  const timeFile = (id: string) => path.join(timeDir, `${id}.faketime`);
  const shift = (id: string, offset: string) => writeFileSync(timeFile(id), `${offset}\n`);
  const fakeTimeEnv = (id: string) => ({
    LD_PRELOAD: LIBFAKETIME,
    FAKETIME_TIMESTAMP_FILE: timeFile(id),
    FAKETIME_NO_CACHE: '1',
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  });

  before(async function () {
    if (!existsSync(LIBFAKETIME)) throw new Error(`${LIBFAKETIME} is missing: apt-get install libfaketime (.ci/run installs it)`);
    timeDir = mkdtempSync(path.join(os.tmpdir(), 'observatory-faketime-'));
    for (const id of ['atacama', 'mauna-kea']) shift(id, '+0');
    federation = await LocalFederation.start({
      env: { CLOCK_SYNC_INTERVAL_MS: '1000', CLOCK_JUMP_HOLD_MS: String(HOLD_MS) },
      nodeEnv: { atacama: fakeTimeEnv('atacama'), 'mauna-kea': fakeTimeEnv('mauna-kea') },
    });
  });
  after(async () => {
    await federation?.stop();
    if (timeDir) rmSync(timeDir, { recursive: true, force: true });
  });

  it('a node whose own clock jumps +60 s says so itself: /ready 503 with the reason, and a booking touching it is refused with a 503 naming it, not the healthy peer', async () => {
    const maunaKea = federationClient(federation, 'mauna-kea');
    const atacama = federationClient(federation, 'atacama');
    const before = await maunaKea.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 60, 5), item('mauna-kea-keck1', 60, 5)] });
    expect(before.status, before.data.detail).to.equal(201);

    shift('mauna-kea', '+60s');
    const ready = await maunaKea.get('/ready');
    expect(ready.status).to.equal(503);
    expect(ready.data.checks.clock.ok).to.equal(false);
    expect(ready.data.checks.clock.detail).to.match(/^mauna-kea: its own clock jumped \+(59|60)\d{3} ms/);

    const atItself = await maunaKea.post('/bookings', { scientistId: 'vera-rubin', items: [item('mauna-kea-keck1', 61, 5)] });
    expect(atItself.status).to.equal(503);
    expect(atItself.headers['content-type']).to.match(/application\/problem\+json/);
    expect(atItself.data.detail).to.match(/^mauna-kea is not taking new work: its own clock jumped/);

    const viaHealthyPeer = await atacama.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 61, 6), item('mauna-kea-keck1', 61, 6)] });
    expect(viaHealthyPeer.status, viaHealthyPeer.data.detail).to.equal(503);
    expect(viaHealthyPeer.data.detail, viaHealthyPeer.data.detail).to.include('mauna-kea is not taking new work: its own clock jumped');
    expect(viaHealthyPeer.data.detail).to.not.match(/signature/);
  });

  it(`after CLOCK_JUMP_HOLD_MS and a sync with the reference, the jumped node is ready again and books on federation time, its wall clock still 60 s off`, async () => {
    const maunaKea = federationClient(federation, 'mauna-kea');
    const deadline = Date.now() + HOLD_MS + 15_000;
    let ready = await maunaKea.get('/ready');
    while (ready.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      ready = await maunaKea.get('/ready');
    }
    expect(ready.status, JSON.stringify(ready.data.checks?.clock)).to.equal(200);
    expect(Math.abs(ready.data.checks.clock.offsetMs + 60_000), 'the offset absorbs the jump').to.be.below(2_000);
    const time = await httpClient(federation.url('mauna-kea')).get('/time');
    expect(Math.abs(time.data.epochMs - Date.now())).to.be.below(2_000);
    const booked = await federationClient(federation, 'atacama').post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 62, 5), item('mauna-kea-keck1', 62, 5)] });
    expect(booked.status, JSON.stringify(booked.data)).to.equal(201);
  });

  it('a time reference restarted with its clock 60 s ahead is reported by the others (/ready degraded naming it), whose offsets move by at most CLOCK_OFFSET_STEP_MAX_MS per sync', async () => {
    await federation.kill('atacama');
    shift('atacama', '+60s');
    await federation.launch('atacama');
    const laPalma = httpClient(federation.url('la-palma'));
    const deadline = Date.now() + 20_000;
    let ready = await laPalma.get('/ready');
    while (!ready.data.checks?.clock?.referenceWarning && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      ready = await laPalma.get('/ready');
    }
    const clock = ready.data.checks.clock;
    expect(clock.referenceWarning).to.match(/^the time reference atacama moved \+(59|60)\d{3} ms against this node's clock/);
    expect(ready.data.status).to.equal('degraded');
    expect(Math.abs(clock.offsetMs), 'not followed blindly: a few steps of 1 s at most').to.be.below(10_000);
  });
});
