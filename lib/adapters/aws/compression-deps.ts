/** The Compression engine's ports in a deployed function, built once per container. */
import { randomUUID } from 'node:crypto';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { CompressionDeps, CompressionStore, LoopStarter } from '../../compression/engine.ts';
import type { ApplyDeps, ObserveDeps, ProposeDeps } from '../../compression/loop.ts';
import { config } from '../../config.ts';
import { tokenizer } from '../../gateway/tokenizer.ts';
import { propose, reportOutcome } from '../../governance/proposals.ts';
import { ingest } from '../../observation/ingest.ts';
import { dynamoClient, sfnClient } from './clients.ts';
import { dynamoCompressionStore } from './compression-store.ts';
import { mappedSend } from './errors.ts';
import { governanceOutbox, governanceStore, proposalDeps } from './governance-deps.ts';
import { observationDeps } from './observation-deps.ts';

let store: CompressionStore | undefined;
let starter: LoopStarter | undefined;

/** The engine's state. */
export function compressionStore(): CompressionStore {
  store ??= dynamoCompressionStore(dynamoClient(), config().STATE_TABLE);
  return store;
}

/**
 * Starts runs of Loop 3 (statemachines/compression-loop.asl.json). A name used already is the run
 * that exists, not an error: one window, one run.
 * @throws Error when the function has no COMPRESSION_LOOP_STATE_MACHINE_ARN (its manifest lacks the start-executions need).
 */
export function compressionLoopStarter(): LoopStarter {
  const arn = config().COMPRESSION_LOOP_STATE_MACHINE_ARN;
  if (!arn)
    throw new Error(
      'COMPRESSION_LOOP_STATE_MACHINE_ARN is not set (lib/compression/manifest.ts: the compression-loop start-executions need)',
    );
  if (!starter) {
    const send = mappedSend(sfnClient(), 'StepFunctions');
    starter = {
      async start(name, input) {
        try {
          const output = await send(new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify(input) }));
          return output.executionArn ?? '';
        } catch (error) {
          if ((error as { name?: string }).name !== 'ExecutionAlreadyExists') throw error;
          return `${arn.replace(':stateMachine:', ':execution:')}:${name}`;
        }
      },
    };
  }
  return starter;
}

/** What the actions need, at `now`; `loops` only where the manifest lets the function start runs. */
export function compressionDeps(now: Date, withLoops = false): CompressionDeps {
  return {
    store: compressionStore(),
    outbox: governanceOutbox(),
    now,
    newId: randomUUID,
    counter: async (family) => {
      const tok = await tokenizer(family);
      return (text) => tok.count(text);
    },
    propose: (input, proposer) => propose(input, proposer, proposalDeps(now)),
    proposal: (tenant, proposalId) => governanceStore().proposal(tenant, proposalId),
    ...(withLoops ? { loops: compressionLoopStarter() } : {}),
  };
}

/** Loop 3's observe step: the engine's state and Observation's ingest in process. */
export function loopObserveDeps(): ObserveDeps {
  return {
    store: compressionStore(),
    observe: (tenant, points) => ingest(tenant, points, observationDeps()),
    now: () => new Date(),
  };
}

/** Loop 3's propose step: governance's `propose` in process with the step's proposal id. */
export function loopProposeDeps(): ProposeDeps {
  return {
    propose: (input, proposer, proposalId) => propose(input, proposer, { ...proposalDeps(new Date()), newId: () => proposalId }),
    proposal: (tenant, proposalId) => governanceStore().proposal(tenant, proposalId),
  };
}

/** Loop 3's resume step and the settlement's rule target: governance's proposals, read. */
export function loopResumeDeps(): Pick<ProposeDeps, 'proposal'> {
  return { proposal: (tenant, proposalId) => governanceStore().proposal(tenant, proposalId) };
}

/** Loop 3's apply step: the settings through the engine, the kill switches, the proposal's outcome. */
export function loopApplyDeps(): ApplyDeps {
  return {
    store: compressionStore(),
    outbox: governanceOutbox(),
    governance: governanceStore(),
    executed: (tenant, proposalId, detail) =>
      reportOutcome(tenant, { proposalId, outcome: 'executed', detail }, 'engine:compression', {
        store: governanceStore(),
        outbox: governanceOutbox(),
        now: new Date(),
      }),
    now: () => new Date(),
  };
}
