/**
 * A local SageMaker runtime: `InvokeEndpoint` and `InvokeEndpointWithResponseStream` over the
 * REST-JSON wire protocol that `@aws-sdk/client-sagemaker-runtime` speaks, so code under test keeps
 * using the real SDK with `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` pointed at the local gateway.
 *
 * Each endpoint name maps to a {@link ModelBackend} port: the runtime owns the AWS wire details
 * (headers, error shapes, event-stream framing) and the backend owns the model.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
// `@smithy/core` is the package the SDK itself decodes event streams with (it absorbed the former
// `@smithy/eventstream-codec` and `@smithy/util-utf8`), so frames we encode are byte-for-byte what it expects.
import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';

/** One inference request as a model container receives it. */
export interface ModelRequest {
  /** The raw request body, passed through untouched. */
  body: Buffer;
  /** `Content-Type` of the body (`application/octet-stream` when the caller sent none). */
  contentType: string;
  /** The MIME type the caller wants back (`*\/*` when the caller sent none). */
  accept: string;
  /** `X-Amzn-SageMaker-Custom-Attributes`, an opaque value forwarded verbatim. */
  customAttributes?: string;
  /** `X-Amzn-SageMaker-Target-Variant`, the production variant the caller asked for. */
  targetVariant?: string;
  /** `X-Amzn-SageMaker-Inference-Id`, the caller's identifier for this inference. */
  inferenceId?: string;
}

/** A complete (non-streamed) model response. */
export interface ModelReply {
  body: Buffer;
  contentType: string;
  /** The variant that served the request; defaults to the requested one, else the runtime's default. */
  variant?: string;
  /** Custom attributes the model sets on its response. */
  customAttributes?: string;
}

/** A streamed model response with its headers, for backends that know them before the first part. */
export interface ModelStreamReply {
  /** Goes out as `X-Amzn-SageMaker-Content-Type` (defaults to `application/octet-stream`). */
  contentType?: string;
  variant?: string;
  customAttributes?: string;
  /** The payload parts; each non-empty buffer becomes one `PayloadPart` event. */
  parts: AsyncIterable<Buffer>;
}

/**
 * The port a model implements. `invoke` serves `InvokeEndpoint`; `stream` serves
 * `InvokeEndpointWithResponseStream` and may return bare parts or a {@link ModelStreamReply}.
 * Without `stream`, a streaming call gets the `invoke` result as a single `PayloadPart`, which is
 * what SageMaker does with a container that answers in one piece.
 *
 * Throw {@link ModelBackendError} to report what a container reports with an HTTP status; the
 * runtime turns it into AWS's `ModelError`.
 */
export interface ModelBackend {
  invoke(req: ModelRequest): Promise<ModelReply>;
  stream?(req: ModelRequest): AsyncIterable<Buffer> | Promise<ModelStreamReply>;
}

/**
 * A model failure with the HTTP status its container would have answered. Before any output it
 * becomes `ModelError` (HTTP 424) with `OriginalStatusCode`/`OriginalMessage`; mid-stream it
 * becomes a `ModelStreamError` event.
 */
export class ModelBackendError extends Error {
  /** The container's status code (0 when the container never answered, as AWS reports timeouts). */
  readonly statusCode: number;
  /** The container's own response text, reported back as `OriginalMessage`. */
  readonly originalMessage: string;
  constructor(statusCode: number, originalMessage: string) {
    super(`Model returned ${statusCode}: ${originalMessage}`);
    this.name = 'ModelBackendError';
    this.statusCode = statusCode;
    this.originalMessage = originalMessage;
  }
}

/** Options of {@link SageMakerRuntimeService}. */
export interface SageMakerRuntimeOptions {
  /** Endpoint name → model. Names absent here get AWS's "Endpoint … not found" ValidationError. */
  endpoints: Record<string, ModelBackend>;
  /** Receives one line per invocation (and per backend failure). */
  log?: (line: string) => void;
  /** Account id used in error messages and ARNs; `000000000000` like other local emulators. */
  accountId?: string;
  /** Region used in ARNs and console links when the request's SigV4 scope names none. */
  region?: string;
  /**
   * Largest request body accepted, in bytes. Defaults to 6 MiB, the `BodyBlob` maximum in the
   * service model (the API reference's "Maximum length of 6291456").
   */
  maxPayloadBytes?: number;
  /** Variant reported in `x-Amzn-Invoked-Production-Variant` when neither caller nor model names one. */
  defaultVariant?: string;
  /**
   * Routes a call among an endpoint's production variants (the control plane's weights, or the
   * caller's target variant): the backend and the variant that serves it, `{ error }` for a call the
   * endpoint refuses, undefined for an unknown endpoint. When given, `endpoints` is not consulted.
   */
  route?: (endpointName: string, targetVariant: string | undefined) => { backend: ModelBackend; variant: string } | { error: string } | undefined;
}

/** 6 MiB: `BodyBlob`'s `max` in the SageMaker runtime service model. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

const ROUTE = /^\/endpoints\/([^/]+)\/(invocations|invocations-response-stream|async-invocations)$/;
// The service model's patterns. Coral matches the whole value, so they are anchored here.
const NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/;
const ASCII = /^\p{ASCII}*$/u;
const INFERENCE_ID_PATTERN = /^\S[\x20-\x7e]*$/;
// Features of the real API that this runtime cannot honour; it refuses them rather than ignore them.
const UNSUPPORTED_HEADERS: Record<string, string> = {
  'x-amzn-sagemaker-target-model': 'multi-model endpoints (TargetModel)',
  'x-amzn-sagemaker-target-container-hostname': 'multi-container endpoints (TargetContainerHostname)',
  'x-amzn-sagemaker-inference-component': 'inference components (InferenceComponentName)',
  'x-amzn-sagemaker-session-id': 'stateful sessions (SessionId)',
  'x-amzn-sagemaker-enable-explanations': 'SageMaker Clarify explanations (EnableExplanations)',
  'x-amzn-sagemaker-prefix-aware-id': 'prefix-aware routing (PrefixAwareId)',
};

/** An error answered in the REST-JSON shape: `x-amzn-errortype` header plus a JSON body. */
class RuntimeError extends Error {
  readonly type: string;
  readonly statusCode: number;
  readonly fields: Record<string, unknown>;
  constructor(type: string, statusCode: number, message: string, fields: Record<string, unknown> = {}) {
    super(message);
    this.type = type;
    this.statusCode = statusCode;
    this.fields = fields;
  }
}

/** What the runtime knows about one call, for messages, ARNs and logs. */
interface CallContext {
  operation: 'InvokeEndpoint' | 'InvokeEndpointWithResponseStream' | 'InvokeEndpointAsync';
  endpointName: string;
  region: string;
  requestId: string;
  startedAt: number;
}

/**
 * The local SageMaker runtime service for the local-cloud gateway. `handle` claims
 * `POST /endpoints/<name>/invocations` and `/invocations-response-stream` (and answers
 * `/async-invocations` with a refusal), returning false for any other request so the gateway can
 * try its next service.
 */
export class SageMakerRuntimeService {
  readonly #endpoints: Record<string, ModelBackend>;
  readonly #log: (line: string) => void;
  readonly #accountId: string;
  readonly #region: string;
  readonly #maxPayloadBytes: number;
  readonly #defaultVariant: string;
  readonly #route: SageMakerRuntimeOptions['route'];
  readonly #codec = new EventStreamCodec(toUtf8, fromUtf8);

  constructor(options: SageMakerRuntimeOptions) {
    this.#endpoints = options.endpoints;
    this.#log = options.log ?? (() => {});
    this.#accountId = options.accountId ?? '000000000000';
    this.#region = options.region ?? 'us-east-1';
    this.#maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    // "AllTraffic" is the variant name SageMaker tooling gives a single-variant endpoint.
    this.#defaultVariant = options.defaultVariant ?? 'AllTraffic';
    this.#route = options.route;
  }

  /** Serves one request if it is a SageMaker runtime call; returns false otherwise. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const match = ROUTE.exec(path);
    if (!match) return false;
    const scope = sigV4Scope(req.headers.authorization);
    // Another REST service on the same gateway may use /endpoints/…; a signed request says whose it is.
    if (scope && scope.service !== 'sagemaker') return false;

    const [, rawName = '', action = ''] = match;
    const ctx: CallContext = {
      operation:
        action === 'invocations'
          ? 'InvokeEndpoint'
          : action === 'invocations-response-stream'
            ? 'InvokeEndpointWithResponseStream'
            : 'InvokeEndpointAsync',
      endpointName: safeDecode(rawName),
      region: scope?.region ?? this.#region,
      requestId: randomUUID(),
      startedAt: Date.now(),
    };
    try {
      if (req.method !== 'POST') {
        await drain(req);
        throw new RuntimeError('UnknownOperationException', 404, `${req.method} ${path} is not a SageMaker runtime operation`);
      }
      const body = await readLimited(req, this.#maxPayloadBytes);
      if (!body) {
        // AWS rejects an oversized body at its HTTP front door with a bare 413 and no modeled error type.
        throw new RuntimeError('', 413, `HTTP content length exceeded ${this.#maxPayloadBytes} bytes.`);
      }
      if (ctx.operation === 'InvokeEndpointAsync') {
        throw new RuntimeError(
          'ValidationError',
          400,
          'InvokeEndpointAsync is not supported by the local SageMaker runtime (it needs S3 input/output locations and a queue).',
        );
      }
      const request = this.#parseRequest(req, body, ctx);
      const routed = this.#route
        ? this.#route(ctx.endpointName, request.targetVariant)
        : Object.hasOwn(this.#endpoints, ctx.endpointName)
          ? { backend: this.#endpoints[ctx.endpointName] as ModelBackend, variant: request.targetVariant ?? this.#defaultVariant }
          : undefined;
      if (!routed) {
        throw new RuntimeError('ValidationError', 400, `Endpoint ${ctx.endpointName} of account ${this.#accountId} not found.`);
      }
      if ('error' in routed) throw new RuntimeError('ValidationError', 400, routed.error);
      if (ctx.operation === 'InvokeEndpoint') await this.#invoke(routed.backend, request, res, ctx, routed.variant);
      else await this.#stream(routed.backend, request, res, ctx, routed.variant);
    } catch (error) {
      this.#fail(res, ctx, error);
    }
    return true;
  }

  /** Reads and validates the request headers the way the service model constrains them. */
  #parseRequest(req: IncomingMessage, body: Buffer, ctx: CallContext): ModelRequest {
    const header = (name: string): string | undefined => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    for (const [name, feature] of Object.entries(UNSUPPORTED_HEADERS)) {
      if (header(name) !== undefined) {
        throw new RuntimeError('ValidationError', 400, `The local SageMaker runtime does not support ${feature}.`);
      }
    }
    // The streaming operation carries Accept in its own header (see the service model), not in `Accept`.
    const accept = ctx.operation === 'InvokeEndpointWithResponseStream' ? header('x-amzn-sagemaker-accept') : header('accept');
    const contentType = header('content-type');
    const customAttributes = header('x-amzn-sagemaker-custom-attributes');
    const targetVariant = header('x-amzn-sagemaker-target-variant');
    const inferenceId = header('x-amzn-sagemaker-inference-id');

    const issues: string[] = [];
    const name = ctx.endpointName;
    if (name.length > 63) issues.push(`Value '${name}' at 'endpointName' failed to satisfy constraint: Member must have length less than or equal to 63`);
    if (!NAME_PATTERN.test(name)) {
      issues.push(`Value '${name}' at 'endpointName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*`);
    }
    for (const [member, value] of [['contentType', contentType], ['accept', accept]] as const) {
      if (value !== undefined && value.length > 1024) issues.push(`Value '${value}' at '${member}' failed to satisfy constraint: Member must have length less than or equal to 1024`);
      if (value !== undefined && !ASCII.test(value)) issues.push(`Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: \\p{ASCII}*`);
    }
    // CustomAttributes is a sensitive member, so, like AWS, the message leaves its value out.
    if (customAttributes !== undefined && customAttributes.length > 1024) issues.push(`Value at 'customAttributes' failed to satisfy constraint: Member must have length less than or equal to 1024`);
    if (customAttributes !== undefined && !ASCII.test(customAttributes)) issues.push(`Value at 'customAttributes' failed to satisfy constraint: Member must satisfy regular expression pattern: \\p{ASCII}*`);
    if (targetVariant !== undefined && (targetVariant.length > 63 || !NAME_PATTERN.test(targetVariant))) {
      issues.push(`Value '${targetVariant}' at 'targetVariant' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])* and have length less than or equal to 63`);
    }
    if (inferenceId !== undefined && (inferenceId.length < 1 || inferenceId.length > 64 || !INFERENCE_ID_PATTERN.test(inferenceId))) {
      issues.push(`Value '${inferenceId}' at 'inferenceId' failed to satisfy constraint: Member must have length between 1 and 64 and satisfy regular expression pattern: \\A\\S[\\p{Print}]*\\z`);
    }
    if (issues.length > 0) {
      throw new RuntimeError('ValidationError', 400, `${issues.length} validation error${issues.length > 1 ? 's' : ''} detected: ${issues.join('; ')}`);
    }

    const request: ModelRequest = { body, contentType: contentType || 'application/octet-stream', accept: accept || '*/*' };
    if (customAttributes !== undefined) request.customAttributes = customAttributes;
    if (targetVariant !== undefined) request.targetVariant = targetVariant;
    if (inferenceId !== undefined) request.inferenceId = inferenceId;
    return request;
  }

  /** `InvokeEndpoint`: one request, one response, model failures as `ModelError`. */
  async #invoke(backend: ModelBackend, request: ModelRequest, res: ServerResponse, ctx: CallContext, variant: string): Promise<void> {
    let reply: ModelReply;
    try {
      reply = await backend.invoke(request);
    } catch (error) {
      throw this.#modelError(ctx, error);
    }
    const headers: Record<string, string | number> = {
      'content-type': reply.contentType || 'application/octet-stream',
      'content-length': reply.body.length,
      'x-amzn-requestid': ctx.requestId,
      'x-amzn-invoked-production-variant': reply.variant ?? variant,
    };
    if (reply.customAttributes !== undefined) headers['x-amzn-sagemaker-custom-attributes'] = reply.customAttributes;
    res.writeHead(200, headers);
    res.end(reply.body);
    this.#logDone(ctx, 200);
  }

  /**
   * `InvokeEndpointWithResponseStream`: a failure before the first part is a plain `ModelError`
   * response (nothing has been sent yet); after it, a `ModelStreamError` event ends the stream.
   */
  async #stream(backend: ModelBackend, request: ModelRequest, res: ServerResponse, ctx: CallContext, variant: string): Promise<void> {
    let reply: ModelStreamReply;
    let iterator: AsyncIterator<Buffer>;
    let first: IteratorResult<Buffer>;
    try {
      reply = await openStream(backend, request);
      iterator = reply.parts[Symbol.asyncIterator]();
      // Pull the first part before answering, so an immediate model failure can still be a 424.
      first = await iterator.next();
    } catch (error) {
      throw this.#modelError(ctx, error);
    }

    const headers: Record<string, string> = {
      'content-type': 'application/vnd.amazon.eventstream',
      'x-amzn-requestid': ctx.requestId,
      'x-amzn-sagemaker-content-type': reply.contentType || 'application/octet-stream',
      'x-amzn-invoked-production-variant': reply.variant ?? variant,
    };
    if (reply.customAttributes !== undefined) headers['x-amzn-sagemaker-custom-attributes'] = reply.customAttributes;
    res.writeHead(200, headers);

    // A caller that hangs up should stop the model too (an upstream generation keeps costing GPU time).
    let clientGone = false;
    const onClose = (): void => {
      if (res.writableFinished) return;
      clientGone = true;
      void iterator.return?.().catch(() => {});
    };
    res.once('close', onClose);

    let parts = 0;
    try {
      let step = first;
      while (!step.done && !clientGone) {
        if (step.value.length > 0) {
          parts += 1;
          await write(res, this.#payloadPart(step.value));
        }
        step = await iterator.next();
      }
    } catch (error) {
      if (!clientGone && !res.destroyed) {
        const message = error instanceof ModelBackendError ? error.originalMessage : errorText(error);
        this.#log(`[sagemaker-runtime] ${ctx.operation} ${ctx.endpointName}: model stream failed after ${parts} part(s): ${message}`);
        await write(res, this.#exception('ModelStreamError', { Message: message, ErrorCode: 'StreamBroken' })).catch(() => {});
      }
    } finally {
      res.off('close', onClose);
    }
    if (!res.writableEnded) res.end();
    this.#logDone(ctx, 200, `${parts} part(s)`);
  }

  /** Encodes one `PayloadPart` event: the part's bytes are the event payload (`Bytes` is `@eventPayload`). */
  #payloadPart(bytes: Buffer): Uint8Array {
    return this.#codec.encode({
      headers: {
        ':event-type': { type: 'string', value: 'PayloadPart' },
        ':message-type': { type: 'string', value: 'event' },
        ':content-type': { type: 'string', value: 'application/octet-stream' },
      },
      body: bytes,
    });
  }

  /** Encodes one modeled exception event (`ModelStreamError`, `InternalStreamFailure`) with a JSON body. */
  #exception(type: 'ModelStreamError' | 'InternalStreamFailure', body: Record<string, unknown>): Uint8Array {
    return this.#codec.encode({
      headers: {
        ':exception-type': { type: 'string', value: type },
        ':message-type': { type: 'string', value: 'exception' },
        ':content-type': { type: 'string', value: 'application/json' },
      },
      body: fromUtf8(JSON.stringify(body)),
    });
  }

  /** Builds AWS's `ModelError` for a failed model call, worded as AWS words it. */
  #modelError(ctx: CallContext, error: unknown): RuntimeError {
    const status = error instanceof ModelBackendError ? error.statusCode : 500;
    const original = error instanceof ModelBackendError ? error.originalMessage : errorText(error);
    if (!(error instanceof ModelBackendError)) {
      this.#log(`[sagemaker-runtime] ${ctx.operation} ${ctx.endpointName}: backend threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    const logGroup = `/aws/sagemaker/Endpoints/${ctx.endpointName}`;
    // "primary" is the container name AWS reports for a single-container endpoint.
    const kind = status === 0 || status >= 500 ? 'server' : 'client';
    const message =
      `Received ${kind} error (${status}) from primary with message "${original}". ` +
      `See https://${ctx.region}.console.aws.amazon.com/cloudwatch/home?region=${ctx.region}#logEventViewer:group=${logGroup} ` +
      `in account ${this.#accountId} for more information.`;
    return new RuntimeError('ModelError', 424, message, {
      OriginalStatusCode: status,
      OriginalMessage: original,
      LogStreamArn: `arn:aws:logs:${ctx.region}:${this.#accountId}:log-group:${logGroup}`,
    });
  }

  /** Answers an error in the REST-JSON shape the SDK maps to a named exception. */
  #fail(res: ServerResponse, ctx: CallContext, error: unknown): void {
    const failure =
      error instanceof RuntimeError
        ? error
        : new RuntimeError('InternalFailure', 500, 'An internal failure occurred in the local SageMaker runtime.');
    if (!(error instanceof RuntimeError)) {
      this.#log(`[sagemaker-runtime] ${ctx.operation} ${ctx.endpointName}: internal failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    if (res.headersSent) {
      // Headers are gone, so the only honest signal left is a broken response.
      res.destroy();
      return;
    }
    const text = JSON.stringify({ Message: failure.message, ...failure.fields });
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': ctx.requestId,
    };
    if (failure.type) headers['x-amzn-errortype'] = failure.type;
    res.writeHead(failure.statusCode, headers);
    res.end(text);
    this.#logDone(ctx, failure.statusCode, failure.type || undefined);
  }

  #logDone(ctx: CallContext, status: number, note?: string): void {
    this.#log(`[sagemaker-runtime] ${ctx.operation} ${ctx.endpointName} -> ${status}${note ? ` ${note}` : ''} (${Date.now() - ctx.startedAt} ms)`);
  }
}

/** Normalises the three shapes a backend can stream in to one {@link ModelStreamReply}. */
async function openStream(backend: ModelBackend, request: ModelRequest): Promise<ModelStreamReply> {
  if (!backend.stream) {
    const reply = await backend.invoke(request);
    const single: ModelStreamReply = { contentType: reply.contentType, parts: oneOf(reply.body) };
    if (reply.variant !== undefined) single.variant = reply.variant;
    if (reply.customAttributes !== undefined) single.customAttributes = reply.customAttributes;
    return single;
  }
  const result = backend.stream(request);
  if (Symbol.asyncIterator in result) return { parts: result };
  return await result;
}

async function* oneOf(body: Buffer): AsyncIterable<Buffer> {
  yield body;
}

/**
 * Reads the whole body, or returns undefined if it exceeds `limit`. It keeps draining past the
 * limit instead of destroying the request, so the client still receives the 413.
 */
async function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) {
      chunks.length = 0;
      continue;
    }
    chunks.push(buf);
  }
  return size > limit ? undefined : Buffer.concat(chunks);
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) {
    // discard
  }
}

/** Writes with back-pressure, so a slow reader does not make the runtime buffer a whole generation. */
function write(res: ServerResponse, frame: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    if (res.destroyed) {
      reject(new Error('response closed'));
      return;
    }
    const ok = res.write(frame, (error) => {
      if (error) reject(error);
      else if (ok) resolve();
    });
    if (!ok) res.once('drain', () => resolve());
  });
}

/** Region and service from a SigV4 `Authorization` header's credential scope, if signed. */
function sigV4Scope(authorization: string | undefined): { region: string; service: string } | undefined {
  const match = /Credential=[^/,\s]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  return match?.[1] && match[2] ? { region: match[1], service: match[2] } : undefined;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
