/**
 * WorkflowCallbacks on Step Functions: SendTaskSuccess / SendTaskFailure.
 */
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { WorkflowCallbacks } from '../../governance/approvals.ts';

/** Creates WorkflowCallbacks that resume executions waiting on task tokens. */
export function sfnWorkflowCallbacks(client: SFNClient): WorkflowCallbacks {
  return {
    async succeed(taskToken, output) {
      await client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    },
    async fail(taskToken, error, cause) {
      await client.send(new SendTaskFailureCommand({ taskToken, error, cause: cause.slice(0, 32768) }));
    },
  };
}
