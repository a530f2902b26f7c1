// `npm run postman:env` writes URLs on the same ports as `npm start`: LOCAL_BASE_PORT moves
// both, --base-port wins, and a bad port is refused with exit 2 and a line naming it.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCatalog, readScientists } from '../../seeds/catalog.js';
import { ensureLocalKeys } from '../../federation-node/src/security/local-keys.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../federation-node/src/cli/postman-env.js');

describe('npm run postman:env', function () {
  this.timeout(30_000);
  let keys: string;
  before(() => {
    keys = mkdtempSync(path.join(os.tmpdir(), 'postman-env-'));
    ensureLocalKeys(keys, readCatalog().observatories.map((o) => o.id), readScientists().map((s) => s.id));
  });
  after(() => rmSync(keys, { recursive: true, force: true }));

  const urlsWritten = () => {
    const environment = JSON.parse(readFileSync(path.join(keys, 'postman.postman_environment.json'), 'utf8')) as { values: Array<{ key: string; value: string }> };
    return Object.fromEntries(environment.values.filter((v) => v.key.endsWith('Url')).map((v) => [v.key, v.value]));
  };

  it('honours LOCAL_BASE_PORT like npm start, and --base-port over it', () => {
    execFileSync(process.execPath, [CLI, '--keys', keys], { env: { ...process.env, LOCAL_BASE_PORT: '7201' } });
    expect(urlsWritten()).to.deep.equal({ atacamaUrl: 'http://127.0.0.1:7201', maunaKeaUrl: 'http://127.0.0.1:7202', laPalmaUrl: 'http://127.0.0.1:7203' });
    execFileSync(process.execPath, [CLI, '--keys', keys, '--base-port', '7301'], { env: { ...process.env, LOCAL_BASE_PORT: '7201' } });
    expect(urlsWritten().atacamaUrl).to.equal('http://127.0.0.1:7301');
  });

  it('refuses a LOCAL_BASE_PORT that is not a port, with exit 2 and a line naming it', () => {
    const run = spawnSync(process.execPath, [CLI, '--keys', keys], { env: { ...process.env, LOCAL_BASE_PORT: 'seventy' }, encoding: 'utf8' });
    expect(run.status).to.equal(2);
    expect(run.stderr).to.contain('LOCAL_BASE_PORT').and.contain('seventy');
  });
});
