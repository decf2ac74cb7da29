/**
 * The improvement demo once on the test cloud (scripts/improve-demo.ts, what `npm run demo --
 * improve` runs): Evolution finds the faster configuration of the demo service from observations,
 * Versioning tags it, the canary judge passes each step on latencies measured through the alias and
 * it is promoted; a deliberately slower configuration is then canaried and rolled back on its own;
 * the tenant's streams verify.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { improveReportSchema, runImproveDemo } from '../../scripts/improve-demo.ts';
import { freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

describe('improvement demo', () => {
  it('promotes the better configuration and rolls back a worse one, every stream verifying', { timeout: 900_000 }, async () => {
    const { apiUrl, resources } = testCloud();
    const functionName = resources.functions.DemoServiceLambdaFunction;
    assert.ok(functionName, 'the local stage deploys the demo engine');
    const tenant = freshTenant('improve');
    const lines: string[] = [];
    const report = await runImproveDemo({
      apiUrl,
      region: process.env.AWS_REGION ?? 'us-east-1',
      accountId: '000000000000',
      functionName,
      tenant,
      token: (roles, subject) => tokenFor({ tenant, roles, subject }),
      onLine: (line) => lines.push(line),
    });
    const context = lines.join('\n');
    assert.deepEqual(improveReportSchema.parse(report), report);
    assert.equal(report.improvement.status, 'promoted', context);
    assert.equal(report.improvement.chosen, 'fast', context);
    assert.ok(report.improvement.judged.length >= 1 && report.improvement.judged.every((j) => j.decision === 'pass'), context);
    assert.equal(report.worse.status, 'rolled-back', context);
    assert.equal(report.worse.judged.at(-1)?.decision, 'fail', context);
    assert.ok(
      report.ledger.every((check) => check.intact && check.entries > 0),
      context,
    );
    assert.equal(report.ok, true, context);
  });
});
