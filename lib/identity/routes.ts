/** Routes of the identity engine: API keys, managed by a tenant's admins. */
import { z } from 'zod';
import { MAX_TIMESTAMP_LENGTH } from '../../events/common.ts';
import { actorSchema, tenantSchema } from '../../events/ids.ts';
import { defineRoute } from '../api/route.ts';
import { roleNames, roleSchema } from '../auth/roles.ts';

const keyIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'a 16-hex-digit key id').max(16);
const timestamp = z.iso.datetime().max(MAX_TIMESTAMP_LENGTH);

/** An API key as listed: never the secret, salt or hash. */
export const apiKeyInfoSchema = z.object({
  tenant: tenantSchema,
  keyId: keyIdSchema,
  name: z.string().max(128),
  roles: z.array(roleSchema).max(roleNames.length),
  createdAt: timestamp,
  createdBy: actorSchema,
  revokedAt: timestamp.optional(),
});

/** POST /identity/keys: create a key for the caller's tenant; the key is in the reply, once. */
export const createKeyRoute = defineRoute({
  engine: 'identity',
  action: 'keys',
  method: 'POST',
  permission: 'identity:admin',
  summary: 'Create an API key for your tenant (the key is shown only in this reply)',
  parameters: z.object({
    name: z.string().min(1).max(128),
    roles: z.array(roleSchema).min(1).max(roleNames.length),
  }),
  result: apiKeyInfoSchema.extend({ apiKey: z.string().max(128).describe('Store it now: it cannot be shown again') }),
});

/** GET /identity/keys: the tenant's keys. */
export const listKeysRoute = defineRoute({
  engine: 'identity',
  action: 'keys',
  method: 'GET',
  permission: 'identity:admin',
  summary: "List your tenant's API keys (without secrets)",
  parameters: z.object({}),
  result: z.object({ keys: z.array(apiKeyInfoSchema) }),
});

/** DELETE /identity/keys?keyId=: revoke a key (kept, marked revoked, for the audit trail). */
export const revokeKeyRoute = defineRoute({
  engine: 'identity',
  action: 'keys',
  method: 'DELETE',
  permission: 'identity:admin',
  summary: 'Revoke an API key',
  parameters: z.object({ keyId: keyIdSchema }),
  result: apiKeyInfoSchema,
});
