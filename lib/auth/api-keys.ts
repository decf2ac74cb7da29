/**
 * API keys: `apk_<tenant>_<keyId>_<secret>`. Only a salted SHA-256 of the secret is stored; the key
 * itself is shown once, on creation. The secret is 256 random bits, so a fast hash is enough (a slow
 * password KDF guards low-entropy secrets, which these are not).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TENANT_ID_FRAGMENT } from '../../events/ids.ts';
import { UnauthorizedError } from '../errors.ts';
import type { Principal } from './principal.ts';
import type { Role } from './roles.ts';

/** What is stored for a key (never the secret). */
export interface StoredApiKey {
  tenant: string;
  keyId: string;
  name: string;
  roles: Role[];
  salt: string;
  hash: string;
  createdAt: string;
  createdBy: string;
  revokedAt?: string;
}

/** Storage of API keys, keyed by tenant then key id. */
export interface ApiKeyStore {
  /** @throws ConflictError when the key id exists. */
  create(key: StoredApiKey): Promise<void>;
  get(tenant: string, keyId: string): Promise<StoredApiKey | undefined>;
  list(tenant: string): Promise<StoredApiKey[]>;
  /** Marks the key revoked; @throws NotFoundError when it does not exist. */
  revoke(tenant: string, keyId: string, revokedAt: string): Promise<StoredApiKey>;
}

/** `apk_<tenant>_<keyId>_<secret>`; tenant ids have no `_`, so the split is unambiguous. */
const KEY_PATTERN = new RegExp(`^apk_(${TENANT_ID_FRAGMENT})_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$`);

function digest(salt: string, secret: string): string {
  return createHash('sha256').update(salt).update(secret).digest('hex');
}

/** A new key: the string to hand out once, and the record to store. */
export function mintApiKey(input: { tenant: string; name: string; roles: Role[]; createdBy: string; now: Date }): { apiKey: string; stored: StoredApiKey } {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(16).toString('hex');
  return {
    apiKey: `apk_${input.tenant}_${keyId}_${secret}`,
    stored: {
      tenant: input.tenant,
      keyId,
      name: input.name,
      roles: input.roles,
      salt,
      hash: digest(salt, secret),
      createdAt: input.now.toISOString(),
      createdBy: input.createdBy,
    },
  };
}

/**
 * The principal an API key proves.
 * @throws UnauthorizedError when the key is malformed, unknown, revoked or wrong.
 */
export async function verifyApiKey(apiKey: string, store: ApiKeyStore): Promise<Principal> {
  const match = KEY_PATTERN.exec(apiKey);
  if (!match) throw new UnauthorizedError('API key is malformed');
  const [, tenant = '', keyId = '', secret = ''] = match;
  const stored = await store.get(tenant, keyId);
  const expected = Buffer.from(stored?.hash ?? '0'.repeat(64), 'hex');
  const actual = Buffer.from(digest(stored?.salt ?? '', secret), 'hex');
  if (!stored || !timingSafeEqual(expected, actual)) throw new UnauthorizedError('API key is not valid');
  if (stored.revokedAt) throw new UnauthorizedError('API key was revoked');
  return { tenant, subject: `api-key:${keyId}`, roles: stored.roles, via: 'api-key' };
}

/** A stored key as listed to admins: no salt, no hash. */
export function describeApiKey(key: StoredApiKey): Omit<StoredApiKey, 'salt' | 'hash'> {
  const { salt: _salt, hash: _hash, ...rest } = key;
  return rest;
}
