import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, thompsonSplit, totalVariation } from '../../lib/evolution/bandit.ts';
import {
  addTo,
  betaPosterior,
  betaSummary,
  emptyStats,
  normalGammaPosterior,
  normalGammaSummary,
  sampleNormalGammaMean,
} from '../../lib/evolution/posteriors.ts';
import { betaQuantile, studentTQuantile } from '../../lib/evolution/quantiles.ts';
import { type ArmStats, type ServiceConfig, type ServiceConfigInput, serviceConfigSchema } from '../../lib/evolution/schemas.ts';
import { cumulativeRegret, preDraw, SCENARIOS, thompsonPolicy, uniformPolicy } from '../../lib/evolution/simulator.ts';
import { betaSample, gammaSample, seededRandom } from '../../lib/sampling.ts';

const close = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);

const moments = (values: number[]) => {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return { mean, variance: values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1) };
};

const outcomes = (n: number, p: number, latencyMs: number) =>
  Array.from({ length: n }, (_, i) => ({ success: i / n < p, latencyMs: latencyMs + (i % 5) * 10 }));

function config(overrides: Partial<ServiceConfigInput> & Pick<ServiceConfigInput, 'arms'>): ServiceConfig {
  return serviceConfigSchema.parse({
    service: 'svc/chat',
    current: overrides.arms[0]?.id,
    weights: { success: 1, latency: 1, cost: 0 },
    scales: { latencyMs: 1000, cost: 1 },
    minObservations: 30,
    ...overrides,
  });
}

describe('evolution posteriors', () => {
  it('updates Beta–Bernoulli as conjugacy says: Beta(1 + s, 1 + f)', () => {
    const stats = addTo(emptyStats(), [{ success: true }, { success: true }, { success: true }, { success: false }, { latencyMs: 5 }]);
    assert.deepEqual(betaPosterior(stats), { alpha: 4, beta: 2 });
    const summary = betaSummary(betaPosterior(stats), 4);
    close(summary.mean, 4 / 6, 1e-6, 'mean');
    // Beta(4, 2) has CDF 5x⁴ − 4x⁵: the interval's ends sit at 2.5% and 97.5%.
    const cdf = (x: number) => 5 * x ** 4 - 4 * x ** 5;
    close(cdf(summary.lower), 0.025, 1e-5, 'lower');
    close(cdf(summary.upper), 0.975, 1e-5, 'upper');
  });

  it('updates Normal–Gamma as the hand-computed conjugate update', () => {
    // x = 2, 6 with prior (μ0 0, κ0 1, α0 1, β0 1): x̄ 4, S = 8, κ 3, μ 8/3, α 2, β = 1 + 4 + (1·2·16)/(2·3) = 5 + 16/3.
    const stats = addTo(emptyStats(), [{ latencyMs: 2 }, { latencyMs: 6 }]);
    assert.deepEqual(stats.latency, { n: 2, sum: 8, sumSq: 40 });
    const posterior = normalGammaPosterior(stats.latency, 1, { mu: 0, kappa: 1, alpha: 1, beta: 1 });
    close(posterior.kappa, 3, 1e-12, 'κ');
    close(posterior.mu, 8 / 3, 1e-12, 'μ');
    close(posterior.alpha, 2, 1e-12, 'α');
    close(posterior.beta, 5 + 16 / 3, 1e-12, 'β');
    // In scale units: the same data at scale 2 is x' = 1, 3, and the summary comes back × 2.
    const scaled = normalGammaPosterior(stats.latency, 2, { mu: 0, kappa: 1, alpha: 1, beta: 1 });
    close(scaled.mu * 2, 8 / 3, 1e-12, 'μ at scale 2');
    // The marginal of μ is t(2α) with scale √(β/(ακ)): the interval is μ ± t₀.₉₇₅(4)·scale.
    const summary = normalGammaSummary(posterior, 1, 2);
    close(summary.upper - summary.mean, 2.776445 * Math.sqrt(posterior.beta / (posterior.alpha * posterior.kappa)), 1e-4, 'half-width');
  });

  it('gives quantiles matching closed forms (Cauchy, t with 2 degrees of freedom, Beta(1, 1))', () => {
    close(studentTQuantile(0.975, 1), Math.tan(Math.PI * 0.475), 1e-6, 't(1)');
    const p = 0.9;
    close(studentTQuantile(p, 2), (2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 1e-6, 't(2)');
    close(studentTQuantile(0.025, 10), -2.228139, 1e-5, 't(10), R qt(0.025, 10)');
    close(betaQuantile(0.3, 1, 1), 0.3, 1e-8, 'uniform');
  });

  it('draws Gamma, Beta and Normal–Gamma means with the right mean and variance over many draws', () => {
    const random = seededRandom('moments');
    const n = 40_000;
    for (const shape of [0.5, 2.5]) {
      const g = moments(Array.from({ length: n }, () => gammaSample(shape, random)));
      close(g.mean, shape, 0.03 * Math.max(1, shape), `Gamma(${shape}) mean`);
      close(g.variance, shape, 0.06 * Math.max(1, shape), `Gamma(${shape}) variance`);
    }
    const b = moments(Array.from({ length: n }, () => betaSample(2, 5, random)));
    close(b.mean, 2 / 7, 0.003, 'Beta(2, 5) mean');
    close(b.variance, 10 / (49 * 8), 0.001, 'Beta(2, 5) variance');
    const posterior = { mu: 1.5, kappa: 4, alpha: 6, beta: 3 };
    const m = moments(Array.from({ length: n }, () => sampleNormalGammaMean(posterior, random)));
    // μ's marginal is t(12) scaled by √(β/(ακ)) = √0.125: variance 0.125 · 12/10.
    close(m.mean, 1.5, 0.01, 'Normal–Gamma mean');
    close(m.variance, 0.125 * 1.2, 0.01, 'Normal–Gamma variance');
  });
});

describe('evolution split', () => {
  it('keeps every split within the declared arms, untested arms within the exploration share, the others within the tune bound', () => {
    for (let seed = 0; seed < 40; seed += 1) {
      const random = seededRandom(`bounds/${seed}`);
      const k = 2 + Math.floor(random() * 6);
      const arms = Array.from({ length: k }, (_, i) => ({ id: `arm-${i}`, parameters: {} }));
      const explorationShare = Math.round(random() * 50) / 100;
      const cfg = config({ arms, explorationShare, current: `arm-${Math.floor(random() * k)}` });
      const stats: Record<string, ArmStats> = {};
      for (const arm of arms) {
        const n = Math.floor(random() * 80);
        if (n > 0) stats[arm.id] = addTo(emptyStats(), outcomes(n, random(), 100 + random() * 900));
      }
      const outcome = thompsonSplit({ config: cfg, stats, seed: `s${seed}`, draws: 400 });
      assert.deepEqual(Object.keys(outcome.split).sort(), arms.map((a) => a.id).sort());
      close(
        Object.values(outcome.split).reduce((s, v) => s + v, 0),
        1,
        1e-9,
        'sum',
      );
      const untested = arms.filter((a) => a.id !== cfg.current && (stats[a.id]?.count ?? 0) < cfg.minObservations);
      const untestedShare = untested.reduce((s, a) => s + (outcome.split[a.id] ?? 0), 0);
      assert.ok(untestedShare <= explorationShare + 1e-9, `untested ${untestedShare} > ${explorationShare}`);
      assert.ok(!untested.some((a) => a.id === outcome.primary), 'an untested arm is never primary');
      assert.ok(1 - (outcome.split[outcome.primary] ?? 0) <= 0.5 + 1e-9, 'the others within 0.5');
      for (const share of Object.values(outcome.split)) assert.ok(share >= 0 && share <= 1);
    }
  });

  it('sends most traffic to a clearly better tested arm, with a small regret that grows with uncertainty', () => {
    const arms = [
      { id: 'slow', parameters: {} },
      { id: 'fast', parameters: {} },
    ];
    const cfg = config({ arms, current: 'slow' });
    const clear = thompsonSplit({
      config: cfg,
      stats: { slow: addTo(emptyStats(), outcomes(400, 0.7, 400)), fast: addTo(emptyStats(), outcomes(400, 0.9, 150)) },
      seed: 'clear',
    });
    assert.equal(clear.primary, 'fast');
    assert.ok((clear.split.fast ?? 0) > 0.99, JSON.stringify(clear.split));
    assert.ok(clear.regret.primary < 1e-3, `primary regret ${clear.regret.primary}`);
    const unsure = thompsonSplit({
      config: cfg,
      stats: { slow: addTo(emptyStats(), outcomes(30, 0.7, 300)), fast: addTo(emptyStats(), outcomes(30, 0.75, 280)) },
      seed: 'unsure',
    });
    assert.ok(unsure.regret.split > clear.regret.split * 10, `${unsure.regret.split} vs ${clear.regret.split}`);
    assert.ok(unsure.regret.split >= 0 && unsure.regret.primary >= 0);
  });

  it('gives the same split for the same seed', () => {
    const cfg = config({
      arms: [
        { id: 'a', parameters: {} },
        { id: 'b', parameters: {} },
      ],
    });
    const stats = { a: addTo(emptyStats(), outcomes(40, 0.6, 200)), b: addTo(emptyStats(), outcomes(40, 0.65, 200)) };
    assert.deepEqual(thompsonSplit({ config: cfg, stats, seed: 'x' }), thompsonSplit({ config: cfg, stats, seed: 'x' }));
  });

  it('measures total variation as half the L1 distance', () => {
    assert.equal(totalVariation({ a: 1 }, { a: 0.5, b: 0.5 }), 0.5);
    assert.equal(totalVariation({ a: 0.2, b: 0.8 }, { a: 0.2, b: 0.8 }), 0);
  });
});

describe('evolution decide', () => {
  const stats = { a: addTo(emptyStats(), outcomes(200, 0.7, 400)), b: addTo(emptyStats(), outcomes(200, 0.9, 150)) };
  const arms = [
    { id: 'a', parameters: { batchSize: 8 } },
    { id: 'b', parameters: { batchSize: 16 } },
  ];

  it('proposes an evolution:tune within the declared set when another arm becomes primary', () => {
    const outcome = decide({ tenant: 'acme', config: config({ arms, current: 'a' }), stats, seed: 's', decisionId: 'd' });
    assert.equal(outcome.change, 'tune');
    assert.equal(outcome.proposal?.action, 'tune');
    assert.equal(outcome.proposal?.target, 'svc/chat');
    assert.equal(outcome.proposal?.parameters.arm, 'b');
    assert.equal(outcome.proposal?.parameters.batchSize, 16);
    assert.equal(outcome.proposal?.escalate, undefined);
    assert.equal(outcome.arms.length, 2);
  });

  it('goes to people (evolution:restructure) when the new primary runs on other components', () => {
    const outcome = decide({
      tenant: 'acme',
      config: config({
        arms: [
          { id: 'a', parameters: { batchSize: 8 }, components: ['endpoint/a'] },
          { id: 'b', parameters: { batchSize: 16 }, components: ['endpoint/a', 'cache/redis'] },
        ],
        current: 'a',
      }),
      stats,
      seed: 's',
      decisionId: 'd',
    });
    assert.equal(outcome.change, 'restructure');
    assert.equal(outcome.proposal?.action, 'restructure');
  });

  it('proposes a configuration outside the declared set as a restructure and gives it no traffic', () => {
    const outcome = decide({
      tenant: 'acme',
      config: config({ arms, current: 'a' }),
      stats,
      seed: 's',
      decisionId: 'd',
      candidate: { id: 'new', parameters: { batchSize: 64 }, components: [], description: '' },
    });
    assert.equal(outcome.change, 'restructure');
    assert.equal(outcome.split.new, undefined);
  });

  it('proposes nothing when the primary stays and the split moved within tolerance, or when autonomy is recommend', () => {
    const settled = decide({ tenant: 'acme', config: config({ arms, current: 'b' }), stats, seed: 's', decisionId: 'd' });
    assert.equal(settled.change, 'none', settled.reasons.join('; '));
    assert.equal(settled.proposal, undefined);
    const moved = decide({
      tenant: 'acme',
      config: config({ arms, current: 'b' }),
      stats,
      seed: 's2',
      decisionId: 'd2',
      lastSplit: { a: 0.4, b: 0.6 },
    });
    assert.equal(moved.change, 'tune', 'a split 0.4 away from the last proposed one is proposed');
    const recommend = decide({
      tenant: 'acme',
      config: config({ arms, current: 'a', autonomy: 'recommend' }),
      stats,
      seed: 's',
      decisionId: 'd',
    });
    assert.equal(recommend.change, 'tune');
    assert.equal(recommend.proposal, undefined);
    const ask = decide({
      tenant: 'acme',
      config: config({ arms, current: 'a', autonomy: 'ask-people' }),
      stats,
      seed: 's',
      decisionId: 'd',
    });
    assert.ok(ask.proposal?.escalate);
  });
});

describe('evolution on the known simulator', () => {
  it('has Thompson sampling lose less than uniform random over the same reward sequences', () => {
    const scenario = SCENARIOS[0];
    assert.ok(scenario);
    let ts = 0;
    let uniform = 0;
    for (let seed = 0; seed < 5; seed += 1) {
      const sequences = preDraw(scenario, 800, String(seed));
      ts += cumulativeRegret(scenario, sequences, thompsonPolicy(scenario.spec), `ts/${seed}`);
      uniform += cumulativeRegret(scenario, sequences, uniformPolicy, `uniform/${seed}`);
    }
    assert.ok(ts < uniform / 3, `Thompson ${ts} vs uniform ${uniform}`);
  });
});
