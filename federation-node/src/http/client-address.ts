// The client's address, as the rate limits and the audit trail see it. Behind a reverse proxy
// every client arrives from the proxy's address; the proxy names the client in
// X-Forwarded-For. That header is believed only from the proxies listed in TRUSTED_PROXIES
// (anyone can send it): proxy-addr walks it from the nearest hop and stops at the first
// address that is not a trusted proxy — that is the client.
import type { Context, Next } from 'koa';
import proxyaddr from 'proxy-addr';

/** App middleware: sets ctx.ip (ctx.request.ip) to the client's address. */
export function clientAddress(trustedProxies: string[]) {
  const trust = proxyaddr.compile(trustedProxies);
  return async (ctx: Context, next: Next): Promise<void> => {
    ctx.request.ip = trustedProxies.length > 0 ? proxyaddr(ctx.req, trust) : (ctx.req.socket.remoteAddress ?? '');
    await next();
  };
}
