/**
 * The key ring: every checkpoint signing key the deployment ever used, the active one named, the
 * others retired but kept so the checkpoints they signed still verify. It is what the secret store
 * holds (Secrets Manager in AWS); only its public halves are ever published (`publicKeySet`).
 *
 * Changes are compare-and-swap: `KeyRingStore.replace(next, version)` succeeds only when the ring
 * is still at `version`, so two signers bootstrapping at once, or a rotation racing a bootstrap,
 * cannot leave a checkpoint signed with a key the ring does not keep.
 */
import { ConflictError, ValidationError } from '../errors.ts';
import { generateSigningKey, publicKeySet, retireKey, type SigningKey } from './checkpoint.ts';
import type { KeyRingStore, PublishedKeyStore } from './ports.ts';
import { type KeyRing, keyRingSchema, type PublicKeySet } from './schemas.ts';

/** The ring of a fresh deployment: no key yet (the first signer creates one). */
export const EMPTY_KEY_RING: KeyRing = { generation: 0, keys: [] };

/**
 * Parses a stored ring (the secret's JSON text).
 *
 * @throws ValidationError naming each bad field when the text is not a key ring.
 * @example parseKeyRing('{"keys":[]}') // { keys: [] }
 */
export function parseKeyRing(text: string): KeyRing {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError([{ path: 'keyRing', message: 'the signing-key secret is not JSON' }]);
  }
  const parsed = keyRingSchema.safeParse(value);
  if (!parsed.success) {
    throw new ValidationError(parsed.error.issues.map((issue) => ({ path: `keyRing.${issue.path.join('.')}`, message: issue.message })));
  }
  return parsed.data;
}

/** The key that signs now, or undefined when the ring has none. */
export function activeKey(ring: KeyRing): SigningKey | undefined {
  const key = ring.keys.find((candidate) => candidate.keyId === ring.activeKeyId);
  return key === undefined || key.retiredAt !== undefined ? undefined : key;
}

/**
 * How long after a rotation the retired key's checkpoints still verify. A signer reads the ring
 * once per invocation and signs with it until the invocation ends (at most 300 s, the longest
 * audit function timeout), so one that read the ring just before a rotation may still be signing
 * with the old key; this grace keeps those checkpoints valid. A leaked retired key gains nothing
 * beyond these minutes.
 */
export const ROTATION_GRACE_MS = 10 * 60_000;

/**
 * The ring after a rotation at `now`: the active key (if any) retired at `now` + `graceMs`, a new
 * key created and made active at once. Old keys stay, so everything they signed still verifies.
 *
 * @example const next = rotateKeyRing(ring, new Date().toISOString());
 */
export function rotateKeyRing(
  ring: KeyRing,
  now: string,
  generate: (createdAt: string) => SigningKey = generateSigningKey,
  graceMs = 0,
): KeyRing {
  const fresh = generate(now);
  const retiredAt = new Date(Date.parse(now) + graceMs).toISOString();
  const keys = ring.keys.map((key) => (key.keyId === ring.activeKeyId && key.retiredAt === undefined ? retireKey(key, retiredAt) : key));
  return { generation: ring.generation + 1, activeKeyId: fresh.keyId, keys: [...keys, fresh] };
}

/** The published half of a ring: public keys with ids, retired ones included. */
export function publishedKeys(ring: KeyRing): PublicKeySet {
  return publicKeySet(ring.keys);
}

/**
 * Publishes the public half of `ring` unless a ring of the same or a later generation is already
 * published: a signer holding a stale ring can never unpublish a newer key.
 *
 * @example await publishKeyRing(ring, publishedKeyStore);
 */
export async function publishKeyRing(ring: KeyRing, store: PublishedKeyStore): Promise<void> {
  const current = await store.get();
  if (current !== undefined && current.generation >= ring.generation) return;
  await store.put(publishedKeys(ring), ring.generation);
}

/** Options of {@link ensureSigningKey} and {@link rotateSigningKey}. */
export interface KeyRingOptions {
  now: () => Date;
  /** Compare-and-swap attempts before giving up (default 5). */
  attempts?: number;
  generate?: (createdAt: string) => SigningKey;
  /** Rotation only: how long the retired key's checkpoints stay valid (default {@link ROTATION_GRACE_MS}). */
  graceMs?: number;
}

/**
 * The active signing key, creating the ring's first key when it has none (bootstrap). Two callers
 * bootstrapping at once both try to replace the same version; one wins, the other re-reads and
 * uses the winner's key, so a checkpoint is never signed with a key the ring does not keep.
 *
 * @throws ConflictError when every attempt lost a race (the ring keeps changing).
 * @example const key = await ensureSigningKey(ringStore, { now: () => new Date() });
 */
export async function ensureSigningKey(store: KeyRingStore, options: KeyRingOptions): Promise<{ key: SigningKey; ring: KeyRing }> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const { ring, version } = await store.load();
    const key = activeKey(ring);
    if (key !== undefined) return { key, ring };
    const next = rotateKeyRing(ring, options.now().toISOString(), options.generate);
    if (await store.replace(next, version)) {
      const created = activeKey(next);
      if (created !== undefined) return { key: created, ring: next };
    }
  }
  throw new ConflictError(`the signing-key ring changed ${attempts} times while a key was being created; retry`);
}

/**
 * Rotates: retires the active key and activates a new one, as one compare-and-swap.
 *
 * @throws ConflictError when every attempt lost a race with another writer.
 * @example const { key, ring } = await rotateSigningKey(ringStore, { now: () => new Date() });
 */
export async function rotateSigningKey(store: KeyRingStore, options: KeyRingOptions): Promise<{ key: SigningKey; ring: KeyRing; retired?: string }> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const { ring, version } = await store.load();
    const next = rotateKeyRing(ring, options.now().toISOString(), options.generate, options.graceMs ?? ROTATION_GRACE_MS);
    if (await store.replace(next, version)) {
      const key = activeKey(next);
      if (key === undefined) break;
      const retired = activeKey(ring)?.keyId;
      return retired === undefined ? { key, ring: next } : { key, ring: next, retired };
    }
  }
  throw new ConflictError(`the signing-key ring changed ${attempts} times during the rotation; retry`);
}
