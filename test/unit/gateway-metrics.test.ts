/** The gateway's usage metrics: one EMF record per call, dimensioned by model and outcome only (no tenant, no user). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordCallMetrics } from '../../lib/adapters/aws/gateway-deps.ts';

function captured(run: () => void): string[] {
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    run();
  } finally {
    process.stdout.write = write;
  }
  return lines.join('').split('\n').filter(Boolean);
}

describe('gateway usage metrics', () => {
  it('publish tokens, cost and latency in one record dimensioned by model and outcome', () => {
    const lines = captured(() =>
      recordCallMetrics({ model: 'standin-a', inputTokens: 10, outputTokens: 5, costUsd: 0.000012, latencyMs: 120, outcome: 'answered' }),
    );
    assert.equal(lines.length, 1, lines.join('\n'));
    const record = JSON.parse(lines[0] ?? '{}');
    const directive = record._aws.CloudWatchMetrics[0];
    assert.deepEqual(directive.Dimensions[0].slice(-2), ['model', 'outcome']);
    assert.deepEqual(directive.Metrics.map((metric: { Name: string }) => metric.Name).sort(), [
      'GatewayCallLatency',
      'GatewayCostMicroUsd',
      'GatewayInputTokens',
      'GatewayOutputTokens',
    ]);
    assert.deepEqual(
      [
        record.model,
        record.outcome,
        record.GatewayInputTokens,
        record.GatewayOutputTokens,
        record.GatewayCostMicroUsd,
        record.GatewayCallLatency,
      ],
      ['standin-a', 'answered', 10, 5, 12, 120],
    );
    assert.ok(!('tenant' in record));
  });
});
