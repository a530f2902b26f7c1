// `npm run postman:env`: a Postman/Insomnia environment for the local federation (npm start),
// with its URLs, two scientists' API tokens and each observatory's Ed25519 private key (the
// 32-byte seed, base64url) with its key id, which sign protocol messages in the collection's
// pre-request scripts; written to keys/postman.postman_environment.json (0600, out of git).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readSigningKey } from '../security/key-ring.js';
import { localKeyFiles, publicKeyEntry, readLocalTokens, signingKeyFile } from '../security/local-keys.js';

export function postmanEnvironment(keysDir: string, urls: Record<'atacama' | 'mauna-kea' | 'la-palma', string>): Record<string, unknown> {
  const files = localKeyFiles(keysDir);
  const tokens = readLocalTokens(files);
  const keys = Object.keys(urls).flatMap((id) => {
    const key = readSigningKey(signingKeyFile(files, id));
    return [[`keyId:${id}`, publicKeyEntry(id, key).keyId], [`signingKey:${id}`, key.export({ format: 'jwk' }).d]] as Array<[string, unknown]>;
  });
  const entries: Array<[string, unknown]> = [
    ['atacamaUrl', urls.atacama], ['maunaKeaUrl', urls['mauna-kea']], ['laPalmaUrl', urls['la-palma']],
    ['veraToken', tokens.scientists['vera-rubin']], ['edwinToken', tokens.scientists['edwin-hubble']],
    ...keys,
  ];
  return { name: 'Observatory Federation — local (with keys)', values: entries.map(([key, value]) => ({ key, value, type: key.startsWith('signingKey') || key.endsWith('Token') ? 'secret' : 'default', enabled: true })) };
}

if (process.argv[1] && path.resolve(process.argv[1]).endsWith(path.join('cli', 'postman-env.js'))) {
  // The same ports as `npm start`: LOCAL_BASE_PORT moves both (--base-port wins).
  const { values } = parseArgs({ options: { keys: { type: 'string', default: 'keys' }, 'base-port': { type: 'string', default: process.env.LOCAL_BASE_PORT || '7101' } } });
  const base = Number(values['base-port']);
  if (!Number.isInteger(base) || base < 1 || base > 65533) {
    console.error(`postman:env: the base port must be an integer from 1 to 65533 (got "${values['base-port']}" from ${process.argv.includes('--base-port') ? '--base-port' : 'LOCAL_BASE_PORT'})`);
    process.exit(2);
  }
  const out = path.join(values.keys, 'postman.postman_environment.json');
  const environment = postmanEnvironment(values.keys, { atacama: `http://127.0.0.1:${base}`, 'mauna-kea': `http://127.0.0.1:${base + 1}`, 'la-palma': `http://127.0.0.1:${base + 2}` });
  writeFileSync(out, `${JSON.stringify(environment, null, 2)}\n`, { mode: 0o600 });
  console.log(`wrote ${out}: import it into Postman or Insomnia with postman/observatory-federation.postman_collection.json`);
}
