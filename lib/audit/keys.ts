/**
 * Checkpoint signing keys, one set per tenant: each tenant's checkpoints are signed only with its
 * own Ed25519 key, and only that tenant's admins rotate it.
 *
 * Two places hold them. The tenant's secret (`SigningKeyStore`; one Secrets Manager secret per
 * tenant) holds the private key that signs now and the public half of the key it replaced, nothing
 * more, so its size is the same after one rotation or ten thousand (at most
 * {@link MAX_SIGNING_KEY_SECRET_BYTES}). The published set (`PublishedKeyStore`; the state table)
 * holds the public half of every key the tenant ever signed with, retired ones marked, never
 * deleted: that is what verification, exports and the outside verifier read, so old checkpoints
 * keep verifying after any number of rotations.
 *
 * A key is published before anything is signed with it, and before the secret lets it go: every
 * signer publishes what it read from the secret before signing, and a rotation publishes the
 * secret's content before replacing it. So a rotation interrupted between the secret and the
 * table is finished by the next signer or rotation, from the secret alone.
 *
 * Changes to the secret are compare-and-swap (`SigningKeyStore.replace(next, version)`), so two
 * bootstrapping signers, or a rotation racing a bootstrap, end up with one key.
 *
 * Before keys were per tenant, one stage-wide ring signed every tenant's checkpoints; its public
 * keys stay published (`PublishedKeyStore.legacy`) so what they signed still verifies, and
 * {@link retireLegacyKeys} retires them so they can sign nothing new.
 */
import { ConflictError } from '../errors.ts';
import { generateSigningKey, type SigningKey } from './checkpoint.ts';
import { SigningKeyStateError } from './errors.ts';
import type { PublishedKeyStore, SigningKeyStore } from './ports.ts';
import { type PublicKey, type PublicKeySet, TENANT_SIGNING_KEY_FORMAT, type TenantSigningKey, tenantSigningKeySchema } from './schemas.ts';

/**
 * How long after a rotation the retired key's checkpoints still verify. A signer reads the key
 * once per invocation and signs with it until the invocation ends (at most 300 s, the longest
 * audit function timeout), so one that read the key just before a rotation may still be signing
 * with the old one; this grace keeps those checkpoints valid. A leaked retired key gains nothing
 * beyond these minutes.
 */
export const ROTATION_GRACE_MS = 10 * 60_000;

/**
 * The most a tenant's signing-key secret holds, in bytes (UTF-8 JSON): one private key and one
 * retired public key take about 500. Secrets Manager accepts 65,536.
 */
export const MAX_SIGNING_KEY_SECRET_BYTES = 1024;

/**
 * The secret's text for `key`.
 *
 * @throws SigningKeyStateError when it would exceed {@link MAX_SIGNING_KEY_SECRET_BYTES} (the schema bounds every field, so only a bug gets here).
 * @example await client.send(new PutSecretValueCommand({ SecretId, SecretString: serializeTenantSigningKey(next) }));
 */
export function serializeTenantSigningKey(key: TenantSigningKey): string {
  const text = JSON.stringify(tenantSigningKeySchema.parse(key));
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_SIGNING_KEY_SECRET_BYTES) {
    throw new SigningKeyStateError(
      `the signing-key secret of ${key.tenant} would hold ${bytes} bytes, over ${MAX_SIGNING_KEY_SECRET_BYTES}`,
    );
  }
  return text;
}

/**
 * Parses a tenant's signing-key secret and checks that it is that tenant's.
 *
 * @throws SigningKeyStateError when the text is not a signing-key secret, or names another tenant.
 * @example const current = parseTenantSigningKey(secret.SecretString, 'acme');
 */
export function parseTenantSigningKey(text: string, tenant: string): TenantSigningKey {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SigningKeyStateError(`the signing-key secret of ${tenant} is not JSON`);
  }
  const parsed = tenantSigningKeySchema.safeParse(value);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new SigningKeyStateError(`the signing-key secret of ${tenant} is malformed (${fields})`);
  }
  if (parsed.data.tenant !== tenant) {
    throw new SigningKeyStateError(`the signing-key secret of ${tenant} names tenant ${parsed.data.tenant}; nothing is signed with it`);
  }
  return parsed.data;
}

/** The public half of a key, as published. */
export function publicHalf(key: Pick<SigningKey, 'keyId' | 'publicKey' | 'createdAt' | 'retiredAt'>): PublicKey {
  return {
    keyId: key.keyId,
    algorithm: 'Ed25519',
    publicKey: key.publicKey,
    createdAt: key.createdAt,
    ...(key.retiredAt === undefined ? {} : { retiredAt: key.retiredAt }),
  };
}

/**
 * The tenant's secret after a rotation at `now` (or its first key, when `current` is undefined): a
 * new key signs at once; the replaced one keeps only its public half, retired at `now` + `graceMs`.
 *
 * @example const next = nextTenantKey('acme', current, new Date().toISOString());
 */
export function nextTenantKey(
  tenant: string,
  current: TenantSigningKey | undefined,
  now: string,
  options: { generate?: (createdAt: string) => SigningKey; graceMs?: number } = {},
): TenantSigningKey {
  const { retiredAt: _never, ...active } = (options.generate ?? generateSigningKey)(now);
  const next: TenantSigningKey = { format: TENANT_SIGNING_KEY_FORMAT, tenant, generation: (current?.generation ?? 0) + 1, active };
  if (current === undefined) return next;
  const retiredAt = new Date(Date.parse(now) + (options.graceMs ?? 0)).toISOString();
  return { ...next, retired: { ...publicHalf(current.active), retiredAt } };
}

/**
 * Publishes what a tenant's secret holds: its active key, and the retirement of the key it
 * replaced. Idempotent (both writes are conditional); never un-retires a key. It reads before it
 * writes, so a signer that finds everything published writes nothing; with `fresh` (the caller
 * has just written this secret version itself, so the writes are all but certainly still to do)
 * it writes at once.
 *
 * @example await publishTenantKey(publishedKeys, current);
 */
export async function publishTenantKey(
  published: PublishedKeyStore,
  current: TenantSigningKey,
  options: { fresh?: boolean } = {},
): Promise<void> {
  const active = publicHalf(current.active);
  const { retired } = current;
  const [storedActive, storedRetired] =
    options.fresh === true
      ? [undefined, undefined]
      : await Promise.all([
          published.get(current.tenant, active.keyId),
          retired === undefined ? undefined : published.get(current.tenant, retired.keyId),
        ]);
  await Promise.all([
    storedActive === undefined ? published.add(current.tenant, active) : undefined,
    retired !== undefined && storedRetired?.retiredAt === undefined ? published.retire(current.tenant, retired) : undefined,
  ]);
}

/** The two stores of a tenant's keys. */
export interface TenantKeyStores {
  keys: SigningKeyStore;
  published: PublishedKeyStore;
}

/** The tenant's secret, refused when it names another tenant (whatever the store checked). */
async function loadOwn(keys: SigningKeyStore, tenant: string): Promise<{ current: TenantSigningKey | undefined; version: string }> {
  const loaded = await keys.load(tenant);
  if (loaded.current !== undefined && loaded.current.tenant !== tenant) {
    throw new SigningKeyStateError(`the signing-key secret of ${tenant} names tenant ${loaded.current.tenant}; nothing is signed with it`);
  }
  return loaded;
}

/** Options of {@link tenantSigningKey} and {@link rotateTenantKey}. */
export interface TenantKeyOptions {
  now: () => Date;
  /** Compare-and-swap attempts before giving up (default 5). */
  attempts?: number;
  generate?: (createdAt: string) => SigningKey;
  /** Rotation only: how long the retired key's checkpoints stay valid (default {@link ROTATION_GRACE_MS}). */
  graceMs?: number;
}

/**
 * The key that signs the tenant's checkpoints now, published; the tenant's first key is created
 * here (bootstrap). Two callers bootstrapping at once both try to replace the same version; one
 * wins, the other re-reads and uses the winner's key.
 *
 * @throws SigningKeyStateError when the tenant's secret is unusable (malformed, or another tenant's).
 * @throws ConflictError when every attempt lost a race (the secret keeps changing).
 * @example const key = await tenantSigningKey({ keys, published }, 'acme', { now: () => new Date() });
 */
export async function tenantSigningKey(stores: TenantKeyStores, tenant: string, options: TenantKeyOptions): Promise<SigningKey> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const { current, version } = await loadOwn(stores.keys, tenant);
    if (current !== undefined) {
      await publishTenantKey(stores.published, current);
      return current.active;
    }
    const first = nextTenantKey(tenant, undefined, options.now().toISOString(), { generate: options.generate });
    if (await stores.keys.replace(first, version)) {
      await publishTenantKey(stores.published, first, { fresh: true });
      return first.active;
    }
  }
  throw new ConflictError(`the signing key of ${tenant} changed ${attempts} times while its first key was being created; retry`);
}

/**
 * Rotates the tenant's key: a new key signs from now on; the old one is retired (after
 * `graceMs`) and stays published. Other tenants' keys are not touched. What the secret held is
 * published before it is replaced, so no key leaves the secret unpublished.
 *
 * @throws SigningKeyStateError when the tenant's secret is unusable.
 * @throws ConflictError when every attempt lost a race with another writer.
 * @example const { key, retired } = await rotateTenantKey({ keys, published }, 'acme', { now: () => new Date() });
 */
export async function rotateTenantKey(
  stores: TenantKeyStores,
  tenant: string,
  options: TenantKeyOptions,
): Promise<{ key: SigningKey; retired?: string; generation: number }> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const { current, version } = await loadOwn(stores.keys, tenant);
    if (current !== undefined) await publishTenantKey(stores.published, current);
    const next = nextTenantKey(tenant, current, options.now().toISOString(), {
      generate: options.generate,
      graceMs: options.graceMs ?? ROTATION_GRACE_MS,
    });
    if (await stores.keys.replace(next, version)) {
      await publishTenantKey(stores.published, next, { fresh: true });
      const outcome = { key: next.active, generation: next.generation };
      return current === undefined ? outcome : { ...outcome, retired: current.active.keyId };
    }
  }
  throw new ConflictError(`the signing key of ${tenant} changed ${attempts} times during the rotation; retry`);
}

/**
 * The keys a tenant's checkpoints are verified with (what `GET /audit/keys` returns): the
 * tenant's own published keys, and the stage-wide keys of the earlier single ring, which signed
 * checkpoints of every tenant before keys were per tenant. Never another tenant's keys.
 *
 * @example const keys = await tenantKeySet(publishedKeys, 'acme');
 */
export async function tenantKeySet(published: PublishedKeyStore, tenant: string): Promise<PublicKeySet> {
  const [own, legacy] = await Promise.all([published.list(tenant), published.legacy()]);
  const ownIds = new Set(own.map((key) => key.keyId));
  return { keys: [...(legacy?.keys.keys ?? []).filter((key) => !ownIds.has(key.keyId)), ...own] };
}

/**
 * Retires every key of the earlier stage-wide ring that is not retired yet, at `now` + `graceMs`
 * (for signers of the previous version still running), so none of them can sign a checkpoint
 * that verifies after that; what they signed before keeps verifying. Idempotent.
 *
 * @returns how many keys it retired (0 when there is no stage-wide set, or all of it is retired).
 * @example await retireLegacyKeys(publishedKeys, new Date());
 */
export async function retireLegacyKeys(published: PublishedKeyStore, now: Date, graceMs = ROTATION_GRACE_MS): Promise<number> {
  const legacy = await published.legacy();
  const keys = legacy?.keys.keys ?? [];
  const active = keys.filter((key) => key.retiredAt === undefined);
  if (legacy === undefined || active.length === 0) return 0;
  const retiredAt = new Date(now.getTime() + graceMs).toISOString();
  await published.putLegacy(
    { keys: keys.map((key) => (key.retiredAt === undefined ? { ...key, retiredAt } : key)) },
    legacy.generation + 1,
  );
  return active.length;
}
