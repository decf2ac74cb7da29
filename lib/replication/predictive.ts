/**
 * Predictive scaling from the Observation engine's forecasts (lib/observation/series-forecast.ts:
 * ETS, Holt-Winters among them), as AWS predictive scaling works: the capacity each forecast period
 * needs (forecast load ÷ per-replica target, with a buffer, within min/max); `forecast-only` records
 * it and compares it later with the load that came and what reactive scaling did; `forecast-and-scale`
 * pre-scales ahead by a lead time, the count being the larger of the reactive and the predictive one.
 * Pure.
 */

import type { RecentPoint } from '../observation/ports.ts';
import { type ForecastModelName, type ForecastReport, forecastPoints } from '../observation/series-forecast.ts';

/** Predictive settings of a component. */
export interface PredictiveSettings {
  mode: 'off' | 'forecast-only' | 'forecast-and-scale';
  /** The Observation series carrying the component's load (a total: requests per second, tokens per minute). */
  series: string;
  /** Load one replica is meant to carry. */
  targetPerReplica: number;
  /** Headroom added to the forecast, in percent (AWS's capacity buffer). */
  bufferPercent: number;
  /** How far ahead capacity is put in place, in seconds (AWS's SchedulingBufferTime). */
  leadSeconds: number;
  /** Forecast periods (steps of the series' interval). */
  horizon: number;
  model: ForecastModelName;
  seasonLength?: number;
}

/** The capacity one forecast period needs. */
export interface CapacityPoint {
  time: string;
  load: number;
  capacity: number;
}

/**
 * The capacity per period: `ceil(max(0, load) × (1 + buffer%) / targetPerReplica)`, within min/max.
 * @example capacityPlan([{ time: 't', value: 430 }], { targetPerReplica: 50, bufferPercent: 10 }, { min: 1, max: 20 }) // [{ time: 't', load: 430, capacity: 10 }]
 */
export function capacityPlan(
  forecasts: readonly { time: string; value: number }[],
  settings: Pick<PredictiveSettings, 'targetPerReplica' | 'bufferPercent'>,
  bounds: { min: number; max: number },
): CapacityPoint[] {
  return forecasts.map(({ time, value }) => {
    const needed = Math.ceil((Math.max(0, value) * (1 + settings.bufferPercent / 100)) / settings.targetPerReplica - 1e-9);
    return { time, load: value, capacity: Math.min(bounds.max, Math.max(bounds.min, needed)) };
  });
}

/**
 * Forecasts the load series with the Observation engine's ETS models and plans capacity.
 * @throws ValidationError when no model fits the points (too few, or the model's constraints).
 */
export function forecastCapacity(
  points: readonly RecentPoint[],
  settings: PredictiveSettings,
  bounds: { min: number; max: number },
): { report: ForecastReport; plan: CapacityPoint[] } {
  const report = forecastPoints(points, {
    horizon: settings.horizon,
    model: settings.model,
    ...(settings.seasonLength !== undefined ? { seasonLength: settings.seasonLength } : {}),
  });
  return { report, plan: capacityPlan(report.forecasts, settings, bounds) };
}

/**
 * The capacity to have in place now: the largest the plan needs from now to `now + lead` (a period
 * that starts within the lead time is provisioned before it starts). Undefined when no period falls
 * in that span (the plan is stale or not yet reached).
 */
export function predictiveFloor(plan: readonly CapacityPoint[], now: number, leadSeconds: number, intervalMs: number): number | undefined {
  // A period covers [time − interval, time): the one in progress counts too.
  const inSpan = plan.filter((point) => {
    const end = Date.parse(point.time);
    return end > now && end - intervalMs <= now + leadSeconds * 1000;
  });
  return inSpan.length === 0 ? undefined : Math.max(...inSpan.map((point) => point.capacity));
}

/** One period of a forecast-only report. */
export interface ForecastComparison {
  time: string;
  forecastLoad: number;
  actualLoad: number | null;
  /** The capacity predictive scaling would have set. */
  predictiveCapacity: number;
  /** The capacity reactive scaling had at that time (its last decision before), null when unknown. */
  reactiveCapacity: number | null;
  /** The capacity the actual load needed (same buffer and target). */
  neededCapacity: number | null;
}

/** A forecast-only report: each past period, and summary errors. */
export interface ForecastOnlyReport {
  periods: ForecastComparison[];
  /** Mean absolute percentage error of the forecast load (periods with an actual load above 0). */
  mape: number | null;
  /** Periods where predictive capacity would have been below what the load needed. */
  predictiveShort: number;
  /** Periods where reactive capacity was below what the load needed. */
  reactiveShort: number;
}

/**
 * Compares recorded forecasts with what happened: the actual load of each period (the mean of the
 * series' points within it), the capacity it needed, and the reactive decisions in force then.
 */
export function compareForecasts(
  recorded: readonly CapacityPoint[],
  actual: readonly RecentPoint[],
  reactive: readonly { at: number; replicas: number }[],
  settings: Pick<PredictiveSettings, 'targetPerReplica' | 'bufferPercent'>,
  intervalMs: number,
  now: number,
): ForecastOnlyReport {
  const periods: ForecastComparison[] = [];
  for (const point of recorded) {
    const end = Date.parse(point.time);
    if (end > now) continue;
    const inside = actual.filter(([t]) => t > end - intervalMs && t <= end).map(([, value]) => value);
    const actualLoad = inside.length === 0 ? null : inside.reduce((a, b) => a + b, 0) / inside.length;
    const before = reactive.filter((decision) => decision.at <= end).at(-1);
    periods.push({
      time: point.time,
      forecastLoad: point.load,
      actualLoad,
      predictiveCapacity: point.capacity,
      reactiveCapacity: before?.replicas ?? null,
      neededCapacity:
        actualLoad === null
          ? null
          : Math.ceil((Math.max(0, actualLoad) * (1 + settings.bufferPercent / 100)) / settings.targetPerReplica - 1e-9),
    });
  }
  const errors = periods
    .filter((p) => p.actualLoad !== null && p.actualLoad > 0)
    .map((p) => Math.abs(p.forecastLoad - (p.actualLoad as number)) / (p.actualLoad as number));
  return {
    periods,
    mape: errors.length === 0 ? null : errors.reduce((a, b) => a + b, 0) / errors.length,
    predictiveShort: periods.filter((p) => p.neededCapacity !== null && p.predictiveCapacity < p.neededCapacity).length,
    reactiveShort: periods.filter((p) => p.neededCapacity !== null && p.reactiveCapacity !== null && p.reactiveCapacity < p.neededCapacity)
      .length,
  };
}
