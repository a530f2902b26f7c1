// Bundles the web app (federation-node/web-client) into dist/web with esbuild: one small
// script, its stylesheet and the page. Run by `npm run build`, after tsc; nothing is
// fetched at run time from anywhere but the node itself.
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const SOURCE = path.join(ROOT, 'federation-node/web-client');
const OUT = path.join(ROOT, 'dist/web');

mkdirSync(OUT, { recursive: true });
await build({
  entryPoints: [path.join(SOURCE, 'app.tsx')],
  outfile: path.join(OUT, 'app.js'),
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(path.join(SOURCE, 'app.css'), path.join(OUT, 'app.css'));
copyFileSync(path.join(SOURCE, 'index.html'), path.join(OUT, 'index.html'));
