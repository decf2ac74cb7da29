/**
 * The self-repair demo's pure parts: windows of requests (when they close, their p95 and error
 * share), the healthy ceiling, and the report's lines and schema.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { demoReportSchema, formatStep, formatTargets } from '../../lib/demo/report.ts';
import { normalCeiling, percentile, WindowCollector } from '../../lib/demo/windows.ts';

describe('demo windows', () => {
  it('takes percentiles by nearest rank, NaN of nothing', () => {
    assert.equal(percentile([40, 10, 30, 20], 0.95), 40);
    assert.equal(percentile([40, 10, 30, 20], 0.5), 20);
    assert.equal(percentile([7], 0.95), 7);
    assert.ok(Number.isNaN(percentile([], 0.95)));
  });

  it('closes a window once it is old enough with enough requests, with its p95 and error share', () => {
    const windows = new WindowCollector({ windowMs: 100, minRequests: 3, maxWindowMs: 1000 }, 0);
    windows.add({ endedAt: 10, latencyMs: 10, ok: true });
    windows.add({ endedAt: 20, latencyMs: 30, ok: false });
    assert.equal(windows.close(150), undefined, 'two requests are not enough before the longest window');
    windows.add({ endedAt: 160, latencyMs: 20, ok: true });
    windows.add({ endedAt: 170, latencyMs: 300, ok: true });
    assert.equal(windows.close(90), undefined, 'too young');
    assert.deepEqual(windows.close(200), { end: 200, requests: 4, p95LatencyMs: 300, errorPercent: 25 });
    assert.equal(windows.close(1000), undefined, 'a new, empty window');
  });

  it('closes a slow window at the longest age with any request, and never an empty one', () => {
    const windows = new WindowCollector({ windowMs: 100, minRequests: 5, maxWindowMs: 1000 }, 0);
    assert.equal(windows.close(5000), undefined);
    windows.add({ endedAt: 5100, latencyMs: 900, ok: false });
    assert.deepEqual(windows.close(5100), { end: 5100, requests: 1, p95LatencyMs: 900, errorPercent: 100 });
  });

  it('sets the healthy ceiling at 1.5 × the p95 plus one, so one odd window does not widen it', () => {
    assert.equal(normalCeiling([20, 22, 25]), 38.5);
    assert.equal(normalCeiling(Array.from({ length: 100 }, () => 0)), 1);
    const noisy = [...Array.from({ length: 99 }, () => 20), 1500];
    assert.equal(normalCeiling(noisy), 31);
    assert.equal(normalCeiling([]), Number.POSITIVE_INFINITY);
  });
});

describe('demo report', () => {
  it('prints a step with its signed time since the injection', () => {
    assert.equal(formatStep({ step: 'detected', atMs: 840, detail: 'incident opened' }), '  +0.84 s  detected   incident opened');
    assert.equal(formatStep({ step: 'setup', atMs: -21_600, detail: 'x' }), ' -21.60 s  setup      x');
  });

  it('prints the figures against the seed targets as ratios, and what was not reached', () => {
    assert.deepEqual(formatTargets({ detectionLatencyMs: 120, decisionActionMs: 4500 }), [
      'detection (point arrived → incident opened): 120 ms = 0.120× the 1 s target',
      'decision and action (incident opened → change verified): 4500 ms = 0.150× the 30 s target',
    ]);
    assert.match(formatTargets({ detectionLatencyMs: null, decisionActionMs: null })[1] ?? '', /not reached/);
  });

  it('takes the --json shape, with null for steps that did not happen', () => {
    const report = {
      detectedMs: 900,
      diagnosedMs: 1200,
      decidedMs: 1300,
      executedMs: null,
      recoveredMs: null,
      recovered: false,
      ledgerIntact: true,
      detectionLatencyMs: 110,
      decisionActionMs: null,
      tenant: 'demo-1',
      ledger: [{ stream: 'events.observation', intact: true, entries: 12, detail: 'observation.incident.opened' }],
      missing: ['no succeeded run'],
      steps: [{ step: 'injected', atMs: 0, detail: 'alias …' }],
    };
    assert.deepEqual(demoReportSchema.parse(report), report);
    assert.equal(demoReportSchema.safeParse({ ...report, recoveredMs: -1 }).success, false);
    assert.equal(demoReportSchema.safeParse({ ...report, steps: [{ step: 'slept', atMs: 0, detail: '' }] }).success, false);
  });
});
