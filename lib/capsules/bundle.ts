/**
 * Capsule bundles and their signatures.
 *
 * Format: a bundle is the UTF-8 bytes of the RFC 8785 canonical JSON of
 * `{ "format": "autonomy-capsule/1", "manifest": {…}, "files": { "<path>": "<text>", … } }`.
 * One content has exactly one byte form, so the bytes an author signs, the bytes the marketplace
 * stores (in S3, by their SHA-256) and the bytes a sandbox runs are the same, and bytes in any other
 * form (whitespace, key order, escapes) are refused rather than normalised: nothing is ever
 * re-serialised between signing and running.
 *
 * Signature: Ed25519 (RFC 8032, node:crypto) over those exact bytes, carried beside them as
 * `{ alg: 'Ed25519', keyId, bundleSha256, signature }`: `keyId` names the author's registered key
 * (SHA-256 of its public key's DER), `bundleSha256` the bytes the author meant to sign, so a bundle
 * changed after signing is told apart from a signature that is simply wrong.
 *
 * {@link verifyBundle} is the only way to obtain a {@link VerifiedCapsule}: code that must only run
 * signed content takes that type (the sandbox's own `VerifiedBundle`, lib/capsules/sandbox/, is
 * sealed from one).
 */
import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import canonicalize from 'canonicalize';
import { DomainError, type FieldIssue } from '../errors.ts';
import {
  type BUNDLE_FORMAT,
  type BundleSignature,
  bundleContentSchema,
  type CapsuleManifest,
  capsuleManifestSchema,
  MAX_BUNDLE_BYTES,
} from './schemas.ts';

/** A bundle's content before encoding. */
export interface BundleContent {
  format: typeof BUNDLE_FORMAT;
  manifest: unknown;
  files: Record<string, string>;
}

/** Why a bundle or its signature was refused: the review check it failed, the HTTP status, the field paths. */
export class BundleRefusedError extends DomainError {
  readonly check: 'size' | 'signature' | 'bundle' | 'manifest';
  readonly status: 400 | 403 | 413;
  readonly issues: FieldIssue[];
  constructor(check: BundleRefusedError['check'], status: BundleRefusedError['status'], issues: FieldIssue[]) {
    super(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
    this.check = check;
    this.status = status;
    this.issues = issues;
  }
}

/** Where a bundle's fields are named in errors (the route's parameter). */
export const BUNDLE_FIELD = 'body.parameters.bundle';
/** Where the signature is named in errors. */
export const SIGNATURE_FIELD = 'body.parameters.signature';

/** SHA-256 (hex) of bytes. */
export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The bytes of a bundle: the UTF-8 of the canonical JSON of its content.
 * @throws BundleRefusedError when the content has no JSON form.
 * @example const bytes = encodeBundle({ format: BUNDLE_FORMAT, manifest, files: { 'tools/summary.js': source } });
 */
export function encodeBundle(content: BundleContent): Uint8Array {
  let text: string | undefined;
  try {
    text = canonicalize(content);
  } catch (error) {
    throw new BundleRefusedError('bundle', 400, [{ path: BUNDLE_FIELD, message: `has no JSON form: ${(error as Error).message}` }]);
  }
  if (text === undefined) throw new BundleRefusedError('bundle', 400, [{ path: BUNDLE_FIELD, message: 'has no JSON form' }]);
  return new TextEncoder().encode(text);
}

/**
 * The content of bundle bytes, checked: at most {@link MAX_BUNDLE_BYTES}, UTF-8, JSON, in canonical
 * form, with the format tag and well-formed file paths (the manifest is not checked here).
 * @throws BundleRefusedError `size` (413) or `bundle` (400), naming the field.
 */
export function decodeBundle(bytes: Uint8Array): BundleContent {
  if (bytes.length > MAX_BUNDLE_BYTES)
    throw new BundleRefusedError('size', 413, [
      { path: BUNDLE_FIELD, message: `the bundle is ${bytes.length} bytes; at most ${MAX_BUNDLE_BYTES}` },
    ]);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BundleRefusedError('bundle', 400, [{ path: BUNDLE_FIELD, message: 'is not UTF-8 text' }]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new BundleRefusedError('bundle', 400, [
      { path: BUNDLE_FIELD, message: `is not JSON: ${(error as Error).message.slice(0, 200)}` },
    ]);
  }
  const content = bundleContentSchema.safeParse(parsed);
  if (!content.success)
    throw new BundleRefusedError(
      'bundle',
      400,
      content.error.issues.map((issue) => ({ path: [BUNDLE_FIELD, ...issue.path.map(String)].join('.'), message: issue.message })),
    );
  if (canonicalize(parsed) !== text)
    throw new BundleRefusedError('bundle', 400, [
      { path: BUNDLE_FIELD, message: 'is not in canonical form (RFC 8785 JSON): build and sign it with `npm run capsule -- sign`' },
    ]);
  return content.data as BundleContent;
}

/**
 * The manifest of decoded content, validated.
 * @throws BundleRefusedError `manifest` (400) naming each field (`body.parameters.bundle.manifest.budget.tokens`).
 */
export function parseManifest(content: BundleContent): CapsuleManifest {
  const parsed = capsuleManifestSchema.safeParse(content.manifest);
  if (!parsed.success)
    throw new BundleRefusedError(
      'manifest',
      400,
      parsed.error.issues.map((issue) => ({
        path: [BUNDLE_FIELD, 'manifest', ...issue.path.map(String)].join('.'),
        message: issue.message,
      })),
    );
  return parsed.data;
}

/**
 * An author key's id: the SHA-256 (hex) of its DER SubjectPublicKeyInfo.
 * @throws BundleRefusedError when the key is not an Ed25519 public key.
 */
export function keyIdOf(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? parsePublicKey(publicKey) : publicKey;
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/**
 * An Ed25519 public key from PEM (SPKI).
 * @throws BundleRefusedError (400, `signature`) when it is not one.
 */
export function parsePublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new BundleRefusedError('signature', 400, [{ path: 'body.parameters.publicKey', message: 'is not a PEM public key' }]);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new BundleRefusedError('signature', 400, [
      { path: 'body.parameters.publicKey', message: `is a ${key.asymmetricKeyType} key; authors sign with Ed25519` },
    ]);
  return key;
}

/**
 * Signs bundle bytes with an author's Ed25519 private key.
 * @example const signature = signBundle(bytes, createPrivateKey(pem));
 */
export function signBundle(bytes: Uint8Array, privateKey: KeyObject): BundleSignature {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`authors sign with an Ed25519 key, not ${privateKey.asymmetricKeyType}`);
  return {
    alg: 'Ed25519',
    keyId: keyIdOf(createPublicKey(privateKey)),
    bundleSha256: sha256Of(bytes),
    signature: sign(null, bytes, privateKey).toString('base64'),
  };
}

declare const verified: unique symbol;

/**
 * A bundle whose signature verified over its exact bytes with the named author's registered key,
 * whose bytes are canonical and whose manifest is valid. Only {@link verifyBundle} makes one.
 */
export type VerifiedCapsule = Readonly<{
  bytes: Uint8Array;
  sha256: string;
  content: BundleContent;
  manifest: CapsuleManifest;
  /** The author whose key verified it, and that key's id. */
  author: string;
  keyId: string;
  /** The signature that verified. */
  signature: BundleSignature;
}> & { readonly [verified]: true };

/** The author's key the signature must verify with. */
export interface SigningKey {
  author: string;
  keyId: string;
  /** PEM (SPKI). */
  publicKey: string;
}

/**
 * Checks a signature over bundle bytes: present, made by `key` (same key id), over these exact
 * bytes. Content changed after signing (its SHA-256 is not the one signed) and a signature that
 * does not verify are reported apart.
 * @returns the key that verified it.
 * @throws BundleRefusedError `signature` (400) with the exact reason.
 */
export function checkSignature(bytes: Uint8Array, signature: BundleSignature | undefined, key: SigningKey | undefined): SigningKey {
  const refuse = (path: string, message: string) => new BundleRefusedError('signature', 400, [{ path, message }]);
  if (signature === undefined)
    throw refuse(
      SIGNATURE_FIELD,
      'missing signature: a bundle is accepted only with its author’s Ed25519 signature (`npm run capsule -- sign`)',
    );
  if (key === undefined || key.keyId !== signature.keyId)
    throw refuse(
      `${SIGNATURE_FIELD}.keyId`,
      `key ${signature.keyId.slice(0, 12)}… is not an active registered key of the submitting author (PUT /capsules/authors)`,
    );
  const actual = sha256Of(bytes);
  if (actual !== signature.bundleSha256)
    throw refuse(
      BUNDLE_FIELD,
      `content changed after signing: the bundle's SHA-256 is ${actual.slice(0, 16)}…, the signature was made over ${signature.bundleSha256.slice(0, 16)}…`,
    );
  const raw = Buffer.from(signature.signature, 'base64');
  let valid = false;
  try {
    valid = raw.length === 64 && verify(null, bytes, parsePublicKey(key.publicKey), raw);
  } catch {
    valid = false;
  }
  if (!valid)
    throw refuse(
      `${SIGNATURE_FIELD}.signature`,
      `wrong signature: it does not verify over the bundle's bytes with key ${key.keyId.slice(0, 12)}… of ${key.author}`,
    );
  return key;
}

/**
 * Verifies a bundle end to end (size, signature over the exact bytes, canonical content, manifest)
 * and brands it. Use it wherever signed content is about to be trusted: before review, before an
 * install, before the sandbox runs its code.
 * @throws BundleRefusedError naming the failed check, the status and the field.
 * @example
 * const bundle = verifyBundle(bytes, signature, { author: 'alice', keyId, publicKey: pem });
 * runInSandbox(bundle, …);
 */
export function verifyBundle(bytes: Uint8Array, signature: BundleSignature | undefined, key: SigningKey | undefined): VerifiedCapsule {
  if (bytes.length > MAX_BUNDLE_BYTES)
    throw new BundleRefusedError('size', 413, [
      { path: BUNDLE_FIELD, message: `the bundle is ${bytes.length} bytes; at most ${MAX_BUNDLE_BYTES}` },
    ]);
  const { author, keyId } = checkSignature(bytes, signature, key);
  const content = decodeBundle(bytes);
  const manifest = parseManifest(content);
  // checkSignature refused a missing signature.
  return { bytes, sha256: sha256Of(bytes), content, manifest, author, keyId, signature } as VerifiedCapsule;
}
