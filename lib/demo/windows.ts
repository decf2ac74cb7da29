/**
 * The self-repair demo's metrics: each request's latency and outcome as its client saw it, gathered
 * into short windows (the way a load balancer or a metrics agent reports a service), and the band
 * the warm-up traffic sets for "back to normal". Pure: samples and times in, figures out.
 */

/** One request as its client saw it. */
export interface RequestSample {
  /** When it ended (epoch ms). */
  endedAt: number;
  latencyMs: number;
  ok: boolean;
}

/** One window's figures: what becomes a point of each of the service's series. */
export interface WindowFigures {
  /** When the window closed (epoch ms): the points' timestamp. */
  end: number;
  requests: number;
  /** The 95th percentile of the requests' latencies (nearest rank). */
  p95LatencyMs: number;
  /** Failed requests, in percent of the window's requests. */
  errorPercent: number;
}

/** When a window closes. */
export interface WindowRule {
  /** A window closes once it is this old and holds `minRequests`… */
  windowMs: number;
  minRequests: number;
  /** …or once it is this old with any request in it (a slow service still reports). */
  maxWindowMs: number;
}

/** The demo's windows: 100 ms with at least 5 requests, or up to a second with fewer. */
export const DEFAULT_WINDOW_RULE: WindowRule = { windowMs: 100, minRequests: 5, maxWindowMs: 1000 };

/**
 * The `q` quantile of `values` by nearest rank (`q` in (0, 1]); NaN when there are none.
 * @example percentile([10, 20, 30, 40], 0.95) // 40
 */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/**
 * Gathers samples into windows: {@link WindowCollector.add} each finished request, and
 * {@link WindowCollector.close} at any time returns the window when the rule says it is complete.
 * @example
 * const windows = new WindowCollector(DEFAULT_WINDOW_RULE, Date.now());
 * windows.add({ endedAt: Date.now(), latencyMs: 12, ok: true });
 * const figures = windows.close(Date.now()); // undefined until the window is complete
 */
export class WindowCollector {
  readonly #rule: WindowRule;
  #start: number;
  #samples: RequestSample[] = [];

  constructor(rule: WindowRule, start: number) {
    this.#rule = rule;
    this.#start = start;
  }

  /** Adds a finished request to the open window. */
  add(sample: RequestSample): void {
    this.#samples.push(sample);
  }

  /** The open window's figures if it is complete at `now` (and a new window opens at `now`); otherwise undefined. */
  close(now: number): WindowFigures | undefined {
    const age = now - this.#start;
    const count = this.#samples.length;
    const complete = (age >= this.#rule.windowMs && count >= this.#rule.minRequests) || (age >= this.#rule.maxWindowMs && count > 0);
    if (!complete) return undefined;
    const figures: WindowFigures = {
      end: now,
      requests: count,
      p95LatencyMs: percentile(
        this.#samples.map((sample) => sample.latencyMs),
        0.95,
      ),
      errorPercent: (100 * this.#samples.filter((sample) => !sample.ok).length) / count,
    };
    this.#samples = [];
    this.#start = now;
    return figures;
  }
}

/**
 * The ceiling of "normal" for a series, from its values while the service was healthy: half as much
 * again as their 95th percentile, plus one unit (a series that was 0 throughout, an error rate,
 * allows 1). A percentile, not the highest: a loaded machine's odd slow window does not widen it.
 * @example normalCeiling([20, 22, 25]) // 38.5
 */
export function normalCeiling(healthy: readonly number[]): number {
  return healthy.length === 0 ? Number.POSITIVE_INFINITY : percentile(healthy, 0.95) * 1.5 + 1;
}
