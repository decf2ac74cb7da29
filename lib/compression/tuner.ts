/**
 * Loop 3's tuner (Compression → Observation → Compression): after compressions, callers report
 * whether later answers were found in the compressed context (`POST /compression/feedback`); over a
 * window of those reports, the tenant's settings move one bounded step.
 *
 * The rule ({@link tuneSettings}): with fewer than `minSamples` reports, nothing changes. When the
 * found-rate is below `target` (default 0.9, the seed's retention aim), compression is kept closer to
 * the goal: λ (`relevanceWeight`) +0.05, `itemWeight` +0.1, `summariseAboveTokens` ×2 (history is
 * summarised later). When it is at least `target + margin` (default 0.05 above), there is room for
 * breadth: λ −0.05 and `summariseAboveTokens` ÷2. Each value stays within {@link TUNER_BOUNDS}; a
 * step that changes nothing (already at a bound) is not reported. Pure; the state machine or handler
 * that calls it stores the result.
 *
 * Signature: `tuneSettings(settings: CompressionSettings, window: FeedbackWindow, options?: TunerOptions): TunerResult`.
 *
 * @module
 */
import type { CompressionSettings } from './schemas.ts';

/** What the tuner may change, and within which bounds. */
export const TUNER_BOUNDS = {
  relevanceWeight: { min: 0.5, max: 1 },
  itemWeight: { min: 0, max: 0.8 },
  summariseAboveTokens: { min: 256, max: 16_384 },
} as const;

/** Reports over the window: how many, and in how many the answer was found. */
export interface FeedbackWindow {
  samples: number;
  found: number;
}

/** The tuner's constants. */
export interface TunerOptions {
  target?: number;
  margin?: number;
  minSamples?: number;
}

/** A tuning step: the next settings and what changed, as `name: before → after`. */
export interface TunerResult {
  settings: CompressionSettings;
  changes: string[];
  /** Found-rate of the window (NaN with no samples). */
  foundRate: number;
}

const clamp = (value: number, bounds: { min: number; max: number }) => Math.min(bounds.max, Math.max(bounds.min, value));
const round = (value: number) => Math.round(value * 1000) / 1000;

/**
 * One bounded tuning step from a window of feedback (see the module comment).
 * @example tuneSettings(settings, { samples: 40, found: 30 }); // λ up, item weight up, summarise later
 */
export function tuneSettings(settings: CompressionSettings, window: FeedbackWindow, options: TunerOptions = {}): TunerResult {
  const target = options.target ?? 0.9;
  const margin = options.margin ?? 0.05;
  const minSamples = options.minSamples ?? 20;
  const foundRate = window.samples > 0 ? window.found / window.samples : Number.NaN;
  if (window.samples < minSamples) return { settings, changes: [], foundRate };
  const next = { ...settings };
  if (foundRate < target) {
    next.relevanceWeight = round(clamp(settings.relevanceWeight + 0.05, TUNER_BOUNDS.relevanceWeight));
    next.itemWeight = round(clamp(settings.itemWeight + 0.1, TUNER_BOUNDS.itemWeight));
    next.summariseAboveTokens = Math.round(clamp(settings.summariseAboveTokens * 2, TUNER_BOUNDS.summariseAboveTokens));
  } else if (foundRate >= target + margin) {
    next.relevanceWeight = round(clamp(settings.relevanceWeight - 0.05, TUNER_BOUNDS.relevanceWeight));
    next.summariseAboveTokens = Math.round(clamp(settings.summariseAboveTokens / 2, TUNER_BOUNDS.summariseAboveTokens));
  }
  const changes = (['relevanceWeight', 'itemWeight', 'summariseAboveTokens'] as const)
    .filter((key) => next[key] !== settings[key])
    .map((key) => `${key}: ${settings[key]} → ${next[key]}`);
  return { settings: changes.length > 0 ? next : settings, changes, foundRate };
}
