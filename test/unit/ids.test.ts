/**
 * The identifiers (events/ids.ts) are defined once and every place that reads one agrees with that
 * definition: the API-key parser, the event catalog, the engine schemas, route specs and manifests.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { catalogEntry, eventCatalog } from '../../events/catalog.ts';
import { DETAIL_TYPE_PATTERN, SOURCE_PATTERN } from '../../events/common.ts';
import {
  ACTION_NAME_FRAGMENT,
  ACTION_NAME_PATTERN,
  actionNameSchema,
  clientTenantSchema,
  ENGINE_NAME_PATTERN,
  engineNameSchema,
  RESERVED_TENANTS,
  SERIES_NAME_PATTERN,
  STREAM_NAME_PATTERN,
  SYSTEM_TENANT,
  seriesNameSchema,
  streamNameSchema,
  TENANT_ID_PATTERN,
  tenantSchema,
} from '../../events/ids.ts';
import { allRoutes } from '../../lib/api/routes.ts';
import * as auditSchemas from '../../lib/audit/schemas.ts';
import { type ApiKeyStore, mintApiKey, type StoredApiKey, verifyApiKey } from '../../lib/auth/api-keys.ts';
import { engines } from '../../lib/engines/index.ts';
import { defineEngine } from '../../lib/engines/manifest.ts';
import { UnauthorizedError } from '../../lib/errors.ts';
import { approvalRequestSchema } from '../../lib/governance/approvals.ts';
import { proposalInputSchema } from '../../lib/governance/model.ts';

const RUNS = { numRuns: 300 };

/** A store holding exactly one key. */
function oneKeyStore(key: StoredApiKey): ApiKeyStore {
  return {
    create: async () => {},
    get: async (tenant, keyId) => (tenant === key.tenant && keyId === key.keyId ? key : undefined),
    list: async () => [key],
    revoke: async () => key,
  };
}

const sample = (detailType: string, file: string): { detail: Record<string, unknown> } =>
  JSON.parse(readFileSync(new URL(`../../events/samples/${detailType}/${file}`, import.meta.url), 'utf8'));

const routeParameters = (method: string, path: string) => {
  const route = allRoutes.find((candidate) => candidate.method === method && candidate.path === path);
  assert.ok(route, `${method} ${path} is a route`);
  return route.parameters;
};

const tenantArb = fc.stringMatching(TENANT_ID_PATTERN);
// fast-check cannot generate from a lookahead, so the length bound of action names is filtered.
const actionArb = fc.stringMatching(new RegExp(`^${ACTION_NAME_FRAGMENT}$`)).filter((action) => action.length <= 64);
const edgeTenants = ['a', '0', '0-', 'a--b', 'x'.repeat(63), `9${'-'.repeat(62)}`];
const notTenants = ['', 'Acme', 'a_b', '-a', 'a#b', 'a/b', 'a.b', ' a', 'x'.repeat(64), 'ä'];

describe('identifiers: tenant ids', () => {
  it('the API-key parser accepts a key for every valid client tenant and proves that tenant', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(tenantArb, fc.constantFrom(...edgeTenants)).filter((tenant) => !RESERVED_TENANTS.includes(tenant)),
        async (tenant) => {
          const { apiKey, stored } = mintApiKey({ tenant, name: 'k', roles: ['viewer'], createdBy: 'test', now: new Date(0) });
          const principal = await verifyApiKey(apiKey, oneKeyStore(stored));
          assert.equal(principal.tenant, tenant);
          assert.equal(clientTenantSchema.parse(principal.tenant), tenant);
        },
      ),
      RUNS,
    );
  });

  it('the API-key parser refuses a key whose tenant part is not a tenant id', async () => {
    for (const tenant of notTenants) {
      const { apiKey, stored } = mintApiKey({ tenant, name: 'k', roles: ['viewer'], createdBy: 'test', now: new Date(0) });
      await assert.rejects(verifyApiKey(apiKey, oneKeyStore(stored)), (error: unknown) => error instanceof UnauthorizedError, tenant);
    }
  });

  it('every tenant schema accepts exactly the tenant ids, and credentials never name a reserved one', () => {
    const schemas = [
      tenantSchema,
      auditSchemas.tenantSchema,
      approvalRequestSchema.shape.tenant,
      catalogEntry('audit.finding.raised').schema.shape.tenant,
    ];
    fc.assert(
      fc.property(
        fc.oneof(tenantArb, fc.string({ maxLength: 70 }), fc.constantFrom(...edgeTenants, ...notTenants, SYSTEM_TENANT)),
        (text) => {
          const valid = TENANT_ID_PATTERN.test(text);
          for (const schema of schemas) assert.equal(schema.safeParse(text).success, valid, JSON.stringify(text));
          assert.equal(clientTenantSchema.safeParse(text).success, valid && !RESERVED_TENANTS.includes(text), JSON.stringify(text));
        },
      ),
      RUNS,
    );
    assert.ok(tenantSchema.safeParse(SYSTEM_TENANT).success, 'the system tenant is a tenant id');
    assert.equal(clientTenantSchema.safeParse(SYSTEM_TENANT).success, false, 'no credential names the system tenant');
  });

  it('the heartbeat belongs to the system tenant', () => {
    const heartbeat = sample('platform.heartbeat.emitted', 'scheduled.json');
    assert.equal(heartbeat.detail.tenant, SYSTEM_TENANT);
    assert.ok(catalogEntry('platform.heartbeat.emitted').schema.safeParse(heartbeat.detail).success);
  });
});

describe('identifiers: series and stream names', () => {
  it('a series name the ingest route accepts is one its anomaly event carries', () => {
    const anomaly = sample('observation.anomaly.detected', 'ewma-error-rate.json');
    const status = routeParameters('GET', '/observation/status');
    fc.assert(
      fc.property(
        fc.oneof(fc.stringMatching(SERIES_NAME_PATTERN), fc.constantFrom('a', 'svc/checkout:p99.latency_ms-1', 'x'.repeat(200))),
        (series) => {
          assert.equal(seriesNameSchema.parse(series), series);
          assert.ok(catalogEntry('observation.anomaly.detected').schema.safeParse({ ...anomaly.detail, series }).success, series);
          assert.ok(status.safeParse({ series }).success, series);
        },
      ),
      RUNS,
    );
    for (const bad of ['', 'a b', 'a#b', 'ä', 'x'.repeat(201)]) {
      assert.equal(seriesNameSchema.safeParse(bad).success, false, bad);
      assert.equal(catalogEntry('observation.anomaly.detected').schema.safeParse({ ...anomaly.detail, series: bad }).success, false, bad);
    }
  });

  it('a stream name the audit routes accept is one its events and ledger entries carry', () => {
    const finding = sample('audit.finding.raised', 'missing-actor.json');
    const verify = routeParameters('GET', '/audit/verify');
    assert.equal(auditSchemas.streamSchema, streamNameSchema);
    fc.assert(
      fc.property(
        fc.oneof(fc.stringMatching(STREAM_NAME_PATTERN), fc.constantFrom('decisions', 'events.observation', 'a_b-c.d', 'x'.repeat(128))),
        (stream) => {
          assert.equal(streamNameSchema.parse(stream), stream);
          assert.ok(catalogEntry('audit.finding.raised').schema.safeParse({ ...finding.detail, stream }).success, stream);
          assert.ok(verify.safeParse({ stream }).success, stream);
        },
      ),
      RUNS,
    );
    for (const bad of ['', 'Decisions', '.a', 'a/b', 'a#b', 'x'.repeat(129)]) {
      assert.equal(streamNameSchema.safeParse(bad).success, false, bad);
      assert.equal(catalogEntry('audit.finding.raised').schema.safeParse({ ...finding.detail, stream: bad }).success, false, bad);
    }
  });
});

describe('identifiers: engine and action names', () => {
  it('every route, manifest and catalogued event uses engine and action names of the one definition', () => {
    const engineNames = new Set(engines.map((engine) => engine.name));
    for (const engine of engines) {
      assert.ok(engineNameSchema.safeParse(engine.name).success, engine.name);
      for (const action of Object.keys(engine.actions)) assert.ok(actionNameSchema.safeParse(action).success, `${engine.name}/${action}`);
    }
    for (const route of allRoutes) {
      assert.ok(engineNames.has(route.engine), `${route.method} ${route.path}: engine ${route.engine} has a manifest`);
      assert.ok(actionNameSchema.safeParse(route.action).success, `${route.method} ${route.path}: action ${route.action}`);
    }
    for (const entry of eventCatalog) {
      const engine = SOURCE_PATTERN.exec(entry.source)?.[1];
      assert.ok(engine !== undefined && engineNames.has(engine), `${entry.source} is autonomy.<an engine with a manifest>`);
      assert.equal(DETAIL_TYPE_PATTERN.exec(entry.detailType)?.[1], engine, entry.detailType);
    }
  });

  it('event sources, detail-types, manifests and gated actions accept exactly the engine and action names', () => {
    const requested = sample('governance.approval.requested', 'termination-quorum-of-two.json');
    const requestSchema = catalogEntry('governance.approval.requested').schema;
    const names = fc.oneof(fc.stringMatching(ENGINE_NAME_PATTERN), actionArb, fc.string({ maxLength: 70 }), fc.constant('a'.repeat(65)));
    fc.assert(
      fc.property(names, names, (engine, action) => {
        const engineOk = ENGINE_NAME_PATTERN.test(engine);
        const actionOk = ACTION_NAME_PATTERN.test(action);
        assert.equal(SOURCE_PATTERN.test(`autonomy.${engine}`), engineOk, engine);
        assert.equal(DETAIL_TYPE_PATTERN.test(`${engine}.thing.happened`), engineOk, engine);
        const gated = { ...(requested.detail.action as Record<string, unknown>), engine, name: action };
        assert.equal(requestSchema.safeParse({ ...requested.detail, action: gated }).success, engineOk && actionOk, `${engine}/${action}`);
        // Gated actions enter as proposals (the approval takes its action from the stored proposal).
        const proposal = { engine, action, target: 'endpoint/chat', environment: 'prod', reason: 'r' };
        assert.equal(proposalInputSchema.safeParse(proposal).success, engineOk && actionOk, `${engine}/${action}`);
        const declare = () =>
          defineEngine({ name: engine, description: 'd', actions: { [action]: { description: 'd', task: true, needs: [] } } });
        if (engineOk && actionOk) declare();
        else assert.throws(declare, `${engine}/${action}`);
      }),
      RUNS,
    );
  });
});
