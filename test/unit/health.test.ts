import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHealth } from '../../lib/platform/health.ts';

describe('checkHealth', () => {
  it('reports ok when every check answers', async () => {
    const report = await checkHealth([{ name: 'a', probe: async () => 1 }], { stage: 'dev', version: '1' });
    assert.equal(report.status, 'ok');
    assert.equal(report.checks.a?.ok, true);
  });

  it('reports degraded with the error name only when a check fails', async () => {
    const failing = async () => {
      throw Object.assign(new Error('password=hunter2'), { name: 'ResourceNotFoundException' });
    };
    const report = await checkHealth([{ name: 'a', probe: async () => 1 }, { name: 'b', probe: failing }], { stage: 'dev', version: '1' });
    assert.equal(report.status, 'degraded');
    assert.deepEqual(report.checks.b, { ok: false, latencyMs: report.checks.b?.latencyMs, error: 'ResourceNotFoundException' });
    assert.ok(!JSON.stringify(report).includes('hunter2'));
  });

  it('times a hanging check out instead of hanging', async () => {
    const report = await checkHealth([{ name: 'slow', probe: () => new Promise(() => {}) }], { stage: 'dev', version: '1', timeoutMs: 20 });
    assert.equal(report.checks.slow?.error, 'TimeoutError');
  });
});
