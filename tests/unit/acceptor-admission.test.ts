// What another member may ask of this node's acceptor (docs/PROTOCOL.md §20, docs/SECURITY.md):
// every rule of federation/acceptor-admission.ts, each refusal naming it.
import { expect } from 'chai';
import type { AcceptMessage, BallotMessage } from '../../coordinator-2pc/src/index.js';
import { checkAcceptorRequest } from '../../federation-node/src/federation/acceptor-admission.js';
import { HttpProblem } from '../../federation-node/src/http/problem.js';
import { generateKeyPairSync } from 'node:crypto';
import { ed25519CommitProofs } from '../../federation-node/src/federation/commit-proofs.js';
import type { KeyRing } from '../../federation-node/src/security/key-ring.js';
import type { NodeParts } from '../../federation-node/src/node-parts.js';

/** Real Ed25519 keys for atacama (the coordinator) and mauna-kea (a participant), as the membership lists them. */
const keys = new Map(['atacama', 'mauna-kea', 'la-palma'].map((id) => [id, generateKeyPairSync('ed25519')]));
const ringOf = (selfId: string) => ({
  selfId,
  signing: { keyId: `${selfId}:k1`, privateKey: keys.get(selfId)!.privateKey },
  known: (kid: string) => { const id = kid.split(':')[0]!; return keys.has(id) ? { observatoryId: id, publicKey: keys.get(id)!.publicKey } : undefined; },
}) as unknown as KeyRing;
const audited: Array<Record<string, unknown>> = [];
const parts = {
  directory: { selfId: 'la-palma', members: new Map(['atacama', 'mauna-kea', 'la-palma', 'paranal'].map((id) => [id, {}])) },
  security: { keyRing: ringOf('la-palma') },
  loggers: { audit: { event: (event: string, details: Record<string, unknown>) => audited.push({ event, ...details }) } },
} as unknown as NodeParts;
const TX = 'atacama.mx5aaaaa_i1_abcdefgh';
const members = { participants: ['mauna-kea', 'la-palma'], acceptors: ['atacama', 'mauna-kea', 'la-palma'] };
const PROOF = ed25519CommitProofs(() => ringOf('atacama')).sign({ txId: TX, ...members });

function accept(from: string, round: number, value: 'commit' | 'abort' = 'commit', extra: Partial<AcceptMessage> = {}): AcceptMessage {
  return { type: 'accept', txId: TX, from, ballot: { round, node: from }, value, ...members, ...(value === 'commit' ? { proof: PROOF } : {}), ...extra };
}

function refusal(run: () => unknown): { status: number; detail: string; rule: unknown } {
  try {
    run();
  } catch (error) {
    if (error instanceof HttpProblem) return { status: error.status, detail: error.detail, rule: error.extensions.rule };
    throw error;
  }
  throw new Error('accepted');
}

describe('acceptor admission: what a member may ask of this node\'s acceptor', () => {
  it('admits the coordinator\'s round-0 COMMIT and a participant\'s recovery ballot', () => {
    expect(checkAcceptorRequest(parts, accept('atacama', 0), 'atacama').ballot.round).to.equal(0);
    const ballot: BallotMessage = { type: 'ballot', txId: TX, from: 'mauna-kea', ballot: { round: 3, node: 'mauna-kea' }, ...members };
    expect(checkAcceptorRequest(parts, ballot, 'mauna-kea').type).to.equal('ballot');
  });

  it('refuses round 0 from anyone but the coordinator, and an ABORT at round 0', () => {
    expect(refusal(() => checkAcceptorRequest(parts, accept('mauna-kea', 0), 'mauna-kea'))).to.deep.include({ status: 403 });
    expect(refusal(() => checkAcceptorRequest(parts, accept('atacama', 0, 'abort'), 'atacama')).detail).to.contain('only COMMIT');
  });

  it('refuses a recovery ballot led by a member that is neither participant nor coordinator', () => {
    expect(refusal(() => checkAcceptorRequest(parts, accept('paranal', 2), 'paranal'))).to.deep.include({ status: 403 });
  });

  it('refuses a ballot led in another member\'s name, or signed by someone else', () => {
    expect(refusal(() => checkAcceptorRequest(parts, { ...accept('mauna-kea', 2), ballot: { round: 2, node: 'atacama' } }, 'mauna-kea')).detail).to.contain('only its own ballots');
    expect(refusal(() => checkAcceptorRequest(parts, accept('mauna-kea', 2), 'atacama')).detail).to.contain('signed by atacama');
  });

  it('refuses a transaction that does not name this node as acceptor, and acceptor lists that break the rules', () => {
    expect(refusal(() => checkAcceptorRequest(parts, accept('mauna-kea', 2, 'abort', { acceptors: ['atacama', 'mauna-kea', 'paranal'] }), 'mauna-kea')).detail).to.contain('not an acceptor');
    expect(refusal(() => checkAcceptorRequest(parts, accept('mauna-kea', 2, 'abort', { acceptors: ['mauna-kea', 'atacama', 'la-palma'] }), 'mauna-kea')).detail).to.contain('first acceptor is the coordinator');
    expect(refusal(() => checkAcceptorRequest(parts, accept('mauna-kea', 2, 'abort', { acceptors: ['atacama', 'la-palma', 'la-palma'] }), 'mauna-kea')).detail).to.contain('appears once');
    expect(refusal(() => checkAcceptorRequest(parts, accept('mauna-kea', 2, 'abort', { acceptors: ['atacama', 'la-palma', 'stranger'] }), 'mauna-kea')).detail).to.contain('not members');
  });

  it('admits COMMIT at a recovery round with the coordinator\'s proof, and refuses it without one, with a forged or another member\'s signature, or with a proof of other members (rule commit-proof, audited)', () => {
    expect(checkAcceptorRequest(parts, accept('mauna-kea', 4), 'mauna-kea').value).to.equal('commit');
    const forgedByParticipant = ed25519CommitProofs(() => ringOf('mauna-kea')).sign({ txId: TX, ...members });
    const [h, p] = PROOF.split('.');
    const otherMembers = ed25519CommitProofs(() => ringOf('atacama')).sign({ txId: TX, participants: ['la-palma'], acceptors: members.acceptors });
    for (const [proof, says] of [[undefined, 'carries no proof'], [forgedByParticipant, 'not a key of'], [`${h}.${p}.${'A'.repeat(86)}`, 'does not match'], [otherMembers, 'other members'], ['x', 'not a compact JWS']] as const) {
      const message = { ...accept('mauna-kea', 4), ...(proof ? { proof } : {}) };
      if (!proof) delete message.proof;
      const refused = refusal(() => checkAcceptorRequest(parts, message, 'mauna-kea'));
      expect(refused, String(proof)).to.deep.include({ status: 403, rule: 'commit-proof' });
      expect(refused.detail).to.contain(says);
    }
    expect(audited.filter((a) => a.event === 'ACCEPTOR_REQUEST_REFUSED' && a.rule === 'commit-proof')).to.have.length(5);
  });

  it('a recovery leader takes a proof made with a key of the coordinator no longer listed (retired) as unjudgeable, never as a lie; a missing or another member\'s proof as a lie', () => {
    const subject = { txId: TX, ...members };
    const atLaPalma = ed25519CommitProofs(() => ringOf('la-palma'));
    expect(atLaPalma.verify(subject, PROOF)).to.equal(true);
    expect(atLaPalma.forged(subject, PROOF)).to.equal(false);
    expect(atLaPalma.forged(subject, undefined)).to.equal(true);
    expect(atLaPalma.forged(subject, ed25519CommitProofs(() => ringOf('mauna-kea')).sign(subject))).to.equal(true);
    const base = ringOf('la-palma');
    const retired = { ...base, selfId: 'la-palma', known: (kid: string) => (kid.startsWith('atacama:') ? undefined : base.known(kid)) } as unknown as KeyRing;
    const afterRetirement = ed25519CommitProofs(() => retired);
    expect(afterRetirement.verify(subject, PROOF), 'an acceptor accepts nothing it cannot check').to.equal(false);
    expect(afterRetirement.forged(subject, PROOF), 'but a leader does not call it a lie').to.equal(false);
  });
});
