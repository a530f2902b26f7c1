// Human-readable pages: the API reference rendered from the OpenAPI document by Swagger UI (/docs), the
// document itself (/openapi.json), and the clock page that synchronises a browser with the
// federation by Cristian's algorithm (/clock). Self-contained: no scripts from elsewhere.
import { createReadStream } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import Router from '@koa/router';
import type { NodeParts } from '../node-parts.js';
import { openApiDocument } from './openapi.js';
import { HttpProblem } from './problem.js';

export function docsRoutes(parts: NodeParts): Router {
  const router = new Router();
  const document = openApiDocument(parts.config.publicUrl);
  const docsPage = renderDocs(parts.directory.self.name);

  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
  router.get('/docs', (ctx) => {
    ctx.set('Content-Security-Policy', DOCS_CSP);
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = docsPage;
  });
  router.get('/docs/assets/:file', (ctx) => {
    const file = ctx.params.file!;
    if (file === 'init.js') {
      ctx.type = 'text/javascript; charset=utf-8';
      ctx.body = SWAGGER_INIT;
      return;
    }
    const type = SWAGGER_FILES[file];
    if (!type) throw new HttpProblem('not-found', `no file ${file} in the API reference`);
    ctx.type = type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = createReadStream(path.join(SWAGGER_DIR, file));
  });
  router.get('/clock', (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = CLOCK_PAGE.replaceAll('{{observatory}}', escapeHtml(parts.directory.self.name));
  });
  return router;
}

/** Swagger UI, served from its npm package (swagger-ui-dist): nothing is loaded from elsewhere. */
const SWAGGER_DIR = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const SWAGGER_FILES: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};
const DOCS_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'";
const SWAGGER_INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#reference', deepLinking: true, tryItOutEnabled: false, defaultModelsExpandDepth: 0, docExpansion: 'list' });\n`;

function renderDocs(observatory: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Observatory Federation API — ${escapeHtml(observatory)}</title><link rel="icon" href="/docs/assets/favicon-32x32.png"><link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><header style="font:15px/1.5 system-ui,sans-serif;max-width:1460px;margin:1rem auto 0;padding:0 20px"><a href="/">← the web app</a> · served by <b>${escapeHtml(observatory)}</b> · machine-readable: <a href="/openapi.json">/openapi.json</a> · guides: docs/API.md and docs/PROTOCOL.md in the repository</header>
<main id="reference"></main><script src="/docs/assets/swagger-ui-bundle.js"></script><script src="/docs/assets/init.js"></script></body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const CLOCK_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Federation clock — {{observatory}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}#now{font:2.4rem monospace}td{padding:.1rem .8rem}</style></head>
<body><h1>Federation clock</h1><p>Synchronised with <b>{{observatory}}</b> by Cristian's algorithm: the page asks <code>GET /time</code> several times, keeps the answer with the shortest round trip, and takes <i>server time + round trip / 2</i> as the time at which it arrived.</p>
<div id="now">…</div>
<table><tr><td>offset of this browser's clock</td><td id="offset">…</td></tr><tr><td>error bound (± half the best round trip)</td><td id="bound">…</td></tr><tr><td>the node's own offset from the time reference</td><td id="node">…</td></tr></table>
<p><button id="sync">Synchronise again</button></p>
<script>
let offsetMs = 0;
async function sample() {
  const sent = performance.now();
  const answer = await (await fetch('/time', { cache: 'no-store' })).json();
  const rtt = performance.now() - sent;
  return { offset: answer.epochMs + rtt / 2 - Date.now(), rtt, clock: answer.clock };
}
async function sync() {
  let best;
  for (let i = 0; i < 8; i += 1) { const s = await sample(); if (!best || s.rtt < best.rtt) best = s; }
  offsetMs = best.offset;
  document.getElementById('offset').textContent = offsetMs.toFixed(1) + ' ms';
  document.getElementById('bound').textContent = '± ' + (best.rtt / 2).toFixed(1) + ' ms';
  const c = best.clock;
  document.getElementById('node').textContent = c.isReference ? 'this node is the time reference' : c.offsetMs + ' ms (± ' + c.errorBoundMs + ' ms) from ' + c.reference;
}
setInterval(() => { document.getElementById('now').textContent = new Date(Date.now() + offsetMs).toISOString().replace('T', ' ').replace('Z', ' UTC'); }, 50);
document.getElementById('sync').onclick = sync;
sync();
</script></body></html>`;
