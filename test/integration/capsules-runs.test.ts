/**
 * Capsule runs on the local cloud: a signed capsule is submitted, approved, published and installed
 * by another tenant, then run to completion (its code in the sandbox calling its declared tools
 * through the MCP path with a key minted for the run), every step in a verifying ledger; a run over
 * its budget is stopped, a run calling an undeclared tool is refused, an input its schema refuses
 * is a 400 naming the field.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { as, FILES, manifestFor, publishAndInstall } from '../helpers/capsules-local.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { eventually, freshTenant } from '../helpers/local-cloud.ts';

const run = (tenant: string, name: string, input: Record<string, unknown>) =>
  as(tenant, 'ops', ['operator'], 'POST', '/capsules/runs', { parameters: { name, input } });

describe('capsule runs on the local cloud', { timeout: 400_000 }, () => {
  it('runs an installed capsule to completion with every step in a verifying ledger; over budget stopped; an undeclared tool refused', async () => {
    const owner = freshTenant('run-a');
    const installer = freshTenant('run-b');
    const suffix = randomUUID().slice(0, 8);
    const good = `incident-summary-${suffix}`;
    const tight = `incident-tight-${suffix}`;
    const sneaky = `incident-sneaky-${suffix}`;
    await publishAndInstall(owner, installer, manifestFor(good, 'run'), FILES);
    await publishAndInstall(owner, installer, manifestFor(tight, 'run', { tokens: 5, costUsd: 0.5 }), FILES);
    await publishAndInstall(owner, installer, manifestFor(sneaky, 'sneaky'), FILES);

    // Not installed, and an input the schema refuses: nothing runs.
    assert.equal((await run(owner, good, { incident_id: 'inc-1' })).status, 404);
    const bad = await run(installer, good, { incident_id: 'inc-1', audience: 'everyone' });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.match(JSON.stringify(bad.body), /input\.audience/);

    const completed = await run(installer, good, { incident_id: 'inc-1', audience: 'on-call' });
    assert.equal(completed.status, 200, JSON.stringify(completed.body));
    const done = completed.body.result;
    assert.equal(done.outcome, 'completed', done.reason);
    assert.ok(done.summary.length > 0);
    assert.deepEqual(
      done.steps.map((step: { tool: string; outcome: string }) => `${step.tool}:${step.outcome}`),
      ['observation_status_get:success', 'gateway_chat_create:success'],
    );
    assert.ok(done.usage.tokens > 0 && done.usage.tokens <= 20_000, JSON.stringify(done.usage));

    const stopped = (await run(installer, tight, { incident_id: 'inc-2' })).body.result;
    assert.equal(stopped.outcome, 'over-budget', JSON.stringify(stopped));
    assert.match(stopped.reason, /its budget is 5/);

    const refused = (await run(installer, sneaky, { incident_id: 'inc-3' })).body.result;
    assert.equal(refused.outcome, 'refused', JSON.stringify(refused));
    assert.match(refused.reason, /governance_config_put/);
    assert.deepEqual(refused.steps, []);

    // Listed, one by id, and the capsule's record.
    const one = await as(installer, 'ops', ['viewer'], 'GET', `/capsules/runs?runId=${done.runId}`);
    assert.equal(one.body.result.runs[0].runId, done.runId);
    const listed = await as(installer, 'ops', ['viewer'], 'GET', `/capsules/runs?name=${good}`);
    assert.deepEqual(listed.body.result.record, { runs: 1, completed: 1, successRate: 1, byOutcome: { completed: 1 } });

    // Every step in the installer's ledger, which verifies; the tool calls in its MCP stream too.
    const steps = await eventually('the run events in the ledger', async () => {
      const events = (await ledgerEvents(installer, 'capsules')).filter((event) => event.detailType.startsWith('capsules.run'));
      return events.length >= 4 + 3 + 2 ? events : undefined;
    });
    const ofGood = steps.filter((event) => (event.detail as { runId?: string }).runId === done.runId).map((event) => event.detailType);
    assert.deepEqual(ofGood, ['capsules.run.started', 'capsules.run-tool.called', 'capsules.run-tool.called', 'capsules.run.ended']);
    for (const stream of ['events.capsules', 'mcp.calls']) {
      const verified = await as(installer, 'auditor', ['viewer'], 'GET', `/audit/verify?stream=${stream}`);
      assert.equal(verified.status, 200, JSON.stringify(verified.body));
      assert.equal(verified.body.result.intact, true, `${stream}: ${JSON.stringify(verified.body.result)}`);
      assert.ok(verified.body.result.entries > 0);
    }
  });
});
