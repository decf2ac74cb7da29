/**
 * Who is calling: the tenant and roles proven by a JWT or an API key. The tenant comes only from
 * verified credentials, never from a request field.
 */
import { z } from 'zod';
import type { Role } from './roles.ts';

/**
 * A tenant id: lower-case letters, digits and dashes. It starts every key in every table and bucket,
 * and is embedded in API keys, so `#`, `/` and `_` are excluded.
 */
export const tenantIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'tenant ids are 1-63 lower-case letters, digits or dashes');

/** The verified caller. */
export interface Principal {
  tenant: string;
  /** The JWT `sub`, or `api-key:<keyId>`. */
  subject: string;
  roles: Role[];
  via: 'jwt' | 'api-key';
}
