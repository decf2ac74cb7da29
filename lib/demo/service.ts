/**
 * The demo service of the self-repair demo (`npm run demo -- self-repair`, issue 10): a function
 * that plays a service whose latency and error rate follow a fault switch. Pure: the switch and a
 * random source in, what one request costs and whether it fails out.
 *
 * The switch is the function's configuration (`DEMO_SERVICE_FAULT`, JSON), so it travels with a
 * published version: a version published with it set is a bad release, and routing an alias's
 * traffic away from that version (the Execution engine's `lambda-alias` roll-back) is the fix.
 */
import { z } from 'zod';
import { ValidationError } from '../errors.ts';

/** A fault: extra latency on every request and the share of requests that fail. */
export const faultSchema = z.strictObject({
  /** Milliseconds added to every request (0-5000). */
  latencyMs: z.number().min(0).max(5000),
  /** Share of requests that fail, 0-1. */
  errorRate: z.number().min(0).max(1),
});
/** A fault. */
export type Fault = z.infer<typeof faultSchema>;

/** A healthy request's cost: `BASE_LATENCY_MS` plus up to `JITTER_MS`, never failing. */
export const BASE_LATENCY_MS = 10;
/** Uniform jitter on every request's latency, healthy or not. */
export const JITTER_MS = 10;

/**
 * The fault switch from its configuration text: none when unset or empty.
 * @throws {ValidationError} naming `DEMO_SERVICE_FAULT.<field>` when the text is not a fault's JSON.
 * @example parseFault('{"latencyMs":300,"errorRate":0.3}') // { latencyMs: 300, errorRate: 0.3 }
 */
export function parseFault(text: string | undefined): Fault | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ValidationError([{ path: 'DEMO_SERVICE_FAULT', message: 'must be JSON: {"latencyMs":<ms>,"errorRate":<0-1>}' }]);
  }
  const parsed = faultSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ValidationError(
      parsed.error.issues.map((issue) => ({ path: ['DEMO_SERVICE_FAULT', ...issue.path.map(String)].join('.'), message: issue.message })),
    );
  }
  return parsed.data;
}

/** What one request does: how long it takes and whether it fails. */
export interface RequestOutcome {
  delayMs: number;
  fail: boolean;
}

/**
 * One request's outcome under `fault` (none: healthy), drawing from `random` (uniform in [0, 1)).
 * @example requestOutcome(undefined, Math.random) // { delayMs: 10..20, fail: false }
 */
export function requestOutcome(fault: Fault | undefined, random: () => number): RequestOutcome {
  const delayMs = BASE_LATENCY_MS + JITTER_MS * random() + (fault?.latencyMs ?? 0);
  const fail = fault !== undefined && random() < fault.errorRate;
  return { delayMs, fail };
}
