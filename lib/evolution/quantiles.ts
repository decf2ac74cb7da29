/**
 * Quantiles for posterior intervals: the regularized incomplete beta function I_x(a, b) (Lentz's
 * continued fraction, as in Numerical Recipes §6.4) and its inverse by bisection, giving Beta
 * quantiles and Student-t quantiles (`P(|T| > t) = I_{ν/(ν+t²)}(ν/2, 1/2)`). Deterministic, so a
 * status read twice shows the same interval.
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error below 1e-13). */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const g = 7;
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let sum = c[0] as number;
  for (let i = 1; i < g + 2; i += 1) sum += (c[i] as number) / (z + i);
  const t = z + g + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

function continuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m += 1) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-14) break;
  }
  return h;
}

/**
 * The regularized incomplete beta function I_x(a, b): the CDF of Beta(a, b) at x.
 * @example incompleteBeta(0.5, 2, 2) // 0.5
 */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The continued fraction converges fast for x below the mean; use the symmetry above it.
  return x < (a + 1) / (a + b + 2) ? (front * continuedFraction(a, b, x)) / a : 1 - (front * continuedFraction(b, a, 1 - x)) / b;
}

/**
 * The p-quantile of Beta(a, b) (bisection on {@link incompleteBeta} to 1e-10).
 * @example betaQuantile(0.5, 3, 3) // 0.5
 */
export function betaQuantile(p: number, a: number, b: number): number {
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  let low = 0;
  let high = 1;
  for (let i = 0; i < 60 && high - low > 1e-10; i += 1) {
    const mid = (low + high) / 2;
    if (incompleteBeta(mid, a, b) < p) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/**
 * The p-quantile of Student's t with `dof` degrees of freedom (any positive real).
 * @example studentTQuantile(0.975, 10) // 2.228…
 */
export function studentTQuantile(p: number, dof: number): number {
  if (p === 0.5) return 0;
  const tail = p > 0.5 ? 1 - p : p;
  // P(|T| > t) = 2·tail = I_x(ν/2, 1/2) with x = ν / (ν + t²).
  const x = betaQuantile(2 * tail, dof / 2, 0.5);
  const t = Math.sqrt((dof * (1 - x)) / x);
  return p > 0.5 ? t : -t;
}
