/**
 * Events of the Evolution engine (`autonomy.evolution`): a decision for a managed service — the
 * bounded Thompson split over its declared arms, each arm's posterior summaries, the regret
 * estimate and the governance proposal it became. Saved with the service's latest decision (an
 * outbox), recorded in the tenant's ledger (stream `events.evolution`) and published after it, so it
 * is published at least once (events/delivery.ts).
 *
 * The shapes come from lib/evolution/schemas.ts (zod and events/ only), so the catalog and the
 * engine cannot drift apart.
 */
import type { z } from 'zod';
import { loopSteppedSchema } from '../lib/evolution/loop-schemas.ts';
import { decisionSchema } from '../lib/evolution/schemas.ts';
import { defineEvent, detailSchema } from './common.ts';

/** `evolution.decision.made` v1: a decision with its posterior summaries. */
export const evolutionDecisionMade = defineEvent({
  source: 'autonomy.evolution',
  detailType: 'evolution.decision.made',
  version: '1',
  description:
    "An Evolution decision for a managed service: the traffic split Thompson sampling gives its declared arms within governance's bounds, each arm's posteriors (success, latency, cost, reward: mean, 95% interval, n), P(best), the regret estimate, and the proposal it became (tune, or restructure for people).",
  schema: detailSchema('1', decisionSchema.omit({ tenant: true }).shape),
});
/** The detail of `evolution.decision.made`. */
export type EvolutionDecisionMade = z.infer<typeof evolutionDecisionMade.schema>;

/** `evolution.loop.stepped` v1: one step of a run of the improvement loop (Loop 1), tying the engines' records together by id. */
export const evolutionLoopStepped = defineEvent({
  source: 'autonomy.evolution',
  detailType: 'evolution.loop.stepped',
  version: '1',
  description:
    "One step of a run of the improvement loop (Loop 1: observe → Evolution decides → Versioning tags the chosen configuration → Promotion canaries it → Replication after a promotion → recorded): the step, the run's status after it, how long it took, what came of it, and the ids of the Evolution decision, the configuration version and the promotion it involved.",
  schema: detailSchema('1', loopSteppedSchema.shape),
});
/** The detail of `evolution.loop.stepped`. */
export type EvolutionLoopStepped = z.infer<typeof evolutionLoopStepped.schema>;
