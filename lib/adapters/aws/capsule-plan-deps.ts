/**
 * KAMACHIQ plans' node step in a deployed function: each node's capsule run through the runs' own
 * path (its key, guardrails, MCP tool calls). The plans' store, the routes' and the other steps'
 * ports are in ./capsule-plan-store.ts, so only this step loads the runs' path.
 */
import type { NodeDeps } from '../../capsules/plan-steps.ts';
import { startRun } from '../../capsules/runs.ts';
import { planStore } from './capsule-plan-store.ts';
import { runDeps } from './capsule-run-deps.ts';

/** The node step's ports: one capsule run through the runs' own path (its key, guardrails, MCP tool calls). */
export function nodeDeps(): NodeDeps {
  return {
    store: planStore(),
    async run(caller, params, budget) {
      const deps = await runDeps(caller, new Date());
      try {
        return await startRun(caller.tenant, caller.subject, params, deps, { budget });
      } finally {
        await deps.close();
      }
    },
    clock: () => new Date(),
  };
}
