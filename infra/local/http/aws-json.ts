/**
 * Helpers for services of the local cloud that speak the AWS JSON protocol
 * (`POST /` with `X-Amz-Target: <Prefix>.<Operation>` and an `application/x-amz-json-1.x` body),
 * as `@aws-sdk/client-eventbridge` and `@aws-sdk/client-sfn` send it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error the service returns to the SDK as `{ __type, message }` with an HTTP status. */
export class AwsServiceError extends Error {
  readonly type: string;
  readonly statusCode: number;
  constructor(type: string, message: string, statusCode = 400) {
    super(message);
    this.name = type;
    this.type = type;
    this.statusCode = statusCode;
  }
}

/** One operation of a JSON-protocol service: parsed request body in, plain reply out. */
export type JsonOperation = (input: Record<string, unknown>) => Promise<unknown> | unknown;

/** Reads a request body, refusing bodies above `limit` bytes. */
export async function readBody(req: IncomingMessage, limit = 10 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) throw new AwsServiceError('RequestEntityTooLarge', `Request body exceeds ${limit} bytes`, 413);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** Writes a JSON reply with the AWS JSON content type. */
export function sendJson(res: ServerResponse, statusCode: number, body: unknown, contentType = 'application/x-amz-json-1.0'): void {
  const text = JSON.stringify(body ?? {});
  res.writeHead(statusCode, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Writes an AWS JSON-protocol error the SDK turns into a named exception. */
export function sendAwsError(res: ServerResponse, error: AwsServiceError, contentType = 'application/x-amz-json-1.0'): void {
  const text = JSON.stringify({ __type: error.type, message: error.message });
  res.writeHead(error.statusCode, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'x-amzn-errortype': error.type,
  });
  res.end(text);
}

/**
 * Dispatches one JSON-protocol request to `operations` by its `X-Amz-Target` suffix.
 * Returns false when the target prefix is not this service's, so a gateway can try the next one.
 */
export async function dispatchJson(
  req: IncomingMessage,
  res: ServerResponse,
  targetPrefix: string,
  operations: Record<string, JsonOperation>,
): Promise<boolean> {
  const target = req.headers['x-amz-target'];
  if (typeof target !== 'string' || !target.startsWith(`${targetPrefix}.`)) return false;
  const contentType = req.headers['content-type']?.startsWith('application/x-amz-json-1.1')
    ? 'application/x-amz-json-1.1'
    : 'application/x-amz-json-1.0';
  const name = target.slice(targetPrefix.length + 1);
  try {
    const operation = operations[name];
    if (!operation) throw new AwsServiceError('UnknownOperationException', `Operation ${name} is not supported by the local cloud`);
    const raw = await readBody(req);
    let input: unknown = {};
    if (raw.length > 0) {
      try {
        input = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new AwsServiceError('SerializationException', 'Request body is not valid JSON');
      }
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new AwsServiceError('SerializationException', 'Request body must be a JSON object');
    }
    const output = await operation(input as Record<string, unknown>);
    sendJson(res, 200, output ?? {}, contentType);
  } catch (error) {
    if (error instanceof AwsServiceError) sendAwsError(res, error, contentType);
    else sendAwsError(res, new AwsServiceError('InternalFailure', 'The local service failed to process the request', 500), contentType);
    if (!(error instanceof AwsServiceError)) console.error(`[local-cloud] ${targetPrefix}.${name} failed:`, error);
  }
  return true;
}
