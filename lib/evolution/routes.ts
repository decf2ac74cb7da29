/** Routes of the Evolution engine: a service's configuration, observations, decisions and status. */
import { z } from 'zod';
import { defineRoute } from '../api/route.ts';
import {
  armIdSchema,
  armSummarySchema,
  autonomySchema,
  candidateSchema,
  changeKindSchema,
  decisionSchema,
  MAX_ARMS,
  MAX_OBSERVATIONS,
  observationSchema,
  regretSchema,
  serviceConfigSchema,
  serviceIdSchema,
  storedServiceSchema,
} from './schemas.ts';

const splitSchema = z.record(armIdSchema, z.number().min(0).max(1));

/** PUT /evolution/config: declare (or replace) a service's arms, reward, bounds and autonomy. */
export const putConfigRoute = defineRoute({
  engine: 'evolution',
  action: 'config',
  method: 'PUT',
  permission: 'evolution:configure',
  summary:
    "Declare a managed service's candidate configurations (arms, each within the evolution:tune bounds), the current arm, reward weights and scales, the exploration share for untested arms and the autonomy (recommend, propose, ask-people); an arm id keeps its parameters (400 naming arms.<i>.id otherwise)",
  parameters: serviceConfigSchema,
  result: storedServiceSchema.omit({ tenant: true }),
});

/** GET /evolution/config: a service's configuration. */
export const getConfigRoute = defineRoute({
  engine: 'evolution',
  action: 'config',
  method: 'GET',
  permission: 'evolution:read',
  summary: "A service's Evolution configuration (404 before its first PUT)",
  parameters: z.object({ service: serviceIdSchema }),
  result: storedServiceSchema.omit({ tenant: true }),
});

/** POST /evolution/observations: outcomes of requests served by the service's arms. */
export const postObservationsRoute = defineRoute({
  engine: 'evolution',
  action: 'observations',
  method: 'POST',
  permission: 'evolution:write',
  summary: `Add outcomes of requests served by declared arms (success, latencyMs, cost; 1-${MAX_OBSERVATIONS} per call), atomically: a refused call adds nothing, concurrent calls lose no counts`,
  parameters: z.object({ service: serviceIdSchema, observations: z.array(observationSchema).min(1).max(MAX_OBSERVATIONS) }),
  result: z.object({
    accepted: z.number().int().min(0).max(MAX_OBSERVATIONS),
    arms: z.record(armIdSchema, z.number().int().min(0).max(MAX_OBSERVATIONS)),
  }),
});

/** POST /evolution/decide: a decision for a service. */
export const decideRoute = defineRoute({
  engine: 'evolution',
  action: 'decide',
  method: 'POST',
  permission: 'evolution:write',
  summary:
    "Decide for a service: Thompson sampling's traffic split over its declared arms within governance's bounds, posteriors and regret; a change becomes a governance proposal (evolution:tune; evolution:restructure for people when the components differ or a candidate outside the declared set is given), and the decision is recorded in the ledger",
  parameters: z.object({
    service: serviceIdSchema,
    /** Joint posterior draws (default 2000). */
    draws: z.number().int().min(100).max(20_000).optional(),
    /** A configuration suggested from outside the declared set: proposed to people as a structural change, given no traffic. */
    candidate: candidateSchema.optional(),
  }),
  result: decisionSchema.omit({ tenant: true }),
});

/** GET /evolution/status: a service's arms, posteriors, split and regret. */
export const statusRoute = defineRoute({
  engine: 'evolution',
  action: 'status',
  method: 'GET',
  permission: 'evolution:read',
  summary:
    "A service's arms with their posteriors now (success, latency, cost, reward: mean, 95% interval, n), P(best), the current split (the latest decision's), the regret estimate and the latest decision",
  parameters: z.object({ service: serviceIdSchema }),
  result: z.object({
    service: serviceIdSchema,
    configVersion: z.number().int().min(1).max(1e9),
    current: armIdSchema,
    autonomy: autonomySchema,
    explorationShare: z.number().min(0).max(1),
    minObservations: z.number().int().min(1).max(100_000),
    arms: z.array(armSummarySchema).max(MAX_ARMS),
    split: splitSchema,
    regret: regretSchema,
    latestDecision: z
      .object({
        decisionId: z.string().max(64),
        seq: z.number().int().min(1).max(1e12),
        primary: armIdSchema,
        change: changeKindSchema,
        proposalId: z.string().max(64).optional(),
        proposalStatus: z.string().max(32).optional(),
        decidedAt: z.string().max(64),
        decisionMs: z.number().min(0).max(1e7),
      })
      .optional(),
  }),
});
