/** GET /openapi.json: the API description and the bus events' schemas, generated from the zod schemas at cold start. */
import { z } from 'zod';
import { eventCatalog } from '../../events/catalog.ts';
import { openApiDocument } from '../../lib/api/openapi.ts';
import { allRoutes } from '../../lib/api/routes.ts';
import { config } from '../../lib/config.ts';
import { httpHandler } from '../../lib/http/handler.ts';

const document = openApiDocument(allRoutes, { version: config().SERVICE_VERSION, events: eventCatalog });

export const handler = httpHandler(z.object({}).passthrough(), async () => ({ statusCode: 200, body: document }));
