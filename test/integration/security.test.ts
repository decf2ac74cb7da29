/**
 * The standing security suite, generated from the route registry (lib/api/routes.ts), so every new
 * route is covered the day it is declared: bearer tokens that must never verify (`alg: none`, HS256
 * keyed with the public key, a foreign key under our `kid`, expired, no `exp`, no `iat`, a lifetime
 * over the stage maximum, another audience or issuer) on every protected route; tenant A's
 * credentials against tenant B's data on every route; role escalation; and the function logs of
 * the run, which must not hold a credential or a payload marker this suite sent.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { CreateAliasCommand, LambdaClient, PublishVersionCommand } from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { exportSPKI, generateKeyPair, importJWK, type JWTPayload, SignJWT, UnsecuredJWT } from 'jose';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, loadOrCreateIdpKey } from '../../infra/local/idp.ts';
import type { RouteSpec } from '../../lib/api/route.ts';
import { allRoutes } from '../../lib/api/routes.ts';
import type { Role } from '../../lib/auth/roles.ts';
import { toolName } from '../../lib/mcp/tools.ts';
import { authorKeyPair, sampleManifest, signedBundle } from '../helpers/capsules.ts';
import { api, eventually, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';
import { leakedCredentials } from '../helpers/log-scan.ts';

const protectedRoutes = allRoutes.filter((spec) => spec.permission !== 'public');
const routeKey = (spec: RouteSpec) => `${spec.method} ${spec.path}`;

/** Credentials this suite used: none may appear in the function logs (checked at the end). */
const secretsUsed = new Set<string>();
const remember = <T extends string>(secret: T): T => {
  secretsUsed.add(secret);
  return secret;
};

/** A lifetime no stage accepts: `AUTH_MAX_TOKEN_LIFETIME_SECONDS` is at most 7 days (lib/config.ts). */
const OVERLONG_LIFETIME_SECONDS = 30 * 24 * 3600;

async function idpKey() {
  const key = await loadOrCreateIdpKey(process.env.AUTONOMY_TEST_DATA_DIR ?? '');
  return { key, signingKey: await importJWK(key.privateJwk, 'RS256'), publicKey: await importJWK(key.publicJwk, 'RS256') };
}

const now = () => Math.floor(Date.now() / 1000);

/**
 * Signs `claims` with the local identity provider's real key: the only thing wrong with each of
 * these tokens is the one claim the case changes, so a 401 proves that claim is checked.
 */
async function signedByIdp(claims: JWTPayload): Promise<string> {
  const { key, signingKey } = await idpKey();
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.privateJwk.kid, typ: 'JWT' }).sign(signingKey);
}

/** Every token that must be refused, by name; each claims admin of `tenant`. */
async function hostileTokens(tenant: string): Promise<Record<string, string>> {
  const { key } = await idpKey();
  const claims = { tenant, roles: ['admin'], sub: 'mallory', iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE };
  const fresh = { ...claims, iat: now(), exp: now() + 600 };
  const foreign = await generateKeyPair('RS256');
  const publicPem = await exportSPKI((await importJWK(key.publicJwk, 'RS256', { extractable: true })) as CryptoKey);
  const hmacSecret = new TextEncoder().encode(publicPem);
  return {
    'alg none': new UnsecuredJWT(fresh).encode(),
    'HS256 keyed with the public key': await new SignJWT(fresh)
      .setProtectedHeader({ alg: 'HS256', kid: key.privateJwk.kid, typ: 'JWT' })
      .sign(hmacSecret),
    'a foreign key under our kid': await new SignJWT(fresh)
      .setProtectedHeader({ alg: 'RS256', kid: key.privateJwk.kid, typ: 'JWT' })
      .sign(foreign.privateKey),
    expired: await signedByIdp({ ...claims, iat: now() - 7200, exp: now() - 3600 }),
    'no exp': await signedByIdp({ ...claims, iat: now() }),
    'no iat': await signedByIdp({ ...claims, exp: now() + 600 }),
    'a lifetime over the maximum': await signedByIdp({ ...claims, iat: now(), exp: now() + OVERLONG_LIFETIME_SECONDS }),
    'issued in the future': await signedByIdp({ ...claims, iat: now() + 3600, exp: now() + 4200 }),
    'another audience': await signedByIdp({ ...fresh, aud: 'someone-else' }),
    'another issuer': await signedByIdp({ ...fresh, iss: 'urn:someone-else' }),
    'a reserved tenant': await signedByIdp({ ...fresh, tenant: 'system' }),
  };
}

describe('bearer tokens that must never verify', () => {
  let tokens: Record<string, string> = {};
  let valid = '';
  before(async () => {
    tokens = await hostileTokens('sec-tokens');
    for (const token of Object.values(tokens)) remember(token);
    valid = remember(
      await signedByIdp({
        tenant: 'sec-tokens',
        roles: ['admin'],
        sub: 'alice',
        iss: LOCAL_ISSUER,
        aud: LOCAL_AUDIENCE,
        iat: now(),
        exp: now() + 600,
      }),
    );
  });

  for (const spec of protectedRoutes) {
    it(`${routeKey(spec)} answers 401 to each, and not 401 to the same claims signed properly`, async () => {
      const control = await api(spec.method, spec.path, { auth: 'none', headers: { authorization: `Bearer ${valid}` } });
      assert.notEqual(control.status, 401, `a valid token is accepted: ${JSON.stringify(control.body)}`);
      const accepted: string[] = [];
      for (const [name, token] of Object.entries(tokens)) {
        const reply = await api(spec.method, spec.path, { auth: 'none', headers: { authorization: `Bearer ${token}` } });
        if (reply.status !== 401 || reply.body.error !== 'UnauthorizedError')
          accepted.push(`${name}: ${reply.status} ${JSON.stringify(reply.body).slice(0, 200)}`);
      }
      assert.deepEqual(accepted, []);
    });
  }
});

/** Strings only tenant B's data holds: payload markers (one shaped like PII), a label, a key name, an approval reason. */
const run = randomUUID().slice(0, 8);
const markers = {
  payload: `sec-payload-marker-${run}`,
  email: `pii-${run}@example.test`,
  label: `sec-label-marker-${run}`,
  keyName: `sec-keyname-marker-${run}`,
  reason: `sec-reason-marker-${run}`,
};

/** Tenant B's data, created before the cross-tenant calls; every id a route takes. */
/** B's Evolution service (A may declare one of the same name in its own tenant). */
/** B's one Migration pool (A puts its own with the same id: each tenant's catalogue is its own). */
const MIGRATION_POOL = {
  id: 'lambda/sec',
  platform: 'lambda',
  instanceType: 'lambda-1024',
  region: 'us-east-1',
  zone: 'us-east-1a',
  vcpu: 1,
  memoryGiB: 2,
  latencyClasses: ['standard'],
  pricePerHour: 0.06,
  maxInstances: 2,
};
const EVOLUTION_SERVICE = 'sec/b-service';
/** B's replicated component (A may configure one of the same name in its own tenant). */
const REPLICATION_COMPONENT = 'sec/b-replicated';
/** B's versioned artifact (A may tag one of the same name in its own tenant). */
const VERSIONING_ARTIFACT = 'sec/b-artifact';
/** B's analysed components: its orders module (A has no analysis, so no module of that name). */
const ENCAPSULATION_MODULE = 'sec/b-orders';
/** B's registered component whose termination waits for B's approvers (A has no component of that name). */
const CLOSURE_COMPONENT = 'sec/b-closing';

interface VictimData {
  tenant: string;
  series: string;
  stream: string;
  keyId: string;
  approvalId: string;
  proposalId: string;
  exportId: string;
  recordHash: string;
  /** B's gateway conversation and the request that wrote it. */
  conversationId: string;
  chatRequestId: string;
  /** B's own prompt template (its text holds a marker). */
  templateName: string;
  /** B's capsule, submitted and waiting for B's reviewers, and its author's key. */
  capsuleName: string;
  capsuleKeyId: string;
  /** B's compression of a context holding a marker. */
  compressionId: string;
  /** B's migration plan (its pools and one new workload: nothing moves). */
  migrationPlanId: string;
  /** B's promotion to prod, waiting for B's people (so nothing shifts). */
  promotionId: string;
  /** B's termination of its component, waiting for B's approvers (so nothing is terminated). */
  closureTerminationId: string;
}

/** Calls as `tenant` with `roles`, remembering the token (it must not reach the logs). */
async function as(tenant: string, roles: Role[], method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const token = remember(await tokenFor({ tenant, roles }));
  return api(method, path, { auth: 'none', body, headers: { ...headers, authorization: `Bearer ${token}` } });
}

async function createVictim(): Promise<VictimData> {
  const tenant = freshTenant('sec-b');
  const series = 'sec.b.series';
  const stream = 'sec-b';
  const start = Date.parse('2026-01-01T00:00:00Z');
  const points = Array.from({ length: 40 }, (_, index) => ({
    series,
    timestamp: new Date(start + index * 60_000).toISOString(),
    value: 10 + (index % 5),
    labels: { owner: markers.label },
  }));
  const ingested = await as(tenant, ['operator'], 'POST', '/observation/ingest', { parameters: { points } });
  assert.equal(ingested.status, 200, JSON.stringify(ingested.body));
  assert.equal(
    (await as(tenant, ['operator'], 'PUT', '/observation/config', { parameters: { series, detector: 'robust', config: { threshold: 5 } } }))
      .status,
    200,
  );
  const recorded = await as(tenant, ['operator'], 'POST', '/audit/record', {
    parameters: { stream, payload: { note: markers.payload, contact: markers.email } },
  });
  assert.equal(recorded.status, 201, JSON.stringify(recorded.body));
  const checkpoint = await as(tenant, ['operator'], 'POST', '/audit/checkpoint', { parameters: { stream } });
  assert.ok(checkpoint.status === 200 || checkpoint.status === 201, JSON.stringify(checkpoint.body));
  const key = await as(tenant, ['admin'], 'POST', '/identity/keys', { parameters: { name: markers.keyName, roles: ['viewer'] } });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  remember(key.body.result.apiKey);
  const exported = await as(tenant, ['viewer'], 'POST', '/audit/export', { parameters: { stream } });
  assert.ok([200, 202].includes(exported.status), JSON.stringify(exported.body));
  const proposed = await as(tenant, ['operator'], 'POST', '/governance/proposals', {
    parameters: { engine: 'closure', action: 'terminate', target: 'agent/sec', environment: 'prod', reason: markers.reason },
  });
  assert.equal(proposed.status, 202, JSON.stringify(proposed.body));
  const started = { executionArn: proposed.body.result.executionArn as string };
  const sfn = new SFNClient({});
  const approvalId = await eventually(
    "tenant B's approval to be pending",
    async () => {
      const listed = await as(tenant, ['viewer'], 'GET', '/governance/approvals');
      const id = listed.body.result?.approvals?.[0]?.approvalId as string | undefined;
      if (id) return id;
      const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
      if (execution.status !== 'RUNNING')
        throw new Error(`the gate ended ${execution.status}: ${execution.error ?? ''} ${execution.cause ?? ''}`);
      return undefined;
    },
    20_000,
    250,
  );
  const chatted = await as(tenant, ['operator'], 'POST', '/gateway/chat', {
    parameters: {
      model: 'standin-a',
      messages: [{ role: 'user', content: `Keep ${markers.payload} in mind for the review` }],
      maxTokens: 32,
    },
  });
  assert.equal(chatted.status, 200, JSON.stringify(chatted.body));
  const templateName = 'sec_template';
  const template = await as(tenant, ['operator'], 'PUT', '/gateway/templates', {
    parameters: { name: templateName, messages: [{ role: 'system', content: `Mention ${markers.payload} to {{who}}` }] },
  });
  assert.equal(template.status, 200, JSON.stringify(template.body));
  // A capsule of B's, signed by B's registered author and waiting for B's reviewers.
  const capsuleName = `sec-capsule-${run}`;
  const author = authorKeyPair();
  const registered = await as(tenant, ['admin'], 'PUT', '/capsules/authors', {
    parameters: { subject: 'sec-author', publicKey: author.publicKey },
  });
  assert.equal(registered.status, 200, JSON.stringify(registered.body));
  const { bytes, signature } = signedBundle(
    author,
    sampleManifest({ name: capsuleName, description: markers.label, guardrails: undefined }),
  );
  const submitted = await api('POST', '/capsules/submissions', {
    auth: 'none',
    headers: { authorization: `Bearer ${remember(await tokenFor({ tenant, subject: 'sec-author', roles: ['operator'] }))}` },
    body: { parameters: { bundle: Buffer.from(bytes).toString('base64'), signature } },
  });
  assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
  // B's replicated component: a configuration and one dry-run decision (nothing proposed, nothing read).
  const replicationConfig = await as(tenant, ['operator'], 'PUT', '/replication/config', {
    parameters: {
      component: REPLICATION_COMPONENT,
      environment: 'dev',
      max: 6,
      metrics: [{ name: 'cpu', target: 60 }],
      executor: { kind: 'lambda-concurrency', resource: 'arn:aws:lambda:us-east-1:000000000000:function:sec-b-replicated' },
    },
  });
  assert.equal(replicationConfig.status, 200, JSON.stringify(replicationConfig.body));
  const replicationDecision = await as(tenant, ['operator'], 'POST', '/replication/evaluate', {
    parameters: { component: REPLICATION_COMPONENT, current: 2, metrics: [{ name: 'cpu', value: 120 }], dryRun: true },
  });
  assert.equal(replicationDecision.status, 200, JSON.stringify(replicationDecision.body));
  // B's Evolution service: two arms, a few observations.
  const evolutionConfig = await as(tenant, ['operator'], 'PUT', '/evolution/config', {
    parameters: {
      service: EVOLUTION_SERVICE,
      arms: [
        { id: 'b-arm', parameters: { batchSize: 4 }, description: markers.label },
        { id: 'b-other', parameters: {} },
      ],
      current: 'b-arm',
    },
  });
  assert.equal(evolutionConfig.status, 200, JSON.stringify(evolutionConfig.body));
  const observed = await as(tenant, ['operator'], 'POST', '/evolution/observations', {
    parameters: { service: EVOLUTION_SERVICE, observations: [{ arm: 'b-arm', success: true, latencyMs: 120 }] },
  });
  assert.equal(observed.status, 200, JSON.stringify(observed.body));
  // B's versioned artifact: one version (its description holds a marker) with a recorded suite result.
  const tagged = await as(tenant, ['operator'], 'POST', '/versioning/versions', {
    parameters: { artifact: VERSIONING_ARTIFACT, kind: 'schema', body: { type: 'object', description: markers.label } },
  });
  assert.equal(tagged.status, 200, JSON.stringify(tagged.body));
  const gated = await as(tenant, ['operator'], 'POST', '/versioning/gate', {
    parameters: { artifact: VERSIONING_ARTIFACT, version: '1.0.0', suite: 'b-suite', total: 3, failed: 0 },
  });
  assert.equal(gated.status, 200, JSON.stringify(gated.body));
  // B's Encapsulation analysis: an explicit graph whose orders module was called with a marked payload.
  const analysed = await as(tenant, ['operator'], 'POST', '/encapsulation/analyse', {
    parameters: {
      graph: { components: [{ id: 'sec/b-web', dependsOn: [ENCAPSULATION_MODULE] }, { id: ENCAPSULATION_MODULE }] },
      samples: [{ component: ENCAPSULATION_MODULE, operation: 'create', request: { note: markers.label } }],
    },
  });
  assert.equal(analysed.status, 200, JSON.stringify(analysed.body));
  // B's Migration pools and a plan.
  const migrationPools = await as(tenant, ['operator'], 'PUT', '/migration/pools', { parameters: { pools: [MIGRATION_POOL] } });
  assert.equal(migrationPools.status, 200, JSON.stringify(migrationPools.body));
  const migrationPlan = await as(tenant, ['operator'], 'POST', '/migration/plans', {
    parameters: { workloads: [{ id: 'svc/b', needs: { vcpu: 0.5, memoryGiB: 1 } }], reason: markers.reason },
  });
  assert.equal(migrationPlan.status, 200, JSON.stringify(migrationPlan.body));
  // B's promotion to prod of a version of a stack function (on an alias of its own): it waits for B's people.
  const promoted = testCloud().resources.functions.PromotionMetricsLambdaFunction ?? '';
  const lambda = new LambdaClient({});
  const version = (await lambda.send(new PublishVersionCommand({ FunctionName: promoted }))).Version ?? '1';
  const alias = `sec-b-${run}`;
  await lambda.send(new CreateAliasCommand({ FunctionName: promoted, Name: alias, FunctionVersion: version }));
  lambda.destroy();
  const promotion = await as(tenant, ['operator'], 'POST', '/promotion/promotions', {
    parameters: {
      component: 'sec-b-service',
      version: '2.0.0',
      stage: 'prod',
      target: {
        kind: 'lambda-alias',
        resource: `arn:aws:lambda:us-east-1:000000000000:function:${promoted}:${alias}`,
        canaryVersion: String(Number(version) + 1000),
      },
      metrics: [{ name: 'latency' }],
      reason: markers.reason,
    },
  });
  assert.equal(promotion.status, 202, JSON.stringify(promotion.body));
  // B's compression of a context that holds a marker.
  const compressed = await as(tenant, ['operator'], 'POST', '/compression/compress', {
    parameters: {
      contextId: 'b-context',
      goal: 'what does B hold',
      budgetTokens: 64,
      items: [{ id: 'b1', kind: 'document', text: `B holds ${markers.label} in its context.` }],
    },
  });
  assert.equal(compressed.status, 200, JSON.stringify(compressed.body));
  // B's component and its termination, waiting at B's gate (its approval opened before B's view is taken).
  const closing = await as(tenant, ['operator'], 'PUT', '/reflex/components', {
    parameters: { components: [{ id: CLOSURE_COMPONENT, kind: 'lambda' }] },
  });
  assert.equal(closing.status, 200, JSON.stringify(closing.body));
  const terminating = await as(tenant, ['operator'], 'POST', '/closure/terminations', {
    parameters: { target: CLOSURE_COMPONENT, reason: markers.reason },
  });
  assert.equal(terminating.status, 202, JSON.stringify(terminating.body));
  const closureTerminationId = terminating.body.result.termination.terminationId as string;
  await eventually(
    "B's termination to wait for B's approvers",
    async () => {
      const listed = await as(tenant, ['viewer'], 'GET', '/governance/approvals');
      const ids = (listed.body.result?.approvals ?? []).map((approval: { approvalId: string }) => approval.approvalId);
      return ids.includes(`approval-${closureTerminationId}`) ? true : undefined;
    },
    30_000,
    250,
  );
  return {
    tenant,
    series,
    stream,
    keyId: key.body.result.keyId,
    approvalId,
    proposalId: proposed.body.result.proposalId,
    exportId: exported.body.result.exportId,
    recordHash: recorded.body.result.hash,
    conversationId: chatted.body.result.conversationId,
    chatRequestId: chatted.body.result.requestId,
    templateName,
    capsuleName,
    capsuleKeyId: author.keyId,
    compressionId: compressed.body.result.compressionId,
    migrationPlanId: migrationPlan.body.result.plan.planId,
    promotionId: promotion.body.result.promotionId,
    closureTerminationId,
  };
}

/** What tenant B sees of its own data; it must read the same after tenant A's calls. */
async function victimView(b: VictimData) {
  const read = async (path: string) => (await as(b.tenant, ['admin'], 'GET', path)).body.result;
  const status = await read(`/observation/status?series=${b.series}`);
  const verify = await read(`/audit/verify?stream=${b.stream}`);
  const keys = await read('/identity/keys');
  const approvals = await read('/governance/approvals');
  const retention = await read('/audit/retention');
  const proposal = await read(`/governance/proposals?proposalId=${b.proposalId}`);
  const governance = await read('/governance/config');
  const killSwitch = await read('/governance/killswitch');
  const usage = await read('/gateway/usage');
  const gatewaySettings = await read('/gateway/settings');
  const conversation = await read(`/gateway/conversations?conversationId=${b.conversationId}`);
  const templates = await read('/gateway/templates');
  const capsule = await read(`/capsules/catalog?name=${b.capsuleName}&version=1.0.0`);
  const authors = await read('/capsules/authors');
  const installs = await read('/capsules/installs');
  const evolution = await read(`/evolution/status?service=${EVOLUTION_SERVICE}`);
  const compression = await read('/compression/status');
  const replication = await read(`/replication/status?component=${REPLICATION_COMPONENT}`);
  const versioning = await read(`/versioning/versions?artifact=${VERSIONING_ARTIFACT}`);
  const migration = await read('/migration/status');
  const encapsulation = await read('/encapsulation/status');
  const closure = await read('/closure/status');
  const promotion = (await read(`/promotion/status?promotionId=${b.promotionId}`))?.promotions?.[0];
  return {
    encapsulation: { analysisId: encapsulation?.analysisId, modules: encapsulation?.modules?.length, golden: encapsulation?.golden },
    closure: closure?.terminations?.map(
      (t: { terminationId: string; status: string; planHash: string; steps: unknown[] }) =>
        `${t.terminationId}:${t.status}:${t.planHash}:${t.steps.length}`,
    ),
    promotion: promotion && { status: promotion.status, step: promotion.step, weights: promotion.weights, abort: promotion.abort ?? null },
    migration: {
      poolsVersion: migration?.poolsVersion,
      plans: migration?.plans?.map(
        (plan: { planId: string; planHash: string; version: number }) => `${plan.planId}:${plan.planHash}:${plan.version}`,
      ),
      runs: migration?.runs?.length,
    },
    versioning: versioning?.versions?.map(
      (v: { version: string; hash: string; gate: { suite?: { suite: string; total: number } } }) =>
        `${v.version}:${v.hash}:${v.gate.suite?.suite}:${v.gate.suite?.total}`,
    ),
    replication: {
      max: replication?.config?.max,
      decisions: replication?.decisions?.map(
        (d: { decisionId: string; status: string; desired: number }) => `${d.decisionId}:${d.status}:${d.desired}`,
      ),
      updatedAt: replication?.updatedAt,
    },
    compression: {
      settings: compression?.settings?.version,
      compressions: compression?.effectiveness?.compressions,
      recent: compression?.effectiveness?.recent,
    },
    evolution: {
      version: evolution?.configVersion,
      arms: evolution?.arms?.map((arm: { arm: string; reward: { n: number } }) => `${arm.arm}:${arm.reward.n}`),
      split: evolution?.split,
    },
    capsules: {
      version: capsule?.version && {
        status: capsule.version.status,
        revision: capsule.version.revision,
        bundleSha256: capsule.version.bundleSha256,
      },
      authors: authors?.keys?.map((key: { keyId: string; status: string }) => `${key.keyId}:${key.status}`),
      installs: installs?.installs?.length,
    },
    gateway: {
      usage: { tokens: usage?.tokens, costUsd: usage?.costUsd, requests: usage?.requests, budget: usage?.budget },
      settings: gatewaySettings,
      conversation: { turns: conversation?.log?.turns?.length, intact: conversation?.verification?.intact },
      templates: templates?.templates?.map(
        (view: { name: string; source: string; version: number; hash: string }) =>
          `${view.source}:${view.name}:v${view.version}:${view.hash}`,
      ),
    },
    proposal: proposal?.proposals?.map((entry: { proposalId: string; status: string }) => `${entry.proposalId}:${entry.status}`),
    governance: {
      config: governance?.config,
      autonomyLevel: governance?.autonomyLevel,
      policyVersion: governance?.policyVersion,
      killSwitch: killSwitch?.tenant ?? null,
    },
    series: { version: status?.storage?.version, count: status?.stats?.count, detector: status?.detector },
    ledger: { intact: verify?.intact, entries: verify?.entries, checkpoints: verify?.checkpoints },
    keys: keys?.keys?.map((key: { keyId: string; revokedAt?: string }) => ({ keyId: key.keyId, revokedAt: key.revokedAt ?? null })),
    approvals: approvals?.approvals?.map((approval: { approvalId: string; status: string }) => `${approval.approvalId}:${approval.status}`),
    retention,
  };
}

/**
 * Tenant A's request against tenant B's ids, per route; every protected route must have one, so a
 * new route fails this suite until its cross-tenant case is written.
 */
const crossTenantRequests: Record<string, (b: VictimData) => { path: string; body?: unknown }> = {
  'POST /identity/keys': () => ({ path: '/identity/keys', body: { parameters: { name: 'a-key', roles: ['viewer'] } } }),
  'GET /identity/keys': (b) => ({ path: `/identity/keys?tenant=${b.tenant}` }),
  'DELETE /identity/keys': (b) => ({ path: `/identity/keys?keyId=${b.keyId}` }),
  'GET /governance/approvals': (b) => ({ path: `/governance/approvals?tenant=${b.tenant}` }),
  'POST /governance/approvals': (b) => ({
    path: '/governance/approvals',
    body: { parameters: { approvalId: b.approvalId, decision: 'approve', reason: 'not mine' } },
  }),
  'POST /governance/proposals': () => ({
    path: '/governance/proposals',
    body: { parameters: { engine: 'closure', action: 'terminate', target: 'agent/sec', environment: 'prod', reason: 'attack' } },
  }),
  'GET /governance/proposals': (b) => ({ path: `/governance/proposals?proposalId=${b.proposalId}&tenant=${b.tenant}` }),
  'PUT /governance/proposals': (b) => ({
    path: '/governance/proposals',
    body: { parameters: { proposalId: b.proposalId, outcome: 'failed', detail: 'forged' } },
  }),
  'DELETE /governance/proposals': (b) => ({ path: `/governance/proposals?proposalId=${b.proposalId}&reason=forged` }),
  'GET /governance/autonomy': (b) => ({ path: `/governance/autonomy?tenant=${b.tenant}` }),
  'PUT /governance/autonomy': () => ({ path: '/governance/autonomy', body: { parameters: { level: 4 } } }),
  'GET /governance/killswitch': (b) => ({ path: `/governance/killswitch?tenant=${b.tenant}` }),
  'PUT /governance/killswitch': () => ({
    path: '/governance/killswitch',
    body: { parameters: { enabled: true, reason: 'attack', scope: 'global' } },
  }),
  'GET /governance/config': (b) => ({ path: `/governance/config?tenant=${b.tenant}` }),
  'PUT /governance/config': () => ({ path: '/governance/config', body: { parameters: { minApprovals: { high: 1 } } } }),
  'GET /governance/policies': (b) => ({ path: `/governance/policies?tenant=${b.tenant}` }),
  'PUT /governance/policies': () => ({ path: '/governance/policies', body: { parameters: { policies: { team: '' } } } }),
  'POST /governance/policies/simulate': () => ({ path: '/governance/policies/simulate', body: { parameters: { policies: { team: '' } } } }),
  'GET /governance/constitution': (b) => ({ path: `/governance/constitution?tenant=${b.tenant}` }),
  'PUT /governance/constitution': () => ({ path: '/governance/constitution', body: { parameters: { text: 'forged' } } }),
  'POST /governance/constitution': () => ({ path: '/governance/constitution', body: { parameters: { version: 1, decision: 'ratify' } } }),
  // B's proposal through an in-scope binding (the local stage's account and region): 404, nothing runs.
  'POST /execution/runs': (b) => ({
    path: '/execution/runs',
    body: {
      parameters: {
        proposalId: b.proposalId,
        target: 'agent/sec',
        executor: {
          kind: 'lambda-concurrency',
          resource: 'arn:aws:lambda:us-east-1:000000000000:function:autonomy-local-platformHeartbeat',
          parameters: { concurrency: 1 },
        },
      },
    },
  }),
  'GET /execution/runs': (b) => ({ path: `/execution/runs?executionId=exec-${b.proposalId}` }),
  'POST /execution/undo': (b) => ({
    path: '/execution/undo',
    body: { parameters: { executionId: `exec-${b.proposalId}`, reason: 'attack' } },
  }),
  'GET /execution/webhook-key': (b) => ({ path: `/execution/webhook-key?tenant=${b.tenant}` }),
  // A's promotion on a resource outside the stage's account: 400, nothing written; B's promotion is a 404 to A.
  'POST /promotion/promotions': () => ({
    path: '/promotion/promotions',
    body: {
      parameters: {
        component: 'sec-b-service',
        version: '9.9.9',
        stage: 'staging',
        target: { kind: 'lambda-alias', resource: 'arn:aws:lambda:us-east-1:111111111111:function:other:live', canaryVersion: '2' },
        metrics: [{ name: 'latency' }],
      },
    },
  }),
  'DELETE /promotion/promotions': (b) => ({ path: `/promotion/promotions?promotionId=${b.promotionId}&reason=attack` }),
  'GET /promotion/status': (b) => ({ path: `/promotion/status?promotionId=${b.promotionId}&tenant=${b.tenant}` }),
  'POST /promotion/metrics': (b) => ({
    path: '/promotion/metrics',
    body: { parameters: { promotionId: b.promotionId, step: 0, metrics: { latency: { canary: [1e6], baseline: [0] } } } },
  }),
  'POST /observation/ingest': (b) => ({
    path: '/observation/ingest',
    body: { parameters: { point: { series: b.series, timestamp: '2026-01-01T05:00:00Z', value: 1e6 } } },
  }),
  'GET /observation/status': (b) => ({ path: `/observation/status?series=${b.series}` }),
  'GET /observation/forecast': (b) => ({ path: `/observation/forecast?series=${b.series}` }),
  'PUT /observation/config': (b) => ({
    path: '/observation/config',
    body: { parameters: { series: b.series, detector: 'ewma', config: {} } },
  }),
  'DELETE /observation/series': (b) => ({ path: `/observation/series?series=${b.series}` }),
  'POST /audit/record': (b) => ({ path: '/audit/record', body: { parameters: { stream: b.stream, payload: { forged: true } } } }),
  'GET /audit/export': (b) => ({ path: `/audit/export?stream=${b.stream}` }),
  'POST /audit/export': (b) => ({ path: '/audit/export', body: { parameters: { stream: b.stream, exportId: b.exportId } } }),
  'GET /audit/keys': (b) => ({ path: `/audit/keys?tenant=${b.tenant}` }),
  'POST /audit/keys': () => ({ path: '/audit/keys', body: { parameters: {} } }),
  'GET /audit/verify': (b) => ({ path: `/audit/verify?stream=${b.stream}` }),
  'GET /audit/proof': (b) => ({ path: `/audit/proof?stream=${b.stream}&seq=0` }),
  'POST /audit/checkpoint': (b) => ({ path: '/audit/checkpoint', body: { parameters: { stream: b.stream } } }),
  'GET /audit/findings': (b) => ({ path: `/audit/findings?stream=${b.stream}` }),
  'GET /audit/retention': (b) => ({ path: `/audit/retention?tenant=${b.tenant}` }),
  'PUT /audit/retention': () => ({ path: '/audit/retention', body: { parameters: { days: 7 } } }),
  'GET /reflex/components': (b) => ({ path: `/reflex/components?tenant=${b.tenant}` }),
  'PUT /reflex/components': () => ({ path: '/reflex/components', body: { parameters: { components: [{ id: 'sec', kind: 'service' }] } } }),
  'GET /reflex/incidents': (b) => ({ path: `/reflex/incidents?incidentId=${b.proposalId}&tenant=${b.tenant}` }),
  'PUT /reflex/incidents': (b) => ({ path: '/reflex/incidents', body: { parameters: { incidentId: b.proposalId, outcome: 'recovered' } } }),
  'GET /reflex/cases': (b) => ({ path: `/reflex/cases?tenant=${b.tenant}&cluster=service|up|spike` }),
  'GET /reflex/config': (b) => ({ path: `/reflex/config?tenant=${b.tenant}` }),
  'PUT /reflex/config': () => ({ path: '/reflex/config', body: { parameters: { enabled: false } } }),
  'GET /gateway/models': (b) => ({ path: `/gateway/models?tenant=${b.tenant}` }),
  // A's own request: the conversation id names a conversation of A's, never B's.
  'POST /gateway/chat': () => ({
    path: '/gateway/chat',
    body: { parameters: { model: 'standin-a', messages: [{ role: 'user', content: 'hello' }], maxTokens: 8 } },
  }),
  'DELETE /gateway/chat': (b) => ({ path: `/gateway/chat?requestId=${b.chatRequestId}` }),
  'PUT /gateway/budgets': () => ({ path: '/gateway/budgets', body: { parameters: { tokens: 1, costUsd: 0, window: 'day' } } }),
  'GET /gateway/usage': (b) => ({ path: `/gateway/usage?tenant=${b.tenant}` }),
  'GET /gateway/settings': (b) => ({ path: `/gateway/settings?tenant=${b.tenant}` }),
  'PUT /gateway/settings': () => ({ path: '/gateway/settings', body: { parameters: { contextTokens: 64, retentionDays: 1 } } }),
  'POST /gateway/conversations': () => ({
    path: '/gateway/conversations',
    body: { parameters: { modelA: 'standin-a', modelB: 'standin-b', promptA: 'hello', promptB: 'reply', exchanges: 1, maxTokens: 8 } },
  }),
  'GET /gateway/conversations': (b) => ({ path: `/gateway/conversations?conversationId=${b.conversationId}` }),
  'POST /gateway/documents': () => ({
    path: '/gateway/documents',
    body: { parameters: { documents: [{ id: 'a-doc', text: 'A tenant of its own.' }] } },
  }),
  // A's own template of the same name as B's: defined, read and deleted in A's tenant only.
  'PUT /gateway/templates': (b) => ({
    path: '/gateway/templates',
    body: { parameters: { name: b.templateName, messages: [{ role: 'system', content: 'A tenant of its own.' }] } },
  }),
  'GET /gateway/templates': (b) => ({ path: `/gateway/templates?name=${b.templateName}&tenant=${b.tenant}` }),
  'DELETE /gateway/templates': (b) => ({ path: `/gateway/templates?name=${b.templateName}` }),
  // A tool call naming B's proposal: the route answers in A's tenant (404); every tool is tried below.
  'POST /mcp': (b) => ({
    path: '/mcp',
    body: {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'governance_proposals_get', arguments: { proposalId: b.proposalId, tenant: b.tenant } },
    },
  }),
  'GET /mcp': () => ({ path: '/mcp' }),
  'DELETE /mcp': () => ({ path: '/mcp' }),
  'GET /capsules/authors': () => ({ path: '/capsules/authors?subject=sec-author' }),
  // Revoking B's author's key from A: A has no such author.
  'PUT /capsules/authors': (b) => ({
    path: '/capsules/authors',
    body: { parameters: { subject: 'sec-author', revokeKeyId: b.capsuleKeyId } },
  }),
  // A version of B's capsule from A, signed with B's key id but no registered key of A's: refused.
  'POST /capsules/submissions': (b) => {
    const { bytes, signature } = signedBundle(
      authorKeyPair(),
      sampleManifest({ name: b.capsuleName, version: '9.9.9', guardrails: undefined }),
    );
    return {
      path: '/capsules/submissions',
      body: { parameters: { bundle: Buffer.from(bytes).toString('base64'), signature: { ...signature, keyId: b.capsuleKeyId } } },
    };
  },
  'GET /capsules/catalog': (b) => ({ path: `/capsules/catalog?name=${b.capsuleName}&version=1.0.0` }),
  'POST /capsules/installs': (b) => ({ path: '/capsules/installs', body: { parameters: { name: b.capsuleName, version: '1.0.0' } } }),
  'DELETE /capsules/installs': (b) => ({ path: `/capsules/installs?name=${b.capsuleName}` }),
  'GET /capsules/installs': (b) => ({ path: `/capsules/installs?tenant=${b.tenant}` }),
  'PUT /capsules/deprecations': (b) => ({
    path: '/capsules/deprecations',
    body: { parameters: { name: b.capsuleName, version: '1.0.0', reason: 'attack' } },
  }),
  // Running B's capsule from A: A has not installed it.
  'POST /capsules/runs': (b) => ({
    path: '/capsules/runs',
    body: { parameters: { name: b.capsuleName, input: { incident_id: 'attack' } } },
  }),
  'GET /capsules/runs': (b) => ({ path: `/capsules/runs?name=${b.capsuleName}` }),
  // A plan of B's capsule from A: A has not installed it (400 naming nodes.0.capsule, nothing stored); B's plans are no plan of A's.
  'POST /capsules/plans': (b) => ({
    path: '/capsules/plans',
    body: {
      parameters: {
        goal: 'attack',
        budget: { tokens: 10, costUsd: 0 },
        nodes: [{ id: 'a', capsule: b.capsuleName, input: { incident_id: 'attack' } }],
      },
    },
  }),
  'GET /capsules/plans': () => ({ path: `/capsules/plans?planId=plan-${'b'.repeat(32)}` }),
  'DELETE /capsules/plans': () => ({ path: `/capsules/plans?planId=plan-${'b'.repeat(32)}` }),
  // A's own service of the same name as B's: declared, observed, decided and read in A's tenant only (404 before A declares it).
  'PUT /evolution/config': () => ({
    path: '/evolution/config',
    body: { parameters: { service: EVOLUTION_SERVICE, arms: [{ id: 'b-arm', parameters: {} }], current: 'b-arm' } },
  }),
  'GET /evolution/config': (b) => ({ path: `/evolution/config?service=${EVOLUTION_SERVICE}&tenant=${b.tenant}` }),
  'POST /evolution/observations': () => ({
    path: '/evolution/observations',
    body: { parameters: { service: EVOLUTION_SERVICE, observations: [{ arm: 'b-other', success: false }] } },
  }),
  'POST /evolution/decide': () => ({ path: '/evolution/decide', body: { parameters: { service: EVOLUTION_SERVICE } } }),
  'GET /evolution/status': (b) => ({ path: `/evolution/status?service=${EVOLUTION_SERVICE}&tenant=${b.tenant}` }),
  // A loop run of B's service: A has no such service (404, nothing written, no execution); A's runs are A's own (empty).
  'POST /evolution/loops': () => ({
    path: '/evolution/loops',
    body: {
      parameters: {
        service: EVOLUTION_SERVICE,
        component: 'sec-b-service',
        target: { kind: 'lambda-alias', resource: 'arn:aws:lambda:us-east-1:000000000000:function:autonomy-local-demoService:live' },
        deployments: { 'b-arm': '1' },
        promotion: { stage: 'staging', metrics: [{ name: 'latency' }] },
      },
    },
  }),
  'GET /evolution/loops': (b) => ({ path: `/evolution/loops?tenant=${b.tenant}` }),
  // A compresses its own context; B's approved proposal is no approval in A's tenant (409); B's compression is unknown to A (404).
  'POST /compression/compress': (b) => ({
    path: '/compression/compress',
    body: {
      parameters: {
        contextId: 'b-context',
        goal: 'attack',
        items: [{ id: 'b1', kind: 'document', text: 'attack' }],
        approvedProposalId: b.proposalId,
      },
    },
  }),
  'GET /compression/status': (b) => ({ path: `/compression/status?tenant=${b.tenant}` }),
  'PUT /compression/config': () => ({ path: '/compression/config', body: { parameters: { criticalLabels: ['attack'] } } }),
  'POST /compression/feedback': (b) => ({
    path: '/compression/feedback',
    body: { parameters: { compressionId: b.compressionId, found: false } },
  }),
  // A's own component of the same name as B's: configured and evaluated (a dry run) in A's tenant only (404 before A configures it).
  'PUT /replication/config': () => ({
    path: '/replication/config',
    body: {
      parameters: {
        component: REPLICATION_COMPONENT,
        max: 2,
        executor: { kind: 'lambda-concurrency', resource: 'arn:aws:lambda:us-east-1:000000000000:function:sec-a-replicated' },
      },
    },
  }),
  'POST /replication/evaluate': () => ({
    path: '/replication/evaluate',
    body: { parameters: { component: REPLICATION_COMPONENT, current: 1, dryRun: true } },
  }),
  'GET /replication/status': (b) => ({ path: `/replication/status?component=${REPLICATION_COMPONENT}&tenant=${b.tenant}` }),
  // A's own pools and plans answer in A's tenant; B's plan and ids are 404 to A.
  'PUT /migration/pools': () => ({ path: '/migration/pools', body: { parameters: { pools: [{ ...MIGRATION_POOL, pricePerHour: 0 }] } } }),
  'POST /migration/plans': () => ({
    path: '/migration/plans',
    body: { parameters: { workloads: [{ id: 'svc/b', needs: { vcpu: 0.5, memoryGiB: 1 } }] } },
  }),
  'POST /migration/runs': (b) => ({ path: '/migration/runs', body: { parameters: { planId: b.migrationPlanId } } }),
  'DELETE /migration/runs': (b) => ({ path: `/migration/runs?runId=${b.migrationPlanId}` }),
  'GET /migration/status': (b) => ({ path: `/migration/status?planId=${b.migrationPlanId}` }),
  // A's own artifact of the same name as B's: tagged in A's tenant only; B's versions are a 404 to A.
  'POST /versioning/versions': () => ({
    path: '/versioning/versions',
    body: { parameters: { artifact: VERSIONING_ARTIFACT, kind: 'schema', body: { type: 'string' } } },
  }),
  'GET /versioning/versions': () => ({ path: `/versioning/versions?artifact=${VERSIONING_ARTIFACT}` }),
  'GET /versioning/compatibility': () => ({ path: `/versioning/compatibility?artifact=${VERSIONING_ARTIFACT}` }),
  'POST /versioning/gate': () => ({
    path: '/versioning/gate',
    body: { parameters: { artifact: VERSIONING_ARTIFACT, version: '1.0.0', suite: 'attack', total: 1, failed: 1 } },
  }),
  'GET /versioning/promotable': () => ({ path: `/versioning/promotable?artifact=${VERSIONING_ARTIFACT}&version=1.0.0` }),
  // A's own analysis (an explicit graph) answers in A's tenant; B's module is no module of A's (404: no exposure, no proposal).
  'POST /encapsulation/analyse': () => ({
    path: '/encapsulation/analyse',
    body: { parameters: { graph: { components: [{ id: 'sec/a-only' }] } } },
  }),
  'GET /encapsulation/status': () => ({ path: '/encapsulation/status' }),
  'POST /encapsulation/interfaces': () => ({ path: '/encapsulation/interfaces', body: { parameters: { module: ENCAPSULATION_MODULE } } }),
  // B's component is no component of A's (404: no plan, no proposal); A's policy is A's own; B's termination is a 404 to A.
  'POST /closure/terminations': () => ({
    path: '/closure/terminations',
    body: { parameters: { target: CLOSURE_COMPONENT, reason: 'attack', cascade: true } },
  }),
  'PUT /closure/policies': () => ({ path: '/closure/policies', body: { parameters: { default: { approvals: 1 } } } }),
  'GET /closure/status': (b) => ({ path: `/closure/status?terminationId=${b.closureTerminationId}` }),
};

describe("tenant A's credentials against tenant B's data", () => {
  let victim: VictimData;
  let before_: Awaited<ReturnType<typeof victimView>>;
  before(async () => {
    victim = await createVictim();
    before_ = await victimView(victim);
  });

  it('has a cross-tenant case for every protected route', () => {
    assert.deepEqual(
      protectedRoutes.map(routeKey).filter((key) => !(key in crossTenantRequests)),
      [],
    );
  });

  it("never answers with B's data, never touches it: 404/403, or A's own (empty) view", async () => {
    const attacker = freshTenant('sec-a');
    const forbidden = [
      victim.tenant,
      victim.keyId,
      victim.approvalId,
      victim.exportId,
      victim.recordHash,
      victim.capsuleName,
      victim.capsuleKeyId,
      victim.closureTerminationId,
      ...Object.values(markers),
    ];
    const problems: string[] = [];
    for (const spec of protectedRoutes) {
      const request = crossTenantRequests[routeKey(spec)]?.(victim);
      if (!request) continue;
      // The tenant always comes from the credential: a header naming B changes nothing.
      const reply = await as(attacker, ['admin'], spec.method, request.path, request.body, { 'x-tenant-id': victim.tenant });
      const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      if (reply.status >= 500) problems.push(`${routeKey(spec)}: ${reply.status}`);
      else if (reply.status < 300 || reply.status === 409) {
        const seen = forbidden.filter((value) => text.includes(value));
        if (seen.length > 0) problems.push(`${routeKey(spec)}: ${reply.status} carries B's ${seen.join(', ')}`);
        // Every step of the reply, the route's and any an engine added, ran in the caller's tenant.
        const steps: Array<{ tenant: string; engine: string }> =
          reply.status < 300 && Array.isArray(reply.body?.provenance) ? reply.body.provenance : [];
        for (const step of steps.filter((each) => each.tenant !== attacker))
          problems.push(`${routeKey(spec)}: ${step.engine} step ran as ${step.tenant}`);
        // A stateless MCP endpoint answers GET and DELETE with 405 whoever asks.
      } else if (![400, 403, 404].includes(reply.status) && !(spec.path === '/mcp' && reply.status === 405)) {
        problems.push(`${routeKey(spec)}: unexpected ${reply.status} ${text.slice(0, 160)}`);
      }
    }
    assert.deepEqual(problems, []);
    assert.deepEqual(await victimView(victim), before_, "B's series, ledger, keys, approval and retention are as they were");
  });

  it("never answers A's MCP tool calls with B's data, nor lets them touch it: every tool with its route's cross-tenant arguments", async () => {
    const attacker = freshTenant('sec-a');
    const forbidden = [victim.tenant, victim.keyId, victim.approvalId, victim.exportId, victim.recordHash, ...Object.values(markers)];
    const problems: string[] = [];
    let calls = 0;
    // Capsule runs and plans start runs that call tools themselves and are no tool (lib/mcp/tools.ts).
    for (const spec of protectedRoutes.filter(
      (each) => each.engine !== 'mcp' && each.path !== '/capsules/runs' && each.path !== '/capsules/plans',
    )) {
      const request = crossTenantRequests[routeKey(spec)]?.(victim);
      if (!request) continue;
      const args =
        (request.body as { parameters?: Record<string, unknown> } | undefined)?.parameters ??
        Object.fromEntries(new URL(request.path, 'http://x').searchParams);
      const name = toolName(spec);
      const reply = await as(
        attacker,
        ['admin'],
        'POST',
        '/mcp',
        { jsonrpc: '2.0', id: ++calls, method: 'tools/call', params: { name, arguments: args } },
        { 'x-tenant-id': victim.tenant },
      );
      const result = reply.body?.result;
      if (reply.status !== 200 || !result) {
        problems.push(`${name}: ${reply.status} ${JSON.stringify(reply.body).slice(0, 160)}`);
        continue;
      }
      // The route's own status, as the HTTP test above judges it.
      const status = result._meta?.['autonomy/httpStatus'] as number;
      const text = JSON.stringify(result);
      if (status >= 500) problems.push(`${name}: ${status}`);
      else if (status < 300 || status === 409) {
        const seen = forbidden.filter((value) => text.includes(value));
        if (seen.length > 0) problems.push(`${name}: ${status} carries B's ${seen.join(', ')}`);
      } else if (![400, 403, 404].includes(status)) problems.push(`${name}: unexpected ${status} ${text.slice(0, 160)}`);
    }
    assert.deepEqual(problems, []);
    assert.ok(calls >= 50, `${calls} tools tried`);
    assert.deepEqual(await victimView(victim), before_, "B's data is as it was after A's tool calls");
    // Every call was recorded in A's ledger, none in B's.
    const ours = await as(attacker, ['viewer'], 'GET', '/audit/verify?stream=mcp.calls');
    assert.deepEqual([ours.body.result.intact, ours.body.result.entries], [true, calls]);
    const theirs = await as(victim.tenant, ['viewer'], 'GET', '/audit/verify?stream=mcp.calls');
    assert.equal(theirs.body.result.entries ?? 0, 0);
  });

  it("refuses ids that name B's data outright with 404", async () => {
    const attacker = freshTenant('sec-a');
    const cases: Array<[string, string, unknown?]> = [
      ['GET', `/observation/status?series=${victim.series}`],
      ['GET', `/observation/forecast?series=${victim.series}`],
      ['DELETE', `/observation/series?series=${victim.series}`],
      ['DELETE', `/identity/keys?keyId=${victim.keyId}`],
      ['POST', '/governance/approvals', { parameters: { approvalId: victim.approvalId, decision: 'approve', reason: 'not mine' } }],
      ['GET', `/governance/proposals?proposalId=${victim.proposalId}`],
      ['PUT', '/governance/proposals', { parameters: { proposalId: victim.proposalId, outcome: 'failed' } }],
      ['DELETE', `/governance/proposals?proposalId=${victim.proposalId}&reason=not%20mine`],
      ['POST', '/audit/export', { parameters: { stream: victim.stream, exportId: victim.exportId } }],
      ['GET', `/audit/proof?stream=${victim.stream}&seq=0`],
      ['GET', `/execution/runs?executionId=exec-${victim.proposalId}`],
      ['GET', `/gateway/conversations?conversationId=${victim.conversationId}`],
      ['DELETE', `/gateway/chat?requestId=${victim.chatRequestId}`],
      ['GET', `/gateway/templates?name=${victim.templateName}`],
      ['DELETE', `/gateway/templates?name=${victim.templateName}`],
      // B's capsule is in review: invisible, uninstallable, not A's to deprecate or revoke.
      ['GET', `/capsules/catalog?name=${victim.capsuleName}`],
      ['GET', `/capsules/catalog?name=${victim.capsuleName}&version=1.0.0`],
      ['POST', '/capsules/installs', { parameters: { name: victim.capsuleName, version: '1.0.0' } }],
      ['PUT', '/capsules/deprecations', { parameters: { name: victim.capsuleName, version: '1.0.0', reason: 'not mine' } }],
      ['PUT', '/capsules/authors', { parameters: { subject: 'sec-author', revokeKeyId: victim.capsuleKeyId } }],
      ['POST', '/compression/feedback', { parameters: { compressionId: victim.compressionId, found: false } }],
      ['GET', `/migration/status?planId=${victim.migrationPlanId}`],
      ['POST', '/migration/runs', { parameters: { planId: victim.migrationPlanId } }],
      ['DELETE', `/migration/runs?runId=${victim.migrationPlanId}`],
      // B's replicated component: unreadable, not A's to evaluate.
      ['GET', `/replication/status?component=${REPLICATION_COMPONENT}`],
      ['POST', '/replication/evaluate', { parameters: { component: REPLICATION_COMPONENT, current: 2, dryRun: true } }],
      // B's promotion: unreadable, not A's to abort or feed.
      ['GET', `/promotion/status?promotionId=${victim.promotionId}`],
      ['DELETE', `/promotion/promotions?promotionId=${victim.promotionId}&reason=not%20mine`],
      [
        'POST',
        '/promotion/metrics',
        { parameters: { promotionId: victim.promotionId, step: 0, metrics: { latency: { canary: [1], baseline: [1] } } } },
      ],
      // B's analysis and its module: unreadable, not A's to expose.
      ['GET', '/encapsulation/status'],
      ['POST', '/encapsulation/interfaces', { parameters: { module: ENCAPSULATION_MODULE } }],
      // B's component and its termination: not A's to terminate or read.
      ['POST', '/closure/terminations', { parameters: { target: CLOSURE_COMPONENT, reason: 'not mine' } }],
      ['GET', `/closure/status?terminationId=${victim.closureTerminationId}`],
    ];
    for (const [method, path, body] of cases) {
      const reply = await as(attacker, ['admin'], method, path, body);
      assert.equal(reply.status, 404, `${method} ${path}: ${JSON.stringify(reply.body)}`);
    }
  });
});

describe('role escalation', () => {
  it('a viewer, operator or approver cannot mint a key of any role, with a JWT or with an API key', async () => {
    const tenant = freshTenant('sec-r');
    for (const role of ['viewer', 'operator', 'approver'] as const) {
      const byJwt = await as(tenant, [role], 'POST', '/identity/keys', { parameters: { name: 'escalate', roles: ['admin'] } });
      assert.equal(byJwt.status, 403, `${role} JWT: ${JSON.stringify(byJwt.body)}`);
      const created = await as(tenant, ['admin'], 'POST', '/identity/keys', { parameters: { name: `${role}-key`, roles: [role] } });
      const apiKey = remember(created.body.result.apiKey as string);
      for (const roles of [['admin'], [role]]) {
        const byKey = await api('POST', '/identity/keys', { apiKey, body: { parameters: { name: 'escalate', roles } } });
        assert.equal(byKey.status, 403, `${role} key minting [${roles}]: ${JSON.stringify(byKey.body)}`);
      }
      assert.equal(
        (await api('POST', '/audit/keys', { apiKey, body: { parameters: {} } })).status,
        403,
        `${role} key rotating signing keys`,
      );
      assert.equal(
        (await api('PUT', '/audit/retention', { apiKey, body: { parameters: { days: 1 } } })).status,
        403,
        `${role} key shortening retention`,
      );
    }
    const keys = (await as(tenant, ['admin'], 'GET', '/identity/keys')).body.result.keys as Array<{ name: string }>;
    assert.deepEqual(keys.map((key) => key.name).sort(), ['approver-key', 'operator-key', 'viewer-key'], 'no escalation key was created');
  });

  it('role names a token claims but the product does not define grant nothing', async () => {
    const tenant = freshTenant('sec-r');
    const claimsList: unknown[] = [['Admin'], ['root'], ['*'], ['admin ', 'viewer'], 'ADMIN', { admin: true }, [['admin']]];
    for (const roles of claimsList) {
      const token = remember(
        await signedByIdp({ tenant, roles, sub: 'mallory', iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, iat: now(), exp: now() + 600 }),
      );
      const reply = await api('GET', '/identity/keys', { auth: 'none', headers: { authorization: `Bearer ${token}` } });
      assert.equal(reply.status, 403, `roles ${JSON.stringify(roles)}: ${JSON.stringify(reply.body)}`);
    }
  });

  it('a key cannot be moved to another tenant or given other roles by editing it', async () => {
    const owner = freshTenant('sec-r');
    const victimTenant = freshTenant('sec-r');
    const created = await as(owner, ['admin'], 'POST', '/identity/keys', { parameters: { name: 'mine', roles: ['viewer'] } });
    const apiKey = remember(created.body.result.apiKey as string);
    const moved = apiKey.replace(`apk_${owner}_`, `apk_${victimTenant}_`);
    assert.equal((await api('GET', '/audit/retention', { apiKey: moved })).status, 401, 'the tenant inside a key is bound to its hash');
    assert.equal((await api('GET', '/audit/retention', { apiKey })).status, 200, 'the key itself works');
  });

  it('tenant claims that are not one valid, unreserved tenant are refused', async () => {
    for (const tenant of ['system', ['a', 'b'], 'ACME', '', 'a/b']) {
      const token = remember(
        await signedByIdp({
          tenant,
          roles: ['admin'],
          sub: 'mallory',
          iss: LOCAL_ISSUER,
          aud: LOCAL_AUDIENCE,
          iat: now(),
          exp: now() + 600,
        }),
      );
      const reply = await api('GET', '/audit/retention', { auth: 'none', headers: { authorization: `Bearer ${token}` } });
      assert.equal(reply.status, 401, `tenant ${JSON.stringify(tenant)}: ${JSON.stringify(reply.body)}`);
    }
  });
});

describe('function logs', () => {
  it('hold no credential and none of the payload markers this suite sent', async () => {
    // Markers also in requests that fail validation, where a careless handler would log the body.
    const tenant = freshTenant('sec-l');
    await as(tenant, ['operator'], 'POST', '/audit/record', { parameters: { stream: 'Not A Stream', payload: { note: markers.payload } } });
    await as(tenant, ['operator'], 'POST', '/observation/ingest', {
      parameters: { point: { series: 'sec.l', timestamp: 'yesterday', value: 1, labels: { owner: markers.label } } },
    });
    const file = process.env.AUTONOMY_TEST_FUNCTION_LOG;
    assert.ok(file && existsSync(file), "npm test captures the functions' output (AUTONOMY_TEST_FUNCTION_LOG)");
    // Output is written as functions print it; give the last lines a moment to land.
    const text = await eventually("the function log to hold this suite's requests", async () => {
      const content = readFileSync(file, 'utf8');
      return content.length > 0 ? content : undefined;
    });
    assert.deepEqual(leakedCredentials(text), [], 'no JWT or API key in the logs');
    const leaked = [...secretsUsed].filter((secret) => text.includes(secret));
    assert.deepEqual(
      leaked.map((secret) => `${secret.slice(0, 24)}…`),
      [],
      'none of the credentials this suite used',
    );
    assert.deepEqual(
      Object.entries(markers)
        .filter(([, marker]) => text.includes(marker))
        .map(([name]) => name),
      [],
      'none of the payload markers',
    );
  });
});
