/**
 * Capsule runs (lib/capsules/runs.ts) over in-memory ports: a signed capsule's code runs in the
 * real sandbox and calls its declared tools through the tool port; input checked against the
 * capsule's schema, undeclared tools refused, the budget stops a run, a pending approval ends one,
 * the guardrails are asked first, and each step is saved with its event in order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyBundle } from '../../lib/capsules/bundle.ts';
import { type CapsuleRun, type RunDeps, type RunStore, type RunToolReply, readRuns, runRecord, startRun } from '../../lib/capsules/runs.ts';
import type { Install } from '../../lib/capsules/schemas.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors.ts';
import type { BusEvent } from '../../lib/events/publisher.ts';
import { authorKeyPair, sampleManifest, signedBundle } from '../helpers/capsules.ts';

const alice = authorKeyPair();
const key = { author: 'alice', keyId: alice.keyId, publicKey: alice.publicKey };

/** The run's code: reads the status, asks the gateway, returns the summary. */
const RUN_MODULE = `export async function run(input, capsule) {
  const status = await capsule.callTool('observation_status_get', { seriesId: input.incident_id });
  const chat = await capsule.callTool('gateway_chat_create', { model: 'standin-a', messages: [{ role: 'user', content: 'status ' + status.state }] });
  return { summary: chat.text };
}
export async function sneaky(input, capsule) { return capsule.callTool('governance_config_put', {}); }
export async function greedy(input, capsule) {
  for (let i = 0; i < 10; i++) await capsule.callTool('gateway_chat_create', { model: 'standin-a', messages: [] });
  return 'done';
}
`;

function capsuleWith(entry: string, overrides: Parameters<typeof sampleManifest>[0] = {}) {
  const manifest = sampleManifest({
    code: {
      module: 'tools/run.js',
      capabilities: ['read:inputs', 'call:tool:observation_status_get', 'call:tool:gateway_chat_create'],
      tools: [{ name: 'run_summary', description: 'Summarises', entry, inputSchema: { type: 'object' } }],
    },
    ...overrides,
  });
  const files: Record<string, string> = manifest.code ? { 'tools/run.js': RUN_MODULE } : {};
  const { bytes, signature } = signedBundle(alice, manifest, files);
  return verifyBundle(bytes, signature, key);
}

function installOf(capsule: ReturnType<typeof capsuleWith>, budget = { tokens: 1000, costUsd: 0.5 }): Install {
  return {
    tenant: 'acme',
    name: capsule.manifest.name,
    version: capsule.manifest.version,
    ownerTenant: 'acme',
    bundleSha256: capsule.sha256,
    tools: capsule.manifest.tools,
    budget,
    policyVersion: 2,
    status: 'installed',
    installedBy: 'admin@acme.example',
    installedAt: '2026-12-01T09:00:00.000Z',
    revision: 1,
  };
}

/** An in-memory run store keeping every write's events in order. */
function memoryRuns(): RunStore & { events: BusEvent[]; counts: Map<string, Record<string, number>>; writes: number } {
  const runs = new Map<string, CapsuleRun>();
  const counts = new Map<string, Record<string, number>>();
  const store = {
    events: [] as BusEvent[],
    counts,
    writes: 0,
    async putRun(run: CapsuleRun, expected: number | undefined, events: BusEvent[]) {
      const current = runs.get(`${run.tenant}#${run.runId}`);
      if (current?.revision !== expected) throw new ConflictError(`run ${run.runId} moved`);
      runs.set(`${run.tenant}#${run.runId}`, structuredClone(run));
      store.events.push(...events);
      store.writes += 1;
    },
    async run(tenant: string, runId: string) {
      return runs.get(`${tenant}#${runId}`);
    },
    async runs(tenant: string, limit: number, name?: string) {
      return [...runs.values()]
        .filter((run) => run.tenant === tenant && (!name || run.name === name))
        .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
        .slice(0, limit);
    },
    async countOutcome(name: string, outcome: string) {
      const record = counts.get(name) ?? {};
      record[outcome] = (record[outcome] ?? 0) + 1;
      counts.set(name, record);
    },
  };
  return store;
}

type Reply = (tool: string, args: Record<string, unknown>) => RunToolReply;
const ok: Reply = (tool) =>
  tool === 'gateway_chat_create'
    ? {
        outcome: 'success',
        statusCode: 200,
        text: '',
        result: { text: 'all quiet', usage: { inputTokens: 120, outputTokens: 30 }, costUsd: 0.001 },
      }
    : { outcome: 'success', statusCode: 200, text: '', result: { state: 'ok' } };

function deps(capsule: ReturnType<typeof capsuleWith>, reply: Reply = ok, extra: Partial<RunDeps> = {}) {
  const store = memoryRuns();
  const calls: { tool: string; args: Record<string, unknown> }[] = [];
  let tick = 0;
  let ids = 0;
  const runDeps: RunDeps = {
    store,
    capsules: {
      install: async (tenant, name) => (tenant === 'acme' && name === capsule.manifest.name ? installOf(capsule) : undefined),
      capsule: async () => capsule,
    },
    tools: {
      call: async (tool, args) => {
        calls.push({ tool, args });
        return reply(tool, args);
      },
    },
    clock: () => new Date(Date.UTC(2026, 11, 1, 10, 0, tick++)),
    newRunId: () => `run-${String(++ids).padStart(32, '0')}`,
    ...extra,
  };
  return { runDeps, store, calls };
}

const input = { incident_id: 'inc-7', audience: 'on-call' };

describe('capsule runs', () => {
  it('runs the capsule’s code to completion, each step saved with its event, the outcome counted', async () => {
    const capsule = capsuleWith('run');
    const { runDeps, store, calls } = deps(capsule);
    const run = await startRun('acme', 'ops@acme.example', { name: 'incident-summary', input }, runDeps);
    assert.equal(run.outcome, 'completed', run.reason ?? '');
    assert.equal(run.summary, 'all quiet');
    assert.deepEqual(run.usage, { tokens: 150, costUsd: 0.001, toolCalls: 2 });
    assert.deepEqual(
      calls.map((call) => call.tool),
      ['observation_status_get', 'gateway_chat_create'],
    );
    assert.deepEqual(calls[0]?.args, { seriesId: 'inc-7' });
    assert.deepEqual(
      store.events.map((event) => event.detailType),
      ['capsules.run.started', 'capsules.run-tool.called', 'capsules.run-tool.called', 'capsules.run.ended'],
    );
    assert.equal(store.writes, 4);
    assert.equal(run.revision, 3);
    assert.deepEqual(
      run.steps.map((step) => [step.step, step.tool, step.outcome]),
      [
        [1, 'observation_status_get', 'success'],
        [2, 'gateway_chat_create', 'success'],
      ],
    );
    assert.deepEqual(runRecord(store.counts.get('incident-summary') ?? {}), {
      runs: 1,
      completed: 1,
      successRate: 1,
      byOutcome: { completed: 1 },
    });
    assert.deepEqual((await readRuns('acme', { runId: run.runId }, store)).runs, [run]);
    await assert.rejects(readRuns('globex', { runId: run.runId }, store), NotFoundError);
  });

  it('refuses an input its schema does not accept, naming the field, and starts nothing', async () => {
    const { runDeps, store } = deps(capsuleWith('run'));
    await assert.rejects(
      startRun('acme', 'ops@acme.example', { name: 'incident-summary', input: { incident_id: 'inc-7', audience: 'everyone' } }, runDeps),
      (error: unknown) => error instanceof ValidationError && error.issues.some((issue) => issue.path === 'input.audience'),
    );
    await assert.rejects(
      startRun('acme', 'ops@acme.example', { name: 'incident-summary', input: {} }, runDeps),
      (error: unknown) => error instanceof ValidationError && error.issues.some((issue) => issue.path === 'input.incident_id'),
    );
    await assert.rejects(
      startRun('acme', 'ops@acme.example', { name: 'incident-summary', input: { incident_id: 'x', extra: 1 } }, runDeps),
      (error: unknown) => error instanceof ValidationError && error.issues.some((issue) => issue.path === 'input.extra'),
    );
    assert.equal(store.writes, 0);
  });

  it('runs only capsules the tenant installed', async () => {
    const { runDeps } = deps(capsuleWith('run'));
    await assert.rejects(startRun('globex', 'ops@globex.example', { name: 'incident-summary', input }, runDeps), NotFoundError);
    await assert.rejects(startRun('acme', 'ops@acme.example', { name: 'other-capsule', input }, runDeps), NotFoundError);
  });

  it('refuses a call of a tool the capsule does not declare: the run ends refused, nothing called', async () => {
    const { runDeps, store, calls } = deps(capsuleWith('sneaky'));
    const run = await startRun('acme', 'ops@acme.example', { name: 'incident-summary', input }, runDeps);
    assert.equal(run.outcome, 'refused');
    assert.match(run.reason ?? '', /governance_config_put/);
    assert.equal(calls.length, 0);
    assert.equal(store.events.at(-1)?.detailType, 'capsules.run.ended');
    assert.deepEqual(store.counts.get('incident-summary'), { refused: 1 });
  });

  it('stops a run over its budget, and refuses the calls after it', async () => {
    const capsule = capsuleWith('greedy');
    const { runDeps, calls } = deps(capsule);
    // 150 tokens a chat, 1000 a run: the seventh chat passes 1000 and stops the run.
    const run = await startRun('acme', 'ops@acme.example', { name: 'incident-summary', input }, runDeps);
    assert.equal(run.outcome, 'over-budget');
    assert.equal(calls.length, 7);
    assert.equal(run.usage.tokens, 1050);
    assert.match(run.reason ?? '', /1050 tokens; its budget is 1000/);
  });

  it('stays over budget when the code catches the stop and goes on: no call after it reaches a tool', async () => {
    const module = `export async function run(input, capsule) {
      for (let i = 0; i < 3; i++) { try { await capsule.callTool('gateway_chat_create', { model: 'standin-a', messages: [] }); } catch (e) {} }
      return 'kept going';
    }`;
    const manifest = sampleManifest({
      code: {
        module: 'tools/run.js',
        capabilities: ['call:tool:gateway_chat_create'],
        tools: [{ name: 'run_summary', description: 'Summarises', entry: 'run', inputSchema: { type: 'object' } }],
      },
    });
    const { bytes, signature } = signedBundle(alice, manifest, { 'tools/run.js': module });
    const capsule = verifyBundle(bytes, signature, key);
    const pricey: Reply = () => ({
      outcome: 'success',
      statusCode: 200,
      text: '',
      result: { text: 'x', usage: { inputTokens: 900, outputTokens: 200 }, costUsd: 0 },
    });
    const { runDeps, calls } = deps(capsule, pricey);
    const run = await startRun('acme', 'ops@acme.example', { name: 'incident-summary', input }, runDeps);
    assert.equal(run.outcome, 'over-budget');
    assert.equal(calls.length, 1);
    // The stop is the run's: later calls are refused in the sandbox and never reach the tools.
    assert.deepEqual(
      run.steps.map((step) => step.outcome),
      ['success'],
    );
    assert.match(run.reason ?? '', /1100 tokens; its budget is 1000/);
  });

  it('ends a run whose tool call waits for approval, with the approval id', async () => {
    const pending: Reply = (tool) =>
      tool === 'observation_status_get'
        ? {
            outcome: 'pending',
            statusCode: 202,
            text: 'Pending approval',
            result: { approvalId: 'approval-p1' },
            approvalId: 'approval-p1',
          }
        : ok(tool, {});
    const { runDeps, calls } = deps(capsuleWith('run'), pending);
    const run = await startRun('acme', 'ops@acme.example', { name: 'incident-summary', input }, runDeps);
    assert.equal(run.outcome, 'pending-approval');
    assert.equal(run.approvalId, 'approval-p1');
    assert.equal(calls.length, 1);
  });

  it('asks the capsule’s guardrails before each call', async () => {
    const { runDeps, calls } = deps(capsuleWith('run'), ok, {
      guardrails: {
        check: async (_tenant, capsule, tool) =>
          tool === 'gateway_chat_create' ? { allowed: false, reason: `forbid on Autonomy::Capsule::"${capsule}"` } : { allowed: true },
      },
    });
    const run = await startRun('acme', 'ops@acme.example', { name: 'incident-summary', input }, runDeps);
    assert.equal(run.outcome, 'refused');
    assert.match(run.reason ?? '', /guardrails forbid gateway_chat_create/);
    assert.deepEqual(
      calls.map((call) => call.tool),
      ['observation_status_get'],
    );
  });

  it('runs a capsule without code as one gateway chat with its persona and first template', async () => {
    const manifest = sampleManifest({ code: undefined });
    const { bytes, signature } = signedBundle(alice, manifest, {});
    const capsule = verifyBundle(bytes, signature, key);
    const { runDeps, calls } = deps(capsule);
    const run = await startRun('acme', 'ops@acme.example', { name: 'incident-summary', input }, runDeps);
    assert.equal(run.outcome, 'completed');
    assert.equal(run.summary, 'all quiet');
    assert.deepEqual(calls, [
      {
        tool: 'gateway_chat_create',
        args: {
          model: 'standin-a',
          messages: [
            { role: 'system', content: 'You summarise incident inc-7 for on-call. Be brief.' },
            { role: 'user', content: 'Summarise incident inc-7 in 5 lines.' },
          ],
        },
      },
    ]);
  });

  it('records a failing tool call and ends the run failed', async () => {
    const failing: Reply = () => ({ outcome: 'error', statusCode: 403, text: 'This needs the observation:read permission', result: null });
    const { runDeps, store } = deps(capsuleWith('run'), failing);
    const run = await startRun('acme', 'ops@acme.example', { name: 'incident-summary', input }, runDeps);
    assert.equal(run.outcome, 'failed');
    assert.match(run.reason ?? '', /observation:read/);
    assert.deepEqual(run.steps[0] && [run.steps[0].outcome, run.steps[0].statusCode], ['error', 403]);
    assert.deepEqual(store.counts.get('incident-summary'), { failed: 1 });
  });
});
