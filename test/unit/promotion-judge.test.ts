/**
 * The canary judge (lib/promotion/judge.ts): per-metric verdicts by direction, significance and the
 * allowed effect relative to the baseline's spread; the weighted score; critical metrics; thresholds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judge, judgeMetric, robustSpread } from '../../lib/promotion/judge.ts';

/** Deterministic normal samples (an LCG and Box–Muller), so every run sees the same data. */
function normals(n: number, mean: number, sd: number, seed: number): number[] {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 1) / 4294967297;
  };
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next()));
}

const baseline = normals(60, 100, 10, 1);

describe('judgeMetric', () => {
  it('fails a canary whose latency rose well beyond the baseline spread', () => {
    const report = judgeMetric({ name: 'latency', direction: 'increase-is-bad' }, { canary: normals(60, 130, 10, 2), baseline });
    assert.equal(report.verdict, 'fail');
    assert.equal(report.classification, 'high');
    assert.ok(report.p !== null && report.p < 1e-6);
    assert.ok(report.shift && report.shift.lower > 20 && report.shift.upper < 40);
    assert.match(report.reason, /beyond the allowed/);
  });

  it('passes the same rise when the metric is one where a decrease is bad', () => {
    const report = judgeMetric({ name: 'throughput', direction: 'decrease-is-bad' }, { canary: normals(60, 130, 10, 2), baseline });
    assert.equal(report.verdict, 'pass');
    assert.equal(report.classification, 'high');
  });

  it('fails either way for a metric marked either', () => {
    const report = judgeMetric({ name: 'size', direction: 'either' }, { canary: normals(60, 70, 10, 3), baseline });
    assert.equal(report.verdict, 'fail');
    assert.equal(report.classification, 'low');
  });

  it('passes a significant shift smaller than the allowed effect relative to the baseline spread', () => {
    const report = judgeMetric({ name: 'latency', allowedEffect: 2 }, { canary: normals(60, 108, 10, 4), baseline });
    assert.equal(report.significant, true);
    assert.equal(report.verdict, 'pass');
    assert.ok(report.allowedEffect !== null && report.allowedEffect > Math.abs(report.shift?.estimate ?? Infinity));
  });

  it('passes a canary drawn from the baseline distribution', () => {
    const report = judgeMetric({ name: 'latency' }, { canary: normals(60, 100, 10, 5), baseline });
    assert.equal(report.verdict, 'pass');
    assert.equal(report.classification, 'same');
  });

  it('removes outliers before the test and reports how many', () => {
    const canary = [...normals(40, 100, 10, 6), 10_000, 12_000];
    const report = judgeMetric({ name: 'latency' }, { canary, baseline });
    assert.equal(report.canary.removed, 2);
    assert.equal(report.verdict, 'pass');
  });

  it('answers nodata below the minimum sample count', () => {
    const report = judgeMetric({ name: 'latency' }, { canary: [1, 2], baseline });
    assert.equal(report.verdict, 'nodata');
    assert.equal(report.p, null);
  });

  it('measures the baseline spread as 1.4826 MAD, falling back to IQR/1.349', () => {
    assert.ok(Math.abs(robustSpread([1, 2, 3, 4, 5]) - 1.4826) < 1e-12);
    assert.ok(Math.abs(robustSpread([5, 5, 5, 5, 5, 5, 9, 9]) - ((9 - 5) * 0.25) / 1.349) < 1e-12);
  });
});

describe('judge', () => {
  const good = normals(60, 100, 10, 7);
  const bad = normals(60, 150, 10, 8);

  it('passes with score 100 when every metric passes', () => {
    const j = judge([{ name: 'latency', critical: true }, { name: 'errors' }], {
      latency: { canary: good, baseline },
      errors: { canary: good, baseline },
    });
    assert.equal(j.decision, 'pass');
    assert.equal(j.score, 100);
  });

  it('fails the whole judgement when a critical metric fails, whatever the score', () => {
    const rules = [
      { name: 'latency', critical: true, weight: 1 },
      { name: 'a', weight: 50 },
    ];
    const j = judge(rules, { latency: { canary: bad, baseline }, a: { canary: good, baseline } });
    assert.equal(j.decision, 'fail');
    assert.deepEqual(j.criticalFailures, ['latency']);
    assert.ok(j.score > 95);
  });

  it('pauses (marginal) when a light metric fails and rolls back when heavy ones do', () => {
    const observed = { latency: { canary: bad, baseline }, cost: { canary: good, baseline } };
    const marginal = judge(
      [
        { name: 'latency', weight: 1 },
        { name: 'cost', weight: 4 },
      ],
      observed,
    );
    assert.equal(marginal.score, 80);
    assert.equal(marginal.decision, 'marginal');
    const failing = judge(
      [
        { name: 'latency', weight: 3 },
        { name: 'cost', weight: 1 },
      ],
      observed,
    );
    assert.equal(failing.score, 25);
    assert.equal(failing.decision, 'fail');
  });

  it('fails a critical metric without data and leaves other metrics without data out of the score', () => {
    assert.equal(judge([{ name: 'latency', critical: true }], {}).decision, 'fail');
    const j = judge([{ name: 'latency' }, { name: 'missing' }], { latency: { canary: good, baseline } });
    assert.equal(j.score, 100);
    assert.equal(j.decision, 'pass');
  });

  it('fails when no metric has data: nothing shows the canary is safe', () => {
    const j = judge([{ name: 'latency' }, { name: 'errors' }], { latency: { canary: [1, 2], baseline: [] } });
    assert.equal(j.decision, 'fail');
    assert.equal(j.score, 0);
    assert.match(j.reason, /no metric had data/);
  });

  it('refuses a marginal threshold above the pass threshold', () => {
    assert.throws(() => judge([], {}, { passThreshold: 50, marginalThreshold: 60 }));
  });
});
