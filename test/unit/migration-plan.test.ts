/**
 * Migration plans (lib/migration/plan.ts) and their steps carried out (lib/migration/runner.ts):
 * the order (dependencies first; provision → shift → drain → release), the pre- and post-checks,
 * the undo order; then a plan run step by step through the real lambda-alias executor on the local
 * emulated Lambda: traffic shifted and read back, a failed latency post-check rolled back to the
 * alias as it was, a kill switch refusing before anything acts, a lost capacity refused by the pre-check.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateAliasCommand, GetAliasCommand, PublishVersionCommand, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { lambdaAliasExecutor } from '../../lib/adapters/aws/executors.ts';
import { LockedError, ValidationError } from '../../lib/errors.ts';
import type { ExecutorRegistry } from '../../lib/execution/executor.ts';
import { defaultSettings } from '../../lib/governance/settings.ts';
import { bestFitDecreasing } from '../../lib/migration/placement.ts';
import { buildSteps, dependencyOrder, undoOrder } from '../../lib/migration/plan.ts';
import { type RunnerDeps, rollBack, runStep, type StepRecord } from '../../lib/migration/runner.ts';
import { type Pool, type Workload, workloadSchema } from '../../lib/migration/schemas.ts';
import { memoryGovernanceStore, memoryOutbox } from '../helpers/governance-memory.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalAws, startLocalAws } from '../helpers/local-aws.ts';

const pool = (id: string, price: number, zone = 'us-east-1a'): Pool => ({
  id,
  platform: 'lambda',
  instanceType: id,
  region: 'us-east-1',
  zone,
  vcpu: 2,
  memoryGiB: 4,
  accelerators: 0,
  latencyClasses: ['standard', 'batch'],
  pricePerHour: price,
  maxInstances: 4,
});
const POOLS = [pool('lambda/big', 0.24), pool('lambda/small', 0.06, 'us-east-1b')];
const aliasArn = (name: string) => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}:live`;
const workload = (id: string, over: Record<string, unknown> = {}): Workload =>
  workloadSchema.parse({
    id,
    needs: { vcpu: 0.5, memoryGiB: 1 },
    current: 'lambda/big',
    traffic: { kind: 'lambda-alias', resource: aliasArn(id), versions: { 'lambda/big': '1', 'lambda/small': '2' } },
    latencySeries: `${id}.latency`,
    latencyBoundMs: 500,
    ...over,
  });

describe('plans', () => {
  it('moves dependencies first, each workload provision → shift → drain → release, with checks and undo where the step acts', () => {
    const workloads = [workload('api', { dependsOn: ['db'] }), workload('db'), workload('stays', { current: 'lambda/small' })];
    const placement = bestFitDecreasing({ pools: POOLS, workloads });
    assert.equal(placement.slots.api?.pool, 'lambda/small');
    const steps = buildSteps(POOLS, workloads, placement, { canaryWeight: 0.2 });
    assert.deepEqual(
      steps.map((s) => `${s.workload}:${s.kind}`),
      ['db:provision', 'db:shift-traffic', 'db:drain', 'db:release', 'api:provision', 'api:shift-traffic', 'api:drain', 'api:release'],
    );
    assert.deepEqual(steps[1]?.binding?.parameters, { functionVersion: '1', additionalVersionWeights: { '2': 0.2 } });
    assert.deepEqual(steps[2]?.binding?.parameters, { functionVersion: '2', additionalVersionWeights: {} });
    assert.equal(steps[0]?.binding, undefined); // a published version needs no provisioning
    assert.deepEqual(
      steps[4]?.preChecks.map((c) => c.kind),
      ['capacity', 'dependency'],
    );
    assert.deepEqual(
      steps[5]?.postChecks.map((c) => c.kind),
      ['health', 'latency'],
    );
    assert.match(steps[5]?.undo ?? '', /restores the state/);
    // Undo: the steps that acted, last first; checks are skipped.
    assert.deepEqual(undoOrder(steps, [0, 1, 2, 3, 4, 5]), [5, 2, 1]);
  });

  it('plans a SageMaker move as provision the target variant, shift weights, drain, scale the source in', () => {
    const endpoint = `arn:aws:sagemaker:${LOCAL_REGION}:${LOCAL_ACCOUNT}:endpoint/chat`;
    const w = workloadSchema.parse({
      id: 'chat',
      needs: { vcpu: 1, memoryGiB: 2 },
      current: 'a',
      traffic: { kind: 'sagemaker-endpoint', resource: endpoint, variants: { a: 'blue', b: 'green' }, instanceCount: 2 },
    });
    const steps = buildSteps([pool('a', 1), pool('b', 0.5)], [w], { slots: { chat: { pool: 'b', instance: 0 } } });
    assert.deepEqual(
      steps.map((s) => s.binding?.parameters),
      [
        { variants: [{ variantName: 'green', instanceCount: 2 }] },
        {
          variants: [
            { variantName: 'blue', weight: 0.9 },
            { variantName: 'green', weight: 0.1 },
          ],
        },
        {
          variants: [
            { variantName: 'blue', weight: 0 },
            { variantName: 'green', weight: 1 },
          ],
        },
        { variants: [{ variantName: 'blue', instanceCount: 1 }] },
      ],
    );
  });

  it('refuses a move without a traffic binding, naming the workload, and a dependency cycle', () => {
    const bare = workloadSchema.parse({ id: 'x', needs: { vcpu: 1, memoryGiB: 1 }, current: 'lambda/big' });
    assert.throws(
      () => buildSteps(POOLS, [bare], { slots: { x: { pool: 'lambda/small', instance: 0 } } }),
      (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === 'body.parameters.workloads.0.traffic',
    );
    assert.throws(
      () => dependencyOrder([workload('a', { dependsOn: ['b'] }), workload('b', { dependsOn: ['a'] })]),
      /dependency cycle: a → b → a/,
    );
  });
});

describe('running a plan through the lambda-alias executor', () => {
  let aws: LocalAws;
  const latency = new Map<string, number[]>();
  const outbox = memoryOutbox();
  const governance = memoryGovernanceStore(outbox);
  let pools: Pool[] = POOLS;
  let deps: RunnerDeps;

  before(async () => {
    aws = await startLocalAws(['svc-ok', 'svc-slow', 'svc-locked']);
    for (const name of ['svc-ok', 'svc-slow', 'svc-locked']) {
      await aws.lambda.send(new PublishVersionCommand({ FunctionName: name }));
      await aws.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, MemorySize: 512 }));
      await aws.lambda.send(new PublishVersionCommand({ FunctionName: name }));
      await aws.lambda.send(new CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: '1' }));
    }
    deps = {
      executors: { 'lambda-alias': lambdaAliasExecutor(aws.lambda) } as ExecutorRegistry,
      stage: { accountId: LOCAL_ACCOUNT, region: LOCAL_REGION, webhookAllowList: [] },
      governance,
      latency: { newest: async (_tenant, series, count) => (latency.get(series) ?? []).slice(0, count) },
      pools: async () => pools,
      now: () => new Date(),
    };
  });
  after(() => aws.stop());

  const alias = async (name: string) => {
    const output = await aws.lambda.send(new GetAliasCommand({ FunctionName: name, Name: 'live' }));
    return { version: output.FunctionVersion, weights: output.RoutingConfig?.AdditionalVersionWeights ?? {} };
  };
  /** Step i of a plan (the test fails when it is missing). */
  const at = <T>(items: readonly T[], i: number): T => {
    const item = items[i];
    assert.ok(item, `no item ${i}`);
    return item;
  };
  const stepsOf = (name: string) => buildSteps(POOLS, [workload(name)], { slots: { [name]: { pool: 'lambda/small', instance: 0 } } });

  it('shifts the canary, then all traffic, reading each back from the alias', async () => {
    latency.set('svc-ok.latency', [120, 130, 110]);
    const steps = stepsOf('svc-ok');
    const records: StepRecord[] = [];
    for (const step of steps) records.push(await runStep('acme', 'plan-ok', step, deps));
    assert.deepEqual(
      records.map((r) => r.status),
      ['succeeded', 'succeeded', 'succeeded', 'succeeded'],
    );
    assert.deepEqual(records[1]?.observed, { functionVersion: '1', additionalVersionWeights: { '2': 0.1 } });
    assert.deepEqual(await alias('svc-ok'), { version: '2', weights: {} });
  });

  it('rolls back in reverse when the latency post-check fails: the alias is as it was', async () => {
    latency.set('svc-slow.latency', [900, 120, 110]);
    const steps = stepsOf('svc-slow');
    const first = await runStep('acme', 'plan-slow', at(steps, 0), deps);
    const shifted = await runStep('acme', 'plan-slow', at(steps, 1), deps);
    assert.equal(shifted.status, 'failed');
    assert.match(shifted.reasons.join(), /post-check latency: svc-slow.latency at 900 ms, over the 500 ms bound/);
    assert.deepEqual(await alias('svc-slow'), { version: '1', weights: { '2': 0.1 } });
    const undone = await rollBack('acme', 'plan-slow', steps, [first, shifted], deps);
    assert.equal(undone[1]?.undo?.status, 'succeeded');
    assert.equal(undone[0]?.undo, undefined); // a check has nothing to undo
    assert.deepEqual(await alias('svc-slow'), { version: '1', weights: {} });
  });

  it('refuses every step while the kill switch is on, before anything acts', async () => {
    latency.set('svc-locked.latency', [100]);
    governance.settingsOf.set('acme', {
      ...defaultSettings('acme'),
      killSwitch: { enabled: true, reason: 'freeze', by: 'alice', at: new Date().toISOString() },
    });
    await assert.rejects(runStep('acme', 'plan-locked', at(stepsOf('svc-locked'), 1), deps), LockedError);
    assert.deepEqual(await alias('svc-locked'), { version: '1', weights: {} });
    governance.settingsOf.delete('acme');
  });

  it('fails the pre-check when the target pool shrank below what the plan puts there', async () => {
    pools = [pool('lambda/big', 0.24), { ...pool('lambda/small', 0.06), vcpu: 0.25 }];
    const record = await runStep('acme', 'plan-shrunk', at(stepsOf('svc-locked'), 0), deps);
    pools = POOLS;
    assert.equal(record.status, 'failed');
    assert.match(record.reasons[0] ?? '', /pre-check capacity: lambda\/small #0 cannot hold 0.5 vCPU/);
  });
});
