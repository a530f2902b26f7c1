// One HTTP exchange with another observatory on a kept-alive connection, with node:http
// directly (a third of axios's CPU per call). Signing and checking the answer is the peer
// client's; this says only what came back, or whether a failed request may have reached the peer.
import http from 'node:http';
import https from 'node:https';
import { TimedOut, parseBody } from './peer-messages.js';
import { PeerCallError } from './peer-wire.js';

/** An answer as received: the raw body and headers too, for whoever checks its signature. */
export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  data: unknown;
}

/** `headers`: the signature's and the request deadline's; rejects with PeerCallError saying whether the request was written out. */
export function sendHttp(target: URL, agent: http.Agent, method: 'GET' | 'POST' | 'DELETE', fullPath: string, body: string, extraHeaders: Record<string, string | number>, timeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { accept: 'application/json', ...extraHeaders };
    if (body) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    const transport = target.protocol === 'https:' ? https : http;
    const request = transport.request({ method, host: target.hostname, port: target.port, path: fullPath, headers, agent });
    const timer = setTimeout(() => request.destroy(new TimedOut()), timeoutMs);
    let written = false; // once the whole request is handed to the socket, the peer may act on it
    request.on('finish', () => (written = true));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        clearTimeout(timer);
        const raw = Buffer.concat(chunks);
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: raw, data: parseBody(raw) });
      });
      response.on('error', () => undefined); // the request's error handler reports it
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const message = error instanceof TimedOut ? 'timed out' : error.code === 'ECONNREFUSED' ? 'connection refused' : error.code ? `${error.code}: ${error.message}` : error.message;
      reject(new PeerCallError(message, written));
    });
    request.end(body || undefined);
  });
}
