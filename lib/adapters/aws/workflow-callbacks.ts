/**
 * The governance gate on Step Functions: resuming a waiting execution (SendTaskSuccess, SendTaskFailure,
 * SendTaskHeartbeat) and starting one (StartExecution, idempotent on its name). SDK failures map
 * through lib/adapters/aws/errors.ts (throttling and faults: DependencyError); a task that no longer
 * waits (TaskTimedOut, InvalidToken, TaskDoesNotExist) is a GateClosedError.
 */
import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GateClosedError, type WorkflowCallbacks } from '../../governance/approvals.ts';
import type { GatePort } from '../../governance/proposals.ts';
import { mappedSend } from './errors.ts';

const CLOSED = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);

async function closedAsGateError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    if (CLOSED.has(name)) throw new GateClosedError(`The gate does not wait any more (${name})`, { cause: error });
    throw error;
  }
}

/** Creates WorkflowCallbacks that resume executions waiting on task tokens. */
export function sfnWorkflowCallbacks(client: SFNClient): WorkflowCallbacks {
  const send = mappedSend(client, 'StepFunctions');
  return {
    succeed: (taskToken, output) => closedAsGateError(() => send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }))).then(() => {}),
    fail: (taskToken, error, cause) => closedAsGateError(() => send(new SendTaskFailureCommand({ taskToken, error, cause: cause.slice(0, 32768) }))).then(() => {}),
    heartbeat: (taskToken) => closedAsGateError(() => send(new SendTaskHeartbeatCommand({ taskToken }))).then(() => {}),
  };
}

/** Starts gate executions of the state machine `stateMachineArn`; the same name and input give the same execution. */
export function sfnGate(client: SFNClient, stateMachineArn: string): GatePort {
  const send = mappedSend(client, 'StepFunctions');
  return {
    async start(name, input) {
      const output = await send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      return output.executionArn ?? '';
    },
  };
}
