/** The identity engine: API keys (salted hashes in the state table), managed by tenant admins. */
import { defineEngine, need } from '../engines/manifest.ts';
import { createKeyRoute, listKeysRoute, revokeKeyRoute } from './routes.ts';

export const identityEngine = defineEngine({
  name: 'identity',
  description: 'API keys: create (shown once), list and revoke',
  actions: {
    keys: {
      description: 'Create, list and revoke API keys',
      routes: [createKeyRoute, listKeysRoute, revokeKeyRoute],
      needs: [need.table('state', ['GetItem', 'PutItem', 'Query', 'UpdateItem'], ['*#apikey'])],
    },
  },
});
