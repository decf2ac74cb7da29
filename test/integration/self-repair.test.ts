/**
 * The self-repair loop (statemachines/self-repair.asl.json) on the local cloud, every path: a
 * registered component whose playbooks are bound to functions of the local stack (the Execution
 * engine's reserved-concurrency executor acts on them for real), its series ingested over HTTP (a
 * level shift opens an incident; points back at the level close it), the loop started by the
 * incident, and each path checked end to end: the execution's end state, what the executor changed
 * (Lambda API), the incident, the case base, and every step in the tenant's ledger.
 *
 * Paths: autonomous fix recovered; L3 validation; people approve; people reject; nobody decides
 * (the gate escalates, then times out); a kill switch; an executor failure → the next playbook;
 * not recovered → people asked. The paths run concurrently, each as its own tenant.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  DeleteFunctionConcurrencyCommand,
  GetFunctionConcurrencyCommand,
  LambdaClient,
  PutFunctionConcurrencyCommand,
} from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, type HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import type { Role } from '../../lib/auth/roles.ts';
import { choosePlaybook } from '../../lib/reflex/cases.ts';
import { loopExecutionName } from '../../lib/reflex/loop.ts';
import { incidentIdOf, type Playbook } from '../../lib/reflex/schemas.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

const lambda = new LambdaClient({});
const sfn = new SFNClient({});

const SERIES = 'svc.latency';
const T0 = Date.UTC(2026, 0, 1);
const at = (minute: number) => new Date(T0 + minute * 60_000).toISOString();
/** The incident the shift opens: Observation opens it at the first shifted point (minute 200). */
const INCIDENT = incidentIdOf(SERIES, at(200));
const ACCOUNT_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:';
/** A function that does not exist, in the stage's account and region: in scope, but the executor cannot read it. */
const MISSING = `${ACCOUNT_ARN}autonomy-local-no-such-function`;

/** Stack functions the paths that act throttle, one each (scheduled jobs and rarely called routes; never below 5). */
const targets = {
  recovered: 'AuditRetentionScheduleLambdaFunction',
  l3: 'AuditCheckpointScheduleLambdaFunction',
  approved: 'GovernanceOutboxSweepLambdaFunction',
  nextPlaybook: 'ExecutionWebhookKeyLambdaFunction',
  notRecovered: 'PlatformOpenapiLambdaFunction',
} as const;
const before = new Map<string, number | undefined>();

function fn(logicalId: string): { name: string; arn: string } {
  const name = testCloud().resources.functions[logicalId];
  assert.ok(name, `no ${logicalId} in the stack: ${Object.keys(testCloud().resources.functions).join(', ')}`);
  return { name, arn: `${ACCOUNT_ARN}${name}` };
}
const reserved = async (name: string) =>
  (await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: name }))).ReservedConcurrentExecutions;

after(async () => {
  // The stack's functions as the local cloud deployed them, whatever an assertion left.
  for (const [name, value] of before) {
    if (value === undefined) await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: name })).catch(() => {});
    else await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: name, ReservedConcurrentExecutions: value })).catch(() => {});
  }
  lambda.destroy();
  sfn.destroy();
});

async function as(tenant: string, subject: string, roles: Role[], method: string, path: string, body?: unknown) {
  const token = await tokenFor({ tenant, subject, roles });
  return api(method, path, {
    auth: 'none',
    headers: { authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: { parameters: body } }),
  });
}
const ok = async (reply: Promise<{ status: number; body: unknown }>, what: string) => {
  const { status, body } = await reply;
  assert.equal(status, 200, `${what}: ${JSON.stringify(body)}`);
};

/** A noisy level of 100 from minute `from`, `count` minutes, shifted by `by` (as the Observation test ingests it). */
function points(from: number, count: number, by = 0) {
  return Array.from({ length: count }, (_, k) => {
    const minute = from + k;
    return { series: SERIES, timestamp: at(minute), value: 100 + ((minute * 7919) % 31) / 10 + by };
  });
}
const ingest = (tenant: string, batch: unknown[]) =>
  ok(as(tenant, 'agent', ['operator'], 'POST', '/observation/ingest', { points: batch }), 'ingest');

interface Setup {
  environment?: 'dev' | 'prod';
  bindings: Partial<Record<Playbook, { kind: 'lambda-concurrency'; resource: string; parameters?: Record<string, number> }>>;
  loop?: Record<string, unknown>;
  autonomy?: number;
  governance?: Record<string, unknown>;
  killSwitch?: boolean;
}

/** Registers the component, sets the tenant up, warms the series (200 points), then shifts it: the incident opens. */
async function incidentOf(tenant: string, setup: Setup): Promise<{ incidentId: string; executionArn: string; shiftedAt: number }> {
  await ok(
    as(tenant, 'ops', ['operator'], 'PUT', '/reflex/config', { verifyIntervalSeconds: 1, recoveryWindowSeconds: 30, ...setup.loop }),
    'reflex config',
  );
  await ok(
    as(tenant, 'ops', ['operator'], 'PUT', '/reflex/components', {
      components: [{ id: 'svc', kind: 'service', environment: setup.environment ?? 'dev', series: [SERIES], bindings: setup.bindings }],
    }),
    'registry',
  );
  if (setup.autonomy !== undefined)
    await ok(as(tenant, 'root', ['admin'], 'PUT', '/governance/autonomy', { level: setup.autonomy }), 'autonomy');
  if (setup.governance) await ok(as(tenant, 'root', ['admin'], 'PUT', '/governance/config', setup.governance), 'governance config');
  if (setup.killSwitch)
    await ok(as(tenant, 'root', ['admin'], 'PUT', '/governance/killswitch', { enabled: true, reason: 'incident review' }), 'kill switch');
  await ingest(tenant, points(0, 100));
  await ingest(tenant, points(100, 100));
  const shiftedAt = Date.now();
  await ingest(tenant, points(200, 6, 40));
  const machine = testCloud().resources.stateMachines.SelfRepairStateMachine;
  assert.ok(machine, 'the self-repair state machine is deployed');
  return {
    incidentId: INCIDENT,
    executionArn: `${machine.replace(':stateMachine:', ':execution:')}:${loopExecutionName(tenant, INCIDENT)}`,
    shiftedAt,
  };
}

/** Points back at the level: Observation closes the incident after a few. */
const recover = (tenant: string) => ingest(tenant, points(206, 10));

// biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON a route replies
const incident = async (tenant: string): Promise<any> =>
  (await as(tenant, 'viewer', ['viewer'], 'GET', `/reflex/incidents?incidentId=${encodeURIComponent(INCIDENT)}`)).body.result
    ?.incidents?.[0];

/** Waits for the incident's attempt of `round` (the loop diagnosed and proposed). */
const attempt = (tenant: string, round = 1) =>
  eventually(
    `round ${round} of ${tenant}'s incident`,
    async () => (await incident(tenant))?.attempts?.find((entry: { round: number }) => entry.round === round),
    45_000,
    250,
  );

/** The loop's end: status and error of its execution, with its history. */
async function loopEnd(executionArn: string): Promise<{ status: string; error?: string; history: HistoryEvent[]; endedAt: number }> {
  return eventually(
    `loop ${executionArn.split(':').at(-1)} to end`,
    async () => {
      const output = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (output.status === 'RUNNING') return undefined;
      const history = (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events ?? [];
      return { status: output.status ?? '', ...(output.error ? { error: output.error } : {}), history, endedAt: Date.now() };
    },
    75_000,
    250,
  );
}

/** Seconds from the shift to each step's first exit, from the execution's history. */
function stepTimes(history: HistoryEvent[], shiftedAt: number): string {
  const seen = new Map<string, number>();
  for (const event of history) {
    const name = event.stateExitedEventDetails?.name;
    if (name && !seen.has(name) && event.timestamp) seen.set(name, new Date(event.timestamp).getTime() - shiftedAt);
  }
  return [...seen].map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`).join(', ');
}

const events = async (tenant: string, engine: string, detailType: string, atLeast = 1) =>
  eventually(
    `${atLeast} ${detailType} in ${tenant}'s ledger`,
    async () => {
      const found = (await ledgerEvents(tenant, engine)).filter((event) => event.detailType === detailType);
      return found.length >= atLeast ? found : undefined;
    },
    20_000,
    250,
  );

const runOf = async (tenant: string, proposalId: string) =>
  as(tenant, 'viewer', ['viewer'], 'GET', `/execution/runs?executionId=exec-${proposalId}`);

/** Waits until the executor set `value` on the function (what the run changed, read through the Lambda API). */
const acted = (name: string, value: number) =>
  eventually(`${name} reserved at ${value}`, async () => ((await reserved(name)) === value ? true : undefined), 45_000, 200);

/** Votes on the round's approval once it is open. */
async function vote(tenant: string, proposalId: string, decision: 'approve' | 'reject') {
  const approvalId = `approval-${proposalId}`;
  await eventually(
    `approval ${approvalId} to open`,
    async () => {
      const listed = await as(tenant, 'viewer', ['viewer'], 'GET', '/governance/approvals');
      return listed.body.result.approvals.some((entry: { approvalId: string }) => entry.approvalId === approvalId) ? true : undefined;
    },
    30_000,
    200,
  );
  await ok(
    as(tenant, 'bob', ['approver'], 'POST', '/governance/approvals', {
      approvalId,
      decision,
      reason: `${decision}: checked the dashboards`,
    }),
    'vote',
  );
}

/** A fresh tenant whose first seeded draw between `available` picks `first` (Reflex seeds it by tenant, incident and round). */
function tenantDrawing(first: Playbook, available: Playbook[]): string {
  for (let tries = 0; tries < 200; tries += 1) {
    const tenant = freshTenant('loop-next');
    const match = choosePlaybook({
      signature: { kind: 'service', metrics: ['latency'], direction: 'up', shape: 'level-shift' },
      available,
      tried: [],
      stats: {},
      cases: [],
      causeConfidence: 1,
      seed: `${tenant}/${INCIDENT}/1`,
    });
    if (match.playbook === first) return tenant;
  }
  throw new Error(`no tenant draws ${first} first`);
}

/** The steps of a recovered loop, each in the tenant's ledger; the reflex stream verifies. */
async function assertRecordedRecovery(tenant: string, proposalIds: string[]) {
  const [loopDone] = await events(tenant, 'reflex', 'reflex.loop.completed');
  assert.equal(loopDone?.detail.outcome, 'recovered');
  const verified = await events(tenant, 'reflex', 'reflex.recovery.verified', proposalIds.length);
  assert.equal(verified.at(-1)?.detail.outcome, 'recovered');
  assert.ok((await events(tenant, 'reflex', 'reflex.incident.diagnosed')).length >= 1);
  const chosen = (await events(tenant, 'reflex', 'reflex.playbook.chosen', proposalIds.length)).map((event) => event.detail.proposalId);
  const evaluated = (await events(tenant, 'governance', 'governance.proposal.evaluated', proposalIds.length)).map(
    (event) => event.detail.proposalId,
  );
  const runs = (await events(tenant, 'execution', 'execution.run.completed', proposalIds.length)).map((event) => event.detail.proposalId);
  for (const proposalId of proposalIds) {
    assert.ok(
      chosen.includes(proposalId) && evaluated.includes(proposalId) && runs.includes(proposalId),
      `round of ${proposalId} in the ledger`,
    );
  }
  const verify = await as(tenant, 'viewer', ['viewer'], 'GET', '/audit/verify?stream=events.reflex');
  assert.equal(verify.status, 200, JSON.stringify(verify.body));
  assert.equal(verify.body.result.intact, true);
}

// Three paths at a time: eight at once start up to four environments of every loop function together (a
// cold start each), which on a loaded two-core machine costs more than it saves.
describe('the self-repair loop on the local cloud', { concurrency: 3, timeout: 150_000 }, () => {
  it('fixes autonomously and recovers: the playbook runs once, the incident closes, the case is learned, every step in the ledger', async (t) => {
    const tenant = freshTenant('loop-auto');
    const target = fn(targets.recovered);
    before.set(target.name, await reserved(target.name));
    const { executionArn, shiftedAt } = await incidentOf(tenant, {
      bindings: { throttle: { kind: 'lambda-concurrency', resource: target.arn, parameters: { concurrency: 5 } } },
    });
    const first = await attempt(tenant);
    assert.deepEqual([first.playbook, first.route, first.target], ['throttle', 'autonomous', 'svc']);
    await acted(target.name, 5);
    const actedAt = Date.now();
    await recover(tenant);
    const end = await loopEnd(executionArn);
    assert.equal(end.status, 'SUCCEEDED', JSON.stringify(end));
    t.diagnostic(`acted ${((actedAt - shiftedAt) / 1000).toFixed(1)} s after the shift; loop steps: ${stepTimes(end.history, shiftedAt)}`);

    const done = await incident(tenant);
    assert.deepEqual([done.state, done.open, done.loop.outcome, done.loop.rounds], ['recovered', false, 'recovered', 1]);
    assert.equal(done.attempts[0].outcome, 'recovered');
    const run = await runOf(tenant, first.proposalId);
    assert.deepEqual([run.body.result.status, run.body.result.verified, run.body.result.actor], ['succeeded', true, 'engine:reflex']);
    const proposal = (await as(tenant, 'viewer', ['viewer'], 'GET', `/governance/proposals?proposalId=${first.proposalId}`)).body.result
      .proposals[0];
    assert.equal(proposal.status, 'executed');
    const cases = await as(tenant, 'viewer', ['viewer'], 'GET', '/reflex/cases');
    assert.deepEqual(
      cases.body.result.cases.map((entry: { playbook: string; outcome: string }) => [entry.playbook, entry.outcome]),
      [['throttle', 'recovered']],
    );
    await assertRecordedRecovery(tenant, [first.proposalId]);
  });

  it('passes L3 validation (prod, medium risk), is resumed when the gate settles, runs and recovers', async (t) => {
    const tenant = freshTenant('loop-l3');
    const target = fn(targets.l3);
    before.set(target.name, await reserved(target.name));
    const { executionArn, shiftedAt } = await incidentOf(tenant, {
      environment: 'prod',
      bindings: { throttle: { kind: 'lambda-concurrency', resource: target.arn, parameters: { concurrency: 6 } } },
    });
    const first = await attempt(tenant);
    assert.equal(first.route, 'l3-validation');
    await acted(target.name, 6);
    await recover(tenant);
    const end = await loopEnd(executionArn);
    assert.equal(end.status, 'SUCCEEDED', JSON.stringify(end));
    t.diagnostic(`loop steps: ${stepTimes(end.history, shiftedAt)}`);
    assert.equal((await incident(tenant)).loop.outcome, 'recovered');
    const settled = await events(tenant, 'governance', 'governance.proposal.settled');
    assert.ok(settled.some((event) => event.detail.proposalId === first.proposalId && event.detail.status === 'approved'));
    await assertRecordedRecovery(tenant, [first.proposalId]);
  });

  it('waits for people (autonomy level 1): an approval resumes the loop, which runs and recovers', async (t) => {
    const tenant = freshTenant('loop-ok');
    const target = fn(targets.approved);
    before.set(target.name, await reserved(target.name));
    const { executionArn, shiftedAt } = await incidentOf(tenant, {
      autonomy: 1,
      bindings: { throttle: { kind: 'lambda-concurrency', resource: target.arn, parameters: { concurrency: 7 } } },
    });
    const first = await attempt(tenant);
    assert.equal(first.route, 'human-approval');
    assert.equal(await reserved(target.name), before.get(target.name), 'nothing acts before people decide');
    const asked = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    assert.equal(asked.status, 'RUNNING', 'the loop waits at the gate');
    await vote(tenant, first.proposalId, 'approve');
    await acted(target.name, 7);
    await recover(tenant);
    const end = await loopEnd(executionArn);
    assert.equal(end.status, 'SUCCEEDED', JSON.stringify(end));
    t.diagnostic(`loop steps: ${stepTimes(end.history, shiftedAt)}`);
    assert.equal((await incident(tenant)).loop.outcome, 'recovered');
    await assertRecordedRecovery(tenant, [first.proposalId]);
  });

  it('stops when people reject the playbook: nothing runs, the incident is theirs', async () => {
    const tenant = freshTenant('loop-no');
    const { executionArn } = await incidentOf(tenant, {
      autonomy: 1,
      bindings: { throttle: { kind: 'lambda-concurrency', resource: MISSING, parameters: { concurrency: 5 } } },
    });
    const first = await attempt(tenant);
    await vote(tenant, first.proposalId, 'reject');
    const end = await loopEnd(executionArn);
    assert.deepEqual([end.status, end.error], ['FAILED', 'ProposalRejected']);
    const done = await incident(tenant);
    assert.deepEqual([done.state, done.loop.outcome, done.loop.rounds], ['escalated', 'rejected', 0]);
    assert.equal((await runOf(tenant, first.proposalId)).status, 404, 'no run');
    const [completed] = await events(tenant, 'reflex', 'reflex.loop.completed');
    assert.equal(completed?.detail.outcome, 'rejected');
  });

  it('escalates to admins when nobody decides, then times out: the loop ends, people are asked', async () => {
    const tenant = freshTenant('loop-late');
    const { executionArn } = await incidentOf(tenant, {
      autonomy: 1,
      governance: { approvalTimeoutSeconds: 2, escalationTimeoutSeconds: 2 },
      bindings: { throttle: { kind: 'lambda-concurrency', resource: MISSING, parameters: { concurrency: 5 } } },
    });
    const first = await attempt(tenant);
    const end = await loopEnd(executionArn);
    assert.deepEqual([end.status, end.error], ['FAILED', 'ApprovalTimedOut']);
    const done = await incident(tenant);
    assert.deepEqual([done.state, done.loop.outcome], ['escalated', 'timed-out']);
    const escalated = await events(tenant, 'governance', 'governance.approval.escalated');
    assert.ok(escalated.some((event) => event.detail.approvalId === `approval-${first.proposalId}`));
    assert.equal((await runOf(tenant, first.proposalId)).status, 404, 'no run');
  });

  it('halts under the kill switch: the proposal is refused, nothing runs, the halt is in the ledger', async () => {
    const tenant = freshTenant('loop-kill');
    const { executionArn } = await incidentOf(tenant, {
      killSwitch: true,
      bindings: { throttle: { kind: 'lambda-concurrency', resource: MISSING, parameters: { concurrency: 5 } } },
    });
    const end = await loopEnd(executionArn);
    assert.deepEqual([end.status, end.error], ['FAILED', 'KillSwitchEngaged']);
    const done = await incident(tenant);
    assert.deepEqual([done.state, done.loop.outcome], ['refused', 'halted']);
    assert.match(done.loop.reason, /kill switch of tenant .* is on/);
    assert.equal((await runOf(tenant, done.attempts[0].proposalId)).status, 404, 'no run');
    const [completed] = await events(tenant, 'reflex', 'reflex.loop.completed');
    assert.equal(completed?.detail.outcome, 'halted');
  });

  it('records an executor failure as not recovered and runs the next playbook, which recovers', async (t) => {
    const tenant = tenantDrawing('quarantine', ['throttle', 'quarantine']);
    const target = fn(targets.nextPlaybook);
    before.set(target.name, await reserved(target.name));
    const { executionArn, shiftedAt } = await incidentOf(tenant, {
      bindings: {
        quarantine: { kind: 'lambda-concurrency', resource: MISSING },
        throttle: { kind: 'lambda-concurrency', resource: target.arn, parameters: { concurrency: 8 } },
      },
    });
    const first = await attempt(tenant);
    assert.equal(first.playbook, 'quarantine', 'the seeded draw picks the broken binding first');
    const second = await attempt(tenant, 2);
    assert.equal(second.playbook, 'throttle');
    const failedRun = await runOf(tenant, first.proposalId);
    assert.equal(failedRun.body.result.status, 'failed');
    assert.match(failedRun.body.result.reasons.join('; '), /dry run failed/);
    await acted(target.name, 8);
    await recover(tenant);
    const end = await loopEnd(executionArn);
    assert.equal(end.status, 'SUCCEEDED', JSON.stringify(end));
    t.diagnostic(`loop steps: ${stepTimes(end.history, shiftedAt)}`);
    const done = await incident(tenant);
    assert.deepEqual(
      done.attempts.map((entry: { playbook: string; outcome: string }) => [entry.playbook, entry.outcome]),
      [
        ['quarantine', 'not-recovered'],
        ['throttle', 'recovered'],
      ],
    );
    assert.equal(done.loop.rounds, 2);
    const verified = await events(tenant, 'reflex', 'reflex.recovery.verified', 2);
    assert.deepEqual(
      verified.map((event) => [event.detail.round, event.detail.outcome, (event.detail.evidence as { method: string }).method]),
      [
        [1, 'not-recovered', 'executor-failed'],
        // The loop's look at the series or Reflex hearing Observation's close, whichever came first.
        [2, 'recovered', verified[1]?.detail.actor === 'system:reflex' ? 'incident-closed' : 'observed'],
      ],
    );
    await assertRecordedRecovery(tenant, [first.proposalId, second.proposalId]);
  });

  it('asks people when the playbook does not recover within the window and none is left (maxFailedPlaybooks 1)', async () => {
    const tenant = freshTenant('loop-esc');
    const target = fn(targets.notRecovered);
    before.set(target.name, await reserved(target.name));
    const { executionArn } = await incidentOf(tenant, {
      loop: { recoveryWindowSeconds: 3, maxFailedPlaybooks: 1 },
      bindings: { throttle: { kind: 'lambda-concurrency', resource: target.arn, parameters: { concurrency: 9 } } },
    });
    // The series stays shifted: nothing comes back within the band.
    const end = await loopEnd(executionArn);
    assert.deepEqual([end.status, end.error], ['FAILED', 'IncidentEscalated']);
    assert.equal(await reserved(target.name), 9, 'the playbook ran');
    const done = await incident(tenant);
    assert.deepEqual([done.state, done.open, done.loop.outcome, done.loop.rounds], ['escalated', true, 'escalated', 1]);
    assert.equal(done.attempts[0].outcome, 'not-recovered');
    assert.match(done.match.reasons.join('; '), /escalate: /);
    const [verified] = await events(tenant, 'reflex', 'reflex.recovery.verified');
    assert.equal(verified?.detail.outcome, 'not-recovered');
    assert.match(
      ((verified?.detail.evidence as { reasons?: string[] } | undefined)?.reasons ?? []).join('; '),
      /still open after the 3 s recovery window/,
    );
    const chosen = await events(tenant, 'reflex', 'reflex.playbook.chosen', 2);
    assert.deepEqual(
      chosen.map((event) => [event.detail.round, event.detail.playbook, event.detail.escalated]),
      [
        [1, 'throttle', false],
        [2, null, true],
      ],
    );
  });
});
