// A paused node (SIGSTOP, as a long GC pause, a frozen VM or a debugger would do) under a
// load of bookings that touch it, then SIGCONT: work that waited past its deadline is
// dropped, not processed first, and the resumed node takes part in bookings again at once.
import { expect } from 'chai';
import type { AxiosInstance } from 'axios';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { item } from '../support/slots.js';
import { settled, snapshot, violations } from '../support/consistency.js';

const PAUSE_MS = Number(process.env.PAUSE_TEST_PAUSE_MS ?? 12_000);
const LOAD_BEFORE_PAUSE_MS = 2_000;
const WATCH_AFTER_RESUME_MS = 5_000;
/** What the issue asks for; the measured figure is printed and reported in docs/OPERATIONS.md. */
const USEFUL_AGAIN_WITHIN_MS = 2_000;
const CLIENTS_PER_COORDINATOR = 3;
/** Hours when both atacama-ut1 (0–10 UTC) and mauna-kea-keck1 (5–16 UTC) can be booked. */
const SHARED_HOURS = [5, 6, 7, 8, 9];

interface Attempt {
  sentAtMs: number;
  answeredAtMs: number;
  status: number;
  id?: string;
  detail?: string;
}

describe('pause and resume (real SIGSTOP/SIGCONT under load)', function () {
  this.timeout(120_000);
  let federation: LocalFederation;

  before(async () => {
    federation = await LocalFederation.start({ env: { CLOCK_SYNC_INTERVAL_MS: '2000' } });
  });
  after(async () => {
    const child = federation?.node('mauna-kea').child;
    if (child?.pid) process.kill(child.pid, 'SIGCONT'); // never leave a stopped process behind
    await federation?.stop();
  });

  it(`a node paused for ${PAUSE_MS / 1000} s takes part in bookings again within ${USEFUL_AGAIN_WITHIN_MS / 1000} s of SIGCONT, and nothing is left inconsistent`, async () => {
    const attempts: Attempt[] = [];
    let running = true;
    let next = 0;
    const nextItems = () => {
      const k = next++;
      const day = 20 + Math.floor(k / SHARED_HOURS.length);
      const hour = SHARED_HOURS[k % SHARED_HOURS.length]!;
      return [item('atacama-ut1', day, hour), item('mauna-kea-keck1', day, hour)];
    };
    const coordinators = ['atacama', 'la-palma'].map((id) => federationClient(federation, id));
    const loops = coordinators.flatMap((api) => Array.from({ length: CLIENTS_PER_COORDINATOR }, () => bookingLoop(api, nextItems, attempts, () => running)));

    await sleep(LOAD_BEFORE_PAUSE_MS);
    const pid = federation.node('mauna-kea').child!.pid!;
    process.kill(pid, 'SIGSTOP');
    await sleep(PAUSE_MS);
    process.kill(pid, 'SIGCONT');
    const resumedAtMs = Date.now();
    await sleep(WATCH_AFTER_RESUME_MS);
    running = false;
    await Promise.all(loops);

    const before = attempts.filter((a) => a.answeredAtMs < resumedAtMs - PAUSE_MS);
    const sentAfterResume = attempts.filter((a) => a.sentAtMs >= resumedAtMs);
    // Any booking confirmed after SIGCONT needed the resumed node's yes vote, whenever it was sent.
    const firstSuccess = attempts.filter((a) => a.status === 201 && a.answeredAtMs >= resumedAtMs).sort((a, b) => a.answeredAtMs - b.answeredAtMs)[0];
    const usefulAfterMs = firstSuccess ? firstSuccess.answeredAtMs - resumedAtMs : Infinity;
    const lateWindow = sentAfterResume.filter((a) => a.sentAtMs >= resumedAtMs + USEFUL_AGAIN_WITHIN_MS);
    const lateSucceeded = lateWindow.filter((a) => a.status === 201).length;
    const failures = sentAfterResume.filter((a) => a.status !== 201).map((a) => `${a.status} after ${a.sentAtMs - resumedAtMs} ms: ${a.detail ?? ''}`);
    if (process.env.PAUSE_TEST_VERBOSE) console.log(failures.join("\n"));
    console.log(`      pause ${PAUSE_MS} ms: first booking touching the resumed node confirmed ${usefulAfterMs} ms after SIGCONT; `
      + `${lateSucceeded}/${lateWindow.length} bookings sent from ${USEFUL_AGAIN_WITHIN_MS} ms after SIGCONT confirmed; ${before.filter((a) => a.status === 201).length} confirmed before the pause`);

    expect(before.some((a) => a.status === 201), 'bookings succeeded before the pause').to.equal(true);
    expect(usefulAfterMs, `first success after resume; failures: ${failures.slice(0, 5).join(' | ')}`).to.be.below(USEFUL_AGAIN_WITHIN_MS);
    expect(lateWindow.length, 'bookings were attempted after the recovery window').to.be.greaterThan(5);
    expect(lateSucceeded / lateWindow.length, `bookings after the window; failures: ${failures.slice(-5).join(' | ')}`).to.be.at.least(0.9);

    await settled(federation, 15_000);
    const confirmed = attempts.filter((a) => a.status === 201).map((a) => a.id!);
    expect(violations(await snapshot(federation), { confirmed })).to.deep.equal([]);
  });
});

async function bookingLoop(api: AxiosInstance, nextItems: () => unknown[], attempts: Attempt[], running: () => boolean): Promise<void> {
  while (running()) {
    const sentAtMs = Date.now();
    const res = await api.post('/bookings', { scientistId: 'vera-rubin', items: nextItems() }, { timeout: 10_000 }).catch(() => undefined);
    const data = res?.data as { id?: string; detail?: string } | undefined;
    attempts.push({ sentAtMs, answeredAtMs: Date.now(), status: res?.status ?? 0, ...(data?.id ? { id: data.id } : {}), ...(data?.detail ? { detail: data.detail } : {}) });
    if (!res || res.status >= 500) await sleep(50); // do not spin on a failing federation
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
