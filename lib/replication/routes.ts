/** Routes of the Replication engine: a component's scaling configuration, an evaluation, its status. */
import { z } from 'zod';
import { defineRoute } from '../api/route.ts';
import { componentIdSchema } from '../reflex/schemas.ts';
import {
  componentConfigSchema,
  decisionSchema,
  evaluateInputSchema,
  forecastOnlyReportSchema,
  replicationRecordSchema,
} from './schemas.ts';

/** PUT /replication/config: one component's scaling configuration (operators, admins). */
export const putConfigRoute = defineRoute({
  engine: 'replication',
  action: 'config',
  method: 'PUT',
  permission: 'replication:configure',
  summary:
    "Set a component's scaling: metrics and targets (HPA), min/max, behavior (stabilisation, Pods/Percent policies, selectPolicy, tolerance), zones (N+1), predictive mode, the executor binding (else the component's scale-out binding in /reflex/components)",
  parameters: componentConfigSchema,
  result: z.object({
    component: componentIdSchema,
    version: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    updatedAt: z.string().max(64),
  }),
});

/** POST /replication/evaluate: metrics in, a decision out (proposed to governance and executed when approved). */
export const evaluateRoute = defineRoute({
  engine: 'replication',
  action: 'evaluate',
  method: 'POST',
  permission: 'replication:write',
  summary:
    "Evaluate a component: its metrics (given, else the newest point of each metric's series), the HPA rule, the forecast's capacity, N+1; a change is proposed (replication:scale, L3 route) and run by the executor once approved. 404 no configuration",
  parameters: evaluateInputSchema,
  result: z.object({ component: componentIdSchema, decision: decisionSchema, settled: decisionSchema.optional() }),
});

/** GET /replication/status: current and desired counts, the stabilisation window, decisions, forecasts. */
export const statusRoute = defineRoute({
  engine: 'replication',
  action: 'status',
  method: 'GET',
  permission: 'replication:read',
  summary:
    "A component's counts, the recommendations in its scale-down stabilisation window, its decisions, its forecast, the forecast-only report (forecast vs actual load, predictive vs reactive capacity), and `waiting`: the proposal left at the gate, behind which evaluations are recorded `blocked` and propose nothing",
  parameters: z.object({ component: componentIdSchema }),
  result: z.object({
    component: componentIdSchema,
    config: componentConfigSchema,
    current: z.number().int().min(0).max(1000).nullable(),
    desired: z.number().int().min(0).max(1000).nullable(),
    window: z.array(z.object({ at: z.string().max(64), replicas: z.number().int().min(0).max(1000) })).max(2000),
    decisions: z.array(decisionSchema).max(50),
    forecast: replicationRecordSchema.shape.forecast,
    report: forecastOnlyReportSchema.nullable(),
    /** The proposal left at the gate: while it is pending, evaluations are recorded `blocked` and propose nothing. */
    waiting: z
      .object({
        decisionId: z.string().max(64),
        proposalId: z.string().max(64),
        since: z.string().max(64),
        from: z.number().int().min(0).max(1000),
        to: z.number().int().min(0).max(1000),
        proposalStatus: z.string().max(32).nullable(),
        route: z.string().max(32).nullable(),
        blockedEvaluations: z.number().int().min(0).max(1000),
        message: z.string().max(500),
      })
      .nullable(),
    updatedAt: z.string().max(64),
  }),
});
