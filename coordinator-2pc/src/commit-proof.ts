// The coordinator's proof that it proposed COMMIT (docs/PROTOCOL.md §20, "Commit proofs"). In
// Paxos Commit a free instance is decided ABORT, and COMMIT comes from one place only: the
// coordinator's round 0, after every participant voted yes. An acceptor cannot see a recovery
// leader's phase 1, so "the promises forced COMMIT" is a claim it cannot check; the coordinator's
// signature is something it can. The cores sign and check through this port (pure: no keys,
// no I/O here); the node wires Ed25519 with the membership's keys.
import type { CommitProof, NodeId, TxId } from './messages.js';

/** What a proof binds: the transaction, and the members it was proposed with. */
export interface ProofSubject {
  txId: TxId;
  participants: NodeId[];
  acceptors: NodeId[];
}

export interface CommitProofs {
  /** This node, as the coordinator of `subject.txId`, proves that it proposes COMMIT. */
  sign(subject: ProofSubject): CommitProof;
  /** True when `proof` is the coordinator's (the first part of the id) for exactly this subject. */
  verify(subject: ProofSubject, proof: CommitProof | undefined): boolean;
  /**
   * True when `proof` is shown false: absent, malformed, signed by a key of another member, or a
   * signature that does not hold. False when valid, and when its key is one of the coordinator's
   * that the membership no longer lists: a retired key cannot be judged, and a recovery leader
   * must not take an honest COMMIT for a lie (that could choose ABORT after COMMIT was chosen).
   */
  forged(subject: ProofSubject, proof: CommitProof | undefined): boolean;
}

/** The signed text: one line per field, so that no two subjects share it. */
export function proofText(subject: ProofSubject): string {
  return ['ofed-commit-proof/1', subject.txId, 'commit', subject.participants.join(','), subject.acceptors.join(',')].join('\n');
}

/**
 * Proofs without keys, for the unit tests and the simulator (no member there misbehaves): the
 * subject's text itself. It checks that every leader carries the proof where the protocol says;
 * it proves nothing against a forger.
 */
export const UNSIGNED_COMMIT_PROOFS: CommitProofs = {
  sign: (subject) => `unsigned:${proofText(subject)}`,
  verify: (subject, proof) => proof === `unsigned:${proofText(subject)}`,
  forged: (subject, proof) => proof !== `unsigned:${proofText(subject)}`,
};
