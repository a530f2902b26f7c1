// The pure-JS Ed25519 embedded in the Postman collection (postman/ed25519.js, from TweetNaCl)
// signs exactly as node:crypto does, and the collection embeds this very file.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const LIBRARY = readFileSync(path.join(ROOT, 'postman/ed25519.js'), 'utf8');
type Sign = (seed: Uint8Array, message: Uint8Array) => Uint8Array;
const makeSign = new Function(`${LIBRARY}; return makeEd25519Sign;`)() as (sha512: (b: Uint8Array) => Uint8Array) => Sign;
const ed25519 = makeSign((bytes) => new Uint8Array(createHash('sha512').update(bytes).digest()));

describe('Postman: the embedded pure-JS Ed25519', () => {
  it('gives the signatures of RFC 8032, section 7.1 (tests 1 and 2)', () => {
    const vectors = [
      ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', '', 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
      ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '72', '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
    ];
    for (const [seed, message, signature] of vectors) {
      expect(Buffer.from(ed25519(Buffer.from(seed!, 'hex'), Buffer.from(message!, 'hex'))).toString('hex')).to.equal(signature);
    }
  });

  it('signs like node:crypto for random keys and signature bases, non-ASCII included', () => {
    for (let i = 0; i < 20; i += 1) {
      const { privateKey } = generateKeyPairSync('ed25519');
      const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
      const base = Buffer.from(`"@method": POST\n"@path": /federation/v1/transactions/atacama.x${i}/prepare\n"@signature-params": ("@method");keyid="é-${i}"`, 'utf8');
      expect(Buffer.from(ed25519(seed, base)).equals(sign(null, base, privateKey))).to.equal(true);
    }
  });

  it('is embedded unchanged in the collection, next to the script that signs with it', () => {
    const collection = JSON.parse(readFileSync(path.join(ROOT, 'postman/observatory-federation.postman_collection.json'), 'utf8')) as { variable: Array<{ key: string; value: string }> };
    const variable = (key: string) => collection.variable.find((v) => v.key === key)?.value;
    expect(variable('ed25519Library')).to.equal(LIBRARY);
    expect(variable('signProtocolRequest')).to.contain("alg=\"ed25519\"").and.to.contain("eval(pm.collectionVariables.get('ed25519Library'))");
  });
});
