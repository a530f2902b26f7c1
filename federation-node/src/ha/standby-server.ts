// What a standby answers while another process of its observatory is active: /health says
// "standby" and names the active (load balancers and the peers' URL prober read it); every
// other request gets 503 problem+json naming the active process and its URL, with
// Retry-After. Nothing is read from or written to the node's tables here.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROBLEM_CONTENT_TYPE, PROBLEMS, problemTypeUri } from '../http/problem.js';
import type { LeaseHolder } from './lease.js';

export interface StandbyView {
  observatory: string;
  instanceId: string;
  /** The last lease row seen (refreshed at every poll), or undefined before the first. */
  holder(): LeaseHolder | undefined;
  leaseDurationMs: number;
}

export interface StandbyServer {
  url: string;
  close(): Promise<void>;
}

export function startStandbyServer(host: string, port: number, view: StandbyView): Promise<StandbyServer> {
  const server = http.createServer((request, response) => {
    const holder = view.holder();
    const active = holder && holder.remainingMs > 0 ? { instanceId: holder.holderId, url: holder.holderUrl, epoch: holder.epoch, leaseRemainingMs: holder.remainingMs } : null;
    request.resume(); // the body is not read: drain it
    if (request.method === 'GET' && request.url === '/health') {
      send(response, 200, 'application/json', { status: 'standby', observatory: view.observatory, instanceId: view.instanceId, active });
      return;
    }
    const who = active ? `the active process is ${active.instanceId} at ${active.url} (lease epoch ${active.epoch})` : 'no process holds the lease right now (the active stopped renewing it): a takeover is under way';
    send(response, 503, PROBLEM_CONTENT_TYPE, {
      type: problemTypeUri('standby'),
      title: PROBLEMS.standby.title,
      status: 503,
      detail: `${view.instanceId} is a standby of observatory ${view.observatory}; ${who}. Send the request there, or retry: a standby takes over within LEASE_DURATION_MS = ${view.leaseDurationMs} ms of the active's last renewal.`,
      instance: request.url,
      active,
    }, { 'retry-after': '1' });
  });
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      resolve({
        url: `http://${host}:${address.port}`,
        close: () => new Promise<void>((done) => {
          server.close(() => done());
          server.closeAllConnections();
        }),
      });
    });
  });
}

function send(response: http.ServerResponse, status: number, contentType: string, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...headers });
  response.end(JSON.stringify(body));
}
