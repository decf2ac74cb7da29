/**
 * Conjugate posteriors of one arm, from its sufficient statistics.
 *
 * **Success rate**: Beta–Bernoulli with a uniform prior, Beta(1 + successes, 1 + failures); the 95%
 * interval is the 2.5% and 97.5% Beta quantiles.
 *
 * **Latency and cost**: Normal–Gamma (unknown mean μ and precision τ), in units of the tenant's scale
 * s (x' = x / s), prior NG(μ0 = 1, κ0 = 0.5, α0 = 1, β0 = 0.25): a typical value of one scale, worth
 * half an observation, with a prior standard deviation of about half a scale. With n observations,
 * mean x̄ and centred sum of squares S = Σx'² − n·x̄²:
 *
 *   κn = κ0 + n,  μn = (κ0·μ0 + n·x̄) / κn,  αn = α0 + n/2,  βn = β0 + S/2 + κ0·n·(x̄ − μ0)² / (2·κn)
 *
 * (Murphy, "Conjugate Bayesian analysis of the Gaussian distribution", 2007, §3). A draw is
 * τ ~ Gamma(αn, rate βn), μ ~ N(μn, 1/(κn·τ)); the marginal of μ is Student-t with 2αn degrees of
 * freedom, location μn and scale √(βn/(αn·κn)), whose 2.5% and 97.5% quantiles give the interval.
 */
import { betaSample, gammaSample, normalSample } from '../sampling.ts';
import { betaQuantile, studentTQuantile } from './quantiles.ts';
import type { ArmStats, Interval, Moments } from './schemas.ts';

/** Beta posterior parameters. */
export interface BetaPosterior {
  alpha: number;
  beta: number;
}

/** Normal–Gamma parameters (prior or posterior). */
export interface NormalGamma {
  mu: number;
  kappa: number;
  alpha: number;
  beta: number;
}

/** The Normal–Gamma prior in scale units (see the module comment). */
export const NORMAL_GAMMA_PRIOR: Readonly<NormalGamma> = { mu: 1, kappa: 0.5, alpha: 1, beta: 0.25 };

/** Statistics of an arm with no observations. */
export function emptyStats(): ArmStats {
  return { count: 0, successes: 0, failures: 0, latency: { n: 0, sum: 0, sumSq: 0 }, cost: { n: 0, sum: 0, sumSq: 0 } };
}

/**
 * Beta(1 + successes, 1 + failures).
 * @example betaPosterior({ ...emptyStats(), successes: 3, failures: 1 }) // { alpha: 4, beta: 2 }
 */
export function betaPosterior(stats: Pick<ArmStats, 'successes' | 'failures'>): BetaPosterior {
  return { alpha: 1 + stats.successes, beta: 1 + stats.failures };
}

/**
 * The Normal–Gamma posterior of moments measured in units of `scale`.
 * @example normalGammaPosterior({ n: 2, sum: 4, sumSq: 8.5 }, 1, { mu: 0, kappa: 1, alpha: 1, beta: 1 })
 * // { mu: 4/3, kappa: 3, alpha: 2, beta: 1 + 0.25 + 4/3 }
 */
export function normalGammaPosterior(moments: Moments, scale: number, prior: NormalGamma = NORMAL_GAMMA_PRIOR): NormalGamma {
  const { n } = moments;
  if (n === 0) return { ...prior };
  const mean = moments.sum / scale / n;
  // Σ(x − x̄)² from the raw sums; rounding can make it slightly negative.
  const centred = Math.max(0, moments.sumSq / (scale * scale) - n * mean * mean);
  const kappa = prior.kappa + n;
  return {
    mu: (prior.kappa * prior.mu + n * mean) / kappa,
    kappa,
    alpha: prior.alpha + n / 2,
    beta: prior.beta + centred / 2 + (prior.kappa * n * (mean - prior.mu) ** 2) / (2 * kappa),
  };
}

/** One draw of the mean μ from a Normal–Gamma posterior. */
export function sampleNormalGammaMean(posterior: NormalGamma, random: () => number): number {
  const precision = gammaSample(posterior.alpha, random) / posterior.beta;
  return posterior.mu + normalSample(random) / Math.sqrt(posterior.kappa * precision);
}

/** One draw of the success rate. */
export function sampleBeta(posterior: BetaPosterior, random: () => number): number {
  return betaSample(posterior.alpha, posterior.beta, random);
}

const round = (value: number, digits = 6) => Number(value.toPrecision(digits));

/** Mean and 95% interval of a Beta posterior. */
export function betaSummary(posterior: BetaPosterior, n: number): Interval {
  const { alpha, beta } = posterior;
  return {
    mean: round(alpha / (alpha + beta)),
    lower: round(betaQuantile(0.025, alpha, beta)),
    upper: round(betaQuantile(0.975, alpha, beta)),
    n,
  };
}

/** Mean and 95% interval of the mean of a Normal–Gamma posterior, back in raw units (× scale). */
export function normalGammaSummary(posterior: NormalGamma, scale: number, n: number): Interval {
  const half = studentTQuantile(0.975, 2 * posterior.alpha) * Math.sqrt(posterior.beta / (posterior.alpha * posterior.kappa));
  return {
    mean: round(posterior.mu * scale),
    lower: round((posterior.mu - half) * scale),
    upper: round((posterior.mu + half) * scale),
    n,
  };
}

/**
 * Adds observations to statistics (pure; the store adds the same increments atomically).
 * @example addTo(emptyStats(), [{ arm: 'a', success: true, latencyMs: 120 }]).latency // { n: 1, sum: 120, sumSq: 14400 }
 */
export function addTo(
  stats: ArmStats,
  observations: readonly { success?: boolean | undefined; latencyMs?: number | undefined; cost?: number | undefined }[],
): ArmStats {
  const next: ArmStats = { ...stats, latency: { ...stats.latency }, cost: { ...stats.cost } };
  for (const o of observations) {
    next.count += 1;
    if (o.success === true) next.successes += 1;
    if (o.success === false) next.failures += 1;
    if (o.latencyMs !== undefined) {
      next.latency.n += 1;
      next.latency.sum += o.latencyMs;
      next.latency.sumSq += o.latencyMs * o.latencyMs;
    }
    if (o.cost !== undefined) {
      next.cost.n += 1;
      next.cost.sum += o.cost;
      next.cost.sumSq += o.cost * o.cost;
    }
  }
  return next;
}
