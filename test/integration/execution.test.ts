/**
 * The Execution engine on the local cloud, through the governed path: POST /governance/proposals →
 * approved → POST /execution/runs → the emulated Lambda function's reserved concurrency changed (read
 * through the Lambda API) → the proposal `executed`, the run's event in the tenant's ledger, and an
 * undo restoring the function. A kill switch answers 423 and changes nothing; a proposal that waits
 * for people is a 409.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DeleteFunctionConcurrencyCommand, GetFunctionConcurrencyCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { Role } from '../../lib/auth/roles.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

const lambda = new LambdaClient({});

async function as(tenant: string, subject: string, roles: Role[], method: string, path: string, body?: unknown) {
  const token = await tokenFor({ tenant, subject, roles });
  return api(method, path, { auth: 'none', headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { body }) });
}

/** A function of the stack to act on: the heartbeat (scheduled; a cap of a few concurrent runs does it no harm). */
function heartbeat(): { name: string; arn: string } {
  const name = testCloud().resources.functions.PlatformHeartbeatLambdaFunction;
  assert.ok(name, `no heartbeat function in ${Object.keys(testCloud().resources.functions).join(', ')}`);
  return { name, arn: `arn:aws:lambda:us-east-1:000000000000:function:${name}` };
}

const reserved = async (name: string) => (await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: name }))).ReservedConcurrentExecutions;
const propose = (tenant: string, parameters: Record<string, unknown>) =>
  as(tenant, 'engine:reflex', ['operator'], 'POST', '/governance/proposals', { parameters: { reason: 'p95 latency 4x baseline', environment: 'dev', parameters: {}, ...parameters } });
const runOf = (tenant: string, proposalId: string, target: string, executor: Record<string, unknown>) =>
  as(tenant, 'engine:reflex', ['operator'], 'POST', '/execution/runs', { parameters: { proposalId, target, executor } });
const proposalStatus = async (tenant: string, proposalId: string) => (await as(tenant, 'viewer', ['viewer'], 'GET', `/governance/proposals?proposalId=${proposalId}`)).body.result.proposals[0].status;

after(async () => {
  // Leave the stack's function as the local cloud deployed it, whatever a failed assertion left.
  await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: heartbeat().name })).catch(() => {});
  lambda.destroy();
});

describe('execution on the local cloud', { timeout: 180_000 }, () => {
  it('runs an approved throttle: the function is throttled, the proposal executed, the run in the ledger; once only; undo restores it', async () => {
    const tenant = freshTenant('exec');
    const fn = heartbeat();
    const before = await reserved(fn.name);
    const proposed = await propose(tenant, { engine: 'reflex', action: 'throttle', target: 'component/heartbeat', parameters: { concurrency: 3 } });
    assert.equal(proposed.status, 200, JSON.stringify(proposed.body));
    assert.equal(proposed.body.result.status, 'approved');
    const proposalId = proposed.body.result.proposalId as string;

    // A dry run plans and changes nothing.
    const planned = await as(tenant, 'engine:reflex', ['operator'], 'POST', '/execution/runs', {
      parameters: { proposalId, target: 'component/heartbeat', executor: { kind: 'lambda-concurrency', resource: fn.arn }, dryRun: true },
    });
    assert.equal(planned.status, 200, JSON.stringify(planned.body));
    assert.deepEqual(planned.body.result.plan.after, { reservedConcurrency: 3 });
    assert.equal(await reserved(fn.name), before);

    const ran = await runOf(tenant, proposalId, 'component/heartbeat', { kind: 'lambda-concurrency', resource: fn.arn });
    assert.equal(ran.status, 200, JSON.stringify(ran.body));
    assert.equal(ran.body.status, 'success');
    assert.equal(ran.body.result.status, 'succeeded');
    assert.equal(ran.body.result.verified, true);
    assert.equal(ran.body.result.replayed, false);
    assert.deepEqual(ran.body.result.observed, { reservedConcurrency: 3 });
    assert.equal(await reserved(fn.name), 3, 'the emulated function carries the reservation');
    assert.equal(await proposalStatus(tenant, proposalId), 'executed');
    const executionId = ran.body.result.executionId as string;
    assert.equal(executionId, `exec-${proposalId}`);
    assert.ok(ran.body.provenance[0].ledger, 'the reply links to the ledger entry of the run');

    const read = await as(tenant, 'viewer', ['viewer'], 'GET', `/execution/runs?executionId=${executionId}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.result.status, 'succeeded');

    // The same proposal again: the first run, nothing acts.
    const again = await runOf(tenant, proposalId, 'component/heartbeat', { kind: 'lambda-concurrency', resource: fn.arn });
    assert.equal(again.status, 200);
    assert.equal(again.body.result.replayed, true);
    assert.equal(again.body.result.startedAt, ran.body.result.startedAt);

    const events = await eventually('execution.run.completed in the ledger', async () => {
      const found = (await ledgerEvents(tenant, 'execution')).filter((event) => event.detailType === 'execution.run.completed');
      return found.length >= 1 ? found : undefined;
    }, 20_000, 250);
    assert.equal(events.length, 1, 'recorded once (the bus copy deduplicated)');
    assert.equal(events[0]?.detail.outcome, 'succeeded');

    const undone = await as(tenant, 'alice', ['operator'], 'POST', '/execution/undo', { parameters: { executionId, reason: 'incident closed' } });
    assert.equal(undone.status, 200, JSON.stringify(undone.body));
    assert.equal(undone.body.result.undo.status, 'succeeded');
    assert.equal(await reserved(fn.name), before);
  });

  it('answers 423 while the kill switch is on and changes nothing; 409 for a proposal that waits for people', async () => {
    const tenant = freshTenant('exec');
    const fn = heartbeat();
    const proposed = await propose(tenant, { engine: 'reflex', action: 'throttle', target: 'component/heartbeat', parameters: { concurrency: 2 } });
    assert.equal(proposed.body.result.status, 'approved', JSON.stringify(proposed.body));
    const proposalId = proposed.body.result.proposalId as string;
    const before = await reserved(fn.name);
    const on = await as(tenant, 'root', ['admin'], 'PUT', '/governance/killswitch', { parameters: { enabled: true, reason: 'incident review' } });
    assert.equal(on.status, 200, JSON.stringify(on.body));
    const locked = await runOf(tenant, proposalId, 'component/heartbeat', { kind: 'lambda-concurrency', resource: fn.arn });
    assert.equal(locked.status, 423, JSON.stringify(locked.body));
    assert.match(locked.body.message, /kill switch/);
    assert.equal(await reserved(fn.name), before);
    assert.equal(await proposalStatus(tenant, proposalId), 'approved');
    assert.equal((await as(tenant, 'viewer', ['viewer'], 'GET', `/execution/runs?executionId=exec-${proposalId}`)).status, 404, 'no run was recorded');
    assert.equal((await as(tenant, 'root', ['admin'], 'PUT', '/governance/killswitch', { parameters: { enabled: false, reason: 'review done' } })).status, 200);

    const waiting = await propose(tenant, { engine: 'closure', action: 'terminate', target: 'component/heartbeat', environment: 'prod' });
    assert.equal(waiting.status, 202, JSON.stringify(waiting.body));
    const refused = await runOf(tenant, waiting.body.result.proposalId, 'component/heartbeat', { kind: 'lambda-concurrency', resource: fn.arn, parameters: { concurrency: 1 } });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(refused.body.message, /is pending; only an approved proposal runs/);
    // A binding outside the stage's account is refused before anything is read.
    const foreign = await runOf(tenant, proposalId, 'component/heartbeat', { kind: 'lambda-concurrency', resource: 'arn:aws:lambda:us-east-1:999999999999:function:x' });
    assert.equal(foreign.status, 403, JSON.stringify(foreign.body));
    assert.equal(await reserved(fn.name), before);
  });
});
