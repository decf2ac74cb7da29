import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../lib/errors.ts';
import { metricBatchSchema, metricPointSchema, validateBatch } from '../../lib/observation/schemas.ts';

const good = { series: 'api.latency:p99/eu-west-1', timestamp: '2026-01-01T00:00:00Z', value: 12.5, labels: { env: 'prod' } };

describe('metric point validation', () => {
  it('normalises an ISO timestamp with an offset to epoch ms', () => {
    const point = metricPointSchema.parse({ ...good, timestamp: '2026-01-01T01:00:00+01:00' });
    assert.equal(point.timestamp, Date.parse('2026-01-01T00:00:00Z'));
  });

  it('defaults labels to an empty record', () => {
    const { labels: _labels, ...rest } = good;
    assert.deepEqual(metricPointSchema.parse(rest).labels, {});
  });

  it('rejects a timestamp without offset, a non-finite value, a bad series name and too many labels', () => {
    assert.equal(metricPointSchema.safeParse({ ...good, timestamp: '2026-01-01T00:00:00' }).success, false);
    assert.equal(metricPointSchema.safeParse({ ...good, value: Number.NaN }).success, false);
    assert.equal(metricPointSchema.safeParse({ ...good, value: Number.POSITIVE_INFINITY }).success, false);
    assert.equal(metricPointSchema.safeParse({ ...good, value: -1e101 }).success, false, 'beyond ±1e100 the running variance overflows');
    assert.equal(metricPointSchema.safeParse({ ...good, value: 1e100 }).success, true);
    assert.equal(metricPointSchema.safeParse({ ...good, series: 'has space' }).success, false);
    assert.equal(metricPointSchema.safeParse({ ...good, series: 'x'.repeat(201) }).success, false);
    const labels = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v']));
    assert.equal(metricPointSchema.safeParse({ ...good, labels }).success, false);
    assert.equal(metricPointSchema.safeParse({ ...good, labels: { 'bad key': 'v' } }).success, false);
  });

  it('bounds a strict batch to 1..500 points', () => {
    assert.equal(metricBatchSchema.safeParse([]).success, false);
    assert.equal(metricBatchSchema.safeParse(Array.from({ length: 501 }, () => good)).success, false);
    assert.equal(metricBatchSchema.safeParse([good]).success, true);
  });
});

describe('validateBatch', () => {
  it('keeps good points in order and rejects bad ones with index, reason and path', () => {
    const result = validateBatch([good, { ...good, timestamp: 'yesterday' }, { ...good, value: 'high' }, { ...good, value: 3 }, 42]);
    assert.deepEqual(
      result.accepted.map((p) => p.value),
      [12.5, 3],
    );
    assert.deepEqual(
      result.rejected.map((r) => [r.index, r.path]),
      [
        [1, 'timestamp'],
        [2, 'value'],
        [4, ''],
      ],
    );
    for (const rejected of result.rejected) assert.ok(rejected.reason.length > 0);
  });

  it('names the label key that is too long', () => {
    const { rejected } = validateBatch([{ ...good, labels: { env: 'x'.repeat(257) } }]);
    assert.equal(rejected[0]?.path, 'labels.env');
  });

  it('throws a ValidationError naming points for an empty or oversized batch', () => {
    assert.throws(
      () => validateBatch([]),
      (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === 'points',
    );
    assert.throws(() => validateBatch(Array.from({ length: 501 }, () => good)), ValidationError);
  });
});
