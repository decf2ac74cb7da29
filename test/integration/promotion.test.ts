/**
 * The Promotion engine on the local cloud: POST /promotion/promotions starts a promotion whose
 * state machine (statemachines/promotion.asl.json) shifts a real Lambda alias of the local stack
 * through the Execution engine's alias executor, judges each step on metrics posted to
 * POST /promotion/metrics, and ends promoted, rolled back, or paused for a person and then promoted
 * after a vote through /governance/approvals. Each case is its own tenant and alias; they run
 * concurrently. Checked: the alias read back through the Lambda API, GET /promotion/status (the
 * judge's reports and timings), and every step in the tenant's ledger.
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
import type { Role } from '../../lib/auth/roles.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

const lambda = new LambdaClient({});
const ACCOUNT_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:';
const versions = { primary: '', baseline: '', canary: '' };
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
  const name = testCloud().resources.functions.PromotionStatusLambdaFunction;
  assert.ok(name, 'no PromotionStatusLambdaFunction in the stack');
  functionName = name;
  // Three published versions of one stack function: the primary, a fresh copy of it (the baseline), the canary.
  for (const role of ['primary', 'baseline', 'canary'] as const) {
    await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: `promotion test ${role}` }));
    versions[role] = (await lambda.send(new PublishVersionCommand({ FunctionName: name }))).Version ?? '';
  }
  for (const alias of ['better', 'worse', 'marginal', 'abort']) {
    await lambda.send(new CreateAliasCommand({ FunctionName: name, Name: `promo-${alias}`, FunctionVersion: versions.primary }));
  }
});

after(() => lambda.destroy());

async function as(tenant: string, subject: string, roles: Role[], method: string, path: string, body?: unknown) {
  const token = await tokenFor({ tenant, subject, roles });
  return api(method, path, {
    auth: 'none',
    headers: { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: { parameters: body } }),
  });
}

const readAlias = async (alias: string) => {
  const output = await lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: alias }));
  return { version: output.FunctionVersion, weights: output.RoutingConfig?.AdditionalVersionWeights ?? {} };
};

const metrics = [
  { name: 'latency', direction: 'increase-is-bad', critical: false, weight: 1 },
  { name: 'errors', direction: 'increase-is-bad', critical: false, weight: 4 },
];
const same = (seed: number) => ({ canary: normals(30, 100, 10, seed), baseline: normals(30, 100, 10, seed + 1) });
const worse = (seed: number) => ({ canary: normals(30, 170, 10, seed), baseline: normals(30, 100, 10, seed + 1) });

/** Starts a staging promotion of the canary on alias `promo-<alias>` with samples per step posted up front. */
async function start(tenant: string, alias: string, perStep: Array<Record<string, { canary: number[]; baseline: number[] }>>) {
  // Staging at autonomy level 3: the promotion's proposal passes L3 validation on its own (prod would wait for people).
  const level = await as(tenant, 'root', ['admin'], 'PUT', '/governance/autonomy', { level: 3 });
  assert.equal(level.status, 200, JSON.stringify(level.body));
  const reply = await as(tenant, 'alice', ['operator'], 'POST', '/promotion/promotions', {
    component: `svc-${alias}`,
    version: `1.${versions.canary}.0`,
    stage: 'staging',
    target: {
      kind: 'lambda-alias',
      resource: `${ACCOUNT_ARN}${functionName}:promo-${alias}`,
      canaryVersion: versions.canary,
      baselineVersion: versions.baseline,
    },
    steps: [10, 50, 100],
    bakeSeconds: 1,
    metrics,
  });
  assert.equal(reply.status, 202, JSON.stringify(reply.body));
  const promotionId: string = reply.body.result.promotionId;
  for (const [step, samples] of perStep.entries()) {
    const posted = await as(tenant, 'collector', ['operator'], 'POST', '/promotion/metrics', { promotionId, step, metrics: samples });
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
  }
  return promotionId;
}

const status = async (tenant: string, promotionId: string) =>
  (await as(tenant, 'viewer', ['viewer'], 'GET', `/promotion/status?promotionId=${promotionId}`)).body.result.promotions[0];

const settled = (tenant: string, promotionId: string, states: string[]) =>
  eventually(
    `promotion ${promotionId} to reach ${states.join(' or ')}`,
    async () => {
      const promotion = await status(tenant, promotionId);
      return states.includes(promotion?.status) ? promotion : undefined;
    },
    60_000,
    250,
  );

describe('promotion engine on the local cloud', () => {
  it('promotes a better canary to 100%: the alias really serves the canary version, every shift and judgement in the ledger', async () => {
    const tenant = freshTenant('promo');
    const better = (seed: number) => ({
      latency: { canary: normals(30, 80, 10, seed), baseline: normals(30, 100, 10, seed + 1) },
      errors: same(seed + 2),
    });
    const promotionId = await start(tenant, 'better', [better(1), better(11)]);
    const done = await settled(tenant, promotionId, ['promoted', 'rolled-back', 'failed', 'refused']);
    assert.equal(done.status, 'promoted', done.outcomeReason);
    assert.deepEqual(await readAlias('promo-better'), { version: versions.canary, weights: {} });
    assert.deepEqual(
      done.reports.map((report: { weight: number; decision: string }) => [report.weight, report.decision]),
      [
        [10, 'pass'],
        [50, 'pass'],
      ],
    );
    const latency = done.reports[0].metrics[0];
    assert.equal(latency.classification, 'low');
    assert.ok(latency.p < 0.05 && latency.shift.upper < 0 && latency.canary.n === 30);
    assert.ok(done.timing.bakeMs >= 2000 && done.timing.deploymentMs > 0, JSON.stringify(done.timing));
    const recorded = await eventually('the promotion in the ledger', async () => {
      const events = await ledgerEvents(tenant, 'promotion');
      return events.some((event) => event.detailType === 'promotion.canary.ended') ? events : undefined;
    });
    const shifts = recorded
      .filter((event) => event.detailType === 'promotion.traffic.shifted')
      .map((event) => (event.detail as { weights: { canary: number } }).weights.canary);
    assert.deepEqual(shifts, [10, 50, 100]);
    assert.ok(
      recorded
        .filter((event) => event.detailType === 'promotion.traffic.shifted')
        .every((event) => (event.detail as { verified: boolean }).verified),
    );
    assert.equal(recorded.filter((event) => event.detailType === 'promotion.canary.judged').length, 2);
  });

  it('rolls a worse canary back on its own after the first step', async () => {
    const tenant = freshTenant('promo');
    const promotionId = await start(tenant, 'worse', [{ latency: worse(21), errors: worse(23) }]);
    const done = await settled(tenant, promotionId, ['promoted', 'rolled-back', 'failed', 'refused']);
    assert.equal(done.status, 'rolled-back', done.outcomeReason);
    assert.deepEqual(await readAlias('promo-worse'), { version: versions.primary, weights: {} });
    assert.equal(done.reports.length, 1);
    assert.equal(done.reports[0].decision, 'fail');
    assert.deepEqual(done.weights, { canary: 0, baseline: 0, primary: 100 });
  });

  it('pauses a marginal canary for a person, and goes on to 100% once approved', async () => {
    const tenant = freshTenant('promo');
    // latency (weight 1) worse, errors (weight 4) the same: score 80, marginal.
    const promotionId = await start(tenant, 'marginal', [
      { latency: worse(31), errors: same(33) },
      { latency: same(41), errors: same(43) },
    ]);
    const paused = await settled(tenant, promotionId, ['paused', 'promoted', 'rolled-back', 'failed']);
    assert.equal(paused.status, 'paused', paused.outcomeReason);
    assert.equal(paused.reports[0].score, 80);
    assert.deepEqual(await readAlias('promo-marginal'), { version: versions.baseline, weights: { [versions.canary]: 0.1 } });
    const approvalId = `approval-${paused.pauseProposalId}`;
    await eventually(`approval ${approvalId} to open`, async () => {
      const listed = await as(tenant, 'viewer', ['viewer'], 'GET', '/governance/approvals');
      return listed.body.result.approvals.some((entry: { approvalId: string }) => entry.approvalId === approvalId) ? true : undefined;
    });
    const vote = await as(tenant, 'bob', ['approver'], 'POST', '/governance/approvals', {
      approvalId,
      decision: 'approve',
      reason: 'latency within what users notice',
    });
    assert.equal(vote.status, 200, JSON.stringify(vote.body));
    const done = await settled(tenant, promotionId, ['promoted', 'rolled-back', 'failed', 'refused']);
    assert.equal(done.status, 'promoted', done.outcomeReason);
    assert.deepEqual(await readAlias('promo-marginal'), { version: versions.canary, weights: {} });
    assert.ok(done.timing.peopleMs > 0 && done.timing.deploymentMs >= 0, JSON.stringify(done.timing));
  });

  it('withdraws the approval a prod promotion waits for when its proposer aborts it', async () => {
    const tenant = freshTenant('promo');
    const level = await as(tenant, 'root', ['admin'], 'PUT', '/governance/autonomy', { level: 3 });
    assert.equal(level.status, 200, JSON.stringify(level.body));
    const reply = await as(tenant, 'alice', ['operator'], 'POST', '/promotion/promotions', {
      component: 'svc-abort',
      version: `1.${versions.canary}.0`,
      stage: 'prod',
      target: { kind: 'lambda-alias', resource: `${ACCOUNT_ARN}${functionName}:promo-abort`, canaryVersion: versions.canary },
      metrics,
    });
    assert.equal(reply.status, 202, JSON.stringify(reply.body));
    const { promotionId, proposalId } = reply.body.result;
    const approvalId = `approval-${proposalId}`;
    const open = async () =>
      (await as(tenant, 'viewer', ['viewer'], 'GET', '/governance/approvals')).body.result.approvals.some(
        (entry: { approvalId: string }) => entry.approvalId === approvalId,
      );
    await eventually(`approval ${approvalId} to open`, async () => ((await open()) ? true : undefined));
    const aborted = await as(
      tenant,
      'alice',
      ['operator'],
      'DELETE',
      `/promotion/promotions?promotionId=${promotionId}&reason=not%20this%20week`,
    );
    assert.equal(aborted.status, 200, JSON.stringify(aborted.body));
    assert.equal(aborted.body.result.status, 'rolled-back');
    assert.match(aborted.body.result.outcomeReason, /withdrawn/);
    assert.equal(await open(), false, 'the approval is no longer open');
    assert.deepEqual(await readAlias('promo-abort'), { version: versions.primary, weights: {} });
  });
});
