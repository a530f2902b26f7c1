// The coordinator's commit proof, signed and checked with the membership's Ed25519 keys
// (docs/PROTOCOL.md §20, "Commit proofs"; coordinator-2pc/src/commit-proof.ts says why). A
// compact JWS (RFC 7515, alg EdDSA per RFC 8037) like the scientists' credentials:
//   header  {"alg":"EdDSA","typ":"commit-proof+jws","kid":"<coordinator>:<label>"}
//   payload {"txId", "value":"commit", "participants":[...], "acceptors":[...]}
// A proof is valid when its key is one the membership lists for the transaction's coordinator
// (the first part of the id) and its payload names exactly the transaction and members asked
// about. It does not expire: a decision stays proven for as long as the key stays listed.
import { sign, verify } from 'node:crypto';
import { z } from 'zod';
import type { CommitProofs, ProofSubject } from '../../../coordinator-2pc/src/index.js';
import type { KeyRing } from '../security/key-ring.js';
import { b64, parseJson } from '../security/compact-jws.js';

export const COMMIT_PROOF_TYPE = 'commit-proof+jws';

const Header = z.strictObject({ alg: z.literal('EdDSA'), typ: z.literal(COMMIT_PROOF_TYPE), kid: z.string().min(1).max(100) });
const Payload = z.strictObject({ txId: z.string(), value: z.literal('commit'), participants: z.array(z.string()), acceptors: z.array(z.string()) });

/** Why a proof does not hold, or undefined when it does (the admission names it in its 403). */
export function commitProofFault(ring: KeyRing, subject: ProofSubject, proof: string | undefined): string | undefined {
  return judge(ring, subject, proof).fault;
}

/** `unjudgeable`: signed with a key id of the coordinator that the membership no longer lists (retired). */
function judge(ring: KeyRing, subject: ProofSubject, proof: string | undefined): { fault?: string; unjudgeable?: boolean } {
  const coordinator = subject.txId.split('.')[0]!;
  if (proof === undefined) return { fault: `COMMIT of ${subject.txId} carries no proof of its coordinator ${coordinator}` };
  const [h, p, s, ...rest] = proof.split('.');
  if (!h || !p || !s || rest.length > 0) return { fault: 'the commit proof is not a compact JWS' };
  const header = Header.safeParse(parseJson(h));
  const payload = Payload.safeParse(parseJson(p));
  if (!header.success || !payload.success) return { fault: `the commit proof's ${header.success ? 'payload' : 'header'} is not as docs/PROTOCOL.md §20 describes` };
  const known = ring.known(header.data.kid);
  const notTheCoordinators = `the commit proof is signed with key "${header.data.kid}", not a key of ${subject.txId}'s coordinator ${coordinator}`;
  if (!known) return { fault: notTheCoordinators, unjudgeable: header.data.kid.startsWith(`${coordinator}:`) };
  if (known.observatoryId !== coordinator) return { fault: notTheCoordinators };
  if (!verify(null, Buffer.from(`${h}.${p}`, 'ascii'), known.publicKey, Buffer.from(s, 'base64url'))) return { fault: 'the commit proof\'s signature does not match' };
  const signed = payload.data;
  const same = signed.txId === subject.txId && sameList(signed.participants, subject.participants) && sameList(signed.acceptors, subject.acceptors);
  return same ? {} : { fault: `the commit proof was signed for other members or another transaction than ${subject.txId}` };
}

/** The node's CommitProofs: signs with its own key, checks against the ring read anew at each use (keys rotate). */
export function ed25519CommitProofs(ring: () => KeyRing): CommitProofs {
  return {
    sign(subject) {
      const key = ring().signing;
      if (!key) throw new Error(`${ring().selfId} has no signing key to prove its commit`);
      const header = b64(JSON.stringify({ alg: 'EdDSA', typ: COMMIT_PROOF_TYPE, kid: key.keyId }));
      const payload = b64(JSON.stringify({ txId: subject.txId, value: 'commit', participants: subject.participants, acceptors: subject.acceptors }));
      return `${header}.${payload}.${sign(null, Buffer.from(`${header}.${payload}`, 'ascii'), key.privateKey).toString('base64url')}`;
    },
    verify: (subject, proof) => judge(ring(), subject, proof).fault === undefined,
    forged: (subject, proof) => {
      const { fault, unjudgeable } = judge(ring(), subject, proof);
      return fault !== undefined && !unjudgeable;
    },
  };
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

