// Rate limits that fit a federation (docs/SECURITY.md, "Limits"):
// - probes (/health, /ready) are never limited: an orchestrator or a peer must always learn
//   whether a node is up, however busy its address is;
// - signed requests between observatories (/federation/v1/…) are limited per verified
//   observatory (RATE_LIMIT_PER_PEER_PER_MINUTE), never by address: public traffic from the
//   address a peer shares (loopback, a NAT) cannot starve the protocol;
// - requests to /federation/v1 that fail the signature check are counted per address in a
//   budget of their own (RATE_LIMIT_PER_ADDRESS_PER_MINUTE); past it, that address is refused
//   before any signature is checked, for the rest of the minute;
// - everything else is limited per client address (behind TRUSTED_PROXIES: the client's own)
//   and per API token.
// Every refusal is 429 with Retry-After; the first refusal of a key in each window is audited.
import type { Context, Next } from 'koa';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config/config.js';
import { FEDERATION_PREFIX } from '../federation/peer-client.js';
import type { AuditLogger } from '../logging/logger.js';
import type { Principal } from '../security/principals.js';
import { HttpProblem } from './problem.js';

export const PROBE_PATHS: ReadonlySet<string> = new Set(['/health', '/ready']);
const WINDOW_S = 60;

type LimitConfig = Pick<Config, 'RATE_LIMIT_PER_TOKEN_PER_MINUTE' | 'RATE_LIMIT_PER_ADDRESS_PER_MINUTE' | 'RATE_LIMIT_PER_PEER_PER_MINUTE'>;

export class EdgeRateLimits {
  private readonly byAddress: RateLimiterMemory;
  private readonly byToken: RateLimiterMemory;
  private readonly byPeer: RateLimiterMemory;
  private readonly badSignaturesByAddress: RateLimiterMemory;

  constructor(
    private readonly limits: LimitConfig,
    private readonly audit: AuditLogger,
  ) {
    this.byAddress = new RateLimiterMemory({ points: limits.RATE_LIMIT_PER_ADDRESS_PER_MINUTE, duration: WINDOW_S });
    this.byToken = new RateLimiterMemory({ points: limits.RATE_LIMIT_PER_TOKEN_PER_MINUTE, duration: WINDOW_S });
    this.byPeer = new RateLimiterMemory({ points: limits.RATE_LIMIT_PER_PEER_PER_MINUTE, duration: WINDOW_S });
    this.badSignaturesByAddress = new RateLimiterMemory({ points: limits.RATE_LIMIT_PER_ADDRESS_PER_MINUTE, duration: WINDOW_S });
  }

  /**
   * Middleware for every request of the app, after authentication (ctx.state.principal):
   * it tells probes, signed traffic and public traffic apart by path.
   */
  publicTraffic() {
    return async (ctx: Context, next: Next): Promise<void> => {
      if (PROBE_PATHS.has(ctx.path)) return next();
      if (ctx.path === FEDERATION_PREFIX || ctx.path.startsWith(`${FEDERATION_PREFIX}/`)) return this.signedTraffic(ctx, next);
      const principal = ctx.state.principal as Principal | undefined;
      await this.consume(this.byAddress, ctx.ip, { limiter: 'address', address: ctx.ip }, `too many requests from this address; the limit is ${this.limits.RATE_LIMIT_PER_ADDRESS_PER_MINUTE}/min (RATE_LIMIT_PER_ADDRESS_PER_MINUTE)`);
      if (principal) {
        const key = principal.kind === 'scientist' ? `scientist:${principal.scientistId}` : `operator:${principal.observatoryId}`;
        await this.consume(this.byToken, key, { limiter: 'token', principal: key }, `too many requests with this API token; the limit is ${this.limits.RATE_LIMIT_PER_TOKEN_PER_MINUTE}/min (RATE_LIMIT_PER_TOKEN_PER_MINUTE)`);
      }
      await next();
    };
  }

  /** Router middleware after the signature check (ctx.state.peer): counts each signed request once, per observatory. */
  peerTraffic() {
    return async (ctx: Context, next: Next): Promise<void> => {
      if (!ctx.state.peerCounted) {
        ctx.state.peerCounted = true;
        const peer = ctx.state.peer as string;
        await this.consume(this.byPeer, peer, { limiter: 'peer', peer, address: ctx.ip }, `too many signed requests from ${peer}; the limit is ${this.limits.RATE_LIMIT_PER_PEER_PER_MINUTE}/min per observatory (RATE_LIMIT_PER_PEER_PER_MINUTE)`);
      }
      await next();
    };
  }

  /** Signed traffic is limited per peer after its signature is checked; bad signatures, per address. */
  private async signedTraffic(ctx: Context, next: Next): Promise<void> {
    const failures = await this.badSignaturesByAddress.get(ctx.ip);
    if (failures && failures.consumedPoints >= this.limits.RATE_LIMIT_PER_ADDRESS_PER_MINUTE) {
      throw tooMany(`too many requests with a bad signature from this address; the limit is ${this.limits.RATE_LIMIT_PER_ADDRESS_PER_MINUTE}/min (RATE_LIMIT_PER_ADDRESS_PER_MINUTE)`, failures.msBeforeNext);
    }
    try {
      await next();
    } catch (error) {
      if (error instanceof HttpProblem && error.status === 401 && !ctx.state.peer) {
        await this.consume(this.badSignaturesByAddress, ctx.ip, { limiter: 'bad-signatures', address: ctx.ip }, '').catch(() => undefined);
      }
      throw error;
    }
  }

  private async consume(limiter: RateLimiterMemory, key: string, audited: Record<string, unknown>, detail: string): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      if (rejection.consumedPoints === limiter.points + 1) this.audit.event('RATE_LIMITED', { ...audited, limitPerMinute: limiter.points });
      throw tooMany(detail, rejection.msBeforeNext);
    }
  }
}

function tooMany(detail: string, msBeforeNext: number): HttpProblem {
  return new HttpProblem('too-many-requests', detail, {}, { 'Retry-After': String(Math.max(1, Math.ceil(msBeforeNext / 1000))) });
}
