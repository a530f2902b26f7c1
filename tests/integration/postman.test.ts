// The Postman collection runs headless (newman) against a federation this test starts:
// every request's pm.test assertions must pass, public flows and signed protocol alike.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { postmanEnvironment } from '../../federation-node/src/cli/postman-env.js';
import { LocalFederation } from '../support/federation-harness.js';

const require = createRequire(import.meta.url);
type Summary = { run: { stats: { requests: { total: number; failed: number }; assertions: { total: number; failed: number } }; failures: Array<{ error: { message: string; test?: string }; source?: { name?: string } }> } };
const newman = require('newman') as { run(options: object, callback: (error: Error | null, summary: Summary) => void): void };

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const COLLECTION = path.join(ROOT, 'postman/observatory-federation.postman_collection.json');

function run(environment: string): Promise<Summary> {
  return new Promise((resolve, reject) => newman.run({ collection: COLLECTION, environment, reporters: [], timeoutRequest: 15_000 }, (error, summary) => (error ? reject(error) : resolve(summary))));
}

describe('Postman collection (newman, headless)', function () {
  this.timeout(120_000);
  let federation: LocalFederation;

  before(async () => {
    federation = await LocalFederation.start();
  });
  after(async () => federation?.stop());

  it('passes every assertion of every request: public flows, and the signed protocol step by step', async () => {
    const environment = path.join(os.tmpdir(), `postman-env-${process.pid}.json`);
    const keysDir = federation.keys.dir;
    writeFileSync(environment, JSON.stringify(postmanEnvironment(keysDir, { atacama: federation.url('atacama'), 'mauna-kea': federation.url('mauna-kea'), 'la-palma': federation.url('la-palma') })));
    const summary = await run(environment);
    const failures = summary.run.failures.map((f) => `${f.source?.name ?? '?'}: ${f.error.test ?? ''} ${f.error.message}`);
    expect(failures).to.deep.equal([]);
    expect(summary.run.stats.requests.total).to.be.at.least(25);
    expect(summary.run.stats.assertions.total).to.be.at.least(50);
  });
});
