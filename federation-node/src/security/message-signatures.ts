// HTTP Message Signatures (RFC 9421) between observatories, in one fixed profile:
// alg "ed25519" (RFC 8032, pure Ed25519 over the UTF-8 bytes of the signature base) with the
// signer's private key, label "fed", keyid naming one of the signer's keys in the membership
// document ("<observatory>:<label>").
//   request  covers  "@method" "@path" "@query" "content-digest"
//   response covers  "@status" "content-digest" "@method";req "@path";req "signature";req;key="fed"
//   parameters       created, nonce, keyid (the signer's observatory id), alg
// Content-Digest (RFC 9530) is sha-256 of the body (of the empty body for a GET). Structured
// fields are parsed and serialized by the structured-headers library; docs/PROTOCOL.md gives
// the exact bytes.
import { createHash, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { parseDictionary, serializeInnerList, type InnerList } from 'structured-headers';

export const SIGNATURE_LABEL = 'fed';
export const ALGORITHM = 'ed25519';
export const REQUEST_COMPONENTS = ['@method', '@path', '@query', 'content-digest'] as const;

export interface SignedRequest {
  method: string;
  /** Path and query, as sent: `/federation/v1/transactions/x/outcome?from=y`. */
  target: string;
  body: string | Buffer;
  headers: Record<string, string | string[] | undefined>;
}

export interface SignedResponse {
  status: number;
  body: string | Buffer;
  headers: Record<string, string | string[] | undefined>;
}

export interface SignatureHeaders {
  'content-digest': string;
  'signature-input': string;
  signature: string;
}

/** Why a signature was refused; `detail` never contains a secret. */
export class SignatureError extends Error {
  override name = 'SignatureError';
}

export function contentDigest(body: string | Buffer): string {
  return `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
}

export function signRequest(request: Omit<SignedRequest, 'headers'>, keyId: string, privateKey: KeyObject, createdS: number): SignatureHeaders {
  const digest = contentDigest(request.body);
  const params = signatureParams(REQUEST_COMPONENTS.map((c) => [c, new Map()]), createdS, keyId);
  const base = requestBase(request.method, request.target, digest, params);
  return { 'content-digest': digest, 'signature-input': `${SIGNATURE_LABEL}=${params}`, signature: `${SIGNATURE_LABEL}=:${ed25519(privateKey, base)}:` };
}

export function signResponse(response: Omit<SignedResponse, 'headers'>, request: SignedRequest, keyId: string, privateKey: KeyObject, createdS: number): SignatureHeaders {
  const digest = contentDigest(response.body);
  const params = signatureParams(RESPONSE_COMPONENTS, createdS, keyId);
  const base = responseBase(response.status, digest, request, params);
  return { 'content-digest': digest, 'signature-input': `${SIGNATURE_LABEL}=${params}`, signature: `${SIGNATURE_LABEL}=:${ed25519(privateKey, base)}:` };
}

export interface VerifiedSignature {
  keyId: string;
  /** The member whose key made the signature. */
  observatoryId: string;
  nonce: string;
  createdS: number;
}

export interface VerifyOptions {
  /** The public key a key id names, with the member that owns it; undefined when no member lists it. */
  keyOf: (keyId: string) => { observatoryId: string; publicKey: KeyObject } | undefined;
  nowS: number;
  maxSkewS: number;
}

/** Checks a request's signature; throws SignatureError naming what is wrong. */
export function verifyRequest(request: SignedRequest, options: VerifyOptions): VerifiedSignature {
  const { params, signature, keyId, known } = parseSignature(request.headers, REQUEST_COMPONENTS, options);
  checkDigest(request.headers, request.body);
  const base = requestBase(request.method, request.target, header(request.headers, 'content-digest')!, params.serialized);
  checkEd25519(known.publicKey, base, signature);
  return { keyId, observatoryId: known.observatoryId, nonce: params.nonce, createdS: params.createdS };
}

/** Checks a response's signature, made by a key of `expectedSigner`, against the request it answers. */
export function verifyResponse(response: SignedResponse, request: SignedRequest, expectedSigner: string, options: VerifyOptions): VerifiedSignature {
  const { params, signature, keyId, known } = parseSignature(response.headers, RESPONSE_COMPONENT_NAMES, options);
  if (known.observatoryId !== expectedSigner) throw new SignatureError(`the answer is signed by ${known.observatoryId} (${keyId}), not by ${expectedSigner}`);
  checkDigest(response.headers, response.body);
  const base = responseBase(response.status, header(response.headers, 'content-digest')!, request, params.serialized);
  checkEd25519(known.publicKey, base, signature);
  return { keyId, observatoryId: known.observatoryId, nonce: params.nonce, createdS: params.createdS };
}

const RESPONSE_COMPONENTS: InnerList[0] = [
  ['@status', new Map()],
  ['content-digest', new Map()],
  ['@method', new Map([['req', true]])],
  ['@path', new Map([['req', true]])],
  ['signature', new Map<string, string | boolean>([['req', true], ['key', SIGNATURE_LABEL]])],
];
const RESPONSE_COMPONENT_NAMES = ['@status', 'content-digest', '@method', '@path', 'signature'] as const;

function signatureParams(components: InnerList[0], createdS: number, keyId: string): string {
  const nonce = randomBytes(16).toString('base64url');
  return serializeInnerList([components, new Map<string, string | number>([['created', createdS], ['nonce', nonce], ['keyid', keyId], ['alg', ALGORITHM]])]);
}

function requestBase(method: string, target: string, digest: string, params: string): string {
  const [path, query] = splitTarget(target);
  return [`"@method": ${method.toUpperCase()}`, `"@path": ${path}`, `"@query": ${query}`, `"content-digest": ${digest}`, `"@signature-params": ${params}`].join('\n');
}

function responseBase(status: number, digest: string, request: SignedRequest, params: string): string {
  const [path] = splitTarget(request.target);
  const requestSignature = header(request.headers, 'signature') ?? '';
  const member = parseDictionary(requestSignature).get(SIGNATURE_LABEL);
  if (!member || !(member[0] instanceof ArrayBuffer)) throw new SignatureError('the request carried no signature to answer');
  return [
    `"@status": ${status}`,
    `"content-digest": ${digest}`,
    `"@method";req: ${request.method.toUpperCase()}`,
    `"@path";req: ${path}`,
    `"signature";req;key="${SIGNATURE_LABEL}": :${Buffer.from(member[0]).toString('base64')}:`,
    `"@signature-params": ${params}`,
  ].join('\n');
}

interface ParsedParams {
  serialized: string;
  createdS: number;
  nonce: string;
}

function parseSignature(headers: SignedRequest['headers'], expected: readonly string[], options: VerifyOptions) {
  const input = header(headers, 'signature-input');
  const value = header(headers, 'signature');
  if (!input || !value) throw new SignatureError('the message is not signed (Signature-Input and Signature are required)');
  let member;
  let signatureMember;
  try {
    member = parseDictionary(input).get(SIGNATURE_LABEL);
    signatureMember = parseDictionary(value).get(SIGNATURE_LABEL);
  } catch {
    throw new SignatureError('Signature-Input or Signature is not a valid structured field');
  }
  if (!member || !Array.isArray(member[0]) || !signatureMember || !(signatureMember[0] instanceof ArrayBuffer)) {
    throw new SignatureError(`no signature labelled "${SIGNATURE_LABEL}"`);
  }
  const [items, params] = member as InnerList;
  const covered = items.map(([name]) => String(name));
  if (covered.join(' ') !== expected.join(' ')) throw new SignatureError(`the signature must cover ${expected.join(' ')}`);
  const keyId = params.get('keyid');
  const nonce = params.get('nonce');
  const created = params.get('created');
  if (typeof keyId !== 'string' || typeof nonce !== 'string' || typeof created !== 'number' || params.get('alg') !== ALGORITHM) {
    throw new SignatureError(`the signature needs keyid, nonce, created and alg="${ALGORITHM}"`);
  }
  const known = options.keyOf(keyId);
  if (!known) throw new SignatureError(`unknown key "${keyId}": no member of the federation lists it`);
  if (Math.abs(options.nowS - created) > options.maxSkewS) {
    throw new SignatureError(`the signature was created ${options.nowS - created} s from now; at most ${options.maxSkewS} s allowed (SIGNATURE_MAX_SKEW_S)`);
  }
  const parsed: ParsedParams = { serialized: serializeInnerList(member as InnerList), createdS: created, nonce };
  return { params: parsed, signature: Buffer.from(signatureMember[0]), keyId, known };
}

function checkDigest(headers: SignedRequest['headers'], body: string | Buffer): void {
  const given = header(headers, 'content-digest');
  if (!given) throw new SignatureError('Content-Digest is missing');
  if (given !== contentDigest(body)) throw new SignatureError('the body does not match its Content-Digest (altered after signing?)');
}

function checkEd25519(publicKey: KeyObject, base: string, signature: Buffer): void {
  if (signature.length !== 64 || !verify(null, Buffer.from(base, 'utf8'), publicKey, signature)) throw new SignatureError('the signature does not match');
}

/** The 64-byte Ed25519 signature of the base's UTF-8 bytes, in base64 (the sf-binary of the Signature field). */
function ed25519(privateKey: KeyObject, base: string): string {
  return sign(null, Buffer.from(base, 'utf8'), privateKey).toString('base64');
}

function splitTarget(target: string): [path: string, query: string] {
  const at = target.indexOf('?');
  return at < 0 ? [target, '?'] : [target.slice(0, at), target.slice(at)];
}

function header(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}
