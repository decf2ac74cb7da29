/**
 * Events of the Replication engine (`autonomy.replication`): a scaling decision for a component
 * (the HPA's recommendation, the predictive capacity, the N+1 check, the count decided and what
 * became of it). Saved with the component's record (an outbox), recorded in the tenant's ledger
 * and published after it, so it is published at least once (events/delivery.ts).
 */
import { z } from 'zod';
import { componentIdSchema } from '../lib/reflex/schemas.ts';
import { decisionStatusSchema } from '../lib/replication/schemas.ts';
import { defineEvent, detailSchema, isoTimestampSchema } from './common.ts';

const count = z.number().int().min(0).max(1000);

/** `replication.decision.made` v1: one evaluation of a component's capacity. */
export const decisionMade = defineEvent({
  source: 'autonomy.replication',
  detailType: 'replication.decision.made',
  version: '1',
  description:
    "A component's capacity was evaluated: the HPA's recommendation on its metrics, the capacity its load forecast asks for, the N+1 check across zones, the count decided and whether it was proposed, executed, left at the gate or refused.",
  schema: detailSchema('1', {
    component: componentIdSchema,
    decisionId: z.string().min(1).max(64),
    trigger: z.string().min(1).max(256),
    current: count,
    recommended: count,
    reactive: count,
    predictive: count.nullable(),
    desired: count,
    redundancyOk: z.boolean().nullable(),
    status: decisionStatusSchema,
    proposalId: z.string().min(1).max(64).optional(),
    reason: z.string().max(1000),
    decisionMs: z.number().min(0).max(1e9),
    decidedAt: isoTimestampSchema,
  }),
});
/** The detail of `replication.decision.made`. */
export type DecisionMade = z.infer<typeof decisionMade.schema>;
