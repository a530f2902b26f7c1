// The acceptor's state machine and the leader's rules (Paxos Commit, docs/PROTOCOL.md §20),
// every request against every state that matters, including the absurd ones.
import { expect } from 'chai';
import { AcceptorCore, compareBallots, majorityOf } from '../../../coordinator-2pc/src/acceptor.js';
import { onAcceptorReply, startRecovery, valueForced } from '../../../coordinator-2pc/src/leader.js';
import { UNSIGNED_COMMIT_PROOFS } from '../../../coordinator-2pc/src/commit-proof.js';
import type { AcceptMessage, BallotMessage, NodeId } from '../../../coordinator-2pc/src/messages.js';
import type { Effect } from '../../../coordinator-2pc/src/ports.js';
import { tx } from './helpers.js';

const T = tx(1, 'obs-a');
const members = { participants: ['obs-b', 'obs-c'], acceptors: ['obs-a', 'obs-b', 'obs-c'] };

const PROOF = UNSIGNED_COMMIT_PROOFS.sign({ txId: T, ...members });

/** COMMIT carries the coordinator's proof unless `proof` says otherwise (null: none). */
function accept(round: number, node: NodeId, value: 'commit' | 'abort', proof: string | null = value === 'commit' ? PROOF : null): AcceptMessage {
  return { type: 'accept', txId: T, from: node, ballot: { round, node }, value, ...members, ...(proof ? { proof } : {}) };
}

function ballot(round: number, node: NodeId): BallotMessage {
  return { type: 'ballot', txId: T, from: node, ballot: { round, node }, ...members };
}

function replyOf(effects: Effect[]): Record<string, unknown> {
  const send = effects.find((e) => e.type === 'send');
  if (!send || send.type !== 'send') throw new Error('no reply');
  return send.message as unknown as Record<string, unknown>;
}

function persisted(effects: Effect[]): boolean {
  return effects.some((e) => e.type === 'persist-acceptor');
}

describe('AcceptorCore', () => {
  const now = 1000;
  const acceptorAt = (self: NodeId = 'obs-b') => new AcceptorCore({ selfId: self, retentionMs: 10_000 });

  it('accepts the coordinator\'s round-0 COMMIT, writes it before answering, and repeats the answer without a second write', () => {
    const acceptor = acceptorAt();
    const first = acceptor.step({ type: 'receive', message: accept(0, 'obs-a', 'commit'), nowMs: now });
    expect(persisted(first)).to.equal(true);
    expect(first.findIndex((e) => e.type === 'persist-acceptor')).to.be.lessThan(first.findIndex((e) => e.type === 'send'));
    expect(replyOf(first)).to.include({ type: 'accepted', ok: true, value: 'commit' });
    const again = acceptor.step({ type: 'receive', message: accept(0, 'obs-a', 'commit'), nowMs: now + 1 });
    expect(persisted(again)).to.equal(false);
    expect(replyOf(again)).to.include({ ok: true });
  });

  it('refuses an ABORT at round 0: only COMMIT is ever proposed there (the presumed-abort argument rests on it)', () => {
    const effects = acceptorAt().step({ type: 'receive', message: accept(0, 'obs-a', 'abort'), nowMs: now });
    expect(persisted(effects)).to.equal(false);
    expect(replyOf(effects)).to.include({ ok: false });
  });

  it('joins a recovery ballot only when strictly higher, and reports the value it accepted', () => {
    const acceptor = acceptorAt();
    acceptor.step({ type: 'receive', message: accept(0, 'obs-a', 'commit'), nowMs: now });
    const promise = acceptor.step({ type: 'receive', message: ballot(1, 'obs-c'), nowMs: now });
    expect(persisted(promise)).to.equal(true);
    expect(replyOf(promise)).to.deep.include({ type: 'promise', ok: true, accepted: { ballot: { round: 0, node: 'obs-a' }, value: 'commit', proof: PROOF } });
    const sameBallot = acceptor.step({ type: 'receive', message: ballot(1, 'obs-c'), nowMs: now });
    expect(replyOf(sameBallot)).to.deep.include({ ok: false, refusal: 'outranked', promised: { round: 1, node: 'obs-c' } });
    const lower = acceptor.step({ type: 'receive', message: ballot(1, 'obs-b'), nowMs: now });
    expect(replyOf(lower)).to.include({ ok: false });
  });

  it('refuses the coordinator\'s late round-0 COMMIT once it promised a recovery ballot', () => {
    const acceptor = acceptorAt();
    acceptor.step({ type: 'receive', message: ballot(1, 'obs-c'), nowMs: now });
    const late = acceptor.step({ type: 'receive', message: accept(0, 'obs-a', 'commit'), nowMs: now });
    expect(persisted(late)).to.equal(false);
    expect(replyOf(late)).to.deep.include({ ok: false, promised: { round: 1, node: 'obs-c' } });
    expect(acceptor.view(T)?.accepted).to.equal(undefined);
  });

  it('never accepts two values at one ballot', () => {
    const acceptor = acceptorAt();
    acceptor.step({ type: 'receive', message: accept(2, 'obs-c', 'abort'), nowMs: now });
    const other = acceptor.step({ type: 'receive', message: accept(2, 'obs-c', 'commit'), nowMs: now });
    expect(replyOf(other)).to.include({ ok: false });
    expect(acceptor.view(T)?.accepted?.value).to.equal('abort');
  });

  it('answers `unknown` and takes no part when its store may have lost the transaction (restored or new)', () => {
    const effects = acceptorAt().step({ type: 'receive', message: ballot(1, 'obs-c'), nowMs: now, knowledge: { complete: false } });
    expect(persisted(effects)).to.equal(false);
    expect(replyOf(effects)).to.include({ ok: false, refusal: 'unknown' });
  });

  it('takes no part, even with a record in memory, in a transaction its restored store may have lost (the record may be stale)', () => {
    const acceptor = new AcceptorCore({ selfId: 'obs-b', retentionMs: 10_000, mayHaveLost: (txId) => txId === T });
    acceptor.restore([{ txId: T, ...members, promised: { round: 0, node: 'obs-a' }, createdAtMs: 0, updatedAtMs: 0 }]);
    const effects = acceptor.step({ type: 'receive', message: ballot(1, 'obs-c'), nowMs: now });
    expect(persisted(effects)).to.equal(false);
    expect(replyOf(effects)).to.include({ ok: false, refusal: 'unknown' });
  });

  it('takes its state from the store when memory forgot it: a forgotten promise still outranks', () => {
    const acceptor = acceptorAt();
    const stored = { txId: T, ...members, promised: { round: 3, node: 'obs-c' }, createdAtMs: 0, updatedAtMs: 0 };
    const effects = acceptor.step({ type: 'receive', message: accept(1, 'obs-b', 'abort'), nowMs: now, knowledge: { complete: true, acceptor: stored } });
    expect(replyOf(effects)).to.include({ ok: false });
  });

  it('ignores a request for a transaction that does not name it as acceptor', () => {
    expect(acceptorAt('obs-d').step({ type: 'receive', message: accept(0, 'obs-a', 'commit'), nowMs: now })).to.deep.equal([]);
  });

  it('forgets records after their retention, oldest first', () => {
    const acceptor = acceptorAt();
    acceptor.step({ type: 'receive', message: accept(0, 'obs-a', 'commit'), nowMs: now });
    acceptor.step({ type: 'tick', nowMs: now + 5_000 });
    expect(acceptor.holds(T)).to.equal(true);
    acceptor.step({ type: 'tick', nowMs: now + 10_001 });
    expect(acceptor.holds(T)).to.equal(false);
  });
});

describe('the leader\'s rules', () => {
  it('orders ballots by round, then by leader', () => {
    expect(compareBallots({ round: 1, node: 'obs-a' }, { round: 0, node: 'obs-z' })).to.be.greaterThan(0);
    expect(compareBallots({ round: 1, node: 'obs-a' }, { round: 1, node: 'obs-b' })).to.be.lessThan(0);
    expect(majorityOf(3)).to.equal(2);
    expect(majorityOf(5)).to.equal(3);
    expect(majorityOf(1)).to.equal(1);
  });

  it('proposes the value of the highest accepted ballot among the promises, and ABORT when none accepted anything', () => {
    expect(valueForced(new Map([['obs-a', undefined], ['obs-b', undefined]]))).to.equal('abort');
    const promises = new Map([
      ['obs-a', { ballot: { round: 0, node: 'obs-a' }, value: 'commit' as const }],
      ['obs-b', { ballot: { round: 2, node: 'obs-c' }, value: 'abort' as const }],
    ]);
    expect(valueForced(promises)).to.equal('abort');
    expect(valueForced(new Map([['obs-a', { ballot: { round: 0, node: 'obs-a' }, value: 'commit' as const }], ['obs-b', undefined]]))).to.equal('commit');
  });
});

describe('AcceptorCore and leaders: COMMIT only with its coordinator\'s proof (docs/PROTOCOL.md §20, "Commit proofs")', () => {
  const now = 1000;
  const acceptorAt = (self: NodeId = 'obs-b') => new AcceptorCore({ selfId: self, retentionMs: 10_000 });

  it('refuses COMMIT without its coordinator\'s proof at any ballot, and a proof made for other members: nothing written, refusal `unproven`', () => {
    const acceptor = acceptorAt();
    for (const message of [accept(0, 'obs-a', 'commit', null), accept(3, 'obs-c', 'commit', null), accept(3, 'obs-c', 'commit', UNSIGNED_COMMIT_PROOFS.sign({ txId: T, participants: ['obs-c'], acceptors: members.acceptors }))]) {
      const effects = acceptor.step({ type: 'receive', message, nowMs: now });
      expect(persisted(effects), JSON.stringify(message)).to.equal(false);
      expect(replyOf(effects)).to.include({ ok: false, refusal: 'unproven' });
    }
    expect(acceptor.view(T)?.accepted).to.equal(undefined);
    expect(replyOf(acceptor.step({ type: 'receive', message: accept(3, 'obs-c', 'abort'), nowMs: now }))).to.include({ ok: true, value: 'abort' });
  });

  it('a recovery leader carries the proof a promise reported into its COMMIT, and counts a COMMIT reported without one as nothing accepted (then proposes ABORT)', () => {
    const proven = startRecovery({ txId: T, ...members }, 'obs-b', undefined, now).run;
    onAcceptorReply(T, proven, { type: 'promise', txId: T, from: 'obs-a', ballot: proven.ballot, ok: true, accepted: { ballot: { round: 0, node: 'obs-a' }, value: 'commit', proof: PROOF } }, 'obs-b');
    const sent = onAcceptorReply(T, proven, { type: 'promise', txId: T, from: 'obs-c', ballot: proven.ballot, ok: true }, 'obs-b').effects;
    expect(proven.value).to.equal('commit');
    expect(sent.map((e) => (e.type === 'send' ? (e.message as AcceptMessage).proof : undefined))).to.deep.equal([PROOF, PROOF, PROOF]);
    const lied = startRecovery({ txId: T, ...members }, 'obs-b', undefined, now).run;
    const audit = onAcceptorReply(T, lied, { type: 'promise', txId: T, from: 'obs-c', ballot: lied.ballot, ok: true, accepted: { ballot: { round: 7, node: 'obs-c' }, value: 'commit' } }, 'obs-b').effects;
    expect(audit.map((e) => e.type === 'audit' && e.event)).to.deep.equal(['TX_UNPROVEN_COMMIT']);
    onAcceptorReply(T, lied, { type: 'promise', txId: T, from: 'obs-a', ballot: lied.ballot, ok: true }, 'obs-b');
    expect(lied.value).to.equal('abort');
  });
});
