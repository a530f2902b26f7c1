// A plain HTTP relay that records every request passing through it (method, URL, headers,
// body), as a node on the path between two observatories would see them: the tests put it
// between two nodes (LocalFederation's routeVia) to check what one node sends the other, or
// in front of a node as the reverse proxy of an institution (it appends X-Forwarded-For).
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

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  /** `target()` is asked at each request, so the proxy can start before the node it relays to. */
  static async start(target: () => string, options: { forwardedFor?: boolean } = {}): Promise<RecordingProxy> {
    let proxy: RecordingProxy | undefined;
    const server = http.createServer((req, res) => proxy!.relay(req, res, new URL(target()), options.forwardedFor === true));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new RecordingProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  /** Every byte that went through: request lines, headers and bodies. */
  everything(): string {
    return this.seen.map((r) => `${r.method} ${r.url}\n${JSON.stringify(r.headers)}\n${r.body}`).join('\n');
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
      this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, body: body.toString('utf8') });
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
    });
  }
}
