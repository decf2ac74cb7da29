/**
 * WorkflowCallbacks on Step Functions: SendTaskSuccess / SendTaskFailure. SDK failures map through
 * lib/adapters/aws/errors.ts (throttling and faults: DependencyError; an unknown or timed-out task
 * token stays the SDK's error).
 */
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { WorkflowCallbacks } from '../../governance/approvals.ts';
import { mappedSend } from './errors.ts';

/** Creates WorkflowCallbacks that resume executions waiting on task tokens. */
export function sfnWorkflowCallbacks(client: SFNClient): WorkflowCallbacks {
  const send = mappedSend(client, 'StepFunctions');
  return {
    async succeed(taskToken, output) {
      await send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    },
    async fail(taskToken, error, cause) {
      await send(new SendTaskFailureCommand({ taskToken, error, cause: cause.slice(0, 32768) }));
    },
  };
}
