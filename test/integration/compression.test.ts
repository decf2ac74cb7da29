/**
 * The Compression engine on the local cloud: a context compressed through the API with its lineage in
 * a ledger that verifies; critical items over budget answered with needs-approval and a governance
 * proposal, dropped only once people approved it; answer-found feedback taken once; a refused request
 * writes nothing.
 *
 * Loop 3 end to end (statemachines/compression-loop.asl.json with the deployed loop-* functions), runs
 * started as in production: by the 20th report through POST /compression/feedback (a low found-rate
 * tuned and applied autonomously; at autonomy level 1 the run ends awaiting approval, and the
 * proposal's settlement resumes it: applied once people approve, recorded refused when they reject),
 * or by the loop's schedule function (the kill switch halting the run with nothing proposed or applied). Every case is its own tenant; Loop 3's cases run one
 * after the other, beside the others.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoCompressionStore } from '../../lib/adapters/aws/compression-store.ts';
import type { Role } from '../../lib/auth/roles.ts';
import { loopExecutionName, NO_EFFECTIVENESS } from '../../lib/compression/engine.ts';
import { resumeExecutionName, tuneProposalId } from '../../lib/compression/loop.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

async function as(tenant: string, subject: string, roles: Role[], method: string, path: string, body?: unknown) {
  const token = await tokenFor({ tenant, subject, roles });
  return api(method, path, { auth: 'none', headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { body }) });
}

const filler = (topic: string, n: number) =>
  Array.from({ length: n }, (_, i) => `The ${topic} note ${i} covers ${topic} matters in general terms.`).join(' ');
const items = [
  { id: 'd1', kind: 'document', text: `${filler('weather', 8)} The Eiffel Tower was completed in 1889 for the World Fair.` },
  { id: 'd2', kind: 'document', text: filler('cooking', 12) },
  { id: 'd3', kind: 'document', text: filler('cooking', 12) },
  { id: 'm1', kind: 'memory', text: filler('gardening', 10) },
  { id: 't1', kind: 'turn', role: 'user', text: 'Tell me about Paris landmarks.' },
];

const compressionEvents = async (tenant: string) => (await ledgerEvents(tenant, 'compression')).map((event) => event.detail);

const sfn = new SFNClient({});
const lambda = new LambdaClient({});
const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));
after(() => {
  sfn.destroy();
  lambda.destroy();
  dynamo.destroy();
});

/**
 * A window of 20 answer-found reports, `found` of them found: the last `throughRoute` posted through
 * POST /compression/feedback as agents send them, each on a compression of its own (saved through the
 * engine's store as the compress route saves them: that route is tested above), the ones before saved
 * through the store as the feedback route leaves them. The 20th report starts a run of Loop 3; its
 * execution name.
 */
async function reportWindow(tenant: string, found: number, throughRoute: number): Promise<string> {
  const store = dynamoCompressionStore(dynamo, testCloud().resources.tables.StateTable ?? '');
  const reports = Array.from({ length: 20 }, (_, index) => index < found);
  const saved = reports.slice(0, 20 - throughRoute);
  let effectiveness = { ...NO_EFFECTIVENESS, compressions: saved.length, recent: saved, sinceTune: saved.length, version: 1 };
  await store.putEffectiveness(tenant, effectiveness, 0);
  for (let index = saved.length; index < 20; index += 1) {
    const compressionId = `c${index}`;
    const run = {
      tenant,
      compressionId,
      contextId: compressionId,
      status: 'compressed' as const,
      tokensIn: 90,
      tokensOut: 30,
      saved: 2 / 3,
      proposalId: null,
      at: new Date().toISOString(),
    };
    const next = { ...effectiveness, compressions: effectiveness.compressions + 1, version: effectiveness.version + 1 };
    await store.putRun(run, next, effectiveness.version, []);
    effectiveness = next;
  }
  const headers = { authorization: `Bearer ${await tokenFor({ tenant, subject: 'agent', roles: ['operator'] })}` };
  let loop: { execution: string; started: boolean; error?: string } | null = null;
  for (let index = saved.length; index < 20; index += 1) {
    const reported = await api('POST', '/compression/feedback', {
      auth: 'none',
      headers,
      body: { parameters: { compressionId: `c${index}`, found: reports[index] } },
    });
    assert.equal(reported.status, 200, JSON.stringify(reported.body));
    loop = reported.body.result.loop;
  }
  assert.ok(loop?.started, `the 20th report starts a run: ${JSON.stringify(loop)}`);
  return loop.execution;
}

/**
 * 20 reports not judged yet (`found` of them found), saved through the engine's store as the feedback
 * route saves them; then the schedule function, invoked as its rule does (limited to the tenant),
 * starts the run. Its execution name.
 */
async function scheduledWindow(tenant: string, found: number): Promise<string> {
  const { tables, functions } = testCloud().resources;
  const store = dynamoCompressionStore(dynamo, tables.StateTable ?? '');
  const recent = Array.from({ length: 20 }, (_, index) => index < found);
  await store.putEffectiveness(tenant, { ...NO_EFFECTIVENESS, recent, sinceTune: 20, version: 1 }, 0);
  const schedule = functions.CompressionLoopScheduleLambdaFunction;
  assert.ok(schedule, 'the loop schedule is deployed');
  const reply = await lambda.send(
    new InvokeCommand({ FunctionName: schedule, Payload: JSON.stringify({ time: new Date().toISOString(), tenants: [tenant] }) }),
  );
  const summary = JSON.parse(Buffer.from(reply.Payload ?? []).toString('utf8'));
  assert.deepEqual([reply.FunctionError, summary.started], [undefined, 1], JSON.stringify(summary));
  return loopExecutionName(tenant, 1);
}

/** The tenant's compression events in the ledger, each poll reading only the entries after the last it read. */
const read = new Map<string, { next: number; details: Record<string, unknown>[] }>();
async function ledgerOf(tenant: string) {
  const known = read.get(tenant) ?? { next: 0, details: [] };
  for (const event of await ledgerEvents(tenant, 'compression', known.next)) {
    known.details.push(event.detail);
    known.next = event.seq + 1;
  }
  read.set(tenant, known);
  return known.details;
}

/** The run's compression.loop.completed, once in the ledger; on a timeout, the error says where the run is. */
async function completed(tenant: string, execution: string) {
  try {
    return await eventually(
      `${execution} recorded`,
      async () => (await ledgerOf(tenant)).find((detail) => detail.execution === execution && detail.outcome !== undefined),
      60_000,
      150,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; the run so far: ${await historyOf(execution)}`);
  }
}

/** The run's execution ARN. */
function executionArnOf(execution: string): string {
  const machine = testCloud().resources.stateMachines.CompressionLoopStateMachine;
  assert.ok(machine, 'the compression loop is deployed');
  return `${machine.replace(':stateMachine:', ':execution:')}:${execution}`;
}

/** The run's history in a line: each event's type, state and second since the start. */
async function historyOf(execution: string): Promise<string> {
  try {
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn: executionArnOf(execution), maxResults: 200 }));
    const start = events[0]?.timestamp?.getTime() ?? 0;
    return events
      .map((event) => {
        const name = event.stateEnteredEventDetails?.name ?? '';
        const failure = event.lambdaFunctionFailedEventDetails ?? event.taskFailedEventDetails;
        const why = failure ? ` ${failure.error}: ${(failure.cause ?? '').slice(0, 200)}` : '';
        return `${(((event.timestamp?.getTime() ?? start) - start) / 1000).toFixed(1)}s ${event.type}${name ? ` ${name}` : ''}${why}`;
      })
      .join(', ');
  } catch (error) {
    return `(no history: ${(error as Error).name})`;
  }
}

/** The run's execution as Step Functions describes it, once it ended (its record step lands in the ledger just before). */
const ended = (execution: string) =>
  eventually(
    `${execution} ended`,
    async () => {
      const run = await sfn.send(new DescribeExecutionCommand({ executionArn: executionArnOf(execution) }));
      return run.status === 'RUNNING' ? undefined : run;
    },
    10_000,
    100,
  );

/** The tenant's stored settings, read back through GET /compression/status. */
const settingsOf = async (tenant: string) => {
  const status = await as(tenant, 'viewer', ['viewer'], 'GET', '/compression/status');
  assert.equal(status.status, 200, JSON.stringify(status.body));
  return status.body.result.settings;
};

/** At autonomy level 1: a window with few answers found; the run ends awaiting approval; the approval people see. */
async function waitingStep(tenant: string) {
  const level = await as(tenant, 'root', ['admin'], 'PUT', '/governance/autonomy', { parameters: { level: 1 } });
  assert.equal(level.status, 200, JSON.stringify(level.body));
  const execution = await reportWindow(tenant, 14, 1);
  const waiting = await completed(tenant, execution);
  assert.deepEqual([waiting.outcome, waiting.trigger], ['awaiting-approval', 'feedback'], JSON.stringify(waiting));
  assert.equal((await settingsOf(tenant)).version, 0, 'nothing applied while people decide');
  const proposalId = tuneProposalId(execution);
  assert.equal(waiting.proposalId, proposalId);
  const approval = await eventually(
    'the approval to open',
    async () =>
      (await as(tenant, 'viewer', ['viewer'], 'GET', '/governance/approvals')).body.result.approvals.find(
        (entry: { proposalId: string }) => entry.proposalId === proposalId,
      ),
    30_000,
    150,
  );
  return { proposalId, approval };
}

describe('compression on the local cloud', { timeout: 240_000, concurrency: true }, () => {
  it('compresses a context through the API with its lineage and hashes in a verifying ledger, and takes feedback once', async () => {
    const tenant = freshTenant('cmp');
    const reply = await as(tenant, 'agent', ['operator'], 'POST', '/compression/compress', {
      parameters: { contextId: 'session-1', goal: 'When was the Eiffel Tower completed?', budgetTokens: 120, items },
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const result = reply.body.result;
    assert.equal(result.status, 'compressed');
    assert.ok(result.tokensOut <= 120 && result.saved > 0.5, `saved ${result.saved}, ${result.tokensOut} tokens`);
    assert.ok(result.items.some((item: { text: string }) => item.text.includes('completed in 1889')));
    const accounted = new Set([
      ...result.items.flatMap((item: { from: { id: string }[] }) => item.from.map((from) => from.id)),
      ...result.dropped.map((entry: { id: string }) => entry.id),
    ]);
    assert.deepEqual([...accounted].sort(), items.map((item) => item.id).sort(), 'every input item in the lineage');

    const recorded = await eventually('the compression in the ledger', async () =>
      (await compressionEvents(tenant)).find((detail) => detail.compressionId === result.compressionId),
    );
    assert.deepEqual(
      recorded.lineage,
      result.items.map((item: { id: string; hash: string; from: unknown }) => ({ id: item.id, hash: item.hash, from: item.from })),
    );
    assert.ok(!JSON.stringify(recorded).includes('Eiffel'), 'hashes, never texts, in the ledger');
    const verify = await as(tenant, 'auditor', ['viewer'], 'GET', '/audit/verify?stream=events.compression');
    assert.equal(verify.status, 200, JSON.stringify(verify.body));
    assert.equal(verify.body.result.intact, true);

    const feedback = { parameters: { compressionId: result.compressionId, found: true } };
    assert.equal((await as(tenant, 'agent', ['operator'], 'POST', '/compression/feedback', feedback)).status, 200);
    assert.equal((await as(tenant, 'agent', ['operator'], 'POST', '/compression/feedback', feedback)).status, 409, 'once per compression');
    const status = await as(tenant, 'viewer', ['viewer'], 'GET', '/compression/status');
    assert.equal(status.status, 200);
    assert.equal(status.body.result.effectiveness.compressions, 1);
    assert.deepEqual(status.body.result.effectiveness.recent, [true]);
  });

  it('never drops critical items without approval: needs-approval with a proposal, then dropped once people approved it', async () => {
    const tenant = freshTenant('cmp');
    const config = await as(tenant, 'ops', ['operator'], 'PUT', '/compression/config', { parameters: { criticalLabels: ['legal-hold'] } });
    assert.equal(config.status, 200, JSON.stringify(config.body));
    const critical = [
      { id: 'c1', kind: 'memory', text: filler('contract', 10), labels: ['legal-hold'] },
      { id: 'c2', kind: 'document', text: filler('safety', 10), critical: true },
    ];
    const request = { contextId: 'held', goal: 'safety matters', budgetTokens: 150, items: critical };
    const waiting = await as(tenant, 'agent', ['operator'], 'POST', '/compression/compress', { parameters: request });
    assert.equal(waiting.status, 202, JSON.stringify(waiting.body));
    assert.equal(waiting.body.result.status, 'needs-approval');
    assert.deepEqual(
      waiting.body.result.needsApproval.items.map((item: { id: string }) => item.id),
      ['c1'],
    );
    assert.deepEqual(
      waiting.body.result.items.map((item: { id: string }) => item.id),
      ['c1', 'c2'],
      'nothing critical dropped',
    );
    const proposalId = waiting.body.result.proposalId;
    assert.ok(proposalId);

    // Not approved yet: using the proposal is refused.
    const early = await as(tenant, 'agent', ['operator'], 'POST', '/compression/compress', {
      parameters: { ...request, approvedProposalId: proposalId },
    });
    assert.equal(early.status, 409, JSON.stringify(early.body));

    const approval = await eventually(
      'the approval to open',
      async () =>
        (await as(tenant, 'viewer', ['viewer'], 'GET', '/governance/approvals')).body.result.approvals.find(
          (entry: { proposalId: string }) => entry.proposalId === proposalId,
        ),
      60_000,
      200,
    );
    for (let index = 0; index < approval.required; index += 1) {
      const vote = await as(tenant, `approver-${index}`, ['approver'], 'POST', '/governance/approvals', {
        parameters: { approvalId: approval.approvalId, decision: 'approve', reason: 'the contract is archived elsewhere' },
      });
      assert.equal(vote.status, 200, JSON.stringify(vote.body));
    }
    const approved = await eventually(
      'the compression to go through',
      async () => {
        const reply = await as(tenant, 'agent', ['operator'], 'POST', '/compression/compress', {
          parameters: { ...request, approvedProposalId: proposalId },
        });
        return reply.status === 200 ? reply.body.result : undefined;
      },
      20_000,
      250,
    );
    assert.equal(approved.status, 'compressed');
    // c1 is no longer protected: dropped, or cut to its sentences that fit; c2 stays whole.
    const c1 = approved.items.find((item: { id: string }) => item.id === 'c1');
    assert.ok(!c1 || c1.from[0].how === 'summarised', JSON.stringify(c1));
    assert.ok(approved.tokensOut <= 150);
    assert.ok(approved.items.some((item: { id: string }) => item.id === 'c2'));
    const details = await eventually('both compressions in the ledger', async () => {
      const found = (await compressionEvents(tenant)).filter((detail) => detail.compressionId !== undefined);
      return found.length >= 2 ? found : undefined;
    });
    assert.deepEqual(
      details.map((detail) => [detail.status, detail.proposalId ?? detail.approvedProposalId]),
      [
        ['needs-approval', proposalId],
        ['compressed', proposalId],
      ],
    );
  });

  it('refuses a bad request naming the field, and writes nothing', async () => {
    const tenant = freshTenant('cmp');
    const bad = await as(tenant, 'agent', ['operator'], 'POST', '/compression/compress', {
      parameters: { goal: 'x', budgetTokens: 100, items: [{ id: 'a', kind: 'scroll', text: 'hello' }] },
    });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /items\.0\.kind/);
    const unknown = await as(tenant, 'agent', ['operator'], 'POST', '/compression/feedback', {
      parameters: { compressionId: 'nope', found: false },
    });
    assert.equal(unknown.status, 404);
    const status = await as(tenant, 'viewer', ['viewer'], 'GET', '/compression/status');
    assert.equal(status.body.result.effectiveness.compressions, 0);
    assert.equal(status.body.result.settings.version, 0);
    assert.deepEqual(await compressionEvents(tenant), []);
  });

  // Loop 3's cases one after the other, beside the cases above: they share the loop's functions, and runs
  // reaching a step at once would each start an environment of it; on 2 cores those extra cold starts
  // cost more than running the cases in turn.
  describe('Loop 3 (Compression → Observation → Compression)', { concurrency: false }, () => {
    it('20 reports with few answers found start a run that tunes, proposes compression:tune and applies it, in a verifying ledger', async () => {
      const tenant = freshTenant('c3');
      const execution = await reportWindow(tenant, 14, 20);
      const done = await completed(tenant, execution);
      assert.deepEqual(
        [done.outcome, done.trigger, done.window, done.foundRate, done.settingsVersion, done.proposalId],
        ['tuned', 'feedback', { samples: 20, found: 14 }, 0.7, 1, tuneProposalId(execution)],
        JSON.stringify(done),
      );
      assert.equal((await ended(execution)).status, 'SUCCEEDED');
      const settings = await settingsOf(tenant);
      assert.deepEqual(
        [settings.version, settings.relevanceWeight, settings.itemWeight, settings.summariseAboveTokens, settings.updatedBy],
        [1, 0.75, 0.8, 2048, 'engine:compression'],
      );
      const changed = await eventually('the change in the ledger', async () =>
        (await ledgerOf(tenant)).find((detail) => detail.by === 'loop'),
      );
      assert.deepEqual([changed.execution, changed.proposalId, changed.settingsVersion], [execution, done.proposalId, 1]);
      const verify = await as(tenant, 'auditor', ['viewer'], 'GET', '/audit/verify?stream=events.compression');
      assert.equal(verify.status, 200, JSON.stringify(verify.body));
      assert.equal(verify.body.result.intact, true);
    });

    it('with the kill switch on: the run halts with nothing proposed or applied', async () => {
      const tenant = freshTenant('c3');
      const on = await as(tenant, 'root', ['admin'], 'PUT', '/governance/killswitch', {
        parameters: { enabled: true, reason: 'incident review' },
      });
      assert.equal(on.status, 200, JSON.stringify(on.body));
      const execution = await scheduledWindow(tenant, 5);
      const done = await completed(tenant, execution);
      assert.deepEqual([done.outcome, done.trigger, done.proposalId], ['halted', 'schedule', null], JSON.stringify(done));
      assert.match(String(done.reason), /kill switch/);
      const run = await ended(execution);
      assert.deepEqual([run.status, run.error], ['FAILED', 'KillSwitchEngaged']);
      assert.equal((await settingsOf(tenant)).version, 0, 'nothing applied');
      assert.ok(!(await ledgerOf(tenant)).some((detail) => detail.by === 'loop'), 'no settings change recorded');
    });

    it('at autonomy level 1: the run waits for people, and their approval is applied by the resumed run', async () => {
      const tenant = freshTenant('c3');
      const { proposalId, approval } = await waitingStep(tenant);
      for (let index = 0; index < approval.required; index += 1) {
        const vote = await as(tenant, `approver-${index}`, ['approver'], 'POST', '/governance/approvals', {
          parameters: { approvalId: approval.approvalId, decision: 'approve', reason: 'a tighter context is fine' },
        });
        assert.equal(vote.status, 200, JSON.stringify(vote.body));
      }
      const resumed = resumeExecutionName(proposalId);
      const done = await completed(tenant, resumed);
      assert.deepEqual(
        [done.outcome, done.trigger, done.proposalId, done.settingsVersion],
        ['tuned', 'settled', proposalId, 1],
        JSON.stringify(done),
      );
      assert.equal((await ended(resumed)).status, 'SUCCEEDED');
      const settings = await settingsOf(tenant);
      assert.deepEqual([settings.version, settings.relevanceWeight, settings.itemWeight], [1, 0.75, 0.8]);
      const changed = (await ledgerOf(tenant)).filter((detail) => detail.by === 'loop');
      assert.deepEqual(
        changed.map((detail) => [detail.execution, detail.proposalId]),
        [[resumed, proposalId]],
      );
    });

    it('at autonomy level 1: a rejected step is not applied, and the resumed run records it refused', async () => {
      const tenant = freshTenant('c3');
      const { proposalId, approval } = await waitingStep(tenant);
      const vote = await as(tenant, 'approver-0', ['approver'], 'POST', '/governance/approvals', {
        parameters: { approvalId: approval.approvalId, decision: 'reject', reason: 'not during the audit' },
      });
      assert.equal(vote.status, 200, JSON.stringify(vote.body));
      const resumed = resumeExecutionName(proposalId);
      const done = await completed(tenant, resumed);
      assert.deepEqual([done.outcome, done.trigger, done.proposalId], ['refused', 'settled', proposalId], JSON.stringify(done));
      assert.match(String(done.reason), /rejected/);
      assert.deepEqual([(await ended(resumed)).error], ['ProposalRefused']);
      assert.equal((await settingsOf(tenant)).version, 0, 'nothing applied');
      assert.ok(!(await ledgerOf(tenant)).some((detail) => detail.by === 'loop'), 'no settings change recorded');
    });
  });
});
