/** GET /governance/ui: the approvals page (placeholder until the page lands). */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { uiRoute } from '../../lib/governance/ui-route.ts';

export const handler = engineHandler(
  engineDeps(),
  route(uiRoute, async () => ({ result: '', raw: { contentType: 'text/html; charset=utf-8', body: '<!doctype html><title>Approvals</title>' } })),
);
