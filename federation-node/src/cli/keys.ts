// `npm run keys [-- --dir keys --force]`: the key pairs and API tokens of the local federation
// (docs/SECURITY.md). Keeps existing keys unless --force. The tokens go to
// keys/local-tokens.json, never to the terminal. Membership edits (docs/OPERATIONS.md):
//   npm run keys -- --rotate <id> --step add|switch|retire     rotate an observatory's key
//   npm run keys -- --join <member.json>                        add a member (a membership entry)
//   npm run keys -- --new-key <file> --id <observatory>          a key pair for a member run elsewhere;
//                                                                prints its public-key entry
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readCatalog, readScientists } from '../../../seeds/catalog.js';
import { addMember, addNextKey, retireOldKeys, switchToNextKey } from '../local/membership-tools.js';
import { ensureLocalKeys, localKeyFiles, localMember, newSigningKey, publicKeyEntry, writeMembershipFile, writePrivateKey, type KeyOwner } from '../security/local-keys.js';
import { MemberEntry } from '../security/membership.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: 'keys' },
    force: { type: 'boolean', default: false },
    rotate: { type: 'string' },
    step: { type: 'string' },
    join: { type: 'string' },
    'new-key': { type: 'string' },
    id: { type: 'string' },
    owner: { type: 'string' },
  },
});
/**
 * Keys must be readable by the user that runs the nodes, and only by it. Written by root (a
 * container host, CI), they would be root's 0600 files that the image's `node` user (uid 1000)
 * cannot read; so root hands them to --owner, by default 1000:1000.
 */
function keyOwner(): KeyOwner | undefined {
  const given = values.owner ?? (process.getuid?.() === 0 ? '1000:1000' : undefined);
  if (!given) return undefined;
  const match = /^(\d+):(\d+)$/.exec(given);
  if (!match) throw new Error('--owner must be <uid>:<gid>');
  return { uid: Number(match[1]), gid: Number(match[2]) };
}
const dir = path.resolve(values.dir);
const files = localKeyFiles(dir);

if (values.rotate) {
  const id = values.rotate;
  if (values.step === 'add') console.log(`membership version ${addNextKey(files, id).version}: ${id} has a next key listed next to its current one (the nodes reload it)`);
  else if (values.step === 'switch') console.log(`${id}'s key file now holds ${switchToNextKey(files, id)} (the node signs with it from its next reload)`);
  else if (values.step === 'retire') console.log(`membership version ${retireOldKeys(files, id).version}: only ${id}'s current key stays listed`);
  else throw new Error('--step must be add, switch or retire');
} else if (values.join) {
  const member = MemberEntry.parse(JSON.parse(readFileSync(values.join, 'utf8')));
  console.log(`membership version ${addMember(files, member).version}: ${member.id} is a member`);
  // npm start rewrites the document at each start: it keeps the members listed here.
  const remote = path.join(dir, 'remote-members.json');
  const kept = existsSync(remote) ? (JSON.parse(readFileSync(remote, 'utf8')) as MemberEntry[]).filter((m) => m.id !== member.id) : [];
  writeFileSync(remote, `${JSON.stringify([...kept, member], null, 2)}\n`);
  console.log(`  also listed in ${remote}, which npm start adds to the document it writes`);
} else if (values['new-key']) {
  if (!values.id) throw new Error('--new-key needs --id <observatory>');
  if (existsSync(values['new-key'])) throw new Error(`${values['new-key']} exists; not overwriting a key`);
  const key = newSigningKey();
  writePrivateKey(values['new-key'], key);
  console.log(JSON.stringify(publicKeyEntry(values.id, key)));
} else {
  const observatories = readCatalog().observatories.map((o) => o.id);
  const scientists = readScientists().map((s) => s.id);
  const owner = keyOwner();
  const { created } = ensureLocalKeys(dir, observatories, scientists, values.force, owner);
  if (!existsSync(files.membershipFile)) {
    // The local URLs of npm start; compose and other deployments override them (FEDERATION_PEERS).
    const members = readCatalog().observatories.map((o, i) => localMember(files, o, `http://127.0.0.1:${7101 + i}`));
    writeMembershipFile(files, { federation: 'local', version: 1, members });
  }
  if (owner) console.log(`  owned by ${owner.uid}:${owner.gid} (the user that runs the nodes; --owner changes it)`);
  console.log(created ? `wrote new keys to ${dir}` : `keys already exist in ${dir} (--force makes new ones)`);
  console.log(`  one Ed25519 private key per observatory:     ${files.signingKeysDir}/<id>.pem   (SIGNING_KEY_FILE, 0600)`);
  console.log(`  hashes of the API tokens, read by the nodes: ${files.tokenHashesFile}   (TOKEN_HASHES_FILE)`);
  console.log(`  the API tokens themselves, for you:          ${files.tokensFile}`);
  console.log(`  the membership document (written by npm start with the local URLs): ${files.membershipFile}   (MEMBERSHIP_FILE)`);
}
