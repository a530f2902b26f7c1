// A leader keeps its recovery ballot while it may still finish (docs/PROTOCOL.md §20): the
// patience rule that ended the self-outranking livelock of simulator seeds 9060 and 56631.
import { expect } from 'chai';
import { BALLOT_PATIENCE_INITIAL_MS, BALLOT_PATIENCE_MAX_MS, ballotStillCurrent, resendCurrent, startRecovery, type BallotRun } from '../../../coordinator-2pc/src/leader.js';
import { tx } from './helpers.js';

const T = tx(1, 'obs-a');
const members = { txId: T, participants: ['obs-b', 'obs-c'], acceptors: ['obs-a', 'obs-b', 'obs-c'] };

function runs(count: number, startMs = 0): BallotRun[] {
  const all: BallotRun[] = [];
  for (let i = 0; i < count; i++) all.push(startRecovery(members, 'obs-b', all[i - 1], startMs).run);
  return all;
}

describe('recovery ballot patience (leader keeps its ballot until chosen, outranked or out of patience)', () => {
  it('keeps a fresh ballot current and lets it be replaced once the first patience has passed', () => {
    const [first] = runs(1, 1_000);
    expect(ballotStillCurrent(first, 1_000 + BALLOT_PATIENCE_INITIAL_MS - 1)).to.equal(true);
    expect(ballotStillCurrent(first, 1_000 + BALLOT_PATIENCE_INITIAL_MS)).to.equal(false);
  });

  it('doubles the patience with every attempt, up to BALLOT_PATIENCE_MAX_MS', () => {
    const all = runs(12);
    expect(all.map((r) => r.attempt)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(ballotStillCurrent(all[2], 4 * BALLOT_PATIENCE_INITIAL_MS - 1)).to.equal(true);
    expect(ballotStillCurrent(all[2], 4 * BALLOT_PATIENCE_INITIAL_MS)).to.equal(false);
    expect(ballotStillCurrent(all[11], BALLOT_PATIENCE_MAX_MS - 1)).to.equal(true);
    expect(ballotStillCurrent(all[11], BALLOT_PATIENCE_MAX_MS)).to.equal(false);
  });

  it('never keeps a ballot that is chosen or outranked, or when there is none', () => {
    const [run] = runs(1);
    expect(ballotStillCurrent(undefined, 0)).to.equal(false);
    expect(ballotStillCurrent({ ...run!, phase: 'outranked' }, 0)).to.equal(false);
    expect(ballotStillCurrent({ ...run!, phase: 'chosen' }, 0)).to.equal(false);
  });

  it('re-sends the current phase only to the acceptors that have not answered, at the same ballot', () => {
    const [run] = runs(1);
    run!.promises.set('obs-a', undefined);
    const resent = resendCurrent(T, run!, 'obs-b');
    expect(resent.map((e) => (e.type === 'send' ? [e.to, e.message.type] : []))).to.deep.equal([['obs-b', 'ballot'], ['obs-c', 'ballot']]);
    expect(resent.every((e) => e.type === 'send' && 'ballot' in e.message && e.message.ballot === run!.ballot)).to.equal(true);
  });
});
