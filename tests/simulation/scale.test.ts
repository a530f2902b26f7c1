// The scale profile (scale.ts) runs, and its counters agree with what the protocol must do:
// for a booking of k sites whose coordinator is one of them, two-phase commit sends a prepare,
// a vote, a commit and an acknowledgement per remote participant (4(k-1) messages) and makes
// durable a prepared and a committed record per participant plus the coordinator's decision
// and end (2k+2 records). A counter that saw nothing, or everything twice, fails here.
import { expect } from 'chai';
import { runScale } from './scale.js';

describe('scale profile of the simulator (many observatories, WAN delays)', function () {
  this.timeout(60_000);

  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: 10 observatories, 3-site bookings all commit with 8 messages and 8 durable records each`, async () => {
      const result = await runScale({ observatories: 10, sitesPerBooking: 3, bookings: 40, clientsPerObservatory: 1, seed });
      expect(result.committed).to.equal(40);
      expect(result.messagesByType).to.deep.equal({ ack: 2, commit: 2, prepare: 2, vote: 2 });
      expect(result.messagesPerBooking).to.equal(8);
      expect(result.recordsPerBooking).to.deep.equal({ 'coordinator/decided': 1, 'coordinator/ended': 1, 'participant/committed': 3, 'participant/prepared': 3 });
      expect(result.forcedRecordsPerBooking).to.equal(8);
      // Latency is at least the slowest prepare's round trip over the WAN (2 x 10 ms at the least).
      expect(result.latencyMs.p50).to.be.greaterThan(20);
    });
  }

  it('counts grow as 4(k-1) messages and 2k+2 records with the sites a booking touches (1 and 5 sites)', async () => {
    const local = await runScale({ observatories: 10, sitesPerBooking: 1, bookings: 20, clientsPerObservatory: 1, seed: 4 });
    expect(local.messagesPerBooking).to.equal(0);
    expect(local.forcedRecordsPerBooking).to.equal(4);
    const wide = await runScale({ observatories: 30, sitesPerBooking: 5, bookings: 40, clientsPerObservatory: 1, seed: 5 });
    expect(wide.committed).to.equal(40);
    expect(wide.messagesPerBooking).to.equal(16);
    expect(wide.forcedRecordsPerBooking).to.equal(12);
  });
});
