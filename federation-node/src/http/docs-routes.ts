// Human-readable pages: the API reference rendered from the OpenAPI document (/docs), the
// document itself (/openapi.json), and the clock page that synchronises a browser with the
// federation by Cristian's algorithm (/clock). Self-contained: no scripts from elsewhere.
import Router from '@koa/router';
import type { NodeParts } from '../node-parts.js';
import { openApiDocument } from './openapi.js';

export function docsRoutes(parts: NodeParts): Router {
  const router = new Router();
  const document = openApiDocument(parts.config.publicUrl);
  const docsPage = renderDocs(document, parts.directory.selfId);

  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
  router.get('/docs', (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = docsPage;
  });
  router.get('/clock', (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = CLOCK_PAGE.replace('{{observatory}}', escapeHtml(parts.directory.self.name));
  });
  return router;
}

function renderDocs(document: Record<string, unknown>, observatory: string): string {
  const paths = document.paths as Record<string, Record<string, { summary: string; tags: string[]; parameters?: Array<{ name: string; in: string; description: string; required?: boolean }>; requestBody?: { content: Record<string, { schema: { $ref: string } }> }; responses: Record<string, { description: string; content?: Record<string, { schema: { $ref: string } }> }> }>>;
  const schemas = (document.components as { schemas: Record<string, unknown> }).schemas;
  const sections = Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const params = (op.parameters ?? []).map((p) => `<li><code>${escapeHtml(p.name)}</code> (${p.in}${p.required ? ', required' : ''}): ${escapeHtml(p.description)}</li>`).join('');
      const body = op.requestBody ? schemaBlock('Request body', Object.values(op.requestBody.content)[0]!.schema.$ref, schemas) : '';
      const responses = Object.entries(op.responses).map(([status, r]) => `<li><b>${status}</b> ${escapeHtml(r.description)}${r.content ? schemaBlock('', Object.values(r.content)[0]!.schema.$ref, schemas) : ''}</li>`).join('');
      return `<section><h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code> <small>${op.tags.join(', ')}</small></h3><p>${escapeHtml(op.summary)}</p>${params ? `<ul>${params}</ul>` : ''}${body}<ul>${responses}</ul></section>`;
    }),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Observatory Federation API — ${escapeHtml(observatory)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}section{border-top:1px solid #ddd;padding:.5rem 0}.m{font-weight:bold;padding:0 .4rem;border-radius:3px;color:#fff}.get{background:#2a7}.post{background:#27a}.delete{background:#a33}pre{background:#f5f5f5;padding:.5rem;overflow:auto;font-size:12px}small{color:#888}</style></head>
<body><h1>Observatory Federation API</h1><p>Served by <b>${escapeHtml(observatory)}</b>. Machine-readable: <a href="/openapi.json">/openapi.json</a>. Guides: docs/API.md and docs/PROTOCOL.md in the repository. Clock: <a href="/clock">/clock</a>.</p>${sections.join('\n')}</body></html>`;
}

function schemaBlock(title: string, ref: string, schemas: Record<string, unknown>): string {
  const name = ref.split('/').pop()!;
  return `<details><summary>${title ? `${escapeHtml(title)}: ` : ''}${escapeHtml(name)}</summary><pre>${escapeHtml(JSON.stringify(schemas[name], null, 2))}</pre></details>`;
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
