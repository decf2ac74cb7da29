/**
 * The self-repair demo once on the test cloud (scripts/self-repair-demo.ts, what `npm run demo --
 * self-repair` runs): a bad release of the demo service as a canary on its alias is detected,
 * diagnosed, decided, rolled back by the loop and recovered, with every step's event in the
 * tenant's ledger and every stream verifying. About 47 s on a quiet test cloud; the bound covers the
 * demo's own (warm-up 120 s, recovery 60 s, the ledger 30 s) on a loaded machine.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { demoReportSchema } from '../../lib/demo/report.ts';
import { runSelfRepairDemo } from '../../scripts/self-repair-demo.ts';
import { freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

describe('self-repair demo', () => {
  it('recovers from a bad canary release through the loop, every step in a verifying ledger', { timeout: 240_000 }, async () => {
    const { apiUrl, resources } = testCloud();
    const functionName = resources.functions.DemoServiceLambdaFunction;
    assert.ok(functionName, 'the local stage deploys the demo engine');
    const tenant = freshTenant('demo');
    const lines: string[] = [];
    const report = await runSelfRepairDemo({
      apiUrl,
      region: process.env.AWS_REGION ?? 'us-east-1',
      accountId: '000000000000',
      functionName,
      tenant,
      token: (roles, subject) => tokenFor({ tenant, roles, subject }),
      recoveryTimeoutMs: 60_000,
      onStep: (step) => lines.push(`${step.atMs} ${step.step} ${step.detail}`),
      log: (line) => lines.push(`  ${line}`),
    });
    const context = `${lines.join('\n')}\nmissing: ${report.missing.join('; ')}`;
    assert.deepEqual(demoReportSchema.parse(report), report);
    assert.equal(report.recovered, true, context);
    assert.equal(report.ledgerIntact, true, context);
    assert.deepEqual(report.missing, [], context);
    // Each step after the one before it.
    const times = [report.detectedMs, report.decidedMs, report.executedMs, report.recoveredMs];
    assert.ok(
      times.every((time) => time !== null),
      context,
    );
    for (let i = 1; i < times.length; i++) assert.ok((times[i] ?? 0) >= (times[i - 1] ?? 0), `${JSON.stringify(times)}\n${context}`);
    assert.ok(report.detectionLatencyMs !== null && report.detectionLatencyMs < 5000, context);
    assert.deepEqual(
      report.ledger.map((check) => check.stream),
      ['events.observation', 'events.reflex', 'events.governance', 'events.execution'],
    );
    assert.ok(
      report.ledger.every((check) => check.entries > 0),
      context,
    );
  });
});
