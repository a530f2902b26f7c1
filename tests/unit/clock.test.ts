import { expect } from 'chai';
import { FederationClock } from '../../federation-node/src/federation/clock.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("federation clock (Cristian's algorithm)", () => {
  it('estimates the offset of a reference running 5 s ahead within the error bound of half the round trip', async () => {
    const clock = new FederationClock('atacama', false, async () => {
      await sleep(4);
      const referenceNow = Date.now() + 5_000;
      await sleep(4);
      return referenceNow;
    }, 3);
    const status = await clock.sync();
    expect(status.errorBoundMs).to.be.a('number');
    expect(Math.abs(status.offsetMs - 5_000)).to.be.at.most(status.errorBoundMs! + 2);
    expect(Math.abs(clock.nowMs() - (Date.now() + 5_000))).to.be.below(20);
  });

  it('keeps the sample with the shortest round trip', async () => {
    const delays = [30, 2, 30];
    const clock = new FederationClock('atacama', false, async () => {
      await sleep(delays.shift()!);
      return Date.now();
    }, 3);
    const status = await clock.sync();
    expect(status.samples).to.equal(3);
    expect(status.errorBoundMs).to.be.below(10);
  });

  it('reports a reference that does not answer, keeps its last offset and never throws', async () => {
    const clock = new FederationClock('atacama', false, async () => {
      throw new Error('connect ECONNREFUSED');
    }, 2);
    const status = await clock.sync();
    expect(status.lastError).to.contain('ECONNREFUSED');
    expect(status.offsetMs).to.equal(0);
    expect(status.errorBoundMs).to.equal(null);
  });

  it('is exact, with a zero error bound, on the time reference itself', async () => {
    const clock = new FederationClock('atacama', true, async () => {
      throw new Error('never asked');
    }, 2);
    expect((await clock.sync()).errorBoundMs).to.equal(0);
  });

  it('does not follow a reference whose time jumps +60 s between syncs: moves the offset by CLOCK_OFFSET_STEP_MAX_MS and reports it', async () => {
    let referenceAheadMs = 0;
    const clock = new FederationClock('atacama', false, async () => Date.now() + referenceAheadMs, 1, { jumpMaxMs: 1_000, jumpHoldMs: 5_000, offsetStepMaxMs: 1_000 });
    expect((await clock.sync()).referenceWarning).to.equal(null);
    referenceAheadMs = 60_000;
    const status = await clock.sync();
    expect(Math.abs(status.offsetMs - 1_000)).to.be.below(20);
    expect(status.referenceWarning).to.match(/^the time reference atacama moved \+(59|60)\d{3} ms against this node's clock since the last sync/);
    expect(clock.trust().ok, "the node's own clock did not jump").to.equal(true);
  });
});
