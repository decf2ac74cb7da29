/**
 * The Lambda `Invoke` REST API (`POST /2015-03-31/functions/<name>/invocations`), so
 * `@aws-sdk/client-lambda` and `aws lambda invoke` work against the local cloud unchanged. A
 * qualifier (`Qualifier`, or `name:qualifier`) runs a published version or an alias's version;
 * an invocation beyond the function's reserved concurrency is a 429 `TooManyRequestsException`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsServiceError, readBody, sendAwsError } from '../http/aws-json.ts';
import { FunctionNotFoundError, type LambdaRuntime, parseFunctionRef } from './runtime.ts';

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
/** Lambda's synchronous payload limit. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Serves Invoke for the functions in `runtime`; returns false for other requests. */
export async function handleInvoke(runtime: LambdaRuntime, req: IncomingMessage, res: ServerResponse, log: (line: string) => void): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://local');
  const match = INVOKE_PATH.exec(url.pathname);
  if (!match || req.method !== 'POST') return false;
  const send = (error: AwsServiceError) => sendAwsError(res, error, 'application/json');
  try {
    const name = decodeURIComponent(match[1] ?? '');
    const qualifier = url.searchParams.get('Qualifier');
    // An alias with routing weights picks its version here, once per call.
    const definition = runtime.find(qualifier ? `${parseFunctionRef(name).name}:${qualifier}` : name);
    const executedVersion = definition.version ?? '$LATEST';
    const raw = await readBody(req, MAX_PAYLOAD_BYTES);
    let event: unknown = {};
    if (raw.length > 0) {
      try {
        event = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new AwsServiceError('InvalidRequestContentException', 'Could not parse request body into json', 400);
      }
    }
    const invocationType = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (invocationType === 'DryRun') {
      res.writeHead(204).end();
      return true;
    }
    if (invocationType === 'Event') {
      void runtime.invoke(definition.name, event).then((result) => {
        if (!result.ok) log(`${definition.name} (async): ${result.error.errorType}: ${result.error.errorMessage}`);
      });
      res.writeHead(202, { 'x-amz-executed-version': executedVersion }).end();
      return true;
    }
    if (invocationType !== 'RequestResponse') throw new AwsServiceError('InvalidParameterValueException', `Unsupported invocation type ${invocationType}`);
    const result = await runtime.invoke(definition.name, event);
    if (!result.ok && result.throttled) {
      const text = JSON.stringify({ Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded', Type: 'User', message: result.error.errorMessage });
      res.writeHead(429, { 'content-type': 'application/json', 'x-amzn-errortype': 'TooManyRequestsException', 'retry-after': '1' }).end(text);
      return true;
    }
    const body = JSON.stringify(result.ok ? result.payload : result.error);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-amz-executed-version': executedVersion };
    if (!result.ok) headers['x-amz-function-error'] = 'Unhandled';
    res.writeHead(200, headers).end(body);
  } catch (error) {
    if (error instanceof FunctionNotFoundError) send(new AwsServiceError('ResourceNotFoundException', error.message, 404));
    else if (error instanceof AwsServiceError) send(error);
    else send(new AwsServiceError('ServiceException', 'The local Lambda service failed', 500));
  }
  return true;
}
