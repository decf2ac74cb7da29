/**
 * A promotion's plan, pure: the weights of each canary step, and the executor parameters that put
 * them on the traffic target.
 *
 * The baseline is deployed fresh beside the canary, not read off the old primary (Kayenta's advice:
 * a long-running primary differs from any new deployment in age, warm caches and memory, which a
 * judge would blame on the canary):
 *  - SageMaker endpoint: three production variants. At a canary weight w the baseline variant
 *    (the primary's model, deployed with the canary) gets the same weight, min(w, 100 − w), and the
 *    primary the rest; at 100 the canary takes everything. So canary and baseline see the same share.
 *  - Lambda alias: an alias routes to at most two versions, so the baseline is `baselineVersion`
 *    (a version published fresh from the primary's code and configuration) as the alias's version,
 *    taking the primary's share (100 − w), with the canary's version at w; without one, the primary
 *    version itself is the baseline. Both versions start together; their shares differ (the judge
 *    compares distributions, not counts).
 * Roll-back restores the traffic read before the first step; promotion at 100 moves all traffic
 * to the canary (and, for an alias, makes the canary's version the alias's version).
 */
import type { ActuationId } from '../governance/actuations.ts';
import type { TrafficTarget, Weights } from './schemas.ts';

/**
 * The weights at a canary weight w (percent).
 * @example stepWeights(25, 'sagemaker-endpoint') // { canary: 25, baseline: 25, primary: 50 }
 * @example stepWeights(25, 'lambda-alias') // { canary: 25, baseline: 75, primary: 0 }
 */
export function stepWeights(weight: number, kind: TrafficTarget['kind'], freshLambdaBaseline = true): Weights {
  if (weight >= 100) return { canary: 100, baseline: 0, primary: 0 };
  if (kind === 'lambda-alias') {
    return freshLambdaBaseline
      ? { canary: weight, baseline: 100 - weight, primary: 0 }
      : { canary: weight, baseline: 0, primary: 100 - weight };
  }
  const baseline = Math.min(weight, 100 - weight);
  return { canary: weight, baseline, primary: 100 - weight - baseline };
}

/** The weights before any step: everything on the primary. */
export const PRIMARY_ONLY: Weights = { canary: 0, baseline: 0, primary: 100 };

/** An executor call the plan asks for. */
export interface TrafficChange {
  action: ActuationId;
  /** The executor's parameters (lib/adapters/aws/executors.ts schemas). */
  parameters: Record<string, unknown>;
  weights: Weights;
}

/** The Lambda alias's state as the executor reads it. */
interface AliasState {
  functionVersion?: unknown;
  additionalVersionWeights?: unknown;
}

/**
 * The change that puts step weight `weight` on the target. `original` is the target's state read
 * before the first step (the executor's dry-run `before`): the alias's primary version.
 * @throws Error when the original state lacks the alias's version (the dry run did not read it).
 */
export function shiftChange(target: TrafficTarget, weight: number, original: Record<string, unknown>): TrafficChange {
  if (target.kind === 'lambda-alias') {
    const primaryVersion = (original as AliasState).functionVersion;
    if (typeof primaryVersion !== 'string') throw new Error('the alias version before the promotion is unknown');
    const weights = stepWeights(weight, target.kind, target.baselineVersion !== undefined);
    if (weight >= 100) {
      return {
        action: 'promotion:promote',
        weights,
        parameters: { functionVersion: target.canaryVersion, additionalVersionWeights: {}, weight },
      };
    }
    return {
      action: 'promotion:promote',
      weights,
      parameters: {
        functionVersion: target.baselineVersion ?? primaryVersion,
        additionalVersionWeights: { [target.canaryVersion]: Math.round(weight * 100) / 10_000 },
        weight,
      },
    };
  }
  const weights = stepWeights(weight, target.kind);
  return {
    action: 'promotion:promote',
    weights,
    parameters: {
      weight,
      variants: [
        { variantName: target.primaryVariant, weight: weights.primary },
        { variantName: target.baselineVariant, weight: weights.baseline },
        { variantName: target.canaryVariant, weight: weights.canary },
      ],
    },
  };
}

/**
 * The change that restores the traffic read before the first step (the canary back to 0).
 * @example rollBackChange(aliasTarget, { functionVersion: '3', additionalVersionWeights: {} }).parameters // { functionVersion: '3', additionalVersionWeights: {} }
 */
export function rollBackChange(target: TrafficTarget, original: Record<string, unknown>): TrafficChange {
  if (target.kind === 'lambda-alias') {
    const state = original as AliasState;
    if (typeof state.functionVersion !== 'string') throw new Error('the alias version before the promotion is unknown');
    const weights = (state.additionalVersionWeights ?? {}) as Record<string, number>;
    return {
      action: 'promotion:roll-back',
      weights: PRIMARY_ONLY,
      parameters: { functionVersion: state.functionVersion, additionalVersionWeights: weights },
    };
  }
  const variants = ((original as { variants?: Record<string, { weight: number }> }).variants ?? {}) as Record<string, { weight: number }>;
  const weightOf = (name: string, fallback: number) => variants[name]?.weight ?? fallback;
  return {
    action: 'promotion:roll-back',
    weights: PRIMARY_ONLY,
    parameters: {
      variants: [
        { variantName: target.primaryVariant, weight: weightOf(target.primaryVariant, 100) },
        { variantName: target.baselineVariant, weight: weightOf(target.baselineVariant, 0) },
        // The canary goes back to no traffic, whatever it had.
        { variantName: target.canaryVariant, weight: 0 },
      ],
    },
  };
}
