// Signing and checking the messages between observatories (docs/SECURITY.md): requests are
// signed by their sender, answers by the observatory that answers, with the secret of the
// pair; the receiver checks the signature, the digest, the clock skew and the nonce.
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

  /** Headers that sign a request to `to`. */
  signRequest(to: string, method: string, target: string, body: string): Record<string, string> {
    const secret = this.security.secrets.signingSecretOf(to);
    if (!secret) throw new SignatureError(`no secret shared with ${to}`);
    return { ...signRequest({ method, target, body }, this.selfId, secret, this.nowS()) };
  }

  /** Checks that an answer comes from `from` and answers this very request; throws SignatureError. */
  verifyAnswer(from: string, request: OutgoingRequest, answer: { status: number; headers: IncomingHttpHeaders; body: Buffer }): void {
    verifyResponse({ status: answer.status, headers: answer.headers, body: answer.body }, request, from, this.options());
  }

  /** Checks an incoming request; returns the observatory that signed it. Throws SignatureError. */
  verifyIncoming(request: SignedRequest): string {
    const verified = verifyRequest(request, this.options());
    if (!this.security.nonces.remember(verified.keyId, verified.nonce, this.nowS())) {
      throw new SignatureError('this signature was already used (a replayed request)');
    }
    return verified.keyId;
  }

  /** Headers that sign our answer to a request from `to`. */
  signAnswer(to: string, request: SignedRequest, status: number, body: string): Record<string, string> {
    const secret = this.security.secrets.signingSecretOf(to);
    if (!secret) return {};
    return { ...signResponse({ status, body }, request, this.selfId, secret, this.nowS()) };
  }

  private options() {
    return { secretsOf: (id: string) => this.security.secrets.secretsOf(id), nowS: this.nowS(), maxSkewS: this.security.maxSkewS };
  }

  private nowS(): number {
    return Math.floor(this.nowMs() / 1000);
  }
}
