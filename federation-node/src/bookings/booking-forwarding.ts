// A booking coordinated by another observatory, asked for here: the request is passed on to
// its coordinator as a signed node-to-node call that names the principal this node verified
// — never with the caller's bearer token (docs/SECURITY.md, "Forwarded requests"). This node
// vouches only for principals it is entitled to vouch for (its own scientists, its own
// operator); anyone else is redirected to the coordinator and decides there what to send.
// When a cancellation was passed on but no answer came back, its outcome is unknown, and the
// answer says so (504, outcome "unknown", where to look) instead of claiming nothing changed.
import type { NodeParts } from '../node-parts.js';
import { PeerCallError } from '../federation/peer-client.js';
import { describePrincipal, toAssertion, whyNotEntitled, type HomeOf } from '../federation/principal-assertions.js';
import { HttpProblem } from '../http/problem.js';
import type { Principal } from '../security/principals.js';

export type ForwardedAnswer =
  | { kind: 'answer'; status: number; contentType: string; body: unknown }
  | { kind: 'redirect'; location: string; body: { detail: string; _links: Record<string, { href: string }> } };

export class BookingForwarder {
  constructor(
    private readonly parts: NodeParts,
    private readonly homeOf: HomeOf,
  ) {}

  async forward(method: 'GET' | 'DELETE', bookingId: string, coordinator: string, principal: Principal): Promise<ForwardedAnswer> {
    const { directory, config } = this.parts;
    const bookingUrl = `${directory.members.get(coordinator)!.url}/bookings/${encodeURIComponent(bookingId)}`;
    const whyNot = await whyNotEntitled(directory.selfId, principal, this.homeOf);
    if (whyNot) {
      const detail = `booking ${bookingId} is coordinated by ${coordinator}; ${directory.selfId} cannot ask it on behalf of ${describePrincipal(principal)} (${whyNot}): ask ${coordinator} directly, or your home observatory`;
      return { kind: 'redirect', location: bookingUrl, body: { detail, _links: { booking: { href: bookingUrl } } } };
    }
    const path = `/bookings/${encodeURIComponent(bookingId)}?${new URLSearchParams(toAssertion(principal)).toString()}`;
    try {
      const answer = await this.parts.peers.call(coordinator, method, path, config.FORWARDED_REQUEST_TIMEOUT_MS);
      if (method === 'DELETE') this.audit('BOOKING_CANCEL_FORWARDED', { bookingId, coordinator, principal: describePrincipal(principal), status: answer.status });
      return { kind: 'answer', status: answer.status, contentType: answer.contentType, body: answer.data };
    } catch (error) {
      throw this.failure(method, bookingId, coordinator, bookingUrl, principal, error);
    }
  }

  /** 503 when the coordinator cannot have acted (a read, or a request that never left); 504 "unknown" otherwise. */
  private failure(method: 'GET' | 'DELETE', bookingId: string, coordinator: string, bookingUrl: string, principal: Principal, error: unknown): HttpProblem {
    const why = error instanceof Error ? error.message : String(error);
    const delivered = !(error instanceof PeerCallError) || error.delivered;
    if (method === 'GET' || !delivered) {
      const detail = method === 'GET'
        ? `booking ${bookingId} is coordinated by ${coordinator}, which did not answer: ${why}`
        : `booking ${bookingId} is coordinated by ${coordinator}; the cancellation could not be sent (${why}) and nothing was changed: try again later`;
      return new HttpProblem('observatory-unavailable', detail, { unavailableObservatories: [coordinator] }, { 'Retry-After': '5' });
    }
    this.audit('BOOKING_CANCEL_FORWARDED', { bookingId, coordinator, principal: describePrincipal(principal), outcome: 'unknown', reason: why });
    const timeoutMs = this.parts.config.FORWARDED_REQUEST_TIMEOUT_MS;
    const detail = `booking ${bookingId} is coordinated by ${coordinator}; the cancellation was passed on to it, but no answer came back (${why}; FORWARDED_REQUEST_TIMEOUT_MS is ${timeoutMs} ms): it may or may not have been cancelled. GET the booking to find out; sending the DELETE again is safe (409 if it is already cancelled)`;
    return new HttpProblem('outcome-unknown', detail, { outcome: 'unknown', bookingId, coordinator, _links: { booking: { href: bookingUrl } } }, { 'Retry-After': '5' });
  }

  private audit(event: string, details: Record<string, unknown>): void {
    this.parts.loggers.audit.event(event, details);
  }
}

/** Each scientist's home observatory, from this node's scientists table (seeds/scientists.json). */
export function homesFromScientistsTable(parts: Pick<NodeParts, 'database'>): HomeOf {
  return async (scientistId) => {
    const rows = (await parts.database.reader.query('SELECT institution FROM scientists WHERE id = ?', [scientistId])) as Array<{ institution: string }>;
    return rows[0]?.institution;
  };
}
