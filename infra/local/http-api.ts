/**
 * The local HTTP API: routes from the template's `AWS::ApiGatewayV2::Route`s, requests turned into
 * API Gateway HTTP API payload v2.0 events, replies interpreted as API Gateway does.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InvokeResult } from './lambda/runtime.ts';

/** A route: `METHOD /path/{param}` (or `ANY`, `$default`) to a function. */
export interface HttpRoute {
  routeKey: string;
  functionName: string;
}

interface CompiledRoute extends HttpRoute {
  method: string;
  pattern?: RegExp;
  params: string[];
  specificity: number;
}

/** API Gateway's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * A body over the limit is still read to its end (and dropped) up to this much more, so that the
 * client, which may still be sending, reads the 413 rather than a reset connection. Past it the
 * connection is closed without reading on.
 */
const MAX_DRAINED_BYTES = 64 * 1024 * 1024;

/** A request body read to its end, or too large to take. */
export type ReadBody = { body: Buffer } | { tooLarge: true };

/** Reads a request body up to {@link MAX_BODY_BYTES}; a larger one is drained as above and reported. */
export function readBody(req: IncomingMessage): Promise<ReadBody> {
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_BODY_BYTES + MAX_DRAINED_BYTES) return Promise.resolve({ tooLarge: true });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else chunks.length = 0;
      if (size > MAX_BODY_BYTES + MAX_DRAINED_BYTES) {
        req.pause();
        resolve({ tooLarge: true });
      }
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? { tooLarge: true } : { body: Buffer.concat(chunks) }));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client closed the connection during the request body'));
    });
  });
}

function compile(route: HttpRoute): CompiledRoute {
  if (route.routeKey === '$default') return { ...route, method: 'ANY', params: [], specificity: -1 };
  const [method = 'ANY', routePath = '/'] = route.routeKey.split(' ');
  const params: string[] = [];
  let specificity = 0;
  const source = routePath
    .split('/')
    .map((segment) => {
      const greedy = /^\{(.+)\+\}$/.exec(segment);
      if (greedy) {
        params.push(greedy[1] ?? 'proxy');
        return '(.+)';
      }
      const param = /^\{(.+)\}$/.exec(segment);
      if (param) {
        params.push(param[1] ?? '');
        specificity += 1;
        return '([^/]+)';
      }
      specificity += 100;
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { ...route, method, pattern: new RegExp(`^${source}$`), params, specificity: specificity * 10 + (method === 'ANY' ? 0 : 1) };
}

/** Where a payload v2.0 event came in: the route (or `$default`), the API (or function URL) id, the path the function sees. */
export interface EventSource {
  routeKey: string;
  apiId: string;
  accountId: string;
  requestId: string;
  /** The path as the function sees it (a function URL's, without the local prefix). */
  rawPath: string;
  pathParameters?: Record<string, string>;
}

/**
 * A request as API Gateway's HTTP API payload v2.0 event (which Lambda function URLs also send):
 * headers lower-cased and joined, cookies apart, the query string parsed, a text body as is and any
 * other base64-encoded.
 */
export function payloadV2Event(req: IncomingMessage, raw: Buffer, source: EventSource) {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = (req.method ?? 'GET').toUpperCase();
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (name === 'cookie') cookies.push(...String(value).split(/;\s*/));
    else headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const textual = /^(application\/(json|x-www-form-urlencoded|xml)|text\/)/.test(headers['content-type'] ?? 'application/json');
  const now = new Date();
  return {
    version: '2.0',
    routeKey: source.routeKey,
    rawPath: source.rawPath,
    rawQueryString: url.search.slice(1),
    cookies: cookies.length > 0 ? cookies : undefined,
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    pathParameters: source.pathParameters && Object.keys(source.pathParameters).length > 0 ? source.pathParameters : undefined,
    requestContext: {
      accountId: source.accountId,
      apiId: source.apiId,
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: (headers.host ?? '127').split('.')[0],
      http: { method, path: source.rawPath, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: source.requestId,
      routeKey: source.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: raw.length > 0 ? (textual ? raw.toString('utf8') : raw.toString('base64')) : undefined,
    isBase64Encoded: raw.length > 0 && !textual,
  };
}

/** A function's buffered reply as payload v2 reads it: an object with `statusCode` is the whole reply; anything else is a 200 JSON body. */
export function payloadV2Reply(payload: unknown): { statusCode: number; headers: Record<string, string>; body: string | Buffer; cookies?: string[] } {
  if (payload !== null && typeof payload === 'object' && 'statusCode' in payload) {
    const reply = payload as { statusCode: number; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean; cookies?: string[] };
    const body = reply.body === undefined ? '' : reply.isBase64Encoded ? Buffer.from(reply.body, 'base64') : reply.body;
    return { statusCode: reply.statusCode, headers: { ...(reply.headers ?? {}) }, body, ...(reply.cookies?.length ? { cookies: reply.cookies } : {}) };
  }
  return { statusCode: 200, headers: {}, body: typeof payload === 'string' ? payload : JSON.stringify(payload) };
}

/** Options of {@link HttpApi}. */
export interface HttpApiOptions {
  apiId: string;
  accountId: string;
  invoke: (functionName: string, event: unknown) => Promise<InvokeResult>;
  log: (line: string) => void;
  cors: boolean;
}

/** Routes requests to functions the way API Gateway HTTP APIs do. */
export class HttpApi {
  private readonly routes: CompiledRoute[];
  private readonly options: HttpApiOptions;

  constructor(routes: HttpRoute[], options: HttpApiOptions) {
    this.routes = routes.map(compile).sort((a, b) => b.specificity - a.specificity);
    this.options = options;
  }

  /** Route keys served, for the start-up banner. */
  routeKeys(): string[] {
    return this.routes.map((route) => route.routeKey);
  }

  private match(method: string, path: string): { route: CompiledRoute; pathParameters: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (route.method !== 'ANY' && route.method !== method) continue;
      if (!route.pattern) return { route, pathParameters: {} };
      const found = route.pattern.exec(path);
      if (found) return { route, pathParameters: Object.fromEntries(route.params.map((name, index) => [name, decodeURIComponent(found[index + 1] ?? '')])) };
    }
    return undefined;
  }

  /** Serves one request. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      const corsHeaders: Record<string, string> = this.options.cors ? { 'access-control-allow-origin': '*' } : {};
      res.writeHead(status, { 'content-type': 'application/json', 'apigw-requestid': requestId, ...corsHeaders, ...headers });
      res.end(body);
      this.options.log(`${method} ${url.pathname} → ${status} (${Date.now() - started} ms)`);
    };
    const requestId = randomUUID();
    if (method === 'OPTIONS' && this.options.cors && req.headers['access-control-request-method']) {
      send(204, '', { 'access-control-allow-methods': '*', 'access-control-allow-headers': '*', 'access-control-max-age': '600' });
      return;
    }
    const read = await readBody(req);
    if (!('body' in read)) {
      // The connection is not reused after a request that was refused unread (or not read to its end).
      send(413, JSON.stringify({ message: 'Request Entity Too Large' }), { connection: 'close' });
      return;
    }
    const matched = this.match(method, url.pathname);
    if (!matched) {
      send(404, JSON.stringify({ message: 'Not Found' }));
      return;
    }
    const event = payloadV2Event(req, read.body, {
      routeKey: matched.route.routeKey,
      apiId: this.options.apiId,
      accountId: this.options.accountId,
      requestId,
      rawPath: url.pathname,
      pathParameters: matched.pathParameters,
    });
    const result = await this.options.invoke(matched.route.functionName, event);
    if (!result.ok) {
      this.options.log(`${matched.route.functionName}: ${result.error.errorType}: ${result.error.errorMessage}`);
      send(500, JSON.stringify({ message: 'Internal Server Error' }));
      return;
    }
    const reply = payloadV2Reply(result.payload);
    if (reply.cookies) res.setHeader('set-cookie', reply.cookies);
    send(reply.statusCode, reply.body as string, reply.headers);
  }
}
