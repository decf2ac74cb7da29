/** GET /openapi.json: the API description and the bus events' schemas, generated from the manifests at cold start. */
import { eventCatalog } from '../../events/catalog.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { openApiDocument } from '../../lib/api/openapi.ts';
import { allRoutes } from '../../lib/api/routes.ts';
import { config } from '../../lib/config.ts';
import { openApiRoute } from '../../lib/platform/routes.ts';

const document = openApiDocument(allRoutes, { version: config().SERVICE_VERSION, events: eventCatalog });
const body = JSON.stringify(document);

export const handler = engineHandler(
  engineDeps(),
  route(openApiRoute, async () => ({ result: document, raw: { contentType: 'application/json', body } })),
);
