/**
 * The N+1 redundancy check across availability zones: a component's replicas, spread as evenly as
 * the zones allow, must keep at least the needed count when any one zone is lost. Pure.
 */

/** The outcome of the check. */
export interface RedundancyVerdict {
  /** True when losing any one zone leaves at least `needed` replicas at `replicas`. */
  ok: boolean;
  /** The count to set: `desired`, or raised to the smallest count that survives a zone's loss (mode `raise`, within `max`). */
  replicas: number;
  /** Replicas per zone at `replicas`, spread evenly (the first zones take the remainder). */
  spread: Record<string, number>;
  /** Replicas left after losing the zone with the most. */
  afterZoneLoss: number;
  reason: string;
}

/**
 * Replicas per zone when `replicas` are spread evenly over `zones` (the remainder to the first).
 * @example spreadOver(5, ['a', 'b', 'c']) // { a: 2, b: 2, c: 1 }
 */
export function spreadOver(replicas: number, zones: readonly string[]): Record<string, number> {
  const base = Math.floor(replicas / zones.length);
  const extra = replicas % zones.length;
  return Object.fromEntries(zones.map((zone, i) => [zone, base + (i < extra ? 1 : 0)]));
}

/** Replicas left after losing the fullest zone: `replicas − ceil(replicas / zones)`. */
export function survivingReplicas(replicas: number, zoneCount: number): number {
  return zoneCount <= 1 ? 0 : replicas - Math.ceil(replicas / zoneCount);
}

/**
 * The smallest count at least `needed` that keeps `needed` after losing any one of `zoneCount`
 * zones; undefined with fewer than two zones (no count survives the loss of the only zone).
 * @example n1Count(4, 3) // 6: 2+2+2, losing one zone leaves 4
 */
export function n1Count(needed: number, zoneCount: number): number | undefined {
  if (zoneCount < 2) return undefined;
  // R − ceil(R/Z) ≥ needed holds from R = ceil(needed × Z / (Z − 1)) on; start a little below for rounding.
  let replicas = Math.max(needed, Math.floor((needed * zoneCount) / (zoneCount - 1)) - 1);
  while (survivingReplicas(replicas, zoneCount) < needed) replicas += 1;
  return replicas;
}

/**
 * Checks (and in mode `raise` fixes) N+1 across zones: `needed` is the capacity the load asks for,
 * `desired` the count about to be set. Mode `flag` never changes the count; `raise` raises it to
 * the N+1 count, never above `max` (a count capped by `max` stays a violation, named).
 * @example checkRedundancy({ desired: 4, needed: 4, zones: ['a', 'b', 'c'], max: 10, mode: 'raise' }).replicas // 6
 */
export function checkRedundancy(input: {
  desired: number;
  needed: number;
  zones: readonly string[];
  max: number;
  mode: 'raise' | 'flag';
}): RedundancyVerdict {
  const { desired, needed, zones, max, mode } = input;
  const verdict = (replicas: number, reason: string): RedundancyVerdict => {
    const afterZoneLoss = survivingReplicas(replicas, zones.length);
    return { ok: afterZoneLoss >= needed, replicas, spread: spreadOver(replicas, zones), afterZoneLoss, reason };
  };
  if (zones.length < 2) return verdict(desired, `one zone (${zones[0] ?? 'none'}): no count survives its loss`);
  if (survivingReplicas(desired, zones.length) >= needed)
    return verdict(desired, `losing any one of ${zones.length} zones leaves at least ${needed}`);
  const wanted = n1Count(needed, zones.length) as number;
  if (mode === 'flag') return verdict(desired, `N+1 needs ${wanted} across ${zones.length} zones for ${needed}; flagged, not raised`);
  if (wanted > max)
    return verdict(Math.max(desired, max), `N+1 needs ${wanted} across ${zones.length} zones for ${needed}, above max ${max}`);
  return verdict(Math.max(desired, wanted), `raised to ${wanted} so that losing any one of ${zones.length} zones leaves ${needed}`);
}
