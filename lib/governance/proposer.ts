/** Who proposes, from the verified caller: engines' service principals are API keys named `engine:<name>`. */
import type { Principal } from '../auth/principal.ts';
import type { Proposer } from './proposals.ts';

/**
 * The proposer (and Cedar principal) of an API caller.
 * @example proposerOf({ tenant: 'acme', subject: 'alice', roles: ['operator'], via: 'jwt' }) // { kind: 'user', id: 'alice', … }
 */
export function proposerOf(principal: Principal): Proposer {
  const kind = principal.subject.startsWith('engine:') ? 'engine' : principal.via === 'api-key' ? 'api-key' : 'user';
  return { kind, id: principal.subject, tenant: principal.tenant, roles: [...principal.roles] };
}
