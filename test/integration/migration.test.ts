/**
 * Loop 4 on the local cloud: the Migration engine's routes and its state machine
 * (statemachines/migration.asl.json) with the real lambda-alias executor on a stack function's alias
 * (two published versions stand for two Lambda pools), the latency post-check on an Observation
 * series ingested over HTTP, governance's L3 validation as the gate, and every step in the ledger.
 *
 * Paths: a plan executed (traffic shifted, read back from the alias); a failed post-check rolled back
 * (the alias as it was); the kill switch on refusing before anything acts; the kill switch turned on
 * between steps (rolled back under the kill switch); a run cancelled while it waits at the approval gate
 * (nothing acts, its proposal withdrawn); a bad request writing nothing. Each path is its own tenant and
 * alias, run concurrently.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateAliasCommand,
  GetAliasCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant, testCloud } from '../helpers/local-cloud.ts';

const lambda = new LambdaClient({});
const sfn = new SFNClient({});
const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const ACCOUNT_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:';
/** A stack function only read by these tests' aliases (its $LATEST, which everything else invokes, is untouched). */
const FUNCTION = 'PlatformHeartbeatLambdaFunction';
let name = '';
const versions = { big: '', small: '' };

const pool = (id: string, price: number, zone: string) => ({
  id,
  platform: 'lambda',
  instanceType: id.split('/')[1],
  region: 'us-east-1',
  zone,
  vcpu: 2,
  memoryGiB: 4,
  latencyClasses: ['standard', 'batch'],
  pricePerHour: price,
  maxInstances: 4,
});
const POOLS = [pool('lambda/big', 0.24, 'us-east-1a'), pool('lambda/small', 0.06, 'us-east-1b')];

before(async () => {
  name = testCloud().resources.functions[FUNCTION] ?? '';
  assert.ok(name, `no ${FUNCTION} in the stack`);
  versions.big = (await lambda.send(new PublishVersionCommand({ FunctionName: name }))).Version ?? '';
  await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: `migration test ${randomUUID()}` }));
  versions.small = (await lambda.send(new PublishVersionCommand({ FunctionName: name }))).Version ?? '';
  assert.ok(versions.big && versions.small && versions.big !== versions.small, `two versions: ${JSON.stringify(versions)}`);
  // The route every case polls, started once before they poll it together (concurrent cold starts time out on a loaded machine).
  assert.equal((await api('GET', '/migration/status', { tenant: freshTenant('mig'), roles: ['viewer'] })).status, 200);
});
after(() => {
  lambda.destroy();
  sfn.destroy();
  dynamo.destroy();
});

const call = (
  tenant: string,
  method: string,
  path: string,
  parameters?: unknown,
  roles: ('operator' | 'admin' | 'viewer')[] = ['operator'],
) => api(method, path, { tenant, roles, ...(parameters === undefined ? {} : { body: { parameters } }) });

/** A fresh alias on version `big`, and a workload that runs there. */
async function workloadOn(tenant: string, latency: number[]) {
  const alias = `m-${randomUUID().slice(0, 8)}`;
  await lambda.send(new CreateAliasCommand({ FunctionName: name, Name: alias, FunctionVersion: versions.big }));
  const series = `${tenant}.latency`;
  const t0 = Date.now() - 60_000;
  const points = latency.map((value, k) => ({ series, timestamp: new Date(t0 + k * 1000).toISOString(), value }));
  // A busy series store may leave points unprocessed: the call is retried until all are applied (duplicates after).
  await eventually(
    `${series} ingested`,
    async () => {
      const ingest = await call(tenant, 'POST', '/observation/ingest', { points });
      return ingest.status < 300 && ingest.body.result?.unprocessed?.length === 0 ? true : undefined;
    },
    30_000,
    500,
  );
  return {
    alias,
    workload: {
      id: 'svc/api',
      needs: { vcpu: 0.5, memoryGiB: 1 },
      current: 'lambda/big',
      traffic: {
        kind: 'lambda-alias',
        resource: `${ACCOUNT_ARN}${name}:${alias}`,
        versions: { 'lambda/big': versions.big, 'lambda/small': versions.small },
      },
      latencySeries: series,
      latencyBoundMs: 500,
    },
  };
}
const aliasOf = async (alias: string) => {
  const output = await lambda.send(new GetAliasCommand({ FunctionName: name, Name: alias }));
  return { version: output.FunctionVersion, weights: output.RoutingConfig?.AdditionalVersionWeights ?? {} };
};

/** Pools and a plan of one move (dev: L3 validation, or people at autonomy level 1). */
async function planned(tenant: string, latency: number[], options: { postCheckDelaySeconds?: number; route?: string } = {}) {
  const { alias, workload } = await workloadOn(tenant, latency);
  const pools = await call(tenant, 'PUT', '/migration/pools', { pools: POOLS });
  assert.equal(pools.status, 200, JSON.stringify(pools.body));
  const reply = await call(tenant, 'POST', '/migration/plans', {
    workloads: [workload],
    environment: 'dev',
    postCheckDelaySeconds: options.postCheckDelaySeconds ?? 0,
  });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  const plan = reply.body.result.plan;
  assert.equal(plan.steps.length, 4);
  assert.equal(plan.route, options.route ?? 'l3-validation');
  return { alias, plan };
}

const runStatus = async (tenant: string, runId: string) => {
  const status = await call(tenant, 'GET', `/migration/status?runId=${runId}`, undefined, ['viewer']);
  assert.equal(status.status, 200, JSON.stringify(status.body));
  return status.body.result.runs[0];
};
const ended = (tenant: string, runId: string) =>
  eventually(
    `run ${runId} ended`,
    async () => {
      const found = await runStatus(tenant, runId);
      return found && !['pending', 'running'].includes(found.status) ? found : undefined;
    },
    90_000,
    250,
  );

/** Pools, a plan of one move (dev: L3 validation), a run; waits for its end. */
async function migrate(tenant: string, latency: number[], setup: { killSwitch?: boolean } = {}) {
  const { alias, plan } = await planned(tenant, latency);
  if (setup.killSwitch) {
    const on = await call(tenant, 'PUT', '/governance/killswitch', { enabled: true, reason: 'migration review' }, ['admin']);
    assert.equal(on.status, 200, JSON.stringify(on.body));
  }
  const started = Date.now();
  const reply = await call(tenant, 'POST', '/migration/runs', { planId: plan.planId });
  assert.equal(reply.status, 202, JSON.stringify(reply.body));
  const runId = reply.body.result.run.runId as string;
  const run = await ended(tenant, runId);
  return { alias, plan, run, wallMs: Date.now() - started };
}

const ofType = async (tenant: string, detailType: string, count: number) =>
  eventually(
    `${count} ${detailType} in the ledger of ${tenant}`,
    async () => {
      const events = (await ledgerEvents(tenant, 'migration')).filter((event) => event.detailType === detailType);
      return events.length >= count ? events : undefined;
    },
    20_000,
    250,
  );

describe('Loop 4: migration runs through the state machine', { concurrency: true }, () => {
  it('executes a plan: the canary, then all traffic on the small pool, read back from the alias; each step and the run in the ledger', async () => {
    const tenant = freshTenant('mig');
    const { alias, plan, run, wallMs } = await migrate(tenant, [120, 130, 110]);
    assert.equal(run.status, 'succeeded', run.reason);
    assert.deepEqual(await aliasOf(alias), { version: versions.small, weights: {} });
    assert.deepEqual(
      run.records.map((record: { index: number; status: string }) => `${record.index}:${record.status}`),
      ['0:succeeded', '1:succeeded', '2:succeeded', '3:succeeded'],
    );
    assert.deepEqual(run.records[1].observed, { functionVersion: versions.big, additionalVersionWeights: { [versions.small]: 0.1 } });
    const [created] = await ofType(tenant, 'migration.plan.created', 1);
    assert.equal(created?.detail.planHash, plan.planHash);
    assert.equal((await ofType(tenant, 'migration.step.completed', 4)).length, 4);
    const [completed] = await ofType(tenant, 'migration.run.completed', 1);
    assert.equal(completed?.detail.outcome, 'succeeded');
    assert.equal(completed?.detail.rollback, null);
    const proposal = await call(tenant, 'GET', `/governance/proposals?proposalId=${plan.proposalId}`, undefined, ['viewer']);
    assert.equal(JSON.stringify(proposal.body).includes('"executed"'), true, JSON.stringify(proposal.body).slice(0, 500));
    console.log(
      `# migration of 1 workload through the state machine: ${run.migrationMs} ms of steps, ${wallMs} ms from POST /migration/runs (with the L3 gate) — seed target 120000 ms`,
    );
  });

  it('rolls a failed latency post-check back: the alias as it was, the rollback in the run and the ledger', async () => {
    const tenant = freshTenant('mig');
    const { alias, run } = await migrate(tenant, [900, 120, 110]);
    assert.equal(run.status, 'rolled-back', run.reason);
    assert.deepEqual(await aliasOf(alias), { version: versions.big, weights: {} });
    assert.match(run.records[1].reasons.join(), /post-check latency: .* at 900 ms, over the 500 ms bound/);
    assert.equal(run.records[1].undo.status, 'succeeded');
    assert.deepEqual(
      run.rollback.steps.map((step: { index: number }) => step.index),
      [1],
    );
    assert.equal(run.rollback.note, 'rollback');
    const [completed] = await ofType(tenant, 'migration.run.completed', 1);
    assert.equal(completed?.detail.outcome, 'rolled-back');
    assert.equal((completed?.detail.rollback as { steps: unknown[] } | undefined)?.steps.length, 1);
  });

  it('refuses before acting while the kill switch is on: the run halts at the pre-check, nothing recorded as acted', async () => {
    const tenant = freshTenant('mig');
    const { alias, run } = await migrate(tenant, [100, 100, 100], { killSwitch: true });
    assert.equal(run.status, 'halted', run.reason);
    assert.match(run.reason, /kill switch/i);
    assert.deepEqual(run.records, []);
    assert.deepEqual(await aliasOf(alias), { version: versions.big, weights: {} });
    const [completed] = await ofType(tenant, 'migration.run.completed', 1);
    assert.equal(completed?.detail.outcome, 'halted');
  });

  it('rolls back under the kill switch turned on between steps: the steps that acted undone last first, the alias as it was, recorded as such', async () => {
    const tenant = freshTenant('mig');
    // Each step waits 3 s before its post-check: the kill switch, turned on once the canary step (1)
    // has acted, is read by the check before step 2 or step 3 (a window of at least 6 s, not a race).
    const { alias, plan } = await planned(tenant, [120, 130, 110], { postCheckDelaySeconds: 3 });
    assert.equal((await call(tenant, 'GET', '/governance/killswitch', undefined, ['viewer'])).status, 200);
    const reply = await call(tenant, 'POST', '/migration/runs', { planId: plan.planId });
    assert.equal(reply.status, 202, JSON.stringify(reply.body));
    const runId = reply.body.result.run.runId as string;
    const acting = await eventually(
      `step 1 of run ${runId} to act`,
      async () => {
        const run = await runStatus(tenant, runId);
        const acted = run.records.some((record: { index: number; after?: unknown }) => record.index === 1 && record.after);
        return acted || !['pending', 'running'].includes(run.status) ? run : undefined;
      },
      90_000,
      250,
    );
    assert.equal(acting.status, 'running', `the run ended before step 1 acted: ${acting.reason}`);
    const on = await call(tenant, 'PUT', '/governance/killswitch', { enabled: true, reason: 'stop the migration' }, ['admin']);
    assert.equal(on.status, 200, JSON.stringify(on.body));
    const run = await ended(tenant, runId);
    assert.equal(run.status, 'halted', run.reason);
    assert.match(run.reason, /kill switch before step [23].*rollback under kill switch: [12] step\(s\) undone/);
    assert.deepEqual(await aliasOf(alias), { version: versions.big, weights: {} });
    assert.equal(run.rollback.note, 'rollback under kill switch');
    assert.equal(run.rollback.underKillSwitch, true);
    assert.equal(run.rollback.succeeded, true);
    const undone = run.rollback.steps.map((step: { index: number; status: string }) => `${step.index}:${step.status}`).join(',');
    assert.ok(['1:succeeded', '2:succeeded,1:succeeded'].includes(undone), `undone last first: ${undone}`);
    for (const record of run.records.filter((r: { after?: unknown }) => r.after)) assert.equal(record.undo?.status, 'succeeded');
    const [completed] = await ofType(tenant, 'migration.run.completed', 1);
    assert.equal(completed?.detail.outcome, 'halted');
    const recorded = completed?.detail.rollback as { note?: string; underKillSwitch?: boolean } | undefined;
    assert.deepEqual([recorded?.note, recorded?.underKillSwitch], ['rollback under kill switch', true]);
  });

  it('cancels a run waiting at the approval gate: it ends cancelled, nothing acted, the proposal withdrawn and its approval closed, all in the ledger', async () => {
    const tenant = freshTenant('mig');
    const level = await call(tenant, 'PUT', '/governance/autonomy', { level: 1 }, ['admin']);
    assert.equal(level.status, 200, JSON.stringify(level.body));
    const { alias, plan } = await planned(tenant, [100, 100, 100], { route: 'human-approval' });
    const reply = await call(tenant, 'POST', '/migration/runs', { planId: plan.planId });
    assert.equal(reply.status, 202, JSON.stringify(reply.body));
    const runId = reply.body.result.run.runId as string;
    const approvalId = `approval-${plan.proposalId}`;
    await eventually(
      `run ${runId} waiting at the gate and ${approvalId} open`,
      async () => {
        // Governance's gate waits (lib/adapters/aws/gate-waits.ts): the run's state is the output it resumes with.
        const wait = await dynamo.send(
          new GetCommand({
            TableName: testCloud().resources.tables.StateTable,
            Key: { pk: `${tenant}#governance#gate`, sk: plan.proposalId },
            ConsistentRead: true,
          }),
        );
        if (wait.Item?.owner !== 'migration:run' || JSON.parse(String(wait.Item.output)).state?.runId !== runId) return undefined;
        const listed = await call(tenant, 'GET', '/governance/approvals', undefined, ['viewer']);
        return listed.body.result?.approvals?.some((entry: { approvalId: string }) => entry.approvalId === approvalId) ? true : undefined;
      },
      60_000,
      500,
    );
    const cancelled = await call(tenant, 'DELETE', `/migration/runs?runId=${runId}`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.result.run.status, 'cancelled');
    assert.match(cancelled.body.result.run.reason, /withdrawn/);
    assert.equal((await call(tenant, 'DELETE', `/migration/runs?runId=${runId}`)).status, 409, 'cancelled once');
    const executionArn = (await runStatus(tenant, runId)).executionArn as string;
    const execution = await eventually(
      `execution of run ${runId} to end`,
      async () => {
        const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        return described.status === 'RUNNING' ? undefined : described;
      },
      30_000,
      250,
    );
    assert.equal(execution.status, 'SUCCEEDED', `${execution.error ?? ''} ${execution.output ?? ''}`);
    assert.equal(JSON.parse(execution.output ?? '{}').finished?.outcome, 'cancelled', execution.output ?? '');
    const run = await runStatus(tenant, runId);
    assert.equal(run.status, 'cancelled');
    assert.deepEqual(run.records, []);
    assert.deepEqual(await aliasOf(alias), { version: versions.big, weights: {} });
    const proposal = await call(tenant, 'GET', `/governance/proposals?proposalId=${plan.proposalId}`, undefined, ['viewer']);
    const [withdrawn] = proposal.body.result.proposals;
    assert.equal(withdrawn.status, 'refused');
    assert.match(withdrawn.reasons.at(-1), new RegExp(`^withdrawn by .*: run ${runId} cancelled$`));
    const approvals = await call(tenant, 'GET', '/governance/approvals', undefined, ['viewer']);
    assert.equal(
      approvals.body.result.approvals.some((entry: { approvalId: string }) => entry.approvalId === approvalId),
      false,
      'the approval no longer waits',
    );
    const [completed] = await ofType(tenant, 'migration.run.completed', 1);
    assert.deepEqual([completed?.detail.outcome, completed?.detail.completed], ['cancelled', 0]);
    assert.equal((await ledgerEvents(tenant, 'migration')).filter((event) => event.detailType === 'migration.step.completed').length, 0);
    const settled = await eventually('the withdrawal in the ledger', async () =>
      (await ledgerEvents(tenant, 'governance')).find(
        (event) => event.detailType === 'governance.proposal.settled' && event.detail.proposalId === plan.proposalId,
      ),
    );
    assert.equal(settled.detail.status, 'refused');
  });

  it('writes nothing for a bad request: 400 naming the field, 404 for an unknown plan, the status empty', async () => {
    const tenant = freshTenant('mig');
    const pools = await call(tenant, 'PUT', '/migration/pools', { pools: [{ ...POOLS[0], vcpu: -1 }] });
    assert.equal(pools.status, 400);
    assert.match(JSON.stringify(pools.body), /pools\.0\.vcpu/);
    const noCatalogue = await call(tenant, 'POST', '/migration/plans', { workloads: [{ id: 'w', needs: { vcpu: 1, memoryGiB: 1 } }] });
    assert.equal(noCatalogue.status, 404);
    await call(tenant, 'PUT', '/migration/pools', { pools: POOLS });
    const tooBig = await call(tenant, 'POST', '/migration/plans', { workloads: [{ id: 'w', needs: { vcpu: 64, memoryGiB: 1 } }] });
    assert.equal(tooBig.status, 400, JSON.stringify(tooBig.body));
    assert.match(JSON.stringify(tooBig.body), /workloads\.0/);
    const unknown = await call(tenant, 'POST', '/migration/runs', { planId: 'no-such-plan' });
    assert.equal(unknown.status, 404);
    const status = await call(tenant, 'GET', '/migration/status', undefined, ['viewer']);
    assert.equal(status.status, 200);
    assert.deepEqual({ plans: status.body.result.plans, runs: status.body.result.runs }, { plans: [], runs: [] });
    assert.deepEqual(await ledgerEvents(tenant, 'migration'), []);
  });
});
