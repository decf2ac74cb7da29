/** GET /openapi.json: the API description, generated from the route specs at cold start. */
import { z } from 'zod';
import { openApiDocument } from '../../lib/api/openapi.ts';
import { allRoutes } from '../../lib/api/routes.ts';
import { config } from '../../lib/config.ts';
import { httpHandler } from '../../lib/http/handler.ts';

const document = openApiDocument(allRoutes, { version: config().SERVICE_VERSION });

export const handler = httpHandler(z.object({}).passthrough(), async () => ({ statusCode: 200, body: document }));
