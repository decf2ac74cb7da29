import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  anomalyWindows,
  labelOnsets,
  normalisedScore,
  probationaryLength,
  scaledSigmoid,
  scoreDetections,
} from '../../lib/observation/nab-score.ts';

// Expected figures below were computed by hand from NAB's formulas (sweeper.py), independently of this code.
const MAX_TP = 0.9866142981514305; // scaledSigmoid(-1) = 2·sigmoid(5) − 1

const detectionsAt = (rows: number, ...indexes: number[]) => Array.from({ length: rows }, (_, i) => indexes.includes(i));
const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} ≠ ${expected}`);

describe('NAB scoring rules', () => {
  it('uses 2·sigmoid(−5x) − 1, and −1 beyond 3', () => {
    close(scaledSigmoid(-1), MAX_TP);
    close(scaledSigmoid(0), 0);
    close(scaledSigmoid(3), 2 / (1 + Math.exp(15)) - 1);
    assert.equal(scaledSigmoid(3.0001), -1);
  });

  it('makes the probationary period 15 % of the rows, at most 750', () => {
    assert.equal(probationaryLength(1000), 150);
    assert.equal(probationaryLength(999), 149);
    assert.equal(probationaryLength(10_000), 750);
  });

  it('labels each run of labelled rows at its onset', () => {
    assert.deepEqual(labelOnsets([0, 1, 1, 0, 1, 0, 0, 1]), [1, 4, 7]);
    assert.deepEqual(labelOnsets([1, 1, 0]), [0]);
    assert.deepEqual(labelOnsets([0, 0]), []);
  });

  it('centres one window of 10 % of the rows on a single label', () => {
    assert.deepEqual(anomalyWindows(1000, [500]), [[450, 550]]);
    // trunc(0.1 × 1001) = 100 rows either way; clipped at the end of the series.
    assert.deepEqual(anomalyWindows(1001, [990]), [[940, 1000]]);
  });

  it('shares the 10 % among the labels, deletes a first window in probation and merges overlaps pairwise as NAB does', () => {
    // Two labels: 50 rows each; the windows [475, 525] and [495, 545] overlap and merge.
    assert.deepEqual(anomalyWindows(1000, [500, 520]), [[475, 545]]);
    // The first window [75, 125] starts inside the 150-row probation: deleted.
    assert.deepEqual(anomalyWindows(1000, [100, 600]), [[575, 625]]);
    // Three labels, 33 rows each (half 16): NAB merges the first pair, then moves on (the merged window still overlaps the third).
    assert.deepEqual(anomalyWindows(1000, [500, 510, 520]), [
      [484, 526],
      [504, 536],
    ]);
    assert.deepEqual(anomalyWindows(1000, []), []);
  });

  it('scores −1 for a missed window and 1 for a detection on its first row', () => {
    const windows = anomalyWindows(1000, [500]);
    const missed = scoreDetections(1000, windows, detectionsAt(1000));
    assert.deepEqual(
      { score: missed.score, nullScore: missed.nullScore, perfectScore: missed.perfectScore, detected: missed.detectedWindows },
      { score: -1, nullScore: -1, perfectScore: 1, detected: 0 },
    );
    close(scoreDetections(1000, windows, detectionsAt(1000, 450)).score, 1);
  });

  it('rewards the earliest detection in a window along the scaled sigmoid', () => {
    const windows = anomalyWindows(1000, [500]);
    // Row 500 of [450, 550]: position −(550 − 500 + 1)/101.
    close(scoreDetections(1000, windows, detectionsAt(1000, 500)).score, 0.8632734114432234);
    // The last row: −1/101.
    close(scoreDetections(1000, windows, detectionsAt(1000, 550)).score, 0.025083177261319423);
    // Only the best (earliest) detection of a window counts.
    close(scoreDetections(1000, windows, detectionsAt(1000, 500, 510, 550)).score, 0.8632734114432234);
  });

  it('charges 0.11 for a false positive before any window, less close behind a window, and ignores probation', () => {
    const windows = anomalyWindows(1000, [500]);
    const before = scoreDetections(1000, windows, detectionsAt(1000, 300));
    close(before.score, -1 - 0.11);
    assert.equal(before.falsePositives, 1);
    // 50 rows behind [450, 550]: position 50 / (101 − 1) = 0.5, 0.11 × scaledSigmoid(0.5).
    close(scoreDetections(1000, windows, detectionsAt(1000, 600)).score, -1 - 0.09331120039532642);
    close(scoreDetections(1000, windows, detectionsAt(1000, 560)).score, -1 - 0.02694105286440801);
    // More than 3 window widths behind: the full 0.11.
    close(scoreDetections(1000, windows, detectionsAt(1000, 900)).score, -1 - 0.11);
    // Every false positive counts; a detection in the probationary period counts for nothing.
    const many = scoreDetections(1000, windows, detectionsAt(1000, 100, 200, 300, 450));
    close(many.score, 1 - 0.22);
    assert.deepEqual([many.falsePositives, many.probationary, many.detectedWindows], [2, 1, 1]);
  });

  it('normalises a corpus to 0 for silence and 100 for perfect, over the summed scores', () => {
    const a = anomalyWindows(1000, [500]);
    const b = anomalyWindows(2000, [800, 1500]);
    const silent = [scoreDetections(1000, a, detectionsAt(1000)), scoreDetections(2000, b, detectionsAt(2000))];
    assert.equal(normalisedScore(silent), 0);
    const perfect = [
      scoreDetections(1000, a, detectionsAt(1000, a[0]?.[0] ?? -1)),
      scoreDetections(2000, b, detectionsAt(2000, b[0]?.[0] ?? -1, b[1]?.[0] ?? -1)),
    ];
    close(normalisedScore(perfect) ?? Number.NaN, 100);
    // One window of three found on its first row, one false positive before it: S = 1 − 0.11 − 2, null −3, perfect 3.
    const partial = [scoreDetections(1000, a, detectionsAt(1000, 300, 450)), scoreDetections(2000, b, detectionsAt(2000))];
    close(normalisedScore(partial) ?? Number.NaN, (100 * (1 - 0.11 - 2 + 3)) / 6);
    // A corpus with no window has no scale.
    assert.equal(normalisedScore([scoreDetections(1000, [], detectionsAt(1000, 500))]), null);
  });

  it('refuses a window outside the rows', () => {
    assert.throws(() => scoreDetections(100, [[90, 100]], detectionsAt(100)), RangeError);
  });
});
