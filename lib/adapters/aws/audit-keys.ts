/**
 * Each tenant's checkpoint signing key in AWS Secrets Manager: one secret per tenant, named
 * `<prefix><tenant>/signing-key` (the prefix is the stage's, `autonomy/<stage>/audit-signing-keys/`),
 * created by the tenant's first signer. Its JSON is a `TenantSigningKey` (lib/audit/keys.ts): the
 * active private key and the public half of the key it replaced, under 1 KiB however often the
 * tenant rotates.
 *
 * Replacing it is compare-and-swap on the secret's version: the new version's `ClientRequestToken`
 * (which becomes its VersionId) is derived from the version it replaces, and Secrets Manager
 * refuses a token already used with another value (`ResourceExistsException`). Two writers that
 * read the same version therefore race for the same token and exactly one wins; the loser
 * re-reads. The first version is created with `CreateSecret` and the token that follows the empty
 * version, so two first signers race the same way (the loser finds the name taken, then the token).
 * Other SDK failures map through lib/adapters/aws/errors.ts (throttling and faults: DependencyError).
 */
import { createHash } from 'node:crypto';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { parseTenantSigningKey, serializeTenantSigningKey } from '../../audit/keys.ts';
import type { SigningKeyStore } from '../../audit/ports.ts';
import type { TenantSigningKey } from '../../audit/schemas.ts';
import { mappedSend } from './errors.ts';

/**
 * The token of the version that follows `version`: UUID-shaped (36 characters, inside the 32–64
 * Secrets Manager accepts), the same for every writer that read `version`.
 *
 * @example nextVersionToken('6f1c…') // 'a3b1…-…'
 */
export function nextVersionToken(version: string): string {
  const hex = createHash('sha256').update(`autonomy-key-ring-after:${version}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The secret name of a tenant's signing key. The `/signing-key` suffix keeps a tenant id ending in
 * a dash and six characters from looking like the random suffix Secrets Manager adds to ARNs.
 *
 * @example signingKeySecretName('autonomy/dev/audit-signing-keys/', 'acme') // 'autonomy/dev/audit-signing-keys/acme/signing-key'
 */
export function signingKeySecretName(prefix: string, tenant: string): string {
  return `${prefix}${tenant}/signing-key`;
}

/** {@link SigningKeyStore} on one Secrets Manager secret per tenant, under a name prefix. */
export class SecretsManagerSigningKeyStore implements SigningKeyStore {
  readonly #send: SecretsManagerClient['send'];
  readonly #prefix: string;

  constructor(client: SecretsManagerClient, prefix: string) {
    this.#send = mappedSend(client, 'SecretsManager');
    this.#prefix = prefix;
  }

  /** @throws SigningKeyStateError when the secret holds something other than this tenant's signing key. */
  async load(tenant: string): Promise<{ current: TenantSigningKey | undefined; version: string }> {
    try {
      const secret = await this.#send(new GetSecretValueCommand({ SecretId: signingKeySecretName(this.#prefix, tenant) }));
      const text = secret.SecretString ?? '';
      return text.trim() === ''
        ? { current: undefined, version: '' }
        : { current: parseTenantSigningKey(text, tenant), version: secret.VersionId ?? '' };
    } catch (error) {
      // No secret yet (the tenant never signed), or one created without a value: no key.
      if (error instanceof ResourceNotFoundException) return { current: undefined, version: '' };
      throw error;
    }
  }

  async replace(next: TenantSigningKey, version: string): Promise<boolean> {
    const name = signingKeySecretName(this.#prefix, next.tenant);
    const value = serializeTenantSigningKey(next);
    const token = nextVersionToken(version);
    try {
      if (version === '') {
        try {
          await this.#send(
            new CreateSecretCommand({
              Name: name,
              SecretString: value,
              ClientRequestToken: token,
              Description: `Ed25519 key that signs the audit checkpoints of tenant ${next.tenant} (its public half is published)`,
            }),
          );
          return true;
        } catch (error) {
          // Taken: by a racing first signer (its version holds this token: the put below is refused),
          // or by a secret created without a value (the put below gives it its first one).
          if (!(error instanceof ResourceExistsException)) throw error;
        }
      }
      await this.#send(new PutSecretValueCommand({ SecretId: name, SecretString: value, ClientRequestToken: token }));
      return true;
    } catch (error) {
      if (error instanceof ResourceExistsException) return false;
      throw error;
    }
  }
}
