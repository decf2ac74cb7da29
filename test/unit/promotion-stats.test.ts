/**
 * The canary judge's statistics against the references in test/fixtures/conformance/mann-whitney/
 * (R wilcox.test and SciPy mannwhitneyu values, and Kayenta's asserted Hodges–Lehmann case; see
 * its SOURCE.md). Every case is matched: U exactly, p within the case's own tolerance where the
 * fixture names one (atol 1e-12 for the infinities, rtol 1e-14 for the legacy values), otherwise
 * rtol 1e-11 (the references carry 13 significant digits; the worst case here is 5.3e-13), and no case is left out.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  averageRanks,
  exactCdf,
  hodgesLehmann,
  mannWhitneyU,
  normalQuantile,
  normalSf,
  removeOutliers,
} from '../../lib/promotion/stats.ts';
import { conformancePath } from '../helpers/conformance.ts';

interface ScipyCase {
  name: string;
  x: (number | string)[];
  y: (number | string)[];
  alternative: 'two-sided' | 'less' | 'greater';
  method: 'exact' | 'asymptotic';
  use_continuity: boolean;
  expected_U: number;
  expected_p: number;
  reference: string;
  tolerance?: { atol?: number; rtol?: number };
}
interface ScipyFile {
  cases: ScipyCase[];
  exact_null_cdf_tables: { tables: Record<string, Record<string, number[]>> };
}
interface KayentaFile {
  cases: {
    experimentData: number[];
    controlData: number[];
    confidenceLevel: number;
    expected: { confidenceInterval: [number, number]; estimate: number; pValue: number };
    tolerance: number;
  }[];
}

const scipy = JSON.parse(readFileSync(conformancePath('mann-whitney', 'scipy_mannwhitneyu_cases.json'), 'utf8')) as ScipyFile;
const kayenta = JSON.parse(readFileSync(conformancePath('mann-whitney', 'kayenta_mannwhitney_ci_case.json'), 'utf8')) as KayentaFile;

/** Cases we cannot match, each with its reason: none today. The test fails if this drifts. */
const KNOWN_MISMATCHES: readonly string[] = [];

const DEFAULT_RTOL = 1e-11;

function decode(values: (number | string)[]): number[] {
  return values.map((v) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Number(v)));
}

function close(actual: number, expected: number, tol: { atol?: number; rtol?: number } | undefined): boolean {
  const atol = tol?.atol ?? 0;
  const rtol = tol?.rtol ?? (tol?.atol === undefined ? DEFAULT_RTOL : 0);
  return Math.abs(actual - expected) <= atol + rtol * Math.abs(expected);
}

describe('Mann–Whitney U against R and SciPy (conformance)', () => {
  it('holds all 59 reference cases', () => {
    assert.equal(scipy.cases.length, 59);
  });

  it('matches every reference U and p value within its tolerance', () => {
    const mismatches: string[] = [];
    scipy.cases.forEach((c, i) => {
      const result = mannWhitneyU(decode(c.x), decode(c.y), {
        alternative: c.alternative,
        method: c.method,
        continuity: c.use_continuity,
      });
      const label = `#${i} ${c.name} ${c.alternative} ${c.method} continuity=${c.use_continuity}`;
      if (result.u !== c.expected_U || !close(result.p, c.expected_p, c.tolerance)) {
        mismatches.push(`${label}: U ${result.u} vs ${c.expected_U}, p ${result.p} vs ${c.expected_p}`);
      }
    });
    assert.deepEqual(mismatches, KNOWN_MISMATCHES);
  });

  it('chooses the exact distribution for small untied samples and the normal one with ties, as R does', () => {
    assert.equal(mannWhitneyU([1, 2, 3], [4, 5]).method, 'exact');
    assert.equal(mannWhitneyU([1, 2, 2], [4, 5]).method, 'asymptotic');
    const big = Array.from({ length: 50 }, (_, i) => i);
    assert.equal(mannWhitneyU(big, [100.5]).method, 'asymptotic');
  });

  it('reproduces the exact null CDF tables of Mann & Whitney (1947) to 1e-3', () => {
    let checked = 0;
    for (const [nKey, byM] of Object.entries(scipy.exact_null_cdf_tables.tables)) {
      const n = Number(nKey.replace('n=', ''));
      for (const [mKey, cdf] of Object.entries(byM)) {
        cdf.forEach((expected, u) => {
          assert.ok(Math.abs(exactCdf(u, Number(mKey), n) - expected) <= 1e-3 + 1e-12, `n=${n} m=${mKey} u=${u}`);
          checked++;
        });
      }
    }
    assert.ok(checked > 100);
  });
});

describe('Hodges–Lehmann shift with its interval (Kayenta / R conformance)', () => {
  it('matches the Kayenta case: estimate 22.5, 95% CI [6, 39], p 0.0285714', () => {
    for (const c of kayenta.cases) {
      const hl = hodgesLehmann(c.experimentData, c.controlData, { confidenceLevel: c.confidenceLevel });
      const test = mannWhitneyU(c.experimentData, c.controlData);
      assert.ok(Math.abs(hl.estimate - c.expected.estimate) <= c.tolerance);
      assert.ok(Math.abs(hl.lower - c.expected.confidenceInterval[0]) <= c.tolerance);
      assert.ok(Math.abs(hl.upper - c.expected.confidenceInterval[1]) <= c.tolerance);
      assert.ok(Math.abs(test.p - c.expected.pValue) <= c.tolerance);
      assert.equal(hl.method, 'exact');
    }
  });

  it('brackets a known shift with the asymptotic interval on larger samples', () => {
    const base = Array.from({ length: 200 }, (_, i) => Math.sin(i * 12.9898) * 10);
    const shifted = base.map((v) => v + 5);
    const hl = hodgesLehmann(shifted, base);
    assert.equal(hl.method, 'asymptotic');
    assert.ok(Math.abs(hl.estimate - 5) < 1e-9);
    assert.ok(hl.lower < 5 && hl.upper > 5 && hl.upper - hl.lower < 5);
  });

  it('widens the interval as the confidence level rises', () => {
    const x = [3.1, 4.2, 5.3, 6.1, 7.7, 8.2];
    const y = [1.0, 2.2, 3.3, 4.9, 5.6];
    const narrow = hodgesLehmann(x, y, { confidenceLevel: 0.8 });
    const wide = hodgesLehmann(x, y, { confidenceLevel: 0.99 });
    assert.ok(wide.lower <= narrow.lower && wide.upper >= narrow.upper);
    assert.ok(wide.upper - wide.lower > narrow.upper - narrow.lower);
  });
});

describe('ranks, normal tails and outliers', () => {
  it('averages ranks over ties and reports the tie groups', () => {
    assert.deepEqual(averageRanks([10, 20, 20, 30]), { ranks: [1, 2.5, 2.5, 4], tieSizes: [2] });
  });

  it('keeps digits in the far normal tail and inverts the quantile', () => {
    assert.ok(Math.abs(normalSf(10) / 7.619853024160527e-24 - 1) < 1e-12);
    assert.ok(Math.abs(normalQuantile(0.975) - 1.959963984540054) < 1e-12);
  });

  it('removes values beyond Tukey fences and keeps the rest in order', () => {
    const out = removeOutliers([1, 2, 3, 4, 5, 6, 7, 8, 100]);
    assert.deepEqual(out.kept, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(out.removed, 1);
    assert.deepEqual(out.fences, [-3, 13]);
  });

  it('refuses empty samples and NaN', () => {
    assert.throws(() => mannWhitneyU([], [1]), RangeError);
    assert.throws(() => mannWhitneyU([Number.NaN], [1]), RangeError);
  });
});
