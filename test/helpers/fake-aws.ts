/**
 * A tiny AWS endpoint for adapter tests: a node:http server on 127.0.0.1 that answers each request
 * with what the test tells it, in the service's own wire format, so a real SDK client parses a
 * real error response (no mocked clients). Also a closed port, for refused connections.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the fake saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** `X-Amz-Target` of JSON protocols (`DynamoDB_20120810.PutItem`), if any. */
  target: string | undefined;
  body: string;
}

/** What to answer; `hang` never answers (for timeouts). */
export type FakeReply = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/** A running fake endpoint. */
export interface FakeAws {
  endpoint: string;
  requests: SeenRequest[];
  /** Sets how the following requests are answered. */
  answer(responder: (request: SeenRequest) => FakeReply): void;
  close(): Promise<void>;
}

/** Starts a fake endpoint on a free loopback port; every request fails with 500 until told otherwise. */
export async function startFakeAws(): Promise<FakeAws> {
  const requests: SeenRequest[] = [];
  let responder: (request: SeenRequest) => FakeReply = () => ({ status: 500, body: '' });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      const seen: SeenRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        target: typeof target === 'string' ? target : undefined,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(seen);
      const reply = responder(seen);
      if (reply === 'hang') return;
      res.writeHead(reply.status, { 'x-amzn-requestid': `fake-${requests.length}`, ...reply.headers });
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    answer(next) {
      responder = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An endpoint nothing listens on (a port just freed), so connecting is refused. */
export async function refusedEndpoint(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/**
 * An error of a JSON protocol (DynamoDB's JSON 1.0; EventBridge's, Secrets Manager's and Step
 * Functions' JSON 1.0/1.1): `__type` and `message` in the body, the request's own content type.
 * `namespace` qualifies the type as some services do (`com.amazonaws.dynamodb.v20120810`).
 */
export function jsonError(
  request: SeenRequest,
  status: number,
  type: string,
  extra: Record<string, unknown> = {},
  options: { namespace?: string; headers?: Record<string, string> } = {},
): FakeReply {
  const contentType = String(request.headers['content-type'] ?? 'application/x-amz-json-1.1');
  const qualified = options.namespace === undefined ? type : `${options.namespace}#${type}`;
  return {
    status,
    headers: { 'content-type': contentType, ...options.headers },
    body: JSON.stringify({ __type: qualified, message: `fake ${type}`, ...extra }),
  };
}

/** A DynamoDB error (JSON 1.0, namespaced `__type`). */
export function dynamoError(
  request: SeenRequest,
  status: number,
  type: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): FakeReply {
  return jsonError(request, status, type, extra, { namespace: 'com.amazonaws.dynamodb.v20120810', headers });
}

/** An S3 error (REST-XML): `<Error><Code>…</Code>…</Error>`. */
export function s3Error(status: number, code: string, headers: Record<string, string> = {}): FakeReply {
  return {
    status,
    headers: { 'content-type': 'application/xml', ...headers },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>fake ${code}</Message><RequestId>fake</RequestId><HostId>fake</HostId></Error>`,
  };
}

/** Settings for a real SDK client aimed at `endpoint`: static credentials, one attempt (no SDK retries, so tests stay fast). */
export function clientSettings(endpoint: string) {
  return {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' },
    maxAttempts: 1,
  };
}
