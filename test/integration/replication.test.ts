/**
 * The Replication engine on the local cloud: PUT /replication/config, POST /replication/evaluate with
 * metrics → a `replication:scale` proposal on the L3 route → the Execution engine's executor changes
 * the resource (a stack function's reserved concurrency, read back through the Lambda API; a SageMaker
 * variant's instance count, read back through DescribeEndpoint); forecast-only mode records what it
 * would pre-scale to and changes nothing; a bad request writes nothing (400 naming the field); a
 * proposal left at the gate blocks the next evaluation and the status says so; every decision is in
 * the tenant's ledger, whose stream verifies.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  DeleteFunctionConcurrencyCommand,
  GetFunctionConcurrencyCommand,
  LambdaClient,
  PutFunctionConcurrencyCommand,
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
const ACCOUNT = 'arn:aws:lambda:us-east-1:000000000000:function:';

/** The stack function the cases scale: the compliance job (scheduled, run one at a time; never capped below 2). */
function target(): { name: string; arn: string } {
  const name = testCloud().resources.functions.AuditComplianceLambdaFunction;
  assert.ok(name, `no compliance function in ${Object.keys(testCloud().resources.functions).join(', ')}`);
  return { name, arn: `${ACCOUNT}${name}` };
}
const reserved = async (name: string) =>
  (await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: name }))).ReservedConcurrentExecutions;
const endpoints: string[] = [];

after(async () => {
  // The stack's function as the local cloud deployed it (no reservation), whatever an assertion left.
  await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: target().name })).catch(() => {});
  for (const name of endpoints) {
    await sagemaker.send(new DeleteEndpointCommand({ EndpointName: name })).catch(() => {});
    await sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: `${name}-config` })).catch(() => {});
  }
  lambda.destroy();
  sagemaker.destroy();
});

async function as(tenant: string, roles: Role[], method: string, path: string, body?: unknown) {
  const token = await tokenFor({ tenant, subject: roles.includes('admin') ? 'root' : 'ops', roles });
  return api(method, path, {
    auth: 'none',
    headers: { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: { parameters: body } }),
  });
}
const ok = async (reply: Promise<{ status: number; body: unknown }>, what: string) => {
  const { status, body } = await reply;
  assert.equal(status, 200, `${what}: ${JSON.stringify(body)}`);
  return body as { result: Record<string, unknown> & { decision?: Record<string, unknown> } };
};

const lambdaConfig = (component: string, extra: Record<string, unknown> = {}) => ({
  component,
  environment: 'dev',
  min: 2,
  max: 12,
  metrics: [{ name: 'cpu', target: 100 }],
  executor: { kind: 'lambda-concurrency', resource: target().arn },
  ...extra,
});

/** The decision's `replication.decision.made` in the tenant's ledger, with the status it was recorded with. */
const recorded = (tenant: string, decisionId: string, status: string) =>
  eventually(
    `decision ${decisionId} (${status}) in ${tenant}'s ledger`,
    async () =>
      (await ledgerEvents(tenant, 'replication')).find(
        (event) =>
          event.detailType === 'replication.decision.made' && event.detail.decisionId === decisionId && event.detail.status === status,
      ),
    20_000,
    250,
  );

describe('replication on the local cloud', { timeout: 150_000 }, () => {
  it('scales a function: config, evaluate with metrics, a replication:scale proposal on the L3 route, the reserved concurrency changed, the decision in a verifying ledger', async () => {
    const tenant = freshTenant('repl');
    const fn = target();
    await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: fn.name, ReservedConcurrentExecutions: 2 }));

    // Refused: a max beyond what replication:scale may set (the actuation catalogue's 50); nothing written.
    const bad = await as(tenant, ['operator'], 'PUT', '/replication/config', lambdaConfig('svc/api', { max: 80 }));
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.match(JSON.stringify(bad.body), /body\.parameters\.max/);
    assert.equal((await as(tenant, ['viewer'], 'GET', '/replication/status?component=svc/api')).status, 404, 'nothing was written');

    const put = await ok(as(tenant, ['operator'], 'PUT', '/replication/config', lambdaConfig('svc/api')), 'config');
    assert.equal(put.result.version, 0);

    // Refused: a metric the component does not scale on; no decision recorded.
    const unknown = await as(tenant, ['operator'], 'POST', '/replication/evaluate', {
      component: 'svc/api',
      metrics: [{ name: 'memory', value: 300 }],
    });
    assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
    assert.match(JSON.stringify(unknown.body), /body\.parameters\.metrics/);
    const untouched = (await ok(as(tenant, ['viewer'], 'GET', '/replication/status?component=svc/api'), 'status')).result;
    assert.deepEqual(untouched.decisions, [], 'no decision recorded');

    // cpu at 200% of its target on 2 (read through the executor): the HPA asks for ceil(2 × 2) = 4.
    const evaluated = await ok(
      as(tenant, ['operator'], 'POST', '/replication/evaluate', { component: 'svc/api', metrics: [{ name: 'cpu', value: 200 }] }),
      'evaluate',
    );
    const decision = evaluated.result.decision as Record<string, unknown>;
    assert.equal(decision.current, 2);
    assert.equal(decision.desired, 4);
    assert.equal(decision.status, 'executed', JSON.stringify(decision));
    assert.equal(decision.route, 'l3-validation');
    assert.ok((decision.decisionMs as number) < 60_000, `decision took ${decision.decisionMs} ms`);
    assert.equal(await reserved(fn.name), 4, 'the function carries the new reservation (Lambda API)');

    const proposal = (await as(tenant, ['viewer'], 'GET', `/governance/proposals?proposalId=${decision.proposalId}`)).body.result
      .proposals[0];
    assert.equal(proposal.engine, 'replication');
    assert.equal(proposal.action, 'scale');
    assert.equal(proposal.route, 'l3-validation');
    assert.equal(proposal.status, 'executed');
    assert.equal(proposal.parameters.replicas, 4);

    const status = (await ok(as(tenant, ['viewer'], 'GET', '/replication/status?component=svc/api'), 'status')).result;
    assert.equal(status.current, 4);
    assert.equal(status.waiting, null);

    const event = await recorded(tenant, decision.decisionId as string, 'executed');
    assert.equal(event.detail.desired, 4);
    assert.equal(event.detail.proposalId, decision.proposalId);
    const verify = await as(tenant, ['viewer'], 'GET', '/audit/verify?stream=events.replication');
    assert.equal(verify.status, 200, JSON.stringify(verify.body));
    assert.equal(verify.body.result.intact, true);
  });

  it('forecast-only mode records what it would pre-scale to and changes nothing', async () => {
    const tenant = freshTenant('repl');
    const fn = target();
    await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: fn.name, ReservedConcurrentExecutions: 3 }));
    // 1029-1031 rps a minute for the last 30 minutes: at 100 a replica, no buffer, the forecast asks for 11.
    const now = Date.now();
    const points = Array.from({ length: 30 }, (_, k) => ({
      series: 'svc.rps',
      timestamp: new Date(now - (30 - k) * 60_000).toISOString(),
      value: 1029 + (k % 3),
    }));
    await ok(as(tenant, ['operator'], 'POST', '/observation/ingest', { points }), 'ingest');
    await ok(
      as(
        tenant,
        ['operator'],
        'PUT',
        '/replication/config',
        lambdaConfig('svc/api', {
          max: 30,
          predictive: { mode: 'forecast-only', series: 'svc.rps', targetPerReplica: 100, bufferPercent: 0, model: 'ANN', horizon: 6 },
        }),
      ),
      'config',
    );
    const evaluated = await ok(
      as(tenant, ['operator'], 'POST', '/replication/evaluate', { component: 'svc/api', metrics: [{ name: 'cpu', value: 100 }] }),
      'evaluate',
    );
    const decision = evaluated.result.decision as Record<string, unknown>;
    assert.equal(decision.status, 'no-change', JSON.stringify(decision));
    assert.equal(decision.current, 3);
    assert.equal(decision.desired, 3, 'forecast-only never sets the count');
    assert.equal(decision.predictive, 11);
    assert.match(decision.reason as string, /forecast-only: would pre-scale to 11/);
    assert.equal(decision.proposalId, undefined);
    assert.equal(await reserved(fn.name), 3, 'nothing changed');
    const status = (await ok(as(tenant, ['viewer'], 'GET', '/replication/status?component=svc/api'), 'status')).result as {
      forecast: { plan: { capacity: number }[] } | null;
    };
    assert.ok(status.forecast && status.forecast.plan.length === 6, JSON.stringify(status.forecast));
    await recorded(tenant, decision.decisionId as string, 'no-change');
  });

  it('leaves a proposal waiting for people at the gate: the next evaluation is blocked, proposes nothing, and the status says why', async () => {
    const tenant = freshTenant('repl');
    const fn = target();
    await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: fn.name, ReservedConcurrentExecutions: 2 }));
    // Supervised: every actuation waits for a person.
    await ok(as(tenant, ['admin'], 'PUT', '/governance/autonomy', { level: 1 }), 'autonomy');
    await ok(as(tenant, ['operator'], 'PUT', '/replication/config', lambdaConfig('svc/api')), 'config');
    const evaluate = () =>
      ok(
        as(tenant, ['operator'], 'POST', '/replication/evaluate', { component: 'svc/api', metrics: [{ name: 'cpu', value: 250 }] }),
        'evaluate',
      );
    const first = (await evaluate()).result.decision as Record<string, unknown>;
    assert.equal(first.status, 'pending', JSON.stringify(first));
    assert.equal(first.route, 'human-approval');
    const second = (await evaluate()).result.decision as Record<string, unknown>;
    assert.equal(second.status, 'blocked', JSON.stringify(second));
    assert.equal(second.blockedBy, first.proposalId);
    assert.equal(second.proposalId, undefined, 'no second proposal');
    assert.equal(await reserved(fn.name), 2, 'nothing changed');

    const { waiting } = (await ok(as(tenant, ['viewer'], 'GET', '/replication/status?component=svc/api'), 'status')).result as {
      waiting: Record<string, unknown>;
    };
    assert.equal(waiting.proposalId, first.proposalId);
    assert.equal(waiting.proposalStatus, 'pending');
    assert.equal(waiting.route, 'human-approval');
    assert.equal(waiting.blockedEvaluations, 1);
    assert.match(waiting.message as string, /propose nothing until it is approved or rejected/);
    await recorded(tenant, second.decisionId as string, 'blocked');
  });

  it("sets a SageMaker variant's instance count through the sagemaker-endpoint executor", async () => {
    const tenant = freshTenant('repl');
    const name = `repl-${tenant.slice(-8)}`;
    endpoints.push(name);
    await sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: `${name}-config`,
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'echo', InstanceType: 'ml.m5.large', InitialInstanceCount: 1 }],
      }),
    );
    const { EndpointArn } = await sagemaker.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: `${name}-config` }));
    const describe = () => sagemaker.send(new DescribeEndpointCommand({ EndpointName: name }));
    await eventually('the endpoint in service', async () => ((await describe()).EndpointStatus === 'InService' ? true : undefined), 10_000);
    await ok(
      as(tenant, ['operator'], 'PUT', '/replication/config', {
        component: 'model/echo',
        environment: 'dev',
        max: 8,
        metrics: [{ name: 'rps', kind: 'total', target: 50 }],
        executor: { kind: 'sagemaker-endpoint', resource: EndpointArn, parameters: { variantName: 'AllTraffic' } },
      }),
      'config',
    );
    // 180 rps at 50 a replica on 1 instance: ceil(180 / 50) = 4 (within the scale-up policy's 1 + 4).
    const decision = (
      await ok(
        as(tenant, ['operator'], 'POST', '/replication/evaluate', { component: 'model/echo', metrics: [{ name: 'rps', value: 180 }] }),
        'evaluate',
      )
    ).result.decision as Record<string, unknown>;
    assert.equal(decision.current, 1);
    assert.equal(decision.desired, 4);
    assert.equal(decision.status, 'executed', JSON.stringify(decision));
    const variant = (await describe()).ProductionVariants?.[0];
    assert.equal(variant?.CurrentInstanceCount, 4, 'DescribeEndpoint shows the new count');
    await recorded(tenant, decision.decisionId as string, 'executed');
  });
});
