import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { ConfigError, ConfigSchema, loadConfig } from '../../federation-node/src/config/config.js';

const PEERS = 'atacama=http://127.0.0.1:7101,mauna-kea=http://127.0.0.1:7102';
const KEYS = { MEMBERSHIP_FILE: 'keys/membership.json', SIGNING_KEY_FILE: 'keys/signing/atacama.pem', TOKEN_HASHES_FILE: 'keys/token-hashes.json' };

function failure(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration from the environment', () => {
  it('accepts a minimal valid environment and fills in the documented defaults', () => {
    const config = loadConfig({ NODE_ID: 'atacama', FEDERATION_PEERS: PEERS, ...KEYS });
    expect(config.PORT).to.equal(7101);
    expect(config.PREPARE_TIMEOUT_MS).to.equal(3000);
    expect(config.publicUrl).to.equal('http://127.0.0.1:7101');
    expect(config.dataDir).to.match(/data\/atacama$/);
  });

  it('stops with one line naming a missing variable', () => {
    const message = failure({ FEDERATION_PEERS: PEERS, ...KEYS });
    expect(message).to.match(/^configuration: NODE_ID is missing/);
    expect(message).to.not.contain('\n');
  });

  it('stops with one line naming a malformed variable and its value', () => {
    expect(failure({ NODE_ID: 'atacama', FEDERATION_PEERS: PEERS, ...KEYS, PORT: 'eighty' })).to.match(/^configuration: PORT is invalid \("eighty"\)/);
    expect(failure({ NODE_ID: 'atacama', FEDERATION_PEERS: 'atacama:7101', ...KEYS })).to.contain('FEDERATION_PEERS');
  });

  it('takes FEDERATION_PEERS as optional URL overrides: without it the public URL is left to the membership document', () => {
    const config = loadConfig({ NODE_ID: 'la-palma', ...KEYS });
    expect(config.publicUrl).to.equal(undefined);
    expect(config.peerUrls.size).to.equal(0);
    expect(config.MEMBERSHIP_POLL_INTERVAL_MS).to.equal(2000);
    expect(loadConfig({ NODE_ID: 'la-palma', FEDERATION_PEERS: PEERS, ...KEYS }).peerUrls.get('mauna-kea')).to.equal('http://127.0.0.1:7102');
  });

  it('stops with one line naming a missing membership document or signing key', () => {
    expect(failure({ NODE_ID: 'atacama', SIGNING_KEY_FILE: 'k.pem', TOKEN_HASHES_FILE: 't.json' })).to.match(/^configuration: MEMBERSHIP_FILE is missing/);
    expect(failure({ NODE_ID: 'atacama', MEMBERSHIP_FILE: 'm.json', TOKEN_HASHES_FILE: 't.json' })).to.match(/^configuration: SIGNING_KEY_FILE is missing/);
  });

  it('refuses fault injection in a production deployment', () => {
    expect(failure({ NODE_ID: 'atacama', FEDERATION_PEERS: PEERS, ...KEYS, DEPLOYMENT: 'production', FAULT_POINTS: 'coordinator.decided' })).to.contain('FAULT_POINTS is refused');
  });

  it('documents every variable it reads in .env.example', () => {
    const example = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
    const documented = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    const missing = Object.keys(ConfigSchema.shape).filter((name) => !documented.has(name));
    expect(missing).to.deep.equal([]);
  });
});
