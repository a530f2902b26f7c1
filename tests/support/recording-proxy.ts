// A plain HTTP relay that records every request passing through it (method, URL, headers,
// body), as a node on the path between two observatories would see them: the tests put it
// between two nodes (LocalFederation's routeVia) to check what one node sends the other, or
// in front of a node as the reverse proxy of an institution (it appends X-Forwarded-For).
// It can also hold the requests a test names (hold/release), to set up an in-doubt participant
// without depending on timing.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export class RecordingProxy {
  readonly seen: RecordedRequest[] = [];
  private readonly agent = new http.Agent({ keepAlive: true });
  private holding: ((request: RecordedRequest) => boolean) | undefined;
  private readonly held: Array<{ request: RecordedRequest; res: http.ServerResponse; forward: () => void }> = [];

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  /**
   * `target()` is asked at each request, so the proxy can start before the node it relays to;
   * while it throws (that node not known yet), requests are answered 502.
   */
  static async start(target: () => string, options: { forwardedFor?: boolean } = {}): Promise<RecordingProxy> {
    let proxy: RecordingProxy | undefined;
    const server = http.createServer((req, res) => {
      let url: URL;
      try {
        url = new URL(target());
      } catch {
        res.writeHead(502).end(); // the node it relays to is not known yet (its federation still starting)
        return;
      }
      proxy!.relay(req, res, url, options.forwardedFor === true);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new RecordingProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  /** Every byte that went through: request lines, headers and bodies. */
  everything(): string {
    return this.seen.map((r) => `${r.method} ${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`).join('\n');
  }

  /** From now on, requests matching `matches` are recorded but not forwarded: they wait for release(). */
  hold(matches: (request: RecordedRequest) => boolean): void {
    this.holding = matches;
  }

  /** The requests held so far and not yet released. */
  get heldRequests(): RecordedRequest[] {
    return this.held.map((h) => h.request);
  }

  /**
   * Stop holding. Each held request is then forwarded ('forward') or answered 502 unforwarded
   * ('drop'), as a connection lost on the way would be.
   */
  release(how: 'forward' | 'drop'): void {
    this.holding = undefined;
    for (const { res, forward } of this.held.splice(0)) {
      if (how === 'forward') forward();
      else if (!res.headersSent) res.writeHead(502).end();
    }
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private relay(req: http.IncomingMessage, res: http.ServerResponse, target: URL, forwardedFor: boolean): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, body: body.toString('utf8') };
      this.seen.push(recorded);
      if (this.holding?.(recorded)) this.held.push({ request: recorded, res, forward: () => this.forward(req, res, target, forwardedFor, body) });
      else this.forward(req, res, target, forwardedFor, body);
    });
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, target: URL, forwardedFor: boolean, body: Buffer): void {
    const headers: http.OutgoingHttpHeaders = { ...req.headers, host: target.host };
    if (forwardedFor) {
      const client = req.socket.remoteAddress ?? '';
      headers['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${String(req.headers['x-forwarded-for'])}, ${client}` : client;
    }
    const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent: this.agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    upstream.end(body);
  }
}
