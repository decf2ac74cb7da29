/**
 * Who is calling: the tenant and roles proven by a JWT or an API key. The tenant comes only from
 * verified credentials, never from a request field.
 */
import type { Role } from './roles.ts';

/** The verified caller. */
export interface Principal {
  /** A tenant a credential may name (`clientTenantSchema` in events/ids.ts: never a reserved one). */
  tenant: string;
  /** The JWT `sub`, or `api-key:<keyId>`. */
  subject: string;
  roles: Role[];
  via: 'jwt' | 'api-key';
}
