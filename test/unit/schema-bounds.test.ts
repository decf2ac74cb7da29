/**
 * Every value the product accepts, answers or publishes is bounded (issue 8, defect 5): each
 * route's parameters and result (lib/api/routes.ts), each catalogued event (events/catalog.ts),
 * each detector's settings and the metric point are walked by test/helpers/schema-bounds.ts, and
 * every number must have a finite minimum and maximum within ±1e100 (MAX_NUMBER_MAGNITUDE, what
 * DynamoDB and every event consumer can hold), every string and array a maximum length. A value
 * left open on purpose is listed below with what bounds it instead; an entry that no longer
 * matches anything fails too, so the list cannot go stale.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { eventCatalog } from '../../events/catalog.ts';
import { MAX_NUMBER_MAGNITUDE, saturateNumbers } from '../../events/common.ts';
import { allRoutes } from '../../lib/api/routes.ts';
import { ewmaConfigSchema, metricPointSchema, robustConfigSchema, seasonalConfigSchema } from '../../lib/observation/schemas.ts';
import { type Allowance, boundsReport, type NamedSchema, unboundedValues } from '../helpers/schema-bounds.ts';

const everySchema: NamedSchema[] = [
  ...allRoutes.flatMap((spec) => [
    { name: `${spec.method} ${spec.path} parameters`, schema: spec.parameters },
    { name: `${spec.method} ${spec.path} result`, schema: spec.result },
  ]),
  ...eventCatalog.map((entry) => ({ name: `event ${entry.detailType}`, schema: entry.schema })),
  { name: 'metric point', schema: metricPointSchema },
  { name: 'robust settings', schema: robustConfigSchema },
  { name: 'seasonal settings', schema: seasonalConfigSchema },
  { name: 'ewma settings', schema: ewmaConfigSchema },
];

const ALLOWED_GATED_PARAMETERS =
  "a gated action's own parameters: the requesting engine's schema bounds them (the catalog cannot know every engine's), and the 256 KB event limit holds";
const ALLOWED_PAYLOAD =
  'a record is any JSON object by design: stored as JSON text in S3 (never as DynamoDB attributes), bounded by the 1 MiB body';
const ALLOWED_EVIDENCE =
  "a proposal's evidence is any JSON a proposer attaches (anomalies, forecasts, links): bounded by the 1 MiB body, stored with the proposal and shown as it came";
const ALLOWED_POLICY_REQUEST =
  'the Cedar request a proposal was judged by, built by policyRequestOf (lib/governance/proposals.ts) from bounded fields and recorded for simulation; the 256 KB event limit holds';
const ALLOWED_CONFIG =
  "the configuration as PUT /governance/config parsed it with governanceConfigSchema (walked here as that route's parameters and result)";
const ALLOWED_SIGNING_KEYS =
  'every signing key a tenant ever had stays published, so old checkpoints still verify: one more per rotation, an admin’s act';

const ALLOWED_EXECUTION_STATE =
  "an executor's parameters and the resource states it plans and reads back: JSON parsed by each executor's own zod schema (lib/adapters/aws/executors.ts, lib/execution/webhook.ts) or read from the resource, bounded by the 1 MiB body";
const executionOpen = [
  'POST /execution/runs parameters executor.parameters{*}',
  'POST /execution/runs parameters parameters{*}',
  ...['POST /execution/runs', 'GET /execution/runs', 'POST /execution/undo'].flatMap((route) =>
    ['parameters{*}', 'plan.before{*}', 'plan.after{*}', 'observed{*}', 'undo.observed{*}'].map((path) => `${route} result ${path}`),
  ),
];

/** Values left open on purpose: `<schema name> <path>`, and what bounds them instead. */
/** The MCP endpoint's JSON-RPC messages (lib/mcp/routes.ts). */
const ALLOWED_MCP_MESSAGE =
  "an MCP message: the body is at most 1 MB (lib/http/handler.ts MAX_BODY_BYTES) and each method's params are checked by the MCP SDK's schemas (lib/mcp/server.ts invalidParams)";
/** Migration plans carry executor bindings and runs the states their executors planned and read back. */
const migrationOpen = [
  ...['POST /migration/plans result plan', 'GET /migration/status result plans[]'].map((at) => `${at}.steps[].binding.parameters{*}`),
  ...['POST /migration/runs result run', 'DELETE /migration/runs result run', 'GET /migration/status result runs[]'].flatMap((at) =>
    ['before{*}', 'after{*}', 'observed{*}'].map((path) => `${at}.records[].${path}`),
  ),
];
const allowed: Allowance[] = [
  ...executionOpen.map((where) => ({ where, reason: ALLOWED_EXECUTION_STATE })),
  ...migrationOpen.map((where) => ({ where, reason: ALLOWED_EXECUTION_STATE })),
  {
    where: 'POST /observation/ingest parameters points[]',
    reason:
      'each point is parsed on its own by metricPointSchema (walked here as "metric point"), so one bad point does not sink the batch',
  },
  { where: 'POST /observation/ingest parameters point', reason: 'parsed by metricPointSchema (walked here as "metric point")' },
  { where: 'POST /audit/record parameters payload{key}', reason: ALLOWED_PAYLOAD },
  {
    where: 'POST /versioning/versions parameters body',
    reason:
      "a versioned artifact's body: at most 512 KiB of JSON (refined), then checked by its kind (a JSON Schema, a gateway prompt template, a JSON object)",
  },
  {
    where: 'POST /versioning/versions parameters golden[]',
    reason: 'golden examples for a schema artifact: any JSON its schema may accept; at most 100 and 64 KiB of JSON (refined)',
  },
  {
    where: 'POST /capsules/runs parameters input{*}',
    reason: "a capsule's input: at most 64 KiB of JSON (refined), then checked against the capsule's own input schema",
  },
  ...[
    'POST /capsules/plans parameters nodes[]',
    'POST /capsules/plans result nodes[]',
    'GET /capsules/plans result plans[].nodes[]',
    'DELETE /capsules/plans result nodes[]',
  ].map((at) => ({
    where: `${at}.input{*}`,
    reason:
      "a plan node's capsule input: at most 16 KiB of JSON (refined), then checked against the capsule's own input schema when the node runs",
  })),
  ...['samples[].request', 'samples[].response'].map((path) => ({
    where: `POST /encapsulation/analyse parameters ${path}`,
    reason: 'an observed payload sample: any JSON by design, at most 512 KiB of JSON for all samples (refined); only its shape is inferred',
  })),
  ...['POST /encapsulation/analyse', 'GET /encapsulation/status'].flatMap((route) =>
    ['modules[].interfaceSchema{*}', 'modules[].openapi{*}', 'golden{*}[]'].map((path) => ({
      where: `${route} result ${path}`,
      reason:
        'generated interface documents and the golden requests kept for them: at most 256 KiB of JSON per document (refined), 20 requests per entry point',
    })),
  ),
  {
    where: 'POST /encapsulation/interfaces result openapi{*}',
    reason: 'a generated OpenAPI 3.1 document: at most 256 KiB of JSON (refined)',
  },
  { where: 'POST /audit/record parameters payload{*}', reason: ALLOWED_PAYLOAD },
  { where: 'event governance.approval.requested action.parameters{*}', reason: ALLOWED_GATED_PARAMETERS },
  { where: 'GET /governance/approvals result approvals[].action.parameters{*}', reason: ALLOWED_GATED_PARAMETERS },
  { where: 'POST /governance/approvals result action.parameters{*}', reason: ALLOWED_GATED_PARAMETERS },
  { where: 'POST /governance/proposals parameters parameters{*}', reason: ALLOWED_GATED_PARAMETERS },
  { where: 'POST /governance/proposals result parameters{*}', reason: ALLOWED_GATED_PARAMETERS },
  { where: 'GET /governance/proposals result proposals[].parameters{*}', reason: ALLOWED_GATED_PARAMETERS },
  { where: 'PUT /governance/proposals result parameters{*}', reason: ALLOWED_GATED_PARAMETERS },
  { where: 'POST /governance/proposals parameters evidence{*}', reason: ALLOWED_EVIDENCE },
  { where: 'POST /governance/proposals result evidence{*}', reason: ALLOWED_EVIDENCE },
  { where: 'GET /governance/proposals result proposals[].evidence{*}', reason: ALLOWED_EVIDENCE },
  { where: 'PUT /governance/proposals result evidence{*}', reason: ALLOWED_EVIDENCE },
  { where: 'GET /governance/approvals result approvals[].evidence{*}', reason: ALLOWED_EVIDENCE },
  { where: 'POST /governance/approvals result evidence{*}', reason: ALLOWED_EVIDENCE },
  { where: 'event governance.proposal.evaluated policyRequest{*}', reason: ALLOWED_POLICY_REQUEST },
  { where: 'POST /governance/proposals result policyRequest{*}', reason: ALLOWED_POLICY_REQUEST },
  { where: 'GET /governance/proposals result proposals[].policyRequest{*}', reason: ALLOWED_POLICY_REQUEST },
  { where: 'PUT /governance/proposals result policyRequest{*}', reason: ALLOWED_POLICY_REQUEST },
  { where: 'DELETE /governance/proposals result parameters{*}', reason: ALLOWED_GATED_PARAMETERS },
  { where: 'DELETE /governance/proposals result evidence{*}', reason: ALLOWED_EVIDENCE },
  { where: 'DELETE /governance/proposals result policyRequest{*}', reason: ALLOWED_POLICY_REQUEST },
  { where: 'event governance.config.changed config{*}', reason: ALLOWED_CONFIG },
  {
    where: 'GET /health result {*}',
    reason: 'the dependency checks lib/platform/health.ts builds (names, booleans, messages of our own), not data',
  },
  { where: 'POST /mcp parameters params{*}', reason: ALLOWED_MCP_MESSAGE },
  { where: 'POST /mcp parameters result{*}', reason: ALLOWED_MCP_MESSAGE },
  { where: 'POST /mcp parameters error.data', reason: ALLOWED_MCP_MESSAGE },
  { where: 'POST /mcp result params{*}', reason: ALLOWED_MCP_MESSAGE },
  { where: 'POST /mcp result result{*}', reason: ALLOWED_MCP_MESSAGE },
  { where: 'POST /mcp result error.data', reason: ALLOWED_MCP_MESSAGE },
  { where: 'GET /openapi.json result {key}', reason: 'the OpenAPI document, generated from these very schemas' },
  { where: 'GET /openapi.json result {*}', reason: 'the OpenAPI document, generated from these very schemas' },
  {
    where: 'GET /identity/keys result keys',
    reason: "every key the tenant created, revoked ones kept for the audit trail; creating one is an admin's act",
  },
  { where: 'GET /audit/keys result keys', reason: ALLOWED_SIGNING_KEYS },
  { where: 'POST /audit/keys result keys', reason: ALLOWED_SIGNING_KEYS },
  { where: 'GET /audit/verify result keyIds', reason: ALLOWED_SIGNING_KEYS },
  { where: 'POST /audit/export result keyIds', reason: ALLOWED_SIGNING_KEYS },
  {
    where: 'POST /audit/export result parts',
    reason: 'one object per page of a stream of any length (pages of up to 10,000 entries); about 100 bytes each',
  },
];

describe('the schema walker', () => {
  it('finds each kind of unbounded value, with its path', () => {
    const schema = z.object({
      n: z.number(),
      big: z.number().min(0).max(1e300),
      positive: z.number().positive(),
      text: z.string(),
      list: z.array(z.int().min(0).max(9)),
      map: z.record(z.string().max(8), z.unknown()),
      nested: z.object({ deep: z.array(z.object({ x: z.number().optional() })).max(3) }).nullable(),
      either: z.union([z.string().max(3), z.number()]),
      when: z.iso
        .datetime()
        .transform((text) => Date.parse(text))
        .pipe(z.number()),
    });
    assert.deepEqual(
      unboundedValues(schema).map((value) => value.path),
      ['n', 'big', 'positive', 'text', 'list', 'map{*}', 'nested.deep[].x', 'either', 'when', 'when'],
    );
  });

  it('passes a schema whose every value is bounded, integers and enums included', () => {
    const schema = z.object({
      count: z.int().min(0),
      level: z.enum(['a', 'b']),
      flag: z.boolean(),
      fixed: z.literal('x'),
      name: z
        .string()
        .regex(/^[a-z]+$/)
        .max(10),
      code: z.string().length(4),
      items: z.array(z.number().min(-1).max(1)).max(5),
      pair: z.tuple([z.string().max(1), z.int()]),
      coerced: z.coerce.number().int().min(1).max(3).default(2),
    });
    assert.deepEqual(unboundedValues(schema), []);
  });

  it('walks a recursive schema once', () => {
    type Tree = { label: string; children: Tree[] };
    const tree: z.ZodType<Tree> = z.lazy(() => z.object({ label: z.string().max(5), children: z.array(tree).max(2) }));
    assert.deepEqual(unboundedValues(tree), []);
  });
});

describe('bounded values everywhere', () => {
  it('walks every route, every event, the metric point and every detector', () => {
    assert.ok(everySchema.length >= allRoutes.length * 2 + eventCatalog.length + 4);
  });

  it('every number within ±1e100, every string and array with a maximum length (or allowed, with a reason)', () => {
    const { violations, staleAllowances } = boundsReport(everySchema, allowed);
    assert.deepEqual(violations, [], 'unbounded values');
    assert.deepEqual(staleAllowances, [], 'allowances that match nothing any more');
    assert.ok(
      allowed.every((allowance) => allowance.reason.length > 20),
      'each allowance says what bounds the value instead',
    );
  });

  it('refuses 1e300 for each setting that had no maximum (minScale, huberK, clip, intervalMs), naming it', () => {
    const cases: Array<[z.ZodType, string]> = [
      [robustConfigSchema, 'minScale'],
      [seasonalConfigSchema, 'minScale'],
      [seasonalConfigSchema, 'huberK'],
      [seasonalConfigSchema, 'intervalMs'],
      [ewmaConfigSchema, 'minScale'],
      [ewmaConfigSchema, 'clip'],
    ];
    for (const [schema, setting] of cases) {
      const parsed = schema.safeParse({ [setting]: 1e300 });
      assert.deepEqual([...new Set(parsed.error?.issues.map((issue) => issue.path.join('.')))], [setting], `${setting} 1e300`);
    }
  });
});

describe('saturateNumbers', () => {
  it('clamps numbers beyond ±1e100 anywhere in plain data, and returns data within the bound as it is', () => {
    assert.deepEqual(saturateNumbers({ score: 1e109, band: [-Infinity, 2], nested: { x: -2e101 }, text: 'x', none: null }), {
      score: MAX_NUMBER_MAGNITUDE,
      band: [-MAX_NUMBER_MAGNITUDE, 2],
      nested: { x: -MAX_NUMBER_MAGNITUDE },
      text: 'x',
      none: null,
    });
    const within = { a: 1, b: [2, 3] };
    assert.equal(saturateNumbers(within), within);
  });
});
