/**
 * Order statistics on a sorted window: binary-search insert/remove and median/MAD without
 * re-sorting. With a window of w values an update costs O(log w) comparisons plus an O(w) array
 * shift, and the MAD is found by merging the two monotone deviation runs in O(w).
 */

/** Index of the first element `>= value` in an ascending array. */
export function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Inserts `value` into an ascending array in place. */
export function insertSorted(sorted: number[], value: number): void {
  sorted.splice(lowerBound(sorted, value), 0, value);
}

/**
 * Removes one occurrence of `value` from an ascending array in place.
 * @throws {RangeError} when the value is absent (the window and its sorted copy disagree).
 */
export function removeSorted(sorted: number[], value: number): void {
  const index = lowerBound(sorted, value);
  if (sorted[index] !== value) throw new RangeError(`value ${value} is not in the sorted window`);
  sorted.splice(index, 1);
}

/** Median of an ascending, non-empty array. */
export function medianSorted(sorted: readonly number[]): number {
  const n = sorted.length;
  const mid = n >>> 1;
  return n % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Median absolute deviation from `center` of an ascending, non-empty array (unscaled).
 * The deviations left of `center` grow leftwards and those right of it grow rightwards, so the
 * k-th smallest deviation is found by a two-pointer merge instead of a sort.
 */
export function madSorted(sorted: readonly number[], center: number): number {
  const n = sorted.length;
  const split = lowerBound(sorted, center);
  let left = split - 1;
  let right = split;
  const want = n >>> 1;
  let previous = 0;
  let current = 0;
  for (let k = 0; k <= want; k += 1) {
    const leftDev = left >= 0 ? center - (sorted[left] as number) : Number.POSITIVE_INFINITY;
    const rightDev = right < n ? (sorted[right] as number) - center : Number.POSITIVE_INFINITY;
    previous = current;
    if (leftDev <= rightDev) {
      current = leftDev;
      left -= 1;
    } else {
      current = rightDev;
      right += 1;
    }
  }
  return n % 2 === 1 ? current : (previous + current) / 2;
}

/** Median of an unsorted array (copies, then sorts); for one-off use such as initialisation. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return medianSorted([...values].sort((a, b) => a - b));
}
