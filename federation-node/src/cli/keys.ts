// `npm run keys [-- --dir keys --force]`: the secrets and API tokens of the local federation
// (docs/SECURITY.md). Keeps existing keys unless --force. The tokens are printed to
// keys/local-tokens.json, never to the terminal.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readCatalog, readScientists } from '../../../seeds/catalog.js';
import { ensureLocalKeys } from '../security/local-keys.js';

const { values } = parseArgs({ options: { dir: { type: 'string', default: 'keys' }, force: { type: 'boolean', default: false } } });
const dir = path.resolve(values.dir);
const observatories = readCatalog().observatories.map((o) => o.id);
const scientists = readScientists().map((s) => s.id);
const { files, created } = ensureLocalKeys(dir, observatories, scientists, values.force);
console.log(created ? `wrote new keys to ${dir}` : `keys already exist in ${dir} (--force makes new ones)`);
console.log(`  secrets shared by each pair of observatories: ${files.secretsFile}   (FEDERATION_SECRETS_FILE)`);
console.log(`  hashes of the API tokens, read by the nodes:   ${files.tokenHashesFile}   (TOKEN_HASHES_FILE)`);
console.log(`  the API tokens themselves, for you:            ${files.tokensFile}`);
