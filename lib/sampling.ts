/**
 * Seeded random draws shared by the engines that sample posteriors (Reflex's case base, Evolution's
 * bandit): a uniform PRNG seeded by a string, standard normal draws (Box–Muller), Gamma draws
 * (Marsaglia and Tsang, "A simple method for generating gamma variables", ACM TOMS 26(3), 2000:
 * squeeze-and-reject on a cubed normal for shape ≥ 1, and the boost `Gamma(a) = Gamma(a + 1) · U^(1/a)`
 * for shape < 1) and Beta draws as `X / (X + Y)` of two Gamma draws.
 */
import { createHash } from 'node:crypto';

/**
 * A uniform PRNG in [0, 1) seeded by a string (SHA-256 of it seeds xoshiro128**): the same seed,
 * the same sequence, on every platform.
 * @example const random = seededRandom('acme/inc-1/1'); random() // 0.73… (always the same)
 */
export function seededRandom(seed: string): () => number {
  const digest = createHash('sha256').update(seed).digest();
  let [a, b, c, d] = [digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12)] as [
    number,
    number,
    number,
    number,
  ];
  if ((a | b | c | d) === 0) a = 1;
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result / 2 ** 32;
  };
}

const rotl = (value: number, bits: number) => ((value << bits) | (value >>> (32 - bits))) >>> 0;

/** A standard normal draw (Box–Muller; `1 - u` keeps the logarithm finite). */
export function normalSample(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * A Gamma(shape, 1) draw (Marsaglia and Tsang; boosted for shape < 1). Divide by a rate to get Gamma(shape, rate).
 * @throws RangeError when shape is not a positive finite number.
 */
export function gammaSample(shape: number, random: () => number): number {
  if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`Gamma shape must be positive and finite, got ${shape}`);
  if (shape < 1) return gammaSample(shape + 1, random) * (1 - random()) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normalSample(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - random();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** A Beta(alpha, beta) draw. */
export function betaSample(alpha: number, beta: number, random: () => number): number {
  const x = gammaSample(alpha, random);
  const y = gammaSample(beta, random);
  return x + y === 0 ? 0.5 : x / (x + y);
}
