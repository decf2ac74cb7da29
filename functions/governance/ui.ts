/**
 * GET /governance/ui: the approvals page, its script and its stylesheet (`?asset=page|app.js|app.css`),
 * each with the page's Content-Security-Policy and security headers (lib/governance/ui/serve.ts).
 * Public: the page holds no data; it calls the approvals API with the credentials typed into it.
 */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { uiAsset } from '../../lib/governance/ui/serve.ts';
import { uiRoute } from '../../lib/governance/ui-route.ts';

export const handler = engineHandler(
  engineDeps(),
  route(uiRoute, async (params) => {
    const { contentType, body, headers } = uiAsset(params.asset);
    return { result: body, raw: { contentType, body }, headers };
  }),
);
