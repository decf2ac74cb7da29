/**
 * The standing fuzz suite of the HTTP API, generated from the route registry (lib/api/routes.ts):
 * every route, including any added later, gets requests built from its own zod schema (through
 * its JSON Schema): fitting envelopes, single-constraint violations, hostile values at any field
 * (wrong types, extremes, unicode edge cases, deep nesting, huge strings), malformed bodies and
 * query strings, odd headers (correlation ids, idempotency keys, content types: a body not sent
 * as JSON is a 415). Each is sent through the local cloud's HTTP API as a fresh tenant with the
 * least role that holds the route's permission.
 *
 * For every reply: never a 5xx; a 4xx carries `error`, `message` and the correlation id, a 400
 * its `issues` with field paths (the field a violation broke among them), and no body carries a
 * stack trace or an internal message; whatever the route's own schema refuses is a 400 naming
 * `body…` or `query…`; a 2xx envelope matches the route's declared result schema. No partial
 * write: a tenant whose one request was refused owns nothing afterwards in the state table, the
 * ledger or the artifacts bucket.
 *
 * Bounded: FUZZ_RUNS cases per route (test/helpers/fuzz.ts), FUZZ_SEED to vary them; the number
 * of cases is printed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { z } from 'zod';
import { type IdpKey, loadOrCreateIdpKey, signLocalToken } from '../../infra/local/idp.ts';
import { requestEnvelopeSchema, responseEnvelopeSchema, type RouteSpec } from '../../lib/api/route.ts';
import { allRoutes } from '../../lib/api/routes.ts';
import { type Permission, type Role, roleNames, rolesAllow } from '../../lib/auth/roles.ts';
import { MAX_BODY_BYTES, MAX_BODY_DEPTH } from '../../lib/http/handler.ts';
import { isJsonMediaType } from '../../lib/http/media-type.ts';
import { jsonDataIssues } from '../../lib/json-data.ts';
import { ewmaConfigSchema, metricPointSchema, robustConfigSchema, seasonalConfigSchema } from '../../lib/observation/schemas.ts';
import {
  fuzzParameters,
  fuzzSettings,
  hostileValue,
  type JsonPath,
  type JsonSchema,
  jsonSchemaOf,
  pathsIn,
  RawJson,
  REMOVE,
  type SchemaHints,
  setAt,
  toJsonText,
  type Violation,
  validArbitrary,
  violations,
} from '../helpers/fuzz.ts';
import { testCloud } from '../helpers/local-cloud.ts';

/**
 * Fields a route types loosely and validates itself (the ingest engine checks each point; the
 * detector checks its config): generated from these schemas so valid cases reach the engine.
 * Violations inside them are not the route schema's to report, so they are not expected as 400s.
 */
const HINTS: Record<string, SchemaHints> = {
  'POST /observation/ingest': {
    'parameters.point': jsonSchemaOf(metricPointSchema),
    'parameters.points.*': jsonSchemaOf(metricPointSchema),
  },
  'PUT /observation/config': { 'parameters.config': jsonSchemaOf(z.union([robustConfigSchema, seasonalConfigSchema, ewmaConfigSchema])) },
};

/** Text a reply must never carry: stack frames and source paths (first), runtime and SDK internals. */
const LEAKS = [
  // A stack frame: `at fn (/path/file.js:12:5)`, `at file:///x.mjs:1:2` (raw or JSON-escaped).
  /\bat\s+(?:[\w$.<>[\]]+\s+\([^\s()"]+:\d+:\d+\)|(?:file:\/\/|node:|\/)[^\s()"]*:\d+:\d+)/,
  /node_modules|file:\/\/|\/work\/|\.ts:\d+|\.m?js:\d+/,
  /\b(TypeError|ReferenceError|RangeError|SyntaxError)\b/,
  /Maximum call stack|Cannot read propert|is not a function|is not iterable|undefined is not/,
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE/,
  /ValidationException|ResourceNotFoundException|ConditionalCheckFailed|TransactionCanceled|NoSuchKey|NoSuchBucket/,
  /Unexpected token|in JSON at position|Unexpected end of JSON/,
];

const errorBody = z.object({
  error: z.string().min(1),
  message: z.string().min(1),
  correlationId: z.string().min(1),
  issues: z.array(z.object({ path: z.string(), message: z.string().min(1) })).optional(),
});

type Body = { kind: 'json'; value: unknown } | { kind: 'raw'; label: string; bytes: () => Buffer };

/** One generated request. */
interface FuzzCase {
  kind: 'valid' | 'violation' | 'hostile' | 'malformed';
  /** POST/PUT: the body; GET/DELETE: the query string (without `?`). */
  body?: Body;
  query?: string;
  violation?: Violation;
  hostileAt?: JsonPath;
  headers: Record<string, string>;
}

/** A case before its headers are chosen. */
type FuzzCaseBody = Omit<FuzzCase, 'headers'>;

const routeKey = (spec: RouteSpec) => `${spec.method} ${spec.path}`;
const hasBody = (spec: RouteSpec) => spec.method === 'POST' || spec.method === 'PUT';
const dotted = (path: JsonPath) => path.map(String).join('.');

/** The least powerful role that holds a permission. */
function roleFor(permission: Permission): Role {
  const role = roleNames.find((name) => rolesAllow([name], permission));
  if (!role) throw new Error(`no role grants ${permission}`);
  return role;
}

/** Malformed bodies: not JSON, not an object, truncated, over the size limit, invalid UTF-8. */
const malformedBodies: fc.Arbitrary<Body> = fc
  .constantFrom<[string, () => Buffer]>(
    ['empty', () => Buffer.alloc(0)],
    ['not JSON', () => Buffer.from('parameters=1')],
    ['truncated', () => Buffer.from('{"parameters":{"stream":"a"')],
    ['trailing comma', () => Buffer.from('{"parameters":{},}')],
    ['NaN literal', () => Buffer.from('{"parameters":NaN}')],
    ['comment', () => Buffer.from('{"parameters":{} /* hi */}')],
    ['single quotes', () => Buffer.from("{'parameters':{}}")],
    ['null', () => Buffer.from('null')],
    ['array', () => Buffer.from('[{"parameters":{}}]')],
    ['number', () => Buffer.from('42')],
    ['string', () => Buffer.from('"parameters"')],
    ['BOM', () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"parameters":{}}')])],
    ['invalid UTF-8', () => Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
    ['duplicate keys', () => Buffer.from('{"parameters":1,"parameters":{}}')],
    ['deep array 300,000', () => Buffer.from(`${'['.repeat(300_000)}${']'.repeat(300_000)}`)],
    ['unclosed deep array', () => Buffer.from('['.repeat(500_000))],
    ['1 MiB + 1 of spaces around {}', () => Buffer.from(`{}${' '.repeat(MAX_BODY_BYTES - 1)}`)],
    ['2 MiB string', () => Buffer.from(`{"parameters":{},"metadata":{"x":"${'x'.repeat(2 * MAX_BODY_BYTES)}"}}`)],
  )
  .map(([label, bytes]) => ({ kind: 'raw' as const, label, bytes }));

/** Raw query-string pieces that break naive parsing. */
const malformedQueries = fc.constantFrom(
  '%',
  '%ZZ',
  '%00',
  '&&&',
  '=x',
  'a=%E0%A4%A',
  '%ED%A0%80=1',
  `x=${'y'.repeat(6000)}`,
  '__proto__=1',
  'constructor=x',
);

/** A generated `content-type` header that means: send the body without one. */
const NO_CONTENT_TYPE = '(none)';

/** Headers besides the credential: correlation ids and idempotency keys, sane and odd. */
function headerArbitrary(spec: RouteSpec): fc.Arbitrary<Record<string, string>> {
  const correlation = fc.option(fc.constantFrom('corr-fuzz', 'x'.repeat(4000), 'caf\u00e9', ' spaced ', '\u00ff\u00fe'), {
    nil: undefined,
  });
  const idempotency =
    spec.method === 'POST'
      ? fc.option(fc.constantFrom('ok-key-1', '', 'has space', 'k'.repeat(256), 'caf\u00e9'), { nil: undefined })
      : fc.constant(undefined);
  // Usually application/json (set in send); sometimes another type, or none at all (NO_CONTENT_TYPE).
  const contentType = hasBody(spec)
    ? fc.option(
        fc.constantFrom(
          'text/plain',
          'application/octet-stream',
          'application/x-www-form-urlencoded',
          NO_CONTENT_TYPE,
          'application/json; charset=utf-8',
          'APPLICATION/JSON',
          'application/problem+json',
          'application/jsonx',
        ),
        { nil: undefined, freq: 4 },
      )
    : fc.constant(undefined);
  return fc.record({ correlation, idempotency, contentType }).map(({ correlation: c, idempotency: k, contentType: t }) => ({
    ...(c !== undefined ? { 'x-correlation-id': c } : {}),
    ...(k !== undefined ? { 'idempotency-key': k } : {}),
    ...(t !== undefined ? { 'content-type': t } : {}),
  }));
}

function queryString(value: unknown): string {
  const params = new URLSearchParams();
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      params.append(key, typeof item === 'string' ? item : item instanceof RawJson ? item.label : toJsonText(item));
    }
  }
  return params.toString();
}

/** The requests one route is fuzzed with. */
function caseArbitrary(spec: RouteSpec): fc.Arbitrary<FuzzCase> {
  const withBody = hasBody(spec);
  const hints = Object.fromEntries(
    Object.entries(HINTS[routeKey(spec)] ?? {}).map(([path, schema]) => [withBody ? path : path.replace(/^parameters\./, ''), schema]),
  );
  const schema: JsonSchema = withBody ? jsonSchemaOf(requestEnvelopeSchema(spec.parameters)) : jsonSchemaOf(spec.parameters);
  const base = validArbitrary(schema, hints).chain((value) =>
    withBody
      ? // The envelope's optional `action` must name the route when given: usually omit it or name it.
        fc
          .constantFrom('omit', 'route', 'as generated')
          .map((action) =>
            action === 'omit' ? setAt(value, ['action'], REMOVE) : action === 'route' ? setAt(value, ['action'], spec.action) : value,
          )
      : fc.constant(value),
  );
  const encode = (value: unknown): Pick<FuzzCase, 'body' | 'query'> =>
    withBody ? { body: { kind: 'json', value } } : { query: queryString(value) };

  const valid = base.map((value): FuzzCaseBody => ({ kind: 'valid', ...encode(value) }));
  const violation = base.chain((value): fc.Arbitrary<FuzzCaseBody> => {
    // A query carries text: a string field given a number is still a string there.
    const found = violations(schema, value, hints).filter((v) => withBody || !(v.rule === 'type' && typeof v.replacement === 'number'));
    if (found.length === 0) return fc.constant({ kind: 'valid', ...encode(value) });
    return fc.constantFrom(...found).map((v) => ({ kind: 'violation', violation: v, ...encode(setAt(value, v.at, v.replacement)) }));
  });
  const hostile = base.chain((value): fc.Arbitrary<FuzzCaseBody> => {
    const targets: JsonPath[] = [
      ...pathsIn(value),
      ['unexpected'],
      ...(withBody
        ? [
            ['parameters', 'unexpected'],
            ['metadata', '__proto__'],
          ]
        : []),
    ];
    return fc
      .tuple(fc.constantFrom(...targets), hostileValue)
      .map(([at, replacement]) => ({ kind: 'hostile', hostileAt: at, ...encode(setAt(value, at, replacement)) }));
  });
  const malformed: fc.Arbitrary<FuzzCaseBody> = withBody
    ? malformedBodies.map((body): FuzzCaseBody => ({ kind: 'malformed', body }))
    : fc.tuple(base, malformedQueries).map(([value, raw]): FuzzCaseBody => {
        const query = queryString(value);
        return { kind: 'malformed', query: query === '' ? raw : `${query}&${raw}` };
      });
  return fc
    .tuple(
      fc.oneof(
        { arbitrary: valid, weight: 2 },
        { arbitrary: violation, weight: 4 },
        { arbitrary: hostile, weight: 3 },
        { arbitrary: malformed, weight: 1 },
      ),
      headerArbitrary(spec),
    )
    .map(([generated, headers]) => ({ ...generated, headers }));
}

/** What the route's own schema says of a request, computed as the handler does. */
type Verdict = { expect: 413 | 415 } | { expect: 400; prefix: 'body' | 'query'; paths?: string[] } | { expect: 'any' };

function verdict(spec: RouteSpec, fuzzCase: FuzzCase, wire: { body?: Buffer; url: URL }): Verdict {
  if (!hasBody(spec)) {
    const query: Record<string, string> = {};
    for (const [name, value] of wire.url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
    const parsed = spec.parameters.safeParse(query);
    if (!parsed.success) return { expect: 400, prefix: 'query' };
    return { expect: 'any' };
  }
  const bytes = wire.body ?? Buffer.alloc(0);
  const contentType = fuzzCase.headers['content-type'];
  if (bytes.length > 0 && contentType !== undefined && !isJsonMediaType(contentType === NO_CONTENT_TYPE ? undefined : contentType))
    return { expect: 415 };
  if (bytes.length > MAX_BODY_BYTES) return { expect: 413 };
  let json: unknown;
  if (bytes.length > 0) {
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      return { expect: 400, prefix: 'body', paths: ['body'] };
    }
  }
  if (jsonDataIssues(json, { maxDepth: MAX_BODY_DEPTH, maxNodes: MAX_BODY_BYTES }).length > 0) return { expect: 400, prefix: 'body' };
  const parsed = requestEnvelopeSchema(spec.parameters).safeParse(json);
  if (!parsed.success) return { expect: 400, prefix: 'body' };
  if (parsed.data.action !== undefined && parsed.data.action !== spec.action)
    return { expect: 400, prefix: 'body', paths: ['body.action'] };
  const key = fuzzCase.headers['idempotency-key'];
  if (key !== undefined && spec.method === 'POST' && !/^[\x21-\x7e]{1,255}$/.test(key))
    return { expect: 400, prefix: 'body', paths: ['headers.idempotency-key'] };
  return { expect: 'any' };
}

interface Sent {
  tenant: string;
  route: string;
  fuzzCase: FuzzCase;
  status: number;
}

/** A request still unanswered after this fails its case (the API's own limit is 29 s). */
const REQUEST_TIMEOUT_MS = 30_000;

const cloud = testCloud();
const runPrefix = `fz${randomUUID().slice(0, 6)}`;
/**
 * Cases per route: `FUZZ_RUNS` when set, else 12. Each case is a request through the local cloud
 * (~90 ms on 2 cores), and with 115 routes the default 30 of the unit-level fuzz made this the
 * suite's longest file (5 minutes); vary the seed (`FUZZ_SEED`) for breadth over runs.
 */
const HTTP_RUNS = process.env.FUZZ_RUNS ? fuzzSettings.runs : 12;
/** Every refused request of the run, checked for partial writes once all routes are fuzzed. */
const refusedAll: Sent[] = [];
const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const s3 = new S3Client({ forcePathStyle: true });
let idpKey: IdpKey;
let caseCount = 0;

function describeCase(fuzzCase: FuzzCase): string {
  const body = fuzzCase.body?.kind === 'raw' ? `raw(${fuzzCase.body.label})` : fuzzCase.body ? toJsonText(fuzzCase.body.value) : undefined;
  const shown = body && body.length > 400 ? `${body.slice(0, 400)}… (${body.length} chars)` : body;
  return JSON.stringify({
    kind: fuzzCase.kind,
    violation: fuzzCase.violation && { path: dotted(fuzzCase.violation.path), rule: fuzzCase.violation.rule },
    hostileAt: fuzzCase.hostileAt && dotted(fuzzCase.hostileAt),
    query: fuzzCase.query?.slice(0, 300),
    body: shown,
    headers: Object.fromEntries(
      Object.entries(fuzzCase.headers).map(([name, value]) => [name, value.length > 40 ? `${value.slice(0, 40)}…` : value]),
    ),
  });
}

async function send(
  spec: RouteSpec,
  tenant: string,
  fuzzCase: FuzzCase,
): Promise<{ status: number; headers: Headers; text: string; wire: { body?: Buffer; url: URL } }> {
  const url = new URL(`${cloud.apiUrl}${spec.path}${fuzzCase.query ? `?${fuzzCase.query}` : ''}`);
  const body =
    fuzzCase.body === undefined
      ? undefined
      : fuzzCase.body.kind === 'raw'
        ? fuzzCase.body.bytes()
        : Buffer.from(toJsonText(fuzzCase.body.value), 'utf8');
  const headers: Record<string, string> = { ...fuzzCase.headers };
  if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  if (headers['content-type'] === NO_CONTENT_TYPE) delete headers['content-type'];
  if (spec.permission !== 'public')
    headers.authorization = `Bearer ${await signLocalToken(idpKey, { tenant, roles: [roleFor(spec.permission)] })}`;
  const attempt = async () => {
    if (process.env.FUZZ_TRACE) console.error(`[fuzz] ${routeKey(spec)} ${tenant} ${describeCase(fuzzCase)}`);
    const response = await fetch(url, { method: spec.method, headers, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };
  let reply = await attempt();
  // A 503 with Retry-After means a dependency was briefly unavailable, which is not about the input:
  // ask once more; the same input answered 503 twice is a failure like any 5xx.
  if (reply.status === 503 && reply.headers.get('retry-after')) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, Number(reply.headers.get('retry-after')) * 1000)));
    reply = await attempt();
  }
  return { ...reply, wire: { body, url } };
}

function checkReply(spec: RouteSpec, fuzzCase: FuzzCase, reply: Awaited<ReturnType<typeof send>>): void {
  const context = () => `${routeKey(spec)} answered ${reply.status} ${reply.text.slice(0, 600)}\n  to ${describeCase(fuzzCase)}`;
  assert.ok(reply.status < 500, `a 5xx: ${context()}`);
  // A 2xx carries data (documentation, stored payloads), which may name such things; an error reply never.
  for (const leak of reply.status >= 400 ? LEAKS : LEAKS.slice(0, 2))
    assert.doesNotMatch(reply.text, leak, `internal detail in the reply: ${context()}`);
  const correlation = fuzzCase.headers['x-correlation-id'];
  if (spec.permission !== 'public' || reply.status >= 400) {
    const echoed = reply.headers.get('x-correlation-id');
    assert.ok(echoed, `no x-correlation-id: ${context()}`);
    if (correlation !== undefined && /^[\x21-\x7e]+$/.test(correlation))
      assert.equal(echoed, correlation, `the correlation id is not echoed: ${context()}`);
  }
  const expected = verdict(spec, fuzzCase, reply.wire);
  if (expected.expect !== 'any') assert.equal(reply.status, expected.expect, `expected ${expected.expect}: ${context()}`);
  if (reply.status >= 400) {
    const parsed = errorBody.safeParse(safeJson(reply.text));
    assert.ok(parsed.success, `not an error body: ${context()}`);
    if (reply.status === 400) {
      const issues = parsed.data.issues ?? [];
      assert.ok(issues.length > 0, `a 400 without issues: ${context()}`);
      for (const issue of issues) assert.ok(issue.path.length > 0, `an issue without a path: ${context()}`);
      if (expected.expect === 400) {
        const paths = issues.map((issue) => issue.path);
        if (expected.paths)
          assert.ok(
            paths.some((path) => expected.paths?.includes(path)),
            `expected an issue at ${expected.paths.join(' or ')}: ${context()}`,
          );
        else
          assert.ok(
            paths.every((path) => path === expected.prefix || path.startsWith(`${expected.prefix}.`) || path.startsWith('headers.')),
            `issue paths outside ${expected.prefix}: ${context()}`,
          );
        const broken = fuzzCase.violation;
        if (broken) {
          const want = [hasBody(spec) ? 'body' : 'query', ...broken.path].map(String).join('.');
          assert.ok(
            paths.some((path) => path === want || path.startsWith(`${want}.`)),
            `no issue at ${want} (${broken.rule}): ${context()}`,
          );
        }
      }
    }
    return;
  }
  if (!spec.rawContentType) {
    const envelope = responseEnvelopeSchema(spec.result).safeParse(safeJson(reply.text));
    assert.ok(
      envelope.success,
      `the reply does not match the declared result schema (${envelope.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}): ${context()}`,
    );
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Tenants (by prefix) owning anything besides their rate-limit counters: tenant → what they own. */
async function ownedBy(prefix: string): Promise<Map<string, string[]>> {
  const owned = new Map<string, string[]>();
  const note = (tenant: string, what: string) => owned.set(tenant, [...(owned.get(tenant) ?? []), what]);
  for (const table of [cloud.resources.tables.StateTable, cloud.resources.tables.LedgerTable]) {
    if (!table) continue;
    for await (const page of paginateScan(
      { client: dynamo },
      {
        TableName: table,
        FilterExpression: 'begins_with(pk, :prefix)',
        ExpressionAttributeValues: { ':prefix': prefix },
        ProjectionExpression: 'pk, sk, seq',
      },
    )) {
      for (const item of page.Items ?? []) {
        const pk = String(item.pk);
        const tenant = pk.slice(0, pk.indexOf('#'));
        if (pk !== `${tenant}#ratelimit`) note(tenant, `${table}: ${pk} / ${String(item.sk ?? item.seq)}`);
      }
    }
  }
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: cloud.resources.buckets.ArtifactsBucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) note(String(object.Key).split('/')[0] ?? '', `s3: ${object.Key}`);
    token = page.NextContinuationToken;
  } while (token);
  return owned;
}

describe(`fuzz: every route of the registry (${HTTP_RUNS} cases per route, seed ${fuzzSettings.seed}; FUZZ_RUNS, FUZZ_SEED)`, () => {
  before(async () => {
    idpKey = await loadOrCreateIdpKey(process.env.AUTONOMY_TEST_DATA_DIR ?? '');
  });
  after(() => {
    console.log(
      `[fuzz] ${caseCount} requests over ${allRoutes.length} routes (${HTTP_RUNS} cases per route, seed ${fuzzSettings.seed}; vary with FUZZ_RUNS / FUZZ_SEED)`,
    );
  });

  allRoutes.forEach((spec, routeIndex) => {
    // The MCP endpoint's body is a JSON-RPC message, not the envelope, and its refusals are JSON-RPC
    // errors: its own fuzz property is in test/unit/mcp-server.test.ts.
    if (spec.rawRequestContentType) return;
    // FUZZ_ROUTE='POST /audit/record' narrows a run to the routes whose key contains it (to chase one failure).
    if (process.env.FUZZ_ROUTE && !routeKey(spec).includes(process.env.FUZZ_ROUTE)) return;
    it(`${routeKey(spec)}: never a 5xx or a leak, a 400 names the field`, async () => {
      const prefix = `${runPrefix}-${routeIndex}-`;
      const refused: Sent[] = [];
      let n = 0;
      await fc.assert(
        fc.asyncProperty(caseArbitrary(spec), async (fuzzCase) => {
          const tenant = `${prefix}${n++}`;
          caseCount += 1;
          const reply = await send(spec, tenant, fuzzCase);
          checkReply(spec, fuzzCase, reply);
          const failed = reply.status >= 400 || (hasBody(spec) && (safeJson(reply.text) as { status?: string })?.status === 'failure');
          if (failed) refused.push({ tenant, route: routeKey(spec), fuzzCase, status: reply.status });
        }),
        fuzzParameters(HTTP_RUNS),
      );
      refusedAll.push(...refused);
    });
  });

  // One request per tenant: a tenant whose request was refused must own nothing. Checked once for every
  // route (one scan of each table, not one per route: the tables hold the whole suite's items by now).
  it('a refused request wrote nothing, on any route', async () => {
    const owned = await ownedBy(`${runPrefix}-`);
    const partial = refusedAll.filter((sent) => owned.has(sent.tenant));
    assert.ok(refusedAll.length > 0, 'the fuzz refused nothing: the check would prove nothing');
    assert.deepEqual(
      partial.map((sent) => `${sent.route}: ${sent.status} to ${describeCase(sent.fuzzCase)} left ${owned.get(sent.tenant)?.join(', ')}`),
      [],
      'refused requests that wrote something',
    );
  });
});
