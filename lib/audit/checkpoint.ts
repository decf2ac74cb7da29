/**
 * Signed checkpoints: a statement "stream S of tenant T had N entries with Merkle root R",
 * signed with Ed25519 over the RFC 8785 canonical JSON of the body. Each checkpoint names the
 * hash of the one before it, so checkpoints form their own chain, and consecutive checkpoints
 * must be Merkle-consistent (the later tree extends the earlier one).
 *
 * Keys: `publicKey` is base64 of the raw 32-byte Ed25519 key (RFC 8032) — compact and readable
 * by any Ed25519 library without ASN.1; `keyId` = first 16 hex of SHA-256 of those 32 bytes.
 * Rotation: a new key signs from its `createdAt`; the old one gets `retiredAt` and stays in the
 * published set, so checkpoints it signed before retiring still verify.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { ValidationError } from '../errors.ts';
import { canonicalHash, canonicalJson, sha256Hex } from './digest.ts';
import type { MerkleTree } from './merkle.ts';
import { type Checkpoint, type CheckpointBody, checkpointBodySchema, type PublicKey, type PublicKeySet } from './schemas.ts';

/**
 * A private signing key as plain data, so it can be kept in a secret store. `privateKey` is base64
 * PKCS#8 DER. Never publish it: `publicKeySet` strips it.
 */
export interface SigningKey {
  keyId: string;
  algorithm: 'Ed25519';
  /** Base64 of the raw 32-byte public key. */
  publicKey: string;
  /** Base64 PKCS#8 DER of the private key. */
  privateKey: string;
  createdAt: string;
  retiredAt?: string;
}

// The 12-byte SPKI prefix of every Ed25519 public key (RFC 8410): the raw key is what follows it.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * The key id of a raw Ed25519 public key: first 16 hex characters of its SHA-256.
 *
 * @example keyIdOf(Buffer.from(key.publicKey, 'base64')) === key.keyId // true
 */
export function keyIdOf(rawPublicKey: Uint8Array): string {
  return sha256Hex(rawPublicKey).slice(0, 16);
}

/**
 * Generates a fresh Ed25519 signing key.
 *
 * @example const key = generateSigningKey(new Date().toISOString());
 */
export function generateSigningKey(createdAt: string = new Date().toISOString()): SigningKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length);
  return {
    keyId: keyIdOf(raw),
    algorithm: 'Ed25519',
    publicKey: raw.toString('base64'),
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    createdAt,
  };
}

/**
 * Marks a key retired at `retiredAt`: it signs no more, but stays in the published set.
 *
 * @example const [old, next] = [retireKey(current, now), generateSigningKey(now)];
 */
export function retireKey(key: SigningKey, retiredAt: string): SigningKey {
  return { ...key, retiredAt };
}

/**
 * The published key set (what `GET /audit/keys` returns and the verifier's `--keys` file): public
 * halves only, retired keys included.
 *
 * @example writeFileSync('keys.json', JSON.stringify(publicKeySet([oldKey, newKey])));
 */
export function publicKeySet(keys: readonly SigningKey[]): PublicKeySet {
  return {
    keys: keys.map((key) => {
      const published: PublicKey = { keyId: key.keyId, algorithm: 'Ed25519', publicKey: key.publicKey, createdAt: key.createdAt };
      if (key.retiredAt !== undefined) published.retiredAt = key.retiredAt;
      return published;
    }),
  };
}

/**
 * The exact bytes a checkpoint signature covers: UTF-8 canonical JSON of the body. Exposed so a
 * KMS-backed signer can sign the same bytes.
 *
 * @throws ValidationError when the body is malformed.
 */
export function checkpointSigningInput(body: CheckpointBody): Buffer {
  const parsed = checkpointBodySchema.safeParse(body);
  if (!parsed.success)
    throw new ValidationError(parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })));
  return Buffer.from(canonicalJson(parsed.data), 'utf8');
}

/**
 * Signs a checkpoint body with `key`. `body.keyId` must name the key, so the key binding is
 * itself signed.
 *
 * @throws ValidationError when the body is malformed or names another key, or the key is retired.
 * @example const checkpoint = signCheckpoint({ tenant, stream, treeSize, rootHash, timestamp, previousCheckpointHash: null, keyId: key.keyId }, key);
 */
export function signCheckpoint(body: CheckpointBody, key: SigningKey): Checkpoint {
  if (body.keyId !== key.keyId)
    throw new ValidationError([{ path: 'keyId', message: `body names key ${body.keyId}, signing key is ${key.keyId}` }]);
  if (key.retiredAt !== undefined)
    throw new ValidationError([{ path: 'keyId', message: `key ${key.keyId} was retired at ${key.retiredAt}` }]);
  const privateKey = createPrivateKey({ key: Buffer.from(key.privateKey, 'base64'), format: 'der', type: 'pkcs8' });
  const signature = sign(null, checkpointSigningInput(body), privateKey).toString('base64');
  return { ...checkpointBodySchema.parse(body), signature };
}

/**
 * The hash that links checkpoints: hex SHA-256 of the canonical JSON of the whole signed
 * checkpoint (signature included, so a re-signed checkpoint breaks the link).
 */
export function checkpointHash(checkpoint: Checkpoint): string {
  return canonicalHash(checkpoint);
}

/** What a checkpoint is made of: the tree of the first `treeSize` leaves of `tree`, or a root computed elsewhere. */
export type CheckpointTree = { tree: MerkleTree; treeSize?: number } | { root: Uint8Array; treeSize: number };

/**
 * Builds and signs the checkpoint of a tree, chained to `previous`: either the first `treeSize`
 * leaves of a cached `tree`, or a `root` of `treeSize` leaves (from a Merkle frontier).
 *
 * @throws ValidationError when `previous` belongs to another stream or covers more entries, or the root is not 32 bytes.
 * @throws MerkleRangeError when `treeSize` exceeds the tree.
 * @example const next = createCheckpoint({ tenant, stream, tree, timestamp: now, previous: latest }, key);
 * @example const next = createCheckpoint({ tenant, stream, root: frontier.root(), treeSize: frontier.size, timestamp: now, previous }, key);
 */
export function createCheckpoint(
  input: { tenant: string; stream: string; timestamp: string; previous?: Checkpoint } & CheckpointTree,
  key: SigningKey,
): Checkpoint {
  const treeSize = 'tree' in input ? (input.treeSize ?? input.tree.size) : input.treeSize;
  const root = 'tree' in input ? input.tree.root(treeSize) : input.root;
  if (root.length !== 32) throw new ValidationError([{ path: 'root', message: `a root is 32 bytes, got ${root.length}` }]);
  const { previous } = input;
  if (previous !== undefined && (previous.tenant !== input.tenant || previous.stream !== input.stream || previous.treeSize > treeSize)) {
    throw new ValidationError([
      {
        path: 'previous',
        message: `previous checkpoint ${previous.tenant}/${previous.stream}@${previous.treeSize} cannot precede this one`,
      },
    ]);
  }
  return signCheckpoint(
    {
      tenant: input.tenant,
      stream: input.stream,
      treeSize,
      rootHash: Buffer.from(root).toString('hex'),
      timestamp: input.timestamp,
      previousCheckpointHash: previous === undefined ? null : checkpointHash(previous),
      keyId: key.keyId,
    },
    key,
  );
}

/** Why a checkpoint signature did not verify. */
export type CheckpointSignatureResult =
  | { valid: true; key: PublicKey }
  | { valid: false; reason: 'unknown-key' | 'bad-signature'; detail: string };

function publicKeyObject(key: PublicKey): KeyObject | undefined {
  const raw = Buffer.from(key.publicKey, 'base64');
  if (raw.length !== 32 || keyIdOf(raw) !== key.keyId) return undefined;
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/**
 * Verifies a checkpoint's signature against a key set. A key whose id does not match its bytes is
 * treated as unknown. A checkpoint dated after its key's `retiredAt` is rejected: a retired key
 * that leaked must not be able to sign new history. (`createdAt` is not enforced: checkpoints may
 * be re-signed from a backfill.)
 *
 * @example verifyCheckpoint(checkpoint, keySet) // { valid: true, key }
 */
export function verifyCheckpoint(checkpoint: Checkpoint, keySet: PublicKeySet): CheckpointSignatureResult {
  const key = keySet.keys.find((candidate) => candidate.keyId === checkpoint.keyId);
  const keyObject = key === undefined ? undefined : publicKeyObject(key);
  if (key === undefined || keyObject === undefined) {
    return { valid: false, reason: 'unknown-key', detail: `key ${checkpoint.keyId} is not in the key set` };
  }
  const { signature, ...body } = checkpoint;
  let input: Buffer;
  try {
    input = checkpointSigningInput(body);
  } catch (error) {
    return { valid: false, reason: 'bad-signature', detail: `checkpoint body is malformed: ${(error as Error).message}` };
  }
  if (!verify(null, input, keyObject, Buffer.from(signature, 'base64'))) {
    return { valid: false, reason: 'bad-signature', detail: `signature does not verify with key ${key.keyId}` };
  }
  if (key.retiredAt !== undefined && Date.parse(checkpoint.timestamp) > Date.parse(key.retiredAt)) {
    return {
      valid: false,
      reason: 'bad-signature',
      detail: `checkpoint dated ${checkpoint.timestamp} was signed by key ${key.keyId}, retired at ${key.retiredAt}`,
    };
  }
  return { valid: true, key };
}

/**
 * The S3 key of a checkpoint. The tree size is zero-padded to 16 digits so keys list in order.
 *
 * @example checkpointKey('acme', 'ops', 42) // 'acme/audit/checkpoints/ops/0000000000000042.json'
 */
export function checkpointKey(tenant: string, stream: string, treeSize: number): string {
  return `${tenant}/audit/checkpoints/${stream}/${String(treeSize).padStart(16, '0')}.json`;
}
