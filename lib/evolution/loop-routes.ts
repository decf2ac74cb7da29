/** Routes of Loop 1, the improvement loop: start a run and read runs (lib/evolution/loop.ts). */
import { z } from 'zod';
import { defineRoute } from '../api/route.ts';
import { loopInputSchema, loopStatusInputSchema, loopViewSchema } from './loop-schemas.ts';

/** POST /evolution/loops: run the improvement loop once for a service. */
export const startLoopRoute = defineRoute({
  engine: 'evolution',
  action: 'loops',
  method: 'POST',
  permission: 'evolution:write',
  summary:
    "Run the improvement loop (Loop 1) once for a service, as a state machine: the kill switches, observe, Evolution decides the better arm (or canary `arm`), Versioning tags its configuration (a breaking version waits for approval up to approvalWaitSeconds, else the run ends blocked), Promotion canaries it on the target alias (canary steps judged, rolled back on its own, marginal steps paused for people), Replication evaluates the component after a promotion, and the arm becomes the service's current one. Every step in the ledger (evolution.loop.stepped). 202 with the run; 400 names the field, 404 without an Evolution configuration",
  parameters: loopInputSchema,
  result: loopViewSchema,
});

/** GET /evolution/loops: one run, or the newest, with each step and its time. */
export const loopStatusRoute = defineRoute({
  engine: 'evolution',
  action: 'loops',
  method: 'GET',
  permission: 'evolution:read',
  summary:
    "The tenant's improvement loop runs, or one (loopId): status, the chosen arm, the Evolution decision, the configuration version, the promotion, replication, and each step with its time (404 for an unknown id)",
  parameters: loopStatusInputSchema,
  result: z.strictObject({ loops: z.array(loopViewSchema).max(50) }),
});
