/**
 * Who is calling: the tenant and roles proven by a JWT or an API key. The tenant comes only from
 * verified credentials, never from a request field.
 */
import { z } from 'zod';
import type { Role } from './roles.ts';

/** Tenant ids the platform keeps for itself (platform events and their audit streams). */
export const RESERVED_TENANTS: readonly string[] = ['system'];

/**
 * A tenant id: lower-case letters, digits and dashes. It starts every key in every table and bucket,
 * and is embedded in API keys, so `#`, `/` and `_` are excluded; reserved ids are refused.
 */
export const tenantIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'tenant ids are 1-63 lower-case letters, digits or dashes')
  .refine((tenant) => !RESERVED_TENANTS.includes(tenant), 'this tenant id is reserved by the platform');

/** The verified caller. */
export interface Principal {
  tenant: string;
  /** The JWT `sub`, or `api-key:<keyId>`. */
  subject: string;
  roles: Role[];
  via: 'jwt' | 'api-key';
}
