/**
 * HTTP replies of the engine API (lib/api/engine-handler.ts, the one HTTP wrapper): body parsing,
 * zod issues as field paths, and the single table from domain errors to status codes. A 500 carries
 * the correlation id and never the error's message or stack.
 */
import type middy from '@middy/core';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import {
  ConflictError,
  DependencyError,
  type DomainError,
  ForbiddenError,
  LockedError,
  NotFoundError,
  PayloadTooLargeError,
  ThrottledError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
  type FieldIssue,
} from '../errors.ts';
import { jsonDataIssues } from '../json-data.ts';
import { logger, metrics } from '../observability.ts';
import { isJsonMediaType } from './media-type.ts';

/** The largest request body a route accepts, in bytes (API Gateway's own limit is 10 MB). */
export const MAX_BODY_BYTES = 1024 * 1024;

const STATUS_BY_ERROR: Array<[new (...args: never[]) => DomainError, number]> = [
  [ValidationError, 400],
  [UnauthorizedError, 401],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [ConflictError, 409],
  [PayloadTooLargeError, 413],
  [LockedError, 423],
  [UnsupportedMediaTypeError, 415],
  [ThrottledError, 429],
  [DependencyError, 503],
];

/** Turns zod issues into field paths a caller can act on. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

/** Header names lower-cased, undefined values dropped. */
export function lowerCaseHeaders(headers: Record<string, string | undefined> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) if (value !== undefined) out[name.toLowerCase()] = value;
  return out;
}

/**
 * How deep a request body may nest. Parts of a body typed `unknown` (an audit payload, a detector
 * config, metadata) are stored, hashed and published as they are, by code that walks them
 * recursively (RFC 8785 canonicalisation, DynamoDB maps of at most 32 levels): past this a body is
 * refused at the edge instead of failing deep inside a route.
 */
export const MAX_BODY_DEPTH = 64;

/**
 * The JSON body of an HTTP API event: plain JSON data (`jsonDataIssues`, lib/json-data.ts) within
 * {@link MAX_BODY_DEPTH} levels, whose strings and keys are well-formed Unicode, and whose numbers are
 * finite (`1e400` parses to Infinity).
 * @throws UnsupportedMediaTypeError when it is not sent as JSON (lib/http/media-type.ts).
 * @throws PayloadTooLargeError over {@link MAX_BODY_BYTES}; ValidationError when it is not JSON, or
 *   not such data (each issue at its path, `body.parameters.payload.note`).
 */
export function parseBody(event: APIGatewayProxyEventV2): unknown {
  if (event.body === undefined || event.body === '') return undefined;
  const contentType = lowerCaseHeaders(event.headers)['content-type'];
  if (!isJsonMediaType(contentType)) {
    const given = contentType === undefined ? 'no Content-Type' : `Content-Type ${JSON.stringify(contentType.slice(0, 100))}`;
    throw new UnsupportedMediaTypeError(`A request body is JSON: send it with Content-Type application/json (or application/<name>+json), not ${given}`);
  }
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(`Request body exceeds ${MAX_BODY_BYTES} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ValidationError([{ path: 'body', message: 'Body is not valid JSON' }]);
  }
  const issues = jsonDataIssues(body, { maxDepth: MAX_BODY_DEPTH, maxNodes: MAX_BODY_BYTES });
  if (issues.length > 0) throw new ValidationError(issues.map((issue) => ({ path: ['body', ...issue.path].join('.'), message: issue.message })));
  return body;
}

/** A JSON reply carrying the correlation id. */
export function reply(statusCode: number, body: unknown, correlationId: string, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'x-correlation-id': correlationId, ...headers },
    body: JSON.stringify(body),
  };
}

/** The reply for a thrown error: its status from the domain error table, or a bare 500. */
export function errorReply(error: unknown, correlationId: string): APIGatewayProxyStructuredResultV2 {
  for (const [type, status] of STATUS_BY_ERROR) {
    if (error instanceof type) {
      const body: Record<string, unknown> = { error: error.name, message: error.message, correlationId };
      if (error instanceof ValidationError) body.issues = error.issues;
      const waitable = error instanceof ThrottledError || error instanceof DependencyError;
      const headers: Record<string, string> = waitable ? { 'retry-after': String(error.retryAfterSeconds) } : {};
      // A 503 is ours to look into too: log it with its cause (the client sees only the message).
      if (error instanceof DependencyError) logger.warn('Dependency failed', { error, correlationId });
      return reply(status, body, correlationId, headers);
    }
  }
  logger.error('Unhandled error', { error: error as Error, correlationId });
  return reply(500, { error: 'InternalError', message: 'The request failed; quote the correlation id when reporting it.', correlationId }, correlationId);
}

/**
 * Counts every reply by class (`RepliesOk` 2xx/3xx, `RepliesRejected` 4xx, `RepliesFailed` 5xx), so
 * each invocation publishes a metric. Used after `logMetrics`, whose `after` then runs last and flushes.
 */
export function countReplies(): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context> {
  return {
    after: async (request) => {
      const status = request.response?.statusCode ?? 500;
      metrics.addMetric(status < 400 ? 'RepliesOk' : status < 500 ? 'RepliesRejected' : 'RepliesFailed', MetricUnit.Count, 1);
    },
  };
}
