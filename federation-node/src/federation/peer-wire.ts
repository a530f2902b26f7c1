// The wire vocabulary between observatories that both the peer client and the HTTP routes
// use: the federation API's paths and headers, and the error of a failed exchange.
export const FEDERATION_PREFIX = '/federation/v1';
export const BATCH_PATH = '/messages';
export const TIME_PATH = '/time';
/** The instant (epoch ms, federation clock) a sender stops waiting for its request; a receiver drops it unread after that. */
export const REQUEST_DEADLINE_HEADER = 'federation-request-deadline';

/** A failed exchange; `delivered`: the request had been written out, so the peer may have acted on it. */
export class PeerCallError extends Error {
  override name = 'PeerCallError';
  constructor(message: string, readonly delivered: boolean) {
    super(message);
  }
}
