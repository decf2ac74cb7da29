/**
 * Each tenant's webhook signing key in AWS Secrets Manager: one secret per tenant, named
 * `<prefix><tenant>/webhook-key` (the prefix is the stage's, `autonomy/<stage>/execution-webhook-keys/`),
 * created with 32 random bytes (hex) by the tenant's first webhook or key read. Two first users race
 * on `CreateSecret` with the same `ClientRequestToken`-less name: the loser finds the name taken and
 * reads the winner's key. Kept in the container once read (keys do not rotate here).
 */
import { randomBytes } from 'node:crypto';
import { CreateSecretCommand, GetSecretValueCommand, ResourceExistsException, ResourceNotFoundException, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mappedSend } from './errors.ts';

/** A tenant's webhook key secret name. @example webhookKeySecretName('autonomy/dev/execution-webhook-keys/', 'acme') // '…/acme/webhook-key' */
export function webhookKeySecretName(prefix: string, tenant: string): string {
  return `${prefix}${tenant}/webhook-key`;
}

/** The tenants' webhook signing keys, created on first use. */
export function secretsManagerWebhookKeys(client: SecretsManagerClient, prefix: string): { signingKey(tenant: string): Promise<string> } {
  const send = mappedSend(client, 'SecretsManager');
  const cache = new Map<string, string>();
  const read = async (name: string): Promise<string | undefined> => {
    try {
      return (await send(new GetSecretValueCommand({ SecretId: name }))).SecretString || undefined;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  };
  return {
    async signingKey(tenant) {
      const known = cache.get(tenant);
      if (known) return known;
      const name = webhookKeySecretName(prefix, tenant);
      let key = await read(name);
      if (!key) {
        const fresh = randomBytes(32).toString('hex');
        try {
          await send(new CreateSecretCommand({ Name: name, SecretString: fresh, Description: `HMAC-SHA256 key that signs the Execution engine's webhooks of tenant ${tenant}` }));
          key = fresh;
        } catch (error) {
          if (!(error instanceof ResourceExistsException)) throw error;
          key = await read(name);
        }
      }
      if (!key) throw new Error(`webhook key secret ${name} has no value`);
      cache.set(tenant, key);
      return key;
    },
  };
}
