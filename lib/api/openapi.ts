/**
 * The OpenAPI 3.1 document of the API, generated from the route specs' zod schemas (never written
 * by hand): request envelopes, query parameters, result envelopes, the error body, both security
 * schemes and the permission each operation needs.
 */
import { z } from 'zod';
import { roleGrants } from '../auth/roles.ts';
import { errorBodySchema, type RouteSpec, requestEnvelopeSchema, responseEnvelopeSchema } from './route.ts';

type JsonSchema = Record<string, unknown>;

/** A zod schema as JSON Schema 2020-12 (`input`: what a caller sends, defaults optional; `output`: what a reply holds), without `$schema`. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const ERROR_STATUSES: Record<string, string> = {
  '400': 'Invalid request: `issues` lists each field path',
  '401': 'No or bad credentials',
  '403': 'Role or tenant not allowed',
  '404': 'Not found (or another tenant’s)',
  '409': 'Conflict with the current state',
  '413': 'Payload too large',
  '415': 'The body is not sent as JSON: use Content-Type application/json (or application/<name>+json)',
  '429': 'Rate limit or queue mark exceeded; see Retry-After',
  '500': 'Failed; quote the correlation id',
  '503': 'A dependency (a table, the bucket, the bus) is throttled or failing; safe to retry after Retry-After',
};

function queryParameters(schema: z.ZodType): Array<Record<string, unknown>> {
  const object = jsonSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: object.required?.includes(name) ?? false,
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }));
}

function operation(spec: RouteSpec): Record<string, unknown> {
  const withBody = spec.method === 'POST' || spec.method === 'PUT';
  const errors = Object.fromEntries(
    Object.entries(ERROR_STATUSES)
      .filter(([status]) => spec.permission !== 'public' || !['401', '403'].includes(status))
      .filter(([status]) => withBody || status !== '415')
      .map(([status, description]) => [
        status,
        { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      ]),
  );
  const success = spec.rawContentType
    ? { description: spec.summary, content: { [spec.rawContentType]: { schema: jsonSchema(spec.result, 'output') } } }
    : {
        description: 'The response envelope',
        content: { 'application/json': { schema: jsonSchema(responseEnvelopeSchema(spec.result), 'output') } },
      };
  return {
    operationId: `${spec.engine}.${spec.action}.${spec.method.toLowerCase()}`,
    summary: spec.summary,
    tags: [spec.engine],
    'x-permission': spec.permission,
    security: spec.permission === 'public' ? [] : [{ bearerAuth: [] }, { apiKey: [] }],
    ...(withBody
      ? {
          parameters:
            spec.method === 'POST'
              ? [
                  {
                    name: 'Idempotency-Key',
                    in: 'header',
                    required: false,
                    schema: { type: 'string', maxLength: 255 },
                    description: 'Retries with the same key return the first result; the work is done once',
                  },
                ]
              : [],
          requestBody: {
            required: true,
            content: spec.rawRequestContentType
              ? { [spec.rawRequestContentType]: { schema: jsonSchema(spec.parameters, 'input') } }
              : { 'application/json': { schema: jsonSchema(requestEnvelopeSchema(spec.parameters), 'input') } },
          },
        }
      : { parameters: queryParameters(spec.parameters) }),
    responses: { '200': success, ...errors },
  };
}

/** A bus event to document beside the routes (see `events/catalog.ts`). */
export interface DocumentedEvent {
  source: string;
  detailType: string;
  version: string;
  description: string;
  schema: z.ZodType;
}

/**
 * The OpenAPI 3.1 document for `routes`. Bus events, when given, are documented as JSON Schemas of
 * their `detail` under `components.schemas["event:<detail-type>"]`, with their source and version.
 */
export function openApiDocument(
  routes: readonly RouteSpec[],
  info: { version: string; serverUrl?: string; events?: readonly DocumentedEvent[] },
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of routes) {
    paths[spec.path] ??= {};
    (paths[spec.path] as Record<string, unknown>)[spec.method.toLowerCase()] = operation(spec);
  }
  const grants = Object.entries(roleGrants())
    .map(([role, verbs]) => `- **${role}**: ${verbs.join(', ')}`)
    .join('\n');
  return {
    openapi: '3.1.0',
    info: {
      title: 'Autonomy Plane API',
      version: info.version,
      description: `Engine API: \`POST\` triggers, \`GET\` reads status, \`PUT\` configures, \`DELETE\` cleans up. Permissions are \`<engine>:<verb>\`; roles grant verbs on every engine:\n${grants}`,
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    paths,
    components: {
      schemas: {
        Error: jsonSchema(errorBodySchema, 'output'),
        ...Object.fromEntries(
          (info.events ?? []).map((event) => [
            `event:${event.detailType}`,
            {
              ...jsonSchema(event.schema, 'output'),
              description: event.description,
              'x-event-source': event.source,
              'x-event-detail-type': event.detailType,
              'x-event-version': event.version,
            },
          ]),
        ),
      },
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'OAuth2 access token from the stage issuer; claims carry tenant and roles',
        },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An API key created at POST /identity/keys' },
      },
    },
  };
}
