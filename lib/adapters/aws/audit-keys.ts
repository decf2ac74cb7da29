/**
 * The checkpoint signing keys in AWS Secrets Manager: the secret's JSON is the key ring
 * (lib/audit/keys.ts). Replacing it is compare-and-swap on the secret's version: the new version's
 * `ClientRequestToken` (which becomes its VersionId) is derived from the version it replaces, and
 * Secrets Manager refuses a token already used with another value (`ResourceExistsException`).
 * Two writers that read the same version therefore race for the same token and exactly one wins;
 * the loser re-reads. A retry of the winner's own request (same token, same value) is a no-op.
 * Other SDK failures map through lib/adapters/aws/errors.ts (throttling and faults: DependencyError).
 */
import { createHash } from 'node:crypto';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { EMPTY_KEY_RING, parseKeyRing } from '../../audit/keys.ts';
import type { KeyRingStore } from '../../audit/ports.ts';
import type { KeyRing } from '../../audit/schemas.ts';
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

/** {@link KeyRingStore} on one Secrets Manager secret. */
export class SecretsManagerKeyRingStore implements KeyRingStore {
  readonly #send: SecretsManagerClient['send'];
  readonly #secretId: string;

  constructor(client: SecretsManagerClient, secretId: string) {
    this.#send = mappedSend(client, 'SecretsManager');
    this.#secretId = secretId;
  }

  /** @throws ValidationError when the secret holds something other than a key ring. */
  async load(): Promise<{ ring: KeyRing; version: string }> {
    try {
      const secret = await this.#send(new GetSecretValueCommand({ SecretId: this.#secretId }));
      const text = secret.SecretString ?? '';
      return { ring: text.trim() === '' ? EMPTY_KEY_RING : parseKeyRing(text), version: secret.VersionId ?? '' };
    } catch (error) {
      // A secret created without a value has no AWSCURRENT version yet: an empty ring.
      if (error instanceof ResourceNotFoundException && /staging label|secret value/i.test(error.message)) return { ring: EMPTY_KEY_RING, version: '' };
      throw error;
    }
  }

  async replace(ring: KeyRing, version: string): Promise<boolean> {
    try {
      await this.#send(
        new PutSecretValueCommand({ SecretId: this.#secretId, SecretString: JSON.stringify(ring), ClientRequestToken: nextVersionToken(version) }),
      );
      return true;
    } catch (error) {
      if (error instanceof ResourceExistsException) return false;
      throw error;
    }
  }
}
