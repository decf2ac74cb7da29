/**
 * Loop 1, the improvement loop, on the local cloud: POST /evolution/loops runs
 * statemachines/improvement-loop.asl.json with its real tasks — Evolution decides from posted
 * observations, Versioning tags the chosen arm's configuration, the Promotion engine canaries it on a
 * real Lambda alias (its own state machine, judged on samples posted to /promotion/metrics, bake 1 s),
 * Replication evaluates the component after the promotion, and the arm becomes current in Evolution.
 * One case per path, each its own tenant and alias: promoted to 100% (with replication after it and
 * every step in the ledger), a worse canary rolled back on its own, a marginal canary paused and
 * rejected by a person (the Promotion engine's own test covers approval), the kill switch on
 * (nothing decided), a breaking configuration blocked without approval. The cases run one after
 * another: five loop runs at once would start every task function five times over (~75 cold starts
 * of ~1.5 s CPU each, more than the cases' own work); one after another, the later ones run warm.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand,
  GetAliasCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DescribeEndpointCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import type { Role } from '../../lib/auth/roles.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

const lambda = new LambdaClient({});
const sagemaker = new SageMakerClient({});
/** The model endpoint the promoted component runs on: Replication scales its instances (its own, so no other test's calls are throttled). */
const endpoint = { name: `loop-${Date.now().toString(36)}`, arn: '' };
const ACCOUNT_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:';
const versions = { slow: '', fast: '' };
let functionName = '';

/** Deterministic normal samples. */
function normals(n: number, mean: number, sd: number, seed: number): number[] {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 1) / 4294967297;
  };
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next()));
}

before(async () => {
  const name = testCloud().resources.functions.DemoServiceLambdaFunction;
  assert.ok(name, 'the local stage deploys the demo engine');
  functionName = name;
  for (const arm of ['slow', 'fast'] as const) {
    await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: `improvement loop test ${arm}` }));
    versions[arm] = (await lambda.send(new PublishVersionCommand({ FunctionName: name }))).Version ?? '';
  }
  for (const alias of ['better', 'worse', 'marginal']) {
    await lambda.send(new CreateAliasCommand({ FunctionName: name, Name: `loop-${alias}`, FunctionVersion: versions.slow }));
  }
  await sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: `${endpoint.name}-config`,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'echo', InstanceType: 'ml.m5.large', InitialInstanceCount: 2 }],
    }),
  );
  endpoint.arn =
    (await sagemaker.send(new CreateEndpointCommand({ EndpointName: endpoint.name, EndpointConfigName: `${endpoint.name}-config` })))
      .EndpointArn ?? '';
  // Each route's function starts once here, before the first case's clock runs
  // (any answer will do; a cold start is not what these cases measure).
  const warm = freshTenant('loop-warm');
  for (const [method, path] of [
    ['GET', '/governance/autonomy'],
    ['GET', '/governance/killswitch'],
    ['GET', '/governance/approvals'],
    ['GET', `/evolution/config?service=${service}`],
    ['POST', '/evolution/observations'],
    ['GET', `/evolution/status?service=${service}`],
    ['GET', '/evolution/loops'],
    ['GET', '/promotion/status'],
    ['POST', '/promotion/metrics'],
    ['PUT', '/replication/config'],
    ['POST', '/observation/ingest'],
  ] as const)
    await as(warm, 'root', ['admin'], method, path, method === 'GET' ? undefined : {});
});

after(async () => {
  await sagemaker.send(new DeleteEndpointCommand({ EndpointName: endpoint.name })).catch(() => {});
  await sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: `${endpoint.name}-config` })).catch(() => {});
  lambda.destroy();
  sagemaker.destroy();
});

async function as(tenant: string, subject: string, roles: Role[], method: string, path: string, body?: unknown) {
  const token = await tokenFor({ tenant, subject, roles });
  return api(method, path, {
    auth: 'none',
    headers: { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: { parameters: body } }),
  });
}
const ok = async (reply: Promise<{ status: number; body: { result?: unknown } }>, what: string, status = 200) => {
  const answer = await reply;
  assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
  // biome-ignore lint/suspicious/noExplicitAny: a route's JSON, read field by field
  return answer.body.result as any;
};
const readAlias = async (alias: string) => {
  const output = await lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: alias }));
  return { version: output.FunctionVersion, weights: output.RoutingConfig?.AdditionalVersionWeights ?? {} };
};

const service = 'svc/chat';
const metrics = [
  { name: 'latency', direction: 'increase-is-bad', critical: false, weight: 1 },
  // errors is critical: a step with no samples of it fails (a canary with no data at all would otherwise pass).
  { name: 'errors', direction: 'increase-is-bad', critical: true, weight: 4 },
];
const same = (seed: number) => ({ canary: normals(30, 100, 10, seed), baseline: normals(30, 100, 10, seed + 1) });
const worse = (seed: number) => ({ canary: normals(30, 170, 10, seed), baseline: normals(30, 100, 10, seed + 1) });
const better = (seed: number) => ({ canary: normals(30, 70, 10, seed), baseline: normals(30, 100, 10, seed + 1) });
const outcomes = (arm: string, n: number, latencyMs: number) =>
  Array.from({ length: n }, (_, i) => ({ arm, success: true, latencyMs: latencyMs + (i % 5) * 10 }));

/**
 * A tenant at autonomy level 3 (staging promotions pass L3 validation on their own) with the service's
 * two arms (slow serving, fast observed better), then a loop run; `arms` replaces the arms' parameters.
 */
async function startRun(tenant: string, alias: string, extra: { fastParameters?: Record<string, number>; replicate?: boolean } = {}) {
  await ok(as(tenant, 'root', ['admin'], 'PUT', '/governance/autonomy', { level: 3 }), 'autonomy');
  await ok(
    as(tenant, 'ops', ['operator'], 'PUT', '/evolution/config', {
      service,
      arms: [
        { id: 'slow', parameters: { batchSize: 8, cacheTtlSeconds: 60 } },
        { id: 'fast', parameters: extra.fastParameters ?? { batchSize: 16, cacheTtlSeconds: 60 } },
      ],
      current: 'slow',
      weights: { success: 1, latency: 1, cost: 0 },
      scales: { latencyMs: 100 },
      minObservations: 10,
    }),
    'evolution config',
  );
  await ok(
    as(tenant, 'ops', ['operator'], 'POST', '/evolution/observations', {
      service,
      observations: [...outcomes('slow', 40, 90), ...outcomes('fast', 40, 20)],
    }),
    'observations',
  );
  const component = `chat-${alias}`;
  if (extra.replicate) {
    await ok(
      as(tenant, 'ops', ['operator'], 'PUT', '/replication/config', {
        component,
        environment: 'dev',
        min: 2,
        max: 4,
        metrics: [{ name: 'cpu', target: 100, series: 'loop.cpu' }],
        executor: { kind: 'sagemaker-endpoint', resource: endpoint.arn, parameters: { variantName: 'AllTraffic' } },
      }),
      'replication config',
    );
    await ok(
      as(tenant, 'ops', ['operator'], 'POST', '/observation/ingest', {
        points: [{ series: 'loop.cpu', timestamp: new Date().toISOString(), value: 150 }],
      }),
      'cpu point',
    );
  }
  const loop = await ok(
    as(tenant, 'alice', ['operator'], 'POST', '/evolution/loops', {
      service,
      component,
      target: { kind: 'lambda-alias', resource: `${ACCOUNT_ARN}${functionName}:loop-${alias}` },
      deployments: { slow: versions.slow, fast: versions.fast },
      // The samples are posted once the promotion exists; on a busy machine that can be after the 1 s bake:
      // the step waits for them (up to 60 s) rather than judging an empty window.
      promotion: { stage: 'staging', steps: [50, 100], bakeSeconds: 1, dataWaitSeconds: 60, metrics, metricsSource: 'posted' },
    }),
    'start',
    202,
  );
  return loop.loopId as string;
}

/** Posts each step's samples as soon as the run's promotion exists (the step waits for them past its bake if need be). */
async function feed(tenant: string, perStep: Array<Record<string, { canary: number[]; baseline: number[] }>>) {
  const promotionId: string = await eventually(
    'the loop to start its promotion',
    async () => (await ok(as(tenant, 'viewer', ['viewer'], 'GET', '/promotion/status'), 'promotions')).promotions[0]?.promotionId,
    60_000,
    50,
  );
  for (const [step, samples] of perStep.entries())
    await ok(as(tenant, 'collector', ['operator'], 'POST', '/promotion/metrics', { promotionId, step, metrics: samples }), 'metrics');
  return promotionId;
}

const ENDS = ['promoted', 'rolled-back', 'no-improvement', 'blocked', 'halted', 'refused', 'failed'];
const finished = (tenant: string, loopId: string) =>
  eventually(
    `loop ${loopId} to finish`,
    async () => {
      const [loop] = (await ok(as(tenant, 'viewer', ['viewer'], 'GET', `/evolution/loops?loopId=${loopId}`), 'loop')).loops;
      return loop?.finishedAt && ENDS.includes(loop.status) ? loop : undefined;
    },
    90_000,
    250,
  );
const stepsOf = (loop: { steps: Array<{ step: string }> }) => loop.steps.map((s) => s.step);

describe('improvement loop on the local cloud', { timeout: 300_000 }, () => {
  it('finds the better arm, versions it, promotes it to 100% on the alias, replicates after, records it in Evolution, every step in the ledger', async () => {
    const tenant = freshTenant('loop');
    const loopId = await startRun(tenant, 'better', { replicate: true });
    await feed(tenant, [{ latency: better(1), errors: same(3) }]);
    const loop = await finished(tenant, loopId);
    assert.equal(loop.status, 'promoted', JSON.stringify(loop.steps, null, 1));
    assert.deepEqual(stepsOf(loop), [
      'requested',
      'observed',
      'decided',
      'versioned',
      'approval',
      'promoting',
      'promotion',
      'replicated',
      'recorded',
      'finished',
    ]);
    assert.equal(loop.chosen, 'fast');
    assert.equal(loop.decision.primary, 'fast');
    assert.deepEqual([loop.version.version, loop.version.bump, loop.version.breaking], ['1.0.1', 'patch', false]);
    assert.deepEqual(await readAlias('loop-better'), { version: versions.fast, weights: {} });
    assert.ok(loop.replication?.decisionId && loop.replication.status !== 'skipped', JSON.stringify(loop.replication));
    assert.equal(loop.replication.desired, 3, JSON.stringify(loop.replication));
    const variant = (await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpoint.name }))).ProductionVariants?.[0];
    assert.equal(variant?.CurrentInstanceCount, 3, 'DescribeEndpoint shows the instances Replication set');
    const evolution = await ok(as(tenant, 'viewer', ['viewer'], 'GET', `/evolution/config?service=${service}`), 'config');
    assert.equal(evolution.config.current, 'fast');
    const recorded = await eventually('the run in the ledger', async () => {
      const events = await ledgerEvents(tenant, 'evolution');
      return events.some((e) => e.detailType === 'evolution.loop.stepped' && e.detail.step === 'finished') ? events : undefined;
    });
    assert.deepEqual(
      recorded.filter((e) => e.detailType === 'evolution.loop.stepped').map((e) => e.detail.step),
      stepsOf(loop),
    );
    assert.ok(recorded.some((e) => e.detailType === 'evolution.decision.made' && e.detail.decisionId === loop.decision.decisionId));
    const verified = await ok(as(tenant, 'auditor', ['admin'], 'GET', '/audit/verify?stream=events.evolution'), 'verify');
    assert.equal(verified.intact, true, JSON.stringify(verified));
  });

  it('rolls a worse canary back on its own and leaves the incumbent current', async () => {
    const tenant = freshTenant('loop');
    const loopId = await startRun(tenant, 'worse');
    await feed(tenant, [{ latency: worse(21), errors: worse(23) }]);
    const loop = await finished(tenant, loopId);
    assert.equal(loop.status, 'rolled-back', JSON.stringify(loop.steps, null, 1));
    assert.deepEqual(await readAlias('loop-worse'), { version: versions.slow, weights: {} });
    assert.equal(loop.replication, undefined);
    const evolution = await ok(as(tenant, 'viewer', ['viewer'], 'GET', `/evolution/config?service=${service}`), 'config');
    assert.equal(evolution.config.current, 'slow');
  });

  it('pauses a marginal canary for a person; rejected, it is rolled back', async () => {
    const tenant = freshTenant('loop');
    const loopId = await startRun(tenant, 'marginal');
    // latency (weight 1) worse, errors (weight 4) the same: score 80, marginal.
    await feed(tenant, [{ latency: worse(31), errors: same(33) }]);
    const paused = await eventually(
      'the run to see its promotion paused',
      async () => {
        const [loop] = (await ok(as(tenant, 'viewer', ['viewer'], 'GET', `/evolution/loops?loopId=${loopId}`), 'loop')).loops;
        return loop?.promotionStatus === 'paused' ? loop : undefined;
      },
      60_000,
      250,
    );
    const promotion = (
      await ok(as(tenant, 'viewer', ['viewer'], 'GET', `/promotion/status?promotionId=${paused.promotionId}`), 'promotion')
    ).promotions[0];
    const approvalId = `approval-${promotion.pauseProposalId}`;
    await eventually(`approval ${approvalId} to open`, async () => {
      const listed = await ok(as(tenant, 'viewer', ['viewer'], 'GET', '/governance/approvals'), 'approvals');
      return listed.approvals.some((entry: { approvalId: string }) => entry.approvalId === approvalId) ? true : undefined;
    });
    await ok(
      as(tenant, 'bob', ['approver'], 'POST', '/governance/approvals', {
        approvalId,
        decision: 'reject',
        reason: 'latency regression users notice',
      }),
      'vote',
    );
    const loop = await finished(tenant, loopId);
    assert.equal(loop.status, 'rolled-back', JSON.stringify(loop.steps, null, 1));
    assert.deepEqual(await readAlias('loop-marginal'), { version: versions.slow, weights: {} });
  });

  it('decides nothing while the kill switch is on', async () => {
    const tenant = freshTenant('loop');
    await ok(as(tenant, 'root', ['admin'], 'PUT', '/governance/killswitch', { enabled: true, reason: 'freeze' }), 'kill switch');
    const loopId = await startRun(tenant, 'halted');
    const loop = await finished(tenant, loopId);
    assert.equal(loop.status, 'halted', JSON.stringify(loop.steps, null, 1));
    assert.deepEqual(stepsOf(loop), ['requested', 'decided', 'finished']);
    assert.equal(loop.decision, undefined);
    assert.equal(
      (await as(tenant, 'viewer', ['viewer'], 'GET', `/evolution/status?service=${service}`)).body.result.latestDecision,
      undefined,
    );
  });

  it('blocks a breaking configuration without approval: tagged, never promoted', async () => {
    const tenant = freshTenant('loop');
    // fast drops cacheTtlSeconds: a key removed from the configuration breaks its readers (major).
    const loopId = await startRun(tenant, 'breaking', { fastParameters: { batchSize: 16 } });
    const loop = await finished(tenant, loopId);
    assert.equal(loop.status, 'blocked', JSON.stringify(loop.steps, null, 1));
    assert.deepEqual([loop.version.version, loop.version.bump, loop.version.breaking], ['2.0.0', 'major', true]);
    assert.equal(loop.promotionId, undefined);
    assert.deepEqual((await ok(as(tenant, 'viewer', ['viewer'], 'GET', '/promotion/status'), 'promotions')).promotions, []);
  });
});
