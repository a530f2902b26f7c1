// The two encodings of a compact JWS (RFC 7515) our tokens share: scientists' credentials
// (booking-credentials.ts) and Paxos Commit's commit proofs (federation/commit-proofs.ts).

/** base64url of the UTF-8 text: one segment of a compact JWS. */
export function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** The JSON in one base64url segment, or undefined when it is not JSON. */
export function parseJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}
