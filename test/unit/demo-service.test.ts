/**
 * The self-repair demo's service: its fault switch (parsed from the function's configuration) and
 * what a request costs under it; and the demo engine stays out of every stage but local and dev.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadEngines } from '../../infra/serverless/engines.ts';
import { BASE_LATENCY_MS, JITTER_MS, parseFault, requestOutcome } from '../../lib/demo/service.ts';
import { ValidationError } from '../../lib/errors.ts';

/** A random source that returns `values` in turn. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
};

describe('demo service', () => {
  it('reads no fault from an unset or empty switch, and a fault from its JSON', () => {
    assert.equal(parseFault(undefined), undefined);
    assert.equal(parseFault('  '), undefined);
    assert.deepEqual(parseFault('{"latencyMs":300,"errorRate":0.3}'), { latencyMs: 300, errorRate: 0.3 });
  });

  it('refuses a switch that is not a fault, naming the field', () => {
    assert.throws(
      () => parseFault('on'),
      (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === 'DEMO_SERVICE_FAULT',
    );
    assert.throws(
      () => parseFault('{"latencyMs":300,"errorRate":2}'),
      (error: unknown) => error instanceof ValidationError && error.issues.some((issue) => issue.path === 'DEMO_SERVICE_FAULT.errorRate'),
    );
    assert.throws(
      () => parseFault('{"latencyMs":300,"errorRate":0.1,"extra":1}'),
      (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === 'DEMO_SERVICE_FAULT',
    );
  });

  it('answers a healthy request in the base latency plus jitter, never failing', () => {
    assert.deepEqual(requestOutcome(undefined, sequence(0)), { delayMs: BASE_LATENCY_MS, fail: false });
    assert.deepEqual(requestOutcome(undefined, sequence(0.5)), { delayMs: BASE_LATENCY_MS + JITTER_MS / 2, fail: false });
  });

  it('adds the fault latency to every request and fails the share the fault says', () => {
    const fault = { latencyMs: 300, errorRate: 0.25 };
    assert.deepEqual(requestOutcome(fault, sequence(0, 0.2)), { delayMs: BASE_LATENCY_MS + 300, fail: true });
    assert.deepEqual(requestOutcome(fault, sequence(0, 0.25)), { delayMs: BASE_LATENCY_MS + 300, fail: false });
    let failed = 0;
    let state = 1;
    // A fixed linear congruential sequence: the failure share converges on the fault's rate.
    const lcg = () => {
      state = (state * 48271) % 2147483647;
      return state / 2147483647;
    };
    for (let i = 0; i < 10_000; i++) if (requestOutcome(fault, lcg).fail) failed++;
    assert.ok(Math.abs(failed / 10_000 - 0.25) < 0.02, `failed ${failed} of 10000`);
  });

  it('is deployed to the local and dev stages only', async () => {
    for (const stage of ['local', 'dev'])
      assert.ok(
        (await loadEngines(stage)).engines.some((engine) => engine.name === 'demo'),
        stage,
      );
    for (const stage of ['staging', 'prod']) assert.ok(!(await loadEngines(stage)).engines.some((engine) => engine.name === 'demo'), stage);
    assert.ok((await loadEngines('prod')).engines.some((engine) => engine.name === 'observation'));
  });
});
