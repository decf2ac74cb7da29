/**
 * The Execution engine's run on the governed path: proposals made through governance's propose()
 * (in-memory governance ports), executors on the emulated Lambda and a local webhook receiver.
 * Approved → executed and verified; the same proposal twice acts once; a kill switch is a 423 and
 * nothing changes; a proposal that is not approved (or names another target, action or parameters)
 * is a 409; a read-back that does not verify fails the run and the proposal; undo restores.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GetFunctionConcurrencyCommand, PutFunctionConcurrencyCommand } from '@aws-sdk/client-lambda';
import { lambdaConcurrencyExecutor } from '../../lib/adapters/aws/executors.ts';
import { ConflictError, ForbiddenError, LockedError, NotFoundError, ValidationError } from '../../lib/errors.ts';
import type { BusEvent } from '../../lib/events/publisher.ts';
import { type Binding, bindingSchema } from '../../lib/execution/bindings.ts';
import { type ExecutionDeps, executionIdOf, planRun, type RunStore, run, undo } from '../../lib/execution/engine.ts';
import type { ExecutorRegistry } from '../../lib/execution/executor.ts';
import { type Run, runInputSchema } from '../../lib/execution/schemas.ts';
import { verifySignature, webhookExecutor } from '../../lib/execution/webhook.ts';
import type { ProposalInput } from '../../lib/governance/model.ts';
import { propose, type Proposer } from '../../lib/governance/proposals.ts';
import { defaultSettings } from '../../lib/governance/settings.ts';
import { fixedPolicy, type MemoryOutbox, memoryGovernanceStore, memoryOutbox, recordingGate, staticGraph } from '../helpers/governance-memory.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalAws, startLocalAws } from '../helpers/local-aws.ts';

const KEY = 'test-key';
let aws: LocalAws;
let receiver: Server;
let hookUrl: string;
const hooks: Array<{ executionId: string; verified: boolean }> = [];
let hookReply: (executionId: string) => unknown = (executionId) => ({ executionId });

before(async () => {
  aws = await startLocalAws(['chat', 'billing', 'search', 'ledger']);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const executionId = String(JSON.parse(body).executionId);
      hooks.push({ executionId, verified: verifySignature(KEY, { signature: String(req.headers['x-autonomy-signature']), timestamp: String(req.headers['x-autonomy-timestamp']) }, body) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(hookReply(executionId)));
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/ops/`;
});
after(async () => {
  await aws.stop();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});
beforeEach(() => {
  hooks.length = 0;
  hookReply = (executionId) => ({ executionId });
});

/** Runs in a Map, conditional on versions, events into the shared outbox. */
function memoryRuns(outbox: MemoryOutbox): RunStore & { items: Map<string, Run> } {
  const items = new Map<string, Run>();
  const key = (tenant: string, id: string) => `${tenant}/${id}`;
  return {
    items,
    async get(tenant, executionId) {
      const item = items.get(key(tenant, executionId));
      return item && structuredClone(item);
    },
    async put(next, expectedVersion, events: BusEvent[]) {
      if (items.get(key(next.tenant, next.executionId))?.version !== expectedVersion) throw new ConflictError(`Execution ${next.executionId} was changed concurrently`);
      items.set(key(next.tenant, next.executionId), structuredClone(next));
      return outbox.save(next.tenant, events);
    },
    async release(tenant, executionId, expectedVersion) {
      if (items.get(key(tenant, executionId))?.version !== expectedVersion) throw new ConflictError('moved on');
      items.delete(key(tenant, executionId));
    },
  };
}

function world() {
  const outbox = memoryOutbox();
  const governance = memoryGovernanceStore(outbox);
  const runs = memoryRuns(outbox);
  let executeCalls = 0;
  const concurrency = lambdaConcurrencyExecutor(aws.lambda);
  const executors: ExecutorRegistry = {
    // Counts the calls that reach the executor: the engine must never let an execution id act twice.
    'lambda-concurrency': {
      ...concurrency,
      execute: (...args) => {
        executeCalls += 1;
        return concurrency.execute(...args);
      },
    },
    webhook: webhookExecutor({ signingKey: async () => KEY, sleep: async () => {} }),
  } as ExecutorRegistry;
  const deps: ExecutionDeps = { executors, runs, governance, outbox, stage: { accountId: LOCAL_ACCOUNT, region: LOCAL_REGION, webhookAllowList: [hookUrl] }, now: () => new Date() };
  const tenant = `t-${randomUUID().slice(0, 8)}`;
  const proposer: Proposer = { kind: 'engine', id: 'engine:reflex', tenant, roles: ['operator'] };
  const proposeNow = async (input: Partial<ProposalInput> & Pick<ProposalInput, 'action' | 'target'>) =>
    (
      await propose(
        { engine: 'reflex', environment: 'dev', parameters: {}, reason: 'p95 latency 4x baseline', ...input },
        proposer,
        { store: governance, policy: fixedPolicy({ decision: 'allow', policies: ['base/engines-actuate'], errors: [], version: 0, breakGlass: false }), components: staticGraph(), gate: recordingGate(), outbox, now: new Date(), newId: randomUUID },
      )
    ).proposal;
  return { outbox, governance, runs, deps, tenant, proposeNow, executeCalls: () => executeCalls };
}

const reserved = async (name: string) => (await aws.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: name }))).ReservedConcurrentExecutions;
const lambdaBinding = (name: string, parameters: Record<string, unknown> = {}): Binding => bindingSchema.parse({ kind: 'lambda-concurrency', resource: aws.functionArn(name), parameters });
const input = (proposalId: string, executor: Binding, target: string, parameters: Record<string, unknown> = {}) => runInputSchema.parse({ proposalId, executor, target, parameters });

describe('execution engine: runs of approved proposals', () => {
  it('runs an approved throttle once: the function is throttled, verified, the proposal executed, the event recorded and published', async () => {
    const w = world();
    const proposal = await w.proposeNow({ action: 'throttle', target: 'component/chat', parameters: { concurrency: 5 } });
    assert.equal(proposal.status, 'approved');
    const { run: done, replayed } = await run(w.tenant, input(proposal.proposalId, lambdaBinding('chat'), 'component/chat'), 'engine:reflex', w.deps);
    assert.equal(replayed, false);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.verified, true);
    assert.equal(done.executionId, executionIdOf(proposal.proposalId));
    assert.deepEqual(done.plan?.changes, ['reserved concurrency: none → 5']);
    assert.deepEqual(done.observed, { reservedConcurrency: 5 });
    assert.equal(await reserved('chat'), 5);
    assert.equal((await w.governance.proposal(w.tenant, proposal.proposalId))?.status, 'executed');
    const completed = w.outbox.published.filter((event) => event.detailType === 'execution.run.completed');
    assert.equal(completed.length, 1);
    assert.equal(completed[0]?.detail.outcome, 'succeeded');
    assert.ok(w.outbox.recorded.some((entry) => entry.event.detailType === 'execution.run.completed'), 'recorded in the ledger');
    assert.deepEqual(done.ledger && { stream: done.ledger.stream }, { stream: 'governance' });
    assert.equal(w.outbox.waiting.size, 0);

    // The same proposal again: the first run comes back, nothing acts.
    await aws.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'chat', ReservedConcurrentExecutions: 7 }));
    const again = await run(w.tenant, input(proposal.proposalId, lambdaBinding('chat'), 'component/chat'), 'engine:reflex', w.deps);
    assert.equal(again.replayed, true);
    assert.equal(again.run.startedAt, done.startedAt);
    assert.equal(w.executeCalls(), 1);
    assert.equal(await reserved('chat'), 7);
  });

  it('runs a webhook once for two requests with the same proposal (one signed delivery)', async () => {
    const w = world();
    const proposal = await w.proposeNow({ action: 'restart', target: 'component/payments' });
    const binding = bindingSchema.parse({ kind: 'webhook', resource: `${hookUrl}restart` });
    const [first, second] = await Promise.allSettled([
      run(w.tenant, input(proposal.proposalId, binding, 'component/payments'), 'engine:reflex', w.deps),
      run(w.tenant, input(proposal.proposalId, binding, 'component/payments'), 'engine:reflex', w.deps),
    ]);
    const third = await run(w.tenant, input(proposal.proposalId, binding, 'component/payments'), 'engine:reflex', w.deps);
    assert.equal(hooks.length, 1);
    assert.deepEqual(hooks[0], { executionId: executionIdOf(proposal.proposalId), verified: true });
    assert.equal(third.replayed, true);
    assert.equal(third.run.status, 'succeeded');
    // Two at once: one acts; the other sees the claim (409) or the finished run.
    const outcomes = [first, second].map((item) => (item.status === 'fulfilled' ? (item.value.replayed ? 'replayed' : 'ran') : item.reason instanceof ConflictError ? 'conflict' : String(item.reason)));
    assert.equal(outcomes.filter((item) => item === 'ran').length, 1, outcomes.join(', '));
  });

  it('answers 423 while the kill switch is on, and nothing changes: no call, no run, the proposal still approved', async () => {
    const w = world();
    const proposal = await w.proposeNow({ action: 'throttle', target: 'component/billing', parameters: { concurrency: 3 } });
    w.governance.settingsOf.set(w.tenant, { ...defaultSettings(w.tenant), killSwitch: { enabled: true, reason: 'incident review', by: 'admin@acme', at: new Date().toISOString() }, version: 1 });
    await assert.rejects(run(w.tenant, input(proposal.proposalId, lambdaBinding('billing'), 'component/billing'), 'engine:reflex', w.deps), LockedError);
    assert.equal(await reserved('billing'), undefined);
    assert.equal(w.executeCalls(), 0);
    assert.equal(w.runs.items.size, 0);
    assert.equal((await w.governance.proposal(w.tenant, proposal.proposalId))?.status, 'approved');
    // The global switch too.
    w.governance.settingsOf.set(w.tenant, defaultSettings(w.tenant));
    w.governance.settingsOf.set('system', { ...defaultSettings('system'), killSwitch: { enabled: true, reason: 'region outage', by: 'system:ops', at: new Date().toISOString() }, version: 1 });
    await assert.rejects(run(w.tenant, input(proposal.proposalId, lambdaBinding('billing'), 'component/billing'), 'engine:reflex', w.deps), /global kill switch/);
    w.governance.settingsOf.delete('system');
    const { run: done } = await run(w.tenant, input(proposal.proposalId, lambdaBinding('billing'), 'component/billing'), 'engine:reflex', w.deps);
    assert.equal(done.status, 'succeeded');
    assert.equal(await reserved('billing'), 3);
  });

  it('answers 409 for a proposal that is not approved, or approved for another target, action or parameters; 404 for none; 403 out of scope', async () => {
    const w = world();
    const pending = await w.proposeNow({ action: 'scale-out', target: 'component/search', parameters: { replicas: 3 } });
    assert.equal(pending.status, 'pending');
    await assert.rejects(run(w.tenant, input(pending.proposalId, lambdaBinding('search', { concurrency: 2 }), 'component/search'), 'engine:reflex', w.deps), (error: Error) => error instanceof ConflictError && /is pending/.test(error.message));
    const approved = await w.proposeNow({ action: 'throttle', target: 'component/search', parameters: { concurrency: 2 } });
    await assert.rejects(run(w.tenant, input(approved.proposalId, lambdaBinding('search'), 'component/other'), 'engine:reflex', w.deps), /approved for target component\/search/);
    await assert.rejects(run(w.tenant, input(approved.proposalId, lambdaBinding('search'), 'component/search', { concurrency: 50 }), 'engine:reflex', w.deps), /approved other values for concurrency/);
    const rule = bindingSchema.parse({ kind: 'eventbridge-rule', resource: `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/app/orders` });
    await assert.rejects(run(w.tenant, input(approved.proposalId, rule, 'component/search'), 'engine:reflex', w.deps), ValidationError, 'no eventbridge executor in this registry');
    const restart = await w.proposeNow({ action: 'restart', target: 'component/search' });
    await assert.rejects(run(w.tenant, input(restart.proposalId, lambdaBinding('search', { concurrency: 2 }), 'component/search'), 'engine:reflex', w.deps), /approved reflex:restart, which the lambda-concurrency executor does not carry out/);
    await assert.rejects(run(w.tenant, input(randomUUID(), lambdaBinding('search'), 'component/search'), 'engine:reflex', w.deps), NotFoundError);
    await assert.rejects(run(`${w.tenant}x`, input(approved.proposalId, lambdaBinding('search'), 'component/search'), 'engine:reflex', w.deps), NotFoundError, "another tenant's proposal is not found");
    const foreign = bindingSchema.parse({ kind: 'lambda-concurrency', resource: 'arn:aws:lambda:us-east-1:999999999999:function:search' });
    await assert.rejects(run(w.tenant, input(approved.proposalId, foreign, 'component/search'), 'engine:reflex', w.deps), ForbiddenError);
    const offList = bindingSchema.parse({ kind: 'webhook', resource: 'https://hooks.elsewhere.example/x' });
    await assert.rejects(run(w.tenant, input(restart.proposalId, offList, 'component/search'), 'engine:reflex', w.deps), ForbiddenError);
    assert.equal(await reserved('search'), undefined);
    assert.equal(w.executeCalls(), 0);
  });

  it('fails the run and the proposal when the read-back does not verify the change', async () => {
    const w = world();
    hookReply = () => ({ executionId: 'exec-someone-else' });
    const proposal = await w.proposeNow({ action: 'restart', target: 'component/queue' });
    const { run: done } = await run(w.tenant, input(proposal.proposalId, bindingSchema.parse({ kind: 'webhook', resource: `${hookUrl}restart` }), 'component/queue'), 'engine:reflex', w.deps);
    assert.equal(done.status, 'failed');
    assert.equal(done.verified, false);
    assert.deepEqual(done.reasons, ['read-back: acknowledged: expected true, read false']);
    const settled = await w.governance.proposal(w.tenant, proposal.proposalId);
    assert.equal(settled?.status, 'failed');
    assert.match(settled?.reasons.at(-1) ?? '', /read-back: acknowledged/);
    assert.equal(w.outbox.published.find((event) => event.detailType === 'execution.run.completed')?.detail.outcome, 'failed');
    assert.deepEqual(await w.governance.outcomes(w.tenant, 'reflex:restart#component/queue'), ['failed']);
  });

  it('fails the run when the executor fails (a resource that does not exist), recording why', async () => {
    const w = world();
    const proposal = await w.proposeNow({ action: 'quarantine', target: 'component/gone' });
    const { run: done } = await run(w.tenant, input(proposal.proposalId, lambdaBinding('gone'), 'component/gone'), 'engine:reflex', w.deps);
    assert.equal(done.status, 'failed');
    assert.match(done.reasons[0] ?? '', /^dry run failed: NotFoundError: Lambda function .*gone does not exist/);
    assert.equal((await w.governance.proposal(w.tenant, proposal.proposalId))?.status, 'failed');
  });

  it('plans without acting or recording (dry run), and refuses parameters the actuation bounds refuse', async () => {
    const w = world();
    const proposal = await w.proposeNow({ action: 'quarantine', target: 'component/ledger' });
    const planned = await planRun(w.tenant, input(proposal.proposalId, lambdaBinding('ledger'), 'component/ledger'), w.deps);
    assert.deepEqual(planned.plan.changes, ['reserved concurrency: none → 0']);
    assert.equal(await reserved('ledger'), undefined);
    assert.equal(w.runs.items.size, 0);
    const throttle = await w.proposeNow({ action: 'throttle', target: 'component/ledger' });
    await assert.rejects(run(w.tenant, input(throttle.proposalId, lambdaBinding('ledger'), 'component/ledger', { concurrency: 2000 }), 'engine:reflex', w.deps), ValidationError);
  });

  it('undoes a succeeded run once (restored and read back), refuses while the kill switch is on, and refuses a failed run', async () => {
    const w = world();
    const proposal = await w.proposeNow({ action: 'quarantine', target: 'component/ledger' });
    const { run: done } = await run(w.tenant, input(proposal.proposalId, lambdaBinding('ledger'), 'component/ledger'), 'engine:reflex', w.deps);
    assert.equal(await reserved('ledger'), 0);
    w.governance.settingsOf.set(w.tenant, { ...defaultSettings(w.tenant), killSwitch: { enabled: true, reason: 'freeze', by: 'admin', at: new Date().toISOString() }, version: 1 });
    await assert.rejects(undo(w.tenant, { executionId: done.executionId, reason: 'recovered' }, 'alice', w.deps), LockedError);
    assert.equal(await reserved('ledger'), 0);
    w.governance.settingsOf.set(w.tenant, defaultSettings(w.tenant));
    const undone = await undo(w.tenant, { executionId: done.executionId, reason: 'recovered' }, 'alice', w.deps);
    assert.equal(undone.undo?.status, 'succeeded');
    assert.deepEqual(undone.undo?.observed, { reservedConcurrency: null });
    assert.equal(await reserved('ledger'), undefined);
    const again = await undo(w.tenant, { executionId: done.executionId, reason: 'again' }, 'alice', w.deps);
    assert.equal(again.undo?.at, undone.undo?.at);
    const undoEvents = w.outbox.published.filter((event) => event.detailType === 'execution.run.completed' && event.detail.mode === 'undo');
    assert.equal(undoEvents.length, 1);
    await assert.rejects(undo(w.tenant, { executionId: 'exec-none', reason: 'x' }, 'alice', w.deps), NotFoundError);
    hookReply = () => ({ executionId: 'nope' });
    const restart = await w.proposeNow({ action: 'restart', target: 'component/x' });
    const failed = await run(w.tenant, input(restart.proposalId, bindingSchema.parse({ kind: 'webhook', resource: `${hookUrl}x` }), 'component/x'), 'engine:reflex', w.deps);
    await assert.rejects(undo(w.tenant, { executionId: failed.run.executionId, reason: 'x' }, 'alice', w.deps), ConflictError);
  });
});
