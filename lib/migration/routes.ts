/** Routes of the Migration engine: the pool catalogue, plans, runs (start, cancel) and the status. */
import { z } from 'zod';
import { defineRoute } from '../api/route.ts';
import {
  cancelInputSchema,
  catalogueRecordSchema,
  planInputSchema,
  planRecordSchema,
  poolsInputSchema,
  runInputSchema,
  runRecordSchema,
  statusInputSchema,
} from './schemas.ts';

/** PUT /migration/pools: the tenant's pool catalogue. */
export const putPoolsRoute = defineRoute({
  engine: 'migration',
  action: 'pools',
  method: 'PUT',
  permission: 'migration:configure',
  summary:
    "Replace the tenant's pool catalogue: where workloads can run (SageMaker instance types or Lambda memory sizes per region and zone), each instance's capacity, the latency classes it serves, its price and how many instances are available. Plans and runs read it as it is when they run",
  parameters: poolsInputSchema,
  result: z.strictObject({ pools: z.number().int().min(0).max(1000), version: z.number().int().min(0) }),
});

/** POST /migration/plans: plan a placement and propose it. */
export const createPlanRoute = defineRoute({
  engine: 'migration',
  action: 'plans',
  method: 'POST',
  permission: 'migration:write',
  summary:
    "Plan a placement of workloads onto the tenant's pools (first-fit or best-fit decreasing, or the exact solver for at most 12 workloads; capacity, accelerators, latency class, residency, affinity and anti-affinity; cost + risk) as ordered steps per moved workload (provision, canary shift, drain, release; dependencies first) with pre-checks (capacity, dependencies' latency) and post-checks (read-back health, latency), store it with its hash and propose it to governance (one migration:migrate on migration/<planId>, L3 validation at least). 400 names the workload that cannot be placed or moved, 404 without a catalogue, 423 kill switch (nothing stored)",
  parameters: planInputSchema,
  result: z.strictObject({ plan: planRecordSchema }),
});

/** POST /migration/runs: run a stored plan through the migration state machine. */
export const startRunRoute = defineRoute({
  engine: 'migration',
  action: 'runs',
  method: 'POST',
  permission: 'migration:write',
  summary:
    "Run a stored plan through the migration state machine: pre-checks (kill switches, capacity), the governance gate on the plan's proposal, then per step the kill switches, the L3 executor (dry run, execute, read-back) and the latency post-check; a failed step rolls every step that acted back in reverse. 202 with the run (pending); 404 no such plan, 409 when it moves nothing or has a run going",
  parameters: runInputSchema,
  result: z.strictObject({ run: runRecordSchema }),
});

/** DELETE /migration/runs: cancel a pending run. */
export const cancelRunRoute = defineRoute({
  engine: 'migration',
  action: 'runs',
  method: 'DELETE',
  permission: 'migration:write',
  summary:
    "Cancel a run that has not taken its first step (pre-checks, or waiting at the governance gate): it ends cancelled, and the plan's pending proposal is withdrawn when the caller proposed it or is an admin (plan again to run it later). 404 no such run, 409 once it is running (the kill switch halts a running migration and rolls it back) or has ended",
  parameters: cancelInputSchema,
  result: z.strictObject({ run: runRecordSchema }),
});

/** GET /migration/status: pools, plans and runs with each step's state. */
export const statusRoute = defineRoute({
  engine: 'migration',
  action: 'status',
  method: 'GET',
  permission: 'migration:read',
  summary:
    "The tenant's pool catalogue, its newest plans and runs (each run with every step's record: what the executor changed and read back, the checks' verdicts, the undo, the rollback), or one plan (`planId`, with its runs) or run (`runId`); 404 when the tenant has none such",
  parameters: statusInputSchema,
  result: z.strictObject({
    pools: catalogueRecordSchema.shape.pools,
    poolsVersion: z.number().int().min(0).nullable(),
    plans: z.array(planRecordSchema).max(50),
    runs: z.array(runRecordSchema).max(50),
  }),
});
