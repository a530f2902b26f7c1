import { expect } from 'chai';
import { isOlder } from '../../coordinator-2pc/src/invariants.js';

describe('wait-die order', () => {
  it('treats the smaller synchronised timestamp as older', () => {
    expect(isOlder({ timestampMs: 1, txId: 'obs-b.zzzzzzzz' }, { timestampMs: 2, txId: 'obs-a.aaaaaaaa' })).to.equal(true);
    expect(isOlder({ timestampMs: 2, txId: 'obs-a.aaaaaaaa' }, { timestampMs: 1, txId: 'obs-b.zzzzzzzz' })).to.equal(false);
  });
  it('breaks a timestamp tie by transaction id so that exactly one of two is older', () => {
    const a = { timestampMs: 5, txId: 'obs-a.aaaaaaaa' };
    const b = { timestampMs: 5, txId: 'obs-b.aaaaaaaa' };
    expect(isOlder(a, b)).to.not.equal(isOlder(b, a));
  });
});
