// Signing and checking the messages between observatories (docs/SECURITY.md): requests are
// signed by their sender, answers by the observatory that answers, each with its own Ed25519
// key; the receiver checks the signature against the membership's public keys, the digest,
// the clock skew and the nonce.
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureError, signRequest, signResponse, verifyRequest, verifyResponse, type SignedRequest } from './message-signatures.js';
import type { NodeSecurity } from './node-security.js';

export interface OutgoingRequest {
  method: string;
  target: string;
  body: string;
  headers: Record<string, string>;
}

export class PeerAuthenticator {
  constructor(
    private readonly selfId: string,
    private readonly security: NodeSecurity,
    /** The federation clock, in milliseconds: signatures are timed on it. */
    private readonly nowMs: () => number,
  ) {}

  /** Headers that sign a request (to any member: one key signs for all of them). */
  signRequest(_to: string, method: string, target: string, body: string): Record<string, string> {
    const key = this.signingKey();
    return { ...signRequest({ method, target, body }, key.keyId, key.privateKey, this.nowS()) };
  }

  /** Checks that an answer comes from `from` and answers this very request; throws SignatureError. */
  verifyAnswer(from: string, request: OutgoingRequest, answer: { status: number; headers: IncomingHttpHeaders; body: Buffer }, anyTime = false): void {
    verifyResponse({ status: answer.status, headers: answer.headers, body: answer.body }, request, from, this.options(anyTime));
  }

  /**
   * Checks an incoming request; returns the observatory that signed it. Throws SignatureError.
   * `anyTime`: no signature time window (the clock reference's time request, where the clocks
   * are what is measured); the nonce is still used once.
   */
  verifyIncoming(request: SignedRequest, anyTime = false): string {
    const verified = verifyRequest(request, this.options(anyTime));
    if (!this.security.nonces.remember(verified.observatoryId, verified.nonce, this.nowS())) {
      throw new SignatureError('this signature was already used (a replayed request)');
    }
    return verified.observatoryId;
  }

  /** Headers that sign our answer to a request from `to`. */
  signAnswer(_to: string, request: SignedRequest, status: number, body: string): Record<string, string> {
    const key = this.signingKey();
    return { ...signResponse({ status, body }, request, key.keyId, key.privateKey, this.nowS()) };
  }

  /** The key id this node signs with now. */
  get keyId(): string {
    return this.signingKey().keyId;
  }

  private signingKey() {
    const key = this.security.keyRing.signing;
    if (!key) throw new SignatureError(`${this.selfId} has no signing key`);
    return key;
  }

  private options(anyTime = false) {
    const ring = this.security.keyRing; // one ring for the whole check, even if a reload replaces it meanwhile
    return { keyOf: (keyId: string) => ring.known(keyId), nowS: this.nowS(), maxSkewS: anyTime ? Number.POSITIVE_INFINITY : this.security.maxSkewS };
  }

  private nowS(): number {
    return Math.floor(this.nowMs() / 1000);
  }
}
