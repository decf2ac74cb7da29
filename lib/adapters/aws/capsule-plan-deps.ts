/**
 * KAMACHIQ plans' routes and node step in a deployed function: the plan's execution on Step Functions
 * (statemachines/capsule-plan.asl.json), named after the plan, and each node's capsule run through the
 * runs' own path. The plans' store and the light steps' ports are in ./capsule-plan-store.ts.
 */
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { NodeDeps, PlanDeps, PlanStarter } from '../../capsules/plan-steps.ts';
import { startRun } from '../../capsules/runs.ts';
import { config } from '../../config.ts';
import { capsuleStore } from './capsule-deps.ts';
import { planStore } from './capsule-plan-store.ts';
import { runDeps } from './capsule-run-deps.ts';
import { sfnClient } from './clients.ts';
import { mappedSend } from './errors.ts';

/** Starts plan executions of `stateMachineArn`, named after the plan (one plan, one execution). */
export function sfnPlanStarter(client: SFNClient, stateMachineArn: string): PlanStarter {
  const send = mappedSend(client, 'StepFunctions');
  return {
    async start(name, input) {
      const output = await send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      return output.executionArn ?? '';
    },
  };
}

/** What the plans routes need. @throws Error when the function has no CAPSULE_PLAN_STATE_MACHINE_ARN. */
export function planDeps(): PlanDeps {
  return {
    store: planStore(),
    installs: (tenant) => capsuleStore().installs(tenant),
    starter: {
      start(name, input) {
        const arn = config().CAPSULE_PLAN_STATE_MACHINE_ARN;
        if (!arn)
          throw new Error('CAPSULE_PLAN_STATE_MACHINE_ARN is not set (lib/capsules/manifest.ts: the capsule-plan start-executions need)');
        return sfnPlanStarter(sfnClient(), arn).start(name, input);
      },
    },
    clock: () => new Date(),
  };
}

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
