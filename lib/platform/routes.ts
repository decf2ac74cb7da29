/** Public platform routes: readiness and the API description. */
import { z } from 'zod';
import { defineRoute } from '../api/route.ts';

/** GET /health: readiness of the stage's stores and bus (not enveloped). */
export const healthRoute = defineRoute({
  engine: 'platform',
  action: 'health',
  path: '/health',
  method: 'GET',
  permission: 'public',
  summary: 'Readiness of the state table, artifacts bucket and event bus',
  parameters: z.object({}),
  result: z.object({ status: z.enum(['ok', 'degraded']), stage: z.string().max(64), version: z.string().max(128) }).passthrough(),
  rawContentType: 'application/json',
});

/** GET /openapi.json: this API as OpenAPI 3.1, generated from the route specs. */
export const openApiRoute = defineRoute({
  engine: 'platform',
  action: 'openapi',
  path: '/openapi.json',
  method: 'GET',
  permission: 'public',
  summary: 'This API as an OpenAPI 3.1 document',
  parameters: z.object({}),
  result: z.record(z.string(), z.unknown()),
  rawContentType: 'application/json',
});
