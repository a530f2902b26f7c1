// Where a booking's credential comes from (docs/SECURITY.md, "Credentials"): the coordinator
// that is the scientist's home issues it itself; any other coordinator asks the home with a
// signed POST /federation/v1/credentials carrying the scientist's own API token, which only
// the home checks (its issuer). The participant side is checkBookingCredential.
import { z } from 'zod';
import type { BookingServiceDeps, CredentialRequest } from '../bookings/booking-service.js';
import type { PeerClient } from '../federation/peer-client.js';
import { validate } from '../http/body.js';
import { HttpProblem, type ProblemBody } from '../http/problem.js';
import type { Loggers } from '../logging/logger.js';
import { CredentialError, issueCredential, verifyCredential, type PartItem } from './booking-credentials.js';
import type { NodeSecurity } from './node-security.js';

export { CREDENTIAL_BATCH_PATH, CREDENTIALS_PATH } from '../federation/credential-batcher.js';

export const CredentialAsk = z.strictObject({
  scientistId: z.string().min(1).max(100),
  bookingId: z.string().min(1).max(100),
  parts: z.record(z.string().max(64), z.string().max(64)).refine((p) => Object.keys(p).length >= 1 && Object.keys(p).length <= 16, '1 to 16 parts'),
  token: z.string().min(1).max(200),
});

export interface CredentialDeps {
  selfId: string;
  security: NodeSecurity;
  /** Scientist → home observatory (seeds/scientists.json `institution`). */
  homes: Map<string, string>;
  peers: PeerClient;
  nowMs: () => number;
  ttlS: number;
  /** How long a coordinator keeps asking the home for a credential (PREPARE_TIMEOUT_MS: the same budget as a prepare). */
  deadlineMs: number;
  loggers: Loggers;
}

/** The coordinator's side: a credential for a booking it is about to prepare. */
export function credentialSource(deps: CredentialDeps): BookingServiceDeps['credentialFor'] {
  return async (request: CredentialRequest) => {
    const home = deps.homes.get(request.scientistId);
    if (!home) throw new HttpProblem('unprocessable-booking', `unknown scientist ${request.scientistId}`);
    if (home === deps.selfId) return issue(deps, request);
    if (!request.token) throw new HttpProblem('forbidden', `${request.scientistId}'s home observatory ${home} vouches only for a request carrying ${request.scientistId}'s own API token`);
    let answer;
    try {
      answer = await deps.peers.requestCredential(home, { scientistId: request.scientistId, bookingId: request.bookingId, parts: request.parts, token: request.token }, deps.nowMs() + deps.deadlineMs);
    } catch (error) {
      throw new HttpProblem('observatory-unavailable', `the booking was not made: ${request.scientistId}'s home observatory ${home}, which must vouch for it, did not answer (${(error as Error).message})`, { unavailableObservatories: [home] }, { 'Retry-After': '5' });
    }
    const credential = (answer.data as { credential?: unknown }).credential;
    const detail = (answer.data as { detail?: string }).detail ?? `status ${answer.status}`;
    if (answer.status === 200 && typeof credential === 'string') return credential;
    if (answer.status === 403) throw new HttpProblem('forbidden', `${home} would not vouch for this booking of ${request.scientistId}: ${detail}`);
    // Anything else (starting, overloaded, an unexpected answer) says nothing about the scientist: try again later.
    throw new HttpProblem('observatory-unavailable', `the booking was not made: ${request.scientistId}'s home observatory ${home}, which must vouch for it, answered ${answer.status} (${detail})`, { unavailableObservatories: [home] }, { 'Retry-After': '5' });
  };
}

/** The home's side (POST /federation/v1/credentials, signed by a member): vouch for its own scientist who shows their token. */
export function vouch(deps: CredentialDeps, ask: z.infer<typeof CredentialAsk>, askedBy: string): { credential: string } {
  const principal = deps.security.tokens.principalOf(ask.token);
  const refuse = (why: string) => {
    deps.loggers.audit.event('CREDENTIAL_REFUSED', { scientistId: ask.scientistId, bookingId: ask.bookingId, askedBy, reason: why });
    return new HttpProblem('forbidden', why);
  };
  if (deps.homes.get(ask.scientistId) !== deps.selfId) throw refuse(`${deps.selfId} vouches only for its own scientists; ${ask.scientistId} is not one`);
  if (principal?.kind !== 'scientist' || principal.scientistId !== ask.scientistId) throw refuse(`the token shown is not ${ask.scientistId}'s API token`);
  if (ask.bookingId.split('.')[0] !== askedBy) throw refuse(`${askedBy} may ask only for a booking it coordinates, not ${ask.bookingId}`);
  deps.loggers.audit.event('CREDENTIAL_ISSUED', { scientistId: ask.scientistId, bookingId: ask.bookingId, askedBy, parts: Object.keys(ask.parts) });
  return { credential: issue(deps, ask) };
}

/** A batch of credential requests (POST /federation/v1/credentials/batch): each one checked and answered on its own. */
export function credentialBatchSchema(asksMax: number) {
  return z.strictObject({ asks: z.array(z.unknown()).min(1).max(asksMax) });
}

/**
 * Every request of a batch gets exactly the checks of the single endpoint and its own answer:
 * `{credential}` or the problem that endpoint would have answered. One bad request (a forged
 * token, another member's booking, a malformed entry) is refused alone; the others go on.
 */
export function vouchBatch(deps: CredentialDeps, asks: unknown[], askedBy: string): { answers: Array<{ credential: string } | ProblemBody> } {
  const answers = asks.map((raw, index) => {
    try {
      return vouch(deps, validate(CredentialAsk, raw, `asks.${index}`), askedBy);
    } catch (error) {
      if (error instanceof HttpProblem) return error.body();
      deps.loggers.app.error(`credential request ${index} from ${askedBy} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      return new HttpProblem('internal-error', 'the node could not handle this credential request; it has been logged').body();
    }
  });
  return { answers };
}

function issue(deps: CredentialDeps, request: { scientistId: string; bookingId: string; parts: Record<string, string> }): string {
  const iat = Math.floor(deps.nowMs() / 1000);
  return issueCredential(deps.security.keyRing, { sub: request.scientistId, bkg: request.bookingId, parts: request.parts, iat, exp: iat + deps.ttlS });
}

/**
 * The participant's side, for a booking's prepare from another member: the scientist's home
 * vouches for exactly this booking and these items. Audits who vouched, or why it is refused (403).
 */
export function checkBookingCredential(deps: Pick<CredentialDeps, 'selfId' | 'security' | 'homes' | 'nowMs' | 'ttlS' | 'loggers'>, txId: string, part: { bookingId: string; scientistId: string; items: PartItem[]; credential?: string | undefined }, coordinator: string): void {
  const home = deps.homes.get(part.scientistId);
  try {
    if (!home) throw new CredentialError(`unknown scientist ${part.scientistId}`);
    const { claims, keyId } = verifyCredential(part.credential, { scientistId: part.scientistId, home, bookingId: part.bookingId, selfId: deps.selfId, items: part.items }, deps.security.keyRing, Math.floor(deps.nowMs() / 1000), { ttlMaxS: deps.ttlS, skewS: deps.security.maxSkewS });
    deps.loggers.audit.event('CREDENTIAL_ACCEPTED', { bookingId: part.bookingId, scientistId: part.scientistId, vouchedBy: claims.iss, keyId, coordinator }, { txId });
  } catch (error) {
    if (!(error instanceof CredentialError)) throw error;
    deps.loggers.audit.event('CREDENTIAL_REFUSED', { bookingId: part.bookingId, scientistId: part.scientistId, home: home ?? null, coordinator, reason: error.message }, { txId });
    throw new HttpProblem('forbidden', `no valid credential for this booking: ${error.message}`);
  }
}
