/**
 * statemachines/promotion.asl.json validated and run on the local Step Functions service, one case
 * per path: advance and wait until the end (a bake in between), a Retry of a conflicting write, the
 * Catch of a failing step (Abort with the failure, then Failed). The Advance task is scripted
 * through the service's task port; what the machine hands it is parsed with the task's own shape.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { checkDefinition } from '../../infra/local/stepfunctions/definition-checks.ts';
import { StepFunctionsService, type TaskInvoker } from '../../infra/local/stepfunctions/service.ts';
import type { AdvanceResult } from '../../lib/promotion/engine.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ACCOUNT = '123456789012';
const definition = readFileSync(path.join(root, 'statemachines', 'promotion.asl.json'), 'utf8').replaceAll(
  /\$\{(\w+)\}/g,
  (_match, name: string) => (name === 'AdvanceFunctionArn' ? `arn:aws:lambda:us-east-1:${ACCOUNT}:function:advance` : `unbound-${name}`),
);

/** The task's input, as functions/promotion/advance.ts parses it. */
const payloadSchema = z.object({
  tenant: z.string(),
  promotionId: z.string(),
  failure: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});
type Script = Array<AdvanceResult | Error>;
const failure = (name: string) => Object.assign(new Error(name), { name });

const scripts = new Map<string, { script: Script; payloads: Array<z.infer<typeof payloadSchema>> }>();
let service: StepFunctionsService;
let dataDir: string;
let machineArn: string;

const invokeTask: TaskInvoker = async ({ input, executionArn }) => {
  const run = scripts.get(executionArn);
  assert.ok(run, `no script for ${executionArn}`);
  const { Payload } = input as { Payload: unknown };
  const payload = payloadSchema.parse(Payload);
  run.payloads.push(payload);
  if (payload.failure) return { next: 'end', waitSeconds: 0, status: 'rolled-back' };
  const next = run.script.shift();
  assert.ok(next, 'advance called more often than scripted');
  if (next instanceof Error) throw next;
  return next;
};

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'promotion-machine-'));
  service = new StepFunctionsService({ dataDir, region: 'us-east-1', accountId: ACCOUNT, invokeTask });
  await service.start();
  machineArn = service.createStateMachine({ name: 'promotion', definition, roleArn: `arn:aws:iam::${ACCOUNT}:role/r` });
});
after(async () => {
  await service.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

let counter = 0;
async function execute(script: Script) {
  const name = `promotion-${process.pid}-${counter++}`;
  const executionArn = `arn:aws:states:us-east-1:${ACCOUNT}:execution:promotion:${name}`;
  const run = { script, payloads: [] as Array<z.infer<typeof payloadSchema>> };
  scripts.set(executionArn, run);
  const ops = service.operations();
  await ops.StartExecution?.({ stateMachineArn: machineArn, name, input: JSON.stringify({ tenant: 'acme', promotionId: 'p-1' }) });
  const deadline = Date.now() + 20_000;
  let described: { status?: string; error?: string };
  for (;;) {
    described = (await ops.DescribeExecution?.({ executionArn })) as { status?: string; error?: string };
    if (described.status !== 'RUNNING') break;
    assert.ok(Date.now() < deadline, 'the execution ends');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const read = (await ops.GetExecutionHistory?.({ executionArn, maxResults: 1000 })) as
    | { events: Array<Record<string, { name?: string }>> }
    | undefined;
  const states = (read?.events ?? []).flatMap((event) =>
    event.stateEnteredEventDetails?.name ? [event.stateEnteredEventDetails.name] : [],
  );
  assert.deepEqual(run.script, [], 'every scripted step ran');
  return { status: described.status, error: described.error, states, payloads: run.payloads };
}

describe('statemachines/promotion.asl.json', () => {
  it('is valid ASL the local runner accepts, its one placeholder bound', () => {
    checkDefinition(definition);
    assert.ok(!definition.includes('unbound-'));
  });

  it('advances, waits the bake time, advances again until the promotion ends', async () => {
    const result = await execute([
      { next: 'shift', waitSeconds: 0, status: 'running' },
      { next: 'judge', waitSeconds: 1, status: 'baking' },
      { next: 'end', waitSeconds: 0, status: 'promoted' },
    ]);
    assert.equal(result.status, 'SUCCEEDED');
    assert.deepEqual(result.states, ['Advance', 'Route', 'Advance', 'Route', 'Wait', 'Advance', 'Route', 'Done']);
    assert.ok(result.payloads.every((payload) => payload.tenant === 'acme' && payload.promotionId === 'p-1' && !payload.failure));
  });

  it('retries a conflicting write', async () => {
    const result = await execute([failure('ConflictError'), { next: 'end', waitSeconds: 0, status: 'rolled-back' }]);
    assert.equal(result.status, 'SUCCEEDED');
    assert.equal(result.payloads.length, 2);
  });

  it('aborts (rolls back) when a step fails past its retries, then fails the execution', async () => {
    const result = await execute([failure('ValidationError')]);
    assert.equal(result.status, 'FAILED');
    assert.equal(result.error, 'PromotionFailed');
    assert.deepEqual(result.states.slice(-2), ['Abort', 'Failed']);
    assert.equal(result.payloads.at(-1)?.failure?.Error, 'ValidationError');
  });
});
