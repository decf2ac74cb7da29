/**
 * The Promotion engine (lib/promotion/engine.ts, plan.ts) with the real executors against the local
 * cloud's Lambda and SageMaker control planes (real alias and variant state), in-memory governance
 * and promotion stores, and a clock the test moves: each promotion is driven through `advance` the
 * way statemachines/promotion.asl.json drives it (advance, wait `waitSeconds`, advance …).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CreateAliasCommand, GetAliasCommand, PublishVersionCommand, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { CreateEndpointCommand, CreateEndpointConfigCommand, DescribeEndpointCommand } from '@aws-sdk/client-sagemaker';
import { lambdaAliasExecutor, sageMakerEndpointExecutor } from '../../lib/adapters/aws/executors.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors.ts';
import type { BusEvent } from '../../lib/events/publisher.ts';
import type { ExecutorRegistry } from '../../lib/execution/executor.ts';
import { isWithdrawn, type Proposer, transition, type WithdrawDeps } from '../../lib/governance/proposals.ts';
import { abortPromotion, advance, postMetrics, promotionStatus, startPromotion } from '../../lib/promotion/engine.ts';
import type { MetricSamples } from '../../lib/promotion/judge.ts';
import { rollBackChange, shiftChange, stepWeights } from '../../lib/promotion/plan.ts';
import type { PostedSamples, PromotionDeps, PromotionStore } from '../../lib/promotion/ports.ts';
import { MAX_SAMPLES_PER_SIDE, type Promotion, type PromotionInputRaw, promotionInputSchema } from '../../lib/promotion/schemas.ts';
import {
  fixedPolicy,
  type MemoryOutbox,
  memoryApprovalStore,
  memoryGovernanceStore,
  memoryOutbox,
  recordingGate,
  recordingWorkflow,
  staticGraph,
} from '../helpers/governance-memory.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalAws, startLocalAws } from '../helpers/local-aws.ts';

let aws: LocalAws;

before(async () => {
  aws = await startLocalAws(['chat', 'search']);
  for (const version of ['one', 'two', 'three', 'four']) {
    await aws.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'chat', Description: version }));
    await aws.lambda.send(new PublishVersionCommand({ FunctionName: 'chat' }));
  }
  await aws.lambda.send(new CreateAliasCommand({ FunctionName: 'chat', Name: 'live', FunctionVersion: '1' }));
});

after(async () => {
  await aws.stop();
});

/** Deterministic normal samples. */
function normals(n: number, mean: number, sd: number, seed: number): number[] {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 1) / 4294967297;
  };
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next()));
}

function memoryPromotions(outbox: MemoryOutbox): PromotionStore & { events: BusEvent[] } {
  const items = new Map<string, Promotion>();
  const events: BusEvent[] = [];
  return {
    events,
    async get(tenant, id) {
      const item = items.get(`${tenant}/${id}`);
      return item && structuredClone(item);
    },
    async put(next, expected, written) {
      const key = `${next.tenant}/${next.promotionId}`;
      if (items.get(key)?.version !== expected) throw new ConflictError('moved on');
      items.set(key, structuredClone(next));
      events.push(...written);
      return outbox.save(next.tenant, written);
    },
    async list(tenant, limit) {
      return [...items.values()]
        .filter((p) => p.tenant === tenant)
        .reverse()
        .slice(0, limit);
    },
  };
}

function memoryPosted(): PostedSamples {
  const items = new Map<string, Record<string, MetricSamples>>();
  return {
    async add(tenant, id, step, metrics) {
      const key = `${tenant}/${id}/${step}`;
      const current = items.get(key) ?? {};
      for (const [name, samples] of Object.entries(metrics)) {
        const was = current[name] ?? { canary: [], baseline: [] };
        current[name] = {
          canary: [...was.canary, ...samples.canary].slice(-MAX_SAMPLES_PER_SIDE),
          baseline: [...was.baseline, ...samples.baseline].slice(-MAX_SAMPLES_PER_SIDE),
        };
      }
      items.set(key, current);
    },
    async read(tenant, id, step) {
      return structuredClone(items.get(`${tenant}/${id}/${step}`) ?? {});
    },
  };
}

function world() {
  const outbox = memoryOutbox();
  const governance = memoryGovernanceStore(outbox);
  const promotions = memoryPromotions(outbox);
  let clock = Date.parse('2026-12-01T10:00:00.000Z');
  const started: string[] = [];
  const tenant = `t-${randomUUID().slice(0, 8)}`;
  const deps: PromotionDeps = {
    promotions,
    posted: memoryPosted(),
    series: { values: async () => [] },
    governance: {
      store: governance,
      policy: fixedPolicy({ decision: 'allow', policies: ['base/engines-actuate'], errors: [], version: 0, breakGlass: false }),
      components: staticGraph(),
      gate: recordingGate(),
      outbox,
      get now() {
        return new Date(clock);
      },
      newId: randomUUID,
    },
    outbox,
    executors: {
      'lambda-alias': lambdaAliasExecutor(aws.lambda),
      'sagemaker-endpoint': sageMakerEndpointExecutor(aws.sagemaker, { pollMs: 10 }),
    } as ExecutorRegistry,
    stage: { accountId: LOCAL_ACCOUNT, region: LOCAL_REGION, webhookAllowList: [] },
    starter: {
      start: async (name) => {
        started.push(name);
        return `arn:${name}`;
      },
    },
    now: () => new Date(clock),
    newId: randomUUID,
    approvalPollSeconds: 2,
  };
  const proposer: Proposer = { kind: 'user', id: 'alice', tenant, roles: ['operator'] };
  /** Advances until the promotion ends or waits for people; the clock moves by each wait. */
  const drive = async (promotionId: string, beforeJudge?: (step: number) => Promise<void>) => {
    for (let i = 0; i < 40; i++) {
      const current = await promotions.get(tenant, promotionId);
      if (current?.next === 'judge' && beforeJudge) await beforeJudge(current.step);
      const result = await advance({ tenant, promotionId }, deps);
      if (result.next === 'end') return result;
      if (result.next === 'approval' && result.waitSeconds > 0) {
        const after = await promotions.get(tenant, promotionId);
        const proposalId = after?.pauseProposalId ?? after?.proposalId;
        const proposal = proposalId ? await governance.proposal(tenant, proposalId) : undefined;
        if (proposal?.status === 'pending') return result;
      }
      clock += result.waitSeconds * 1000;
    }
    throw new Error('the promotion did not settle in 40 steps');
  };
  const approve = async (proposalId: string, to: 'approved' | 'rejected' = 'approved') => {
    clock += 60_000;
    await transition(
      tenant,
      proposalId,
      to,
      { reasons: [`a person said ${to}`], actor: 'bob', from: ['pending'] },
      { ...deps.governance, now: new Date(clock) },
    );
  };
  const withdrawal: WithdrawDeps = {
    store: governance,
    outbox,
    approvals: memoryApprovalStore(outbox),
    approvalOutbox: outbox,
    workflow: recordingWorkflow(),
    now: new Date(clock),
  };
  const aborting = { ...deps, withdrawal };
  return { deps, aborting, governance, promotions, outbox, tenant, proposer, drive, approve, started, tick: (ms: number) => (clock += ms) };
}

const alice = { id: 'alice', roles: ['operator'] };
const aliasArn = `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:chat:live`;
const readAlias = async () => {
  const alias = await aws.lambda.send(new GetAliasCommand({ FunctionName: 'chat', Name: 'live' }));
  return { version: alias.FunctionVersion, weights: alias.RoutingConfig?.AdditionalVersionWeights ?? {} };
};
const resetAlias = async () => {
  const { UpdateAliasCommand } = await import('@aws-sdk/client-lambda');
  await aws.lambda.send(
    new UpdateAliasCommand({ FunctionName: 'chat', Name: 'live', FunctionVersion: '1', RoutingConfig: { AdditionalVersionWeights: {} } }),
  );
};

const aliasRequest = (overrides: Partial<PromotionInputRaw> = {}) =>
  promotionInputSchema.parse({
    component: 'chat',
    version: '2',
    stage: 'staging',
    target: { kind: 'lambda-alias', resource: aliasArn, canaryVersion: '3', baselineVersion: '2' },
    steps: [10, 50, 100],
    bakeSeconds: 30,
    metrics: [
      { name: 'latency', direction: 'increase-is-bad', critical: true, weight: 1 },
      { name: 'errors', direction: 'increase-is-bad', weight: 4 },
    ],
    ...overrides,
  });

const good = (seed: number) => ({
  latency: { canary: normals(40, 100, 10, seed), baseline: normals(40, 100, 10, seed + 1) },
  errors: { canary: normals(40, 1, 0.2, seed + 2), baseline: normals(40, 1, 0.2, seed + 3) },
});

async function approveStart(w: ReturnType<typeof world>, promotion: Promotion) {
  const proposal = await w.governance.proposal(w.tenant, promotion.proposalId ?? '');
  if (proposal?.status === 'pending') await w.approve(proposal.proposalId);
}

describe('promotion plan', () => {
  it('gives the fresh baseline the canary’s share on an endpoint and the rest to the primary', () => {
    assert.deepEqual(stepWeights(5, 'sagemaker-endpoint'), { canary: 5, baseline: 5, primary: 90 });
    assert.deepEqual(stepWeights(50, 'sagemaker-endpoint'), { canary: 50, baseline: 50, primary: 0 });
    assert.deepEqual(stepWeights(75, 'sagemaker-endpoint'), { canary: 75, baseline: 25, primary: 0 });
    assert.deepEqual(stepWeights(100, 'sagemaker-endpoint'), { canary: 100, baseline: 0, primary: 0 });
  });

  it('routes an alias to the fresh baseline version and the canary, and promotes by making the canary the alias version', () => {
    const target = { kind: 'lambda-alias' as const, resource: aliasArn, canaryVersion: '3', baselineVersion: '2' };
    assert.deepEqual(shiftChange(target, 5, { functionVersion: '1' }).parameters, {
      functionVersion: '2',
      additionalVersionWeights: { '3': 0.05 },
      weight: 5,
    });
    assert.deepEqual(shiftChange(target, 100, { functionVersion: '1' }).parameters, {
      functionVersion: '3',
      additionalVersionWeights: {},
      weight: 100,
    });
    assert.deepEqual(rollBackChange(target, { functionVersion: '1', additionalVersionWeights: {} }).parameters, {
      functionVersion: '1',
      additionalVersionWeights: {},
    });
    const { baselineVersion: _b, ...noBaseline } = target;
    assert.deepEqual(shiftChange(noBaseline, 25, { functionVersion: '1' }).weights, { canary: 25, baseline: 0, primary: 75 });
  });
});

describe('promotion engine', () => {
  it('promotes a better canary step by step to 100% on the alias, with each shift and judgement in the ledger', async () => {
    await resetAlias();
    const w = world();
    const { promotion } = await startPromotion(w.tenant, aliasRequest(), w.proposer, w.deps);
    assert.equal(w.started.length, 1);
    const stored = await w.promotions.get(w.tenant, promotion.promotionId);
    assert.ok(stored);
    await approveStart(w, stored);
    const better = (seed: number) => ({
      ...good(seed),
      latency: { canary: normals(40, 80, 10, seed), baseline: normals(40, 100, 10, seed + 1) },
    });
    const seen: Array<{ version?: string; weights: Record<string, number> }> = [];
    const result = await w.drive(promotion.promotionId, async (step) => {
      seen.push(await readAlias());
      await postMetrics(w.tenant, { promotionId: promotion.promotionId, step, metrics: better(step * 10 + 1) }, w.deps);
    });
    assert.equal(result.status, 'promoted');
    assert.deepEqual(seen, [
      { version: '2', weights: { '3': 0.1 } },
      { version: '2', weights: { '3': 0.5 } },
    ]);
    assert.deepEqual(await readAlias(), { version: '3', weights: {} });
    const done = (await promotionStatus(w.tenant, { promotionId: promotion.promotionId, limit: 20 }, w.deps)).promotions[0];
    assert.equal(done?.reports.length, 2);
    assert.ok(done?.reports.every((report) => report.decision === 'pass'));
    assert.equal(done?.reports[0]?.metrics[0]?.classification, 'low');
    assert.equal(done?.timing.bakeMs, 60_000);
    assert.equal(done?.timing.peopleMs, 0);
    const types = w.promotions.events.map((event) => event.detailType);
    assert.deepEqual(types, [
      'promotion.canary.started',
      'promotion.traffic.shifted',
      'promotion.canary.judged',
      'promotion.traffic.shifted',
      'promotion.canary.judged',
      'promotion.traffic.shifted',
      'promotion.canary.ended',
    ]);
    assert.equal((await w.governance.proposal(w.tenant, stored.proposalId ?? ''))?.status, 'executed');
  });

  it('rolls a worse canary back on its own at the first step', async () => {
    await resetAlias();
    const w = world();
    const { promotion } = await startPromotion(w.tenant, aliasRequest(), w.proposer, w.deps);
    await approveStart(w, (await w.promotions.get(w.tenant, promotion.promotionId)) as Promotion);
    const result = await w.drive(promotion.promotionId, async (step) => {
      await postMetrics(
        w.tenant,
        {
          promotionId: promotion.promotionId,
          step,
          metrics: { ...good(7), latency: { canary: normals(40, 160, 10, 8), baseline: normals(40, 100, 10, 9) } },
        },
        w.deps,
      );
    });
    assert.equal(result.status, 'rolled-back');
    assert.deepEqual(await readAlias(), { version: '1', weights: {} });
    const done = await w.promotions.get(w.tenant, promotion.promotionId);
    assert.equal(done?.reports.length, 1);
    assert.deepEqual(done?.reports[0]?.criticalFailures, ['latency']);
    assert.deepEqual(done?.weights, { canary: 0, baseline: 0, primary: 100 });
    const ended = w.promotions.events.find((event) => event.detailType === 'promotion.canary.ended');
    assert.equal(ended?.detail.outcome, 'rolled-back');
  });

  it('holds a step whose samples arrive late, judging it once they are in (within dataWaitSeconds)', async () => {
    await resetAlias();
    const w = world();
    const { promotion } = await startPromotion(w.tenant, aliasRequest({ steps: [50, 100], dataWaitSeconds: 90 }), w.proposer, w.deps);
    await approveStart(w, (await w.promotions.get(w.tenant, promotion.promotionId)) as Promotion);
    let looks = 0;
    const result = await w.drive(promotion.promotionId, async (step) => {
      looks += 1;
      // The first look after the bake finds nothing; the samples land before the second.
      if (looks === 2) await postMetrics(w.tenant, { promotionId: promotion.promotionId, step, metrics: good(41) }, w.deps);
    });
    assert.equal(result.status, 'promoted');
    assert.equal(looks, 2);
    const done = await w.promotions.get(w.tenant, promotion.promotionId);
    assert.equal(done?.reports.length, 1, 'the wait for data is not a judgement');
    assert.equal(done?.reports[0]?.decision, 'pass');
  });

  it('judges a step on what it has once dataWaitSeconds is over: a critical metric without data rolls the canary back', async () => {
    await resetAlias();
    const w = world();
    const { promotion } = await startPromotion(w.tenant, aliasRequest({ steps: [50, 100], dataWaitSeconds: 60 }), w.proposer, w.deps);
    await approveStart(w, (await w.promotions.get(w.tenant, promotion.promotionId)) as Promotion);
    let looks = 0;
    const result = await w.drive(promotion.promotionId, async () => {
      looks += 1;
    });
    assert.equal(result.status, 'rolled-back');
    // Bake 30 s, then looks every 30 s until 60 s past it: at 30, 60 and 90 s.
    assert.equal(looks, 3);
    const done = await w.promotions.get(w.tenant, promotion.promotionId);
    assert.deepEqual(done?.reports[0]?.criticalFailures, ['latency']);
    assert.deepEqual(await readAlias(), { version: '1', weights: {} });
  });

  it('pauses a marginal canary for a person, then goes on when approved and rolls back when rejected', async () => {
    for (const answer of ['approved', 'rejected'] as const) {
      await resetAlias();
      const w = world();
      const { promotion } = await startPromotion(w.tenant, aliasRequest(), w.proposer, w.deps);
      await approveStart(w, (await w.promotions.get(w.tenant, promotion.promotionId)) as Promotion);
      // errors (weight 4) pass, latency (weight 1, not critical here) fails: score 80, marginal.
      const marginal = { ...good(3), latency: { canary: normals(40, 160, 10, 4), baseline: normals(40, 100, 10, 5) } };
      const metrics = [
        { name: 'latency', direction: 'increase-is-bad' as const, critical: false, weight: 1, allowedEffect: 1 },
        { name: 'errors', direction: 'increase-is-bad' as const, critical: false, weight: 4, allowedEffect: 1 },
      ];
      await w.deps.promotions.put(
        { ...((await w.promotions.get(w.tenant, promotion.promotionId)) as Promotion), metrics, version: 1 },
        0,
        [],
      );
      const paused = await w.drive(promotion.promotionId, async (step) => {
        await postMetrics(w.tenant, { promotionId: promotion.promotionId, step, metrics: step === 0 ? marginal : good(step + 20) }, w.deps);
      });
      assert.equal(paused.status, 'paused');
      const waiting = await w.promotions.get(w.tenant, promotion.promotionId);
      assert.equal(waiting?.reports[0]?.decision, 'marginal');
      assert.equal(waiting?.reports[0]?.score, 80);
      const pause = await w.governance.proposal(w.tenant, waiting?.pauseProposalId ?? '');
      assert.equal(pause?.route, 'human-approval');
      assert.deepEqual(await readAlias(), { version: '2', weights: { '3': 0.1 } });
      await w.approve(pause?.proposalId ?? '', answer);
      const result = await w.drive(promotion.promotionId, async (step) => {
        await postMetrics(w.tenant, { promotionId: promotion.promotionId, step, metrics: good(step + 30) }, w.deps);
      });
      const done = await w.promotions.get(w.tenant, promotion.promotionId);
      if (answer === 'approved') {
        assert.equal(result.status, 'promoted');
        assert.deepEqual(await readAlias(), { version: '3', weights: {} });
        assert.equal(done?.timing.peopleMs, 60_000);
      } else {
        assert.equal(result.status, 'rolled-back');
        assert.deepEqual(await readAlias(), { version: '1', weights: {} });
      }
      assert.ok((done?.timing.deploymentMs ?? -1) >= 0);
    }
  });

  it('needs people for prod: the promotion waits at the gate until the proposal is approved', async () => {
    await resetAlias();
    const w = world();
    const { promotion } = await startPromotion(w.tenant, aliasRequest({ stage: 'prod' }), w.proposer, w.deps);
    assert.equal(promotion.status, 'awaiting-approval');
    assert.equal(promotion.route, 'human-approval');
    const waiting = await w.drive(promotion.promotionId);
    assert.equal(waiting.next, 'approval');
    assert.deepEqual(await readAlias(), { version: '1', weights: {} });
    await w.approve(promotion.proposalId ?? '', 'rejected');
    const result = await w.drive(promotion.promotionId);
    assert.equal(result.status, 'refused');
    assert.deepEqual(await readAlias(), { version: '1', weights: {} });
  });

  it('withdraws the proposal an aborted promotion waits on: the pause always, its own only for its proposer or an admin', async () => {
    await resetAlias();
    const w = world();
    const { promotion } = await startPromotion(w.tenant, aliasRequest({ stage: 'prod' }), w.proposer, w.deps);
    assert.equal(promotion.status, 'awaiting-approval');
    const bob = { id: 'bob', roles: ['operator'] };
    const kept = await abortPromotion(w.tenant, { promotionId: promotion.promotionId, reason: 'not now' }, bob, w.aborting);
    assert.equal(kept.status, 'rolled-back');
    assert.match(kept.outcomeReason, /stays pending \(only its proposer alice or an admin/);
    assert.equal((await w.governance.proposal(w.tenant, promotion.proposalId ?? ''))?.status, 'pending');

    const again = await startPromotion(w.tenant, aliasRequest({ stage: 'prod' }), w.proposer, w.deps);
    const mine = await abortPromotion(w.tenant, { promotionId: again.promotion.promotionId, reason: 'not now' }, alice, w.aborting);
    assert.match(mine.outcomeReason, /withdrawn/);
    const withdrawn = await w.governance.proposal(w.tenant, again.promotion.proposalId ?? '');
    assert.equal(withdrawn?.status, 'refused');
    assert.ok(isWithdrawn(withdrawn));

    // A marginal step's pause is the engine's own: withdrawn whoever aborts.
    const paused = await startPromotion(w.tenant, aliasRequest(), w.proposer, w.deps);
    await approveStart(w, (await w.promotions.get(w.tenant, paused.promotion.promotionId)) as Promotion);
    const marginal = { ...good(3), latency: { canary: normals(40, 160, 10, 4), baseline: normals(40, 100, 10, 5) } };
    const stored = (await w.promotions.get(w.tenant, paused.promotion.promotionId)) as Promotion;
    await w.deps.promotions.put(
      { ...stored, metrics: stored.metrics.map((m) => ({ ...m, critical: false })), version: stored.version + 1 },
      stored.version,
      [],
    );
    await w.drive(paused.promotion.promotionId, async (step) => {
      await postMetrics(w.tenant, { promotionId: paused.promotion.promotionId, step, metrics: marginal }, w.deps);
    });
    const waiting = (await w.promotions.get(w.tenant, paused.promotion.promotionId)) as Promotion;
    assert.equal(waiting.status, 'paused');
    await abortPromotion(w.tenant, { promotionId: waiting.promotionId, reason: 'enough' }, bob, w.aborting);
    assert.ok(isWithdrawn(await w.governance.proposal(w.tenant, waiting.pauseProposalId ?? '')));
  });

  it('shifts three SageMaker variants: canary and fresh baseline at the same weight, then rolls back on abort', async () => {
    await aws.sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'rank-config',
        ProductionVariants: ['primary', 'baseline', 'canary'].map((name) => ({
          VariantName: name,
          ModelName: 'echo',
          InstanceType: 'ml.m5.large',
          InitialInstanceCount: 1,
          InitialVariantWeight: name === 'primary' ? 100 : 0,
        })),
      }),
    );
    await aws.sagemaker.send(new CreateEndpointCommand({ EndpointName: 'rank', EndpointConfigName: 'rank-config' }));
    for (let i = 0; i < 100; i++) {
      if ((await aws.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'rank' }))).EndpointStatus === 'InService') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const w = world();
    const target = {
      kind: 'sagemaker-endpoint',
      resource: `arn:aws:sagemaker:${LOCAL_REGION}:${LOCAL_ACCOUNT}:endpoint/rank`,
      primaryVariant: 'primary',
      baselineVariant: 'baseline',
      canaryVariant: 'canary',
    } as const;
    const { promotion } = await startPromotion(w.tenant, aliasRequest({ component: 'rank', target, steps: [25, 100] }), w.proposer, w.deps);
    await approveStart(w, (await w.promotions.get(w.tenant, promotion.promotionId)) as Promotion);
    // Approval (if any), then the first shift: the machine now bakes step 0.
    for (let i = 0; i < 3 && (await w.promotions.get(w.tenant, promotion.promotionId))?.next !== 'judge'; i++) {
      await advance({ tenant: w.tenant, promotionId: promotion.promotionId }, w.deps);
    }
    const weights = async () =>
      Object.fromEntries(
        ((await aws.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'rank' }))).ProductionVariants ?? []).map((v) => [
          v.VariantName,
          v.CurrentWeight,
        ]),
      );
    assert.deepEqual(await weights(), { primary: 50, baseline: 25, canary: 25 });
    const aborted = await abortPromotion(w.tenant, { promotionId: promotion.promotionId, reason: 'changed our minds' }, alice, w.aborting);
    assert.equal(aborted.status, 'rolled-back');
    assert.deepEqual(await weights(), { primary: 100, baseline: 0, canary: 0 });
    const next = await advance({ tenant: w.tenant, promotionId: promotion.promotionId }, w.deps);
    assert.equal(next.next, 'end');
    await assert.rejects(
      abortPromotion(w.tenant, { promotionId: promotion.promotionId, reason: 'again' }, alice, w.aborting),
      ConflictError,
    );
  });

  it('stops where it stands when a kill switch is on, changing nothing', async () => {
    await resetAlias();
    const w = world();
    const { promotion } = await startPromotion(w.tenant, aliasRequest(), w.proposer, w.deps);
    await approveStart(w, (await w.promotions.get(w.tenant, promotion.promotionId)) as Promotion);
    const settings = await w.governance.settings(w.tenant);
    await w.governance.putSettings(
      {
        ...settings,
        killSwitch: { enabled: true, by: 'ops', reason: 'incident', at: '2026-12-01T10:00:00.000Z' },
        version: settings.version + 1,
      },
      settings.version,
      [],
    );
    const result = await w.drive(promotion.promotionId);
    assert.equal(result.status, 'failed');
    assert.match((await w.promotions.get(w.tenant, promotion.promotionId))?.outcomeReason ?? '', /kill switch/);
    assert.deepEqual(await readAlias(), { version: '1', weights: {} });
  });

  it('refuses metrics of another tenant’s promotion, unknown metrics and steps', async () => {
    await resetAlias();
    const w = world();
    const { promotion } = await startPromotion(w.tenant, aliasRequest(), w.proposer, w.deps);
    const metrics = { latency: { canary: [1], baseline: [1] } };
    await assert.rejects(postMetrics('other-tenant', { promotionId: promotion.promotionId, step: 0, metrics }, w.deps), NotFoundError);
    await assert.rejects(postMetrics(w.tenant, { promotionId: promotion.promotionId, step: 5, metrics }, w.deps), ValidationError);
    await assert.rejects(
      postMetrics(w.tenant, { promotionId: promotion.promotionId, step: 0, metrics: { cpu: { canary: [1], baseline: [1] } } }, w.deps),
      ValidationError,
    );
    await assert.rejects(promotionStatus('other-tenant', { promotionId: promotion.promotionId, limit: 20 }, w.deps), NotFoundError);
  });

  it('refuses a version the Versioning engine does not let through (a breaking one without approval), and writes nothing', async () => {
    await resetAlias();
    const w = world();
    const asked: string[] = [];
    w.deps.versions = {
      async check(_tenant, artifact) {
        asked.push(`${artifact.name}@${artifact.version}`);
        if (artifact.version === '9.9.9') return undefined;
        return artifact.version === '2.0.0'
          ? { promotable: false, breaking: true, detail: 'breaking version waits for approval (proposal p-9)' }
          : { promotable: true, breaking: false, detail: 'may be promoted' };
      },
    };
    const blocked = startPromotion(
      w.tenant,
      aliasRequest({ artifact: { name: 'tools/chat.input', version: '2.0.0' } }),
      w.proposer,
      w.deps,
    );
    await assert.rejects(
      blocked,
      (error: Error) => error instanceof ConflictError && /breaking version waits for approval/.test(error.message),
    );
    await assert.rejects(
      startPromotion(w.tenant, aliasRequest({ artifact: { name: 'tools/chat.input', version: '9.9.9' } }), w.proposer, w.deps),
      ValidationError,
    );
    assert.equal(w.promotions.events.length, 0);
    const { promotion } = await startPromotion(
      w.tenant,
      aliasRequest({ artifact: { name: 'tools/chat.input', version: '1.1.0' } }),
      w.proposer,
      w.deps,
    );
    assert.deepEqual(promotion.versionCheck, { breaking: false, detail: 'may be promoted' });
    assert.deepEqual(asked, ['tools/chat.input@2.0.0', 'tools/chat.input@9.9.9', 'tools/chat.input@1.1.0']);
  });

  it('refuses a canary version that already serves the alias, and writes nothing', async () => {
    await resetAlias();
    const w = world();
    const input = aliasRequest({ target: { kind: 'lambda-alias', resource: aliasArn, canaryVersion: '1' } });
    await assert.rejects(startPromotion(w.tenant, input, w.proposer, w.deps), ValidationError);
    assert.equal(w.promotions.events.length, 0);
    assert.equal(
      (await w.governance.proposals(w.tenant, 'pending', 10)).length + (await w.governance.proposals(w.tenant, 'approved', 10)).length,
      0,
    );
  });
});
