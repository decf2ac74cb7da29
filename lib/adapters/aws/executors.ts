/**
 * The Execution engine's AWS executors (the Executor port of lib/execution/executor.ts) on SDK v3
 * clients: Lambda reserved concurrency, Lambda alias routing, SageMaker endpoint variant weights and
 * instance counts, EventBridge rule state. Each sets an absolute state (so a repeated call changes
 * nothing more), reads it back, and can restore the state it found. SDK failures map through the
 * shared mapping (lib/adapters/aws/errors.ts); a missing resource becomes a NotFoundError.
 */
import {
  DeleteFunctionConcurrencyCommand,
  GetAliasCommand,
  GetFunctionConcurrencyCommand,
  type LambdaClient,
  PutFunctionConcurrencyCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import { DescribeEndpointCommand, type DescribeEndpointCommandOutput, type SageMakerClient, UpdateEndpointWeightsAndCapacitiesCommand } from '@aws-sdk/client-sagemaker';
import { DescribeRuleCommand, DisableRuleCommand, EnableRuleCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.ts';
import type { ActuationId } from '../../governance/actuations.ts';
import { EVENTBRIDGE_RULE_ARN, LAMBDA_ALIAS_ARN, SAGEMAKER_ENDPOINT_ARN } from '../../execution/bindings.ts';
import { type ExecutionPlan, type ExecutionResult, type Executor, parseParameters, type ResourceState } from '../../execution/executor.ts';
import { mappedSend } from './errors.ts';

/** A missing resource, whatever the service calls it. */
function notFound(error: unknown, what: string): never {
  const name = (error as { name?: string }).name;
  const message = (error as { message?: string }).message ?? '';
  if (name === 'ResourceNotFoundException' || (name === 'ValidationException' && /could not find/i.test(message))) throw new NotFoundError(`${what} does not exist`);
  throw error;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Lambda reserved concurrency

/** Reserved concurrency to set: 0 takes the function out of service. */
export const lambdaConcurrencyParametersSchema = z.object({ concurrency: z.number().int().min(0).max(1000) }).passthrough();
/** Lambda concurrency parameters. */
export type LambdaConcurrencyParameters = z.infer<typeof lambdaConcurrencyParametersSchema>;

/**
 * Lambda reserved concurrency: throttle (`concurrency` ≥ 1), quarantine (0, the default for
 * `reflex:quarantine`), scale (`replication:scale`: the concurrency is the function's capacity); undo restores the reservation found, or removes it when there was none.
 */
export function lambdaConcurrencyExecutor(client: LambdaClient): Executor<LambdaConcurrencyParameters> {
  const send = mappedSend(client, 'Lambda');
  const read = async (arn: string): Promise<ResourceState> => {
    const output = await send(new GetFunctionConcurrencyCommand({ FunctionName: arn })).catch((error: unknown) => notFound(error, `Lambda function ${arn}`));
    return { reservedConcurrency: output.ReservedConcurrentExecutions ?? null };
  };
  const apply = async (arn: string, value: unknown) => {
    if (value === null || value === undefined) await send(new DeleteFunctionConcurrencyCommand({ FunctionName: arn }));
    else await send(new PutFunctionConcurrencyCommand({ FunctionName: arn, ReservedConcurrentExecutions: Number(value) }));
  };
  return {
    kind: 'lambda-concurrency',
    description: 'Sets a Lambda function’s reserved concurrency (PutFunctionConcurrency): throttle, or 0 to quarantine',
    actions: ['reflex:throttle', 'reflex:quarantine', 'replication:scale', 'execution:run-playbook'],
    scope: "Unqualified Lambda functions in the stage's account and region",
    parameters(action: ActuationId, raw) {
      const withDefault = action === 'reflex:quarantine' ? { concurrency: 0, ...raw } : raw;
      const parsed = parseParameters(lambdaConcurrencyParametersSchema, withDefault);
      if (action === 'reflex:quarantine' && parsed.concurrency !== 0) throw new ValidationError([{ path: 'body.parameters.parameters.concurrency', message: 'quarantine sets concurrency 0' }]);
      if (action === 'reflex:throttle' && parsed.concurrency === 0) throw new ValidationError([{ path: 'body.parameters.parameters.concurrency', message: 'throttle keeps at least 1 (0 is quarantine)' }]);
      return parsed;
    },
    async dryRun(request): Promise<ExecutionPlan> {
      const before = await read(request.binding.resource);
      const after = { reservedConcurrency: request.parameters.concurrency };
      return { before, after, changes: before.reservedConcurrency === after.reservedConcurrency ? [] : [`reserved concurrency: ${before.reservedConcurrency ?? 'none'} → ${after.reservedConcurrency}`] };
    },
    async execute(request, _executionId, plan): Promise<ExecutionResult> {
      await apply(request.binding.resource, request.parameters.concurrency);
      return { before: plan.before, after: plan.after, detail: `PutFunctionConcurrency ${request.parameters.concurrency}` };
    },
    readBack: (request) => read(request.binding.resource),
    async undo(request, result): Promise<ExecutionResult> {
      await apply(request.binding.resource, result.before.reservedConcurrency);
      return { before: result.after, after: result.before, detail: result.before.reservedConcurrency === null ? 'DeleteFunctionConcurrency' : `PutFunctionConcurrency ${String(result.before.reservedConcurrency)}` };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Lambda alias routing

/** An alias's version and routing weights (one additional version at most, weight in [0, 1]). */
export const lambdaAliasParametersSchema = z
  .object({
    functionVersion: z.string().regex(/^\d{1,10}$/, 'must be a published version number').optional(),
    additionalVersionWeights: z.record(z.string().regex(/^\d{1,10}$/), z.number().min(0).max(1)).refine((weights) => Object.keys(weights).length <= 1, 'at most one additional version').optional(),
  })
  .passthrough();
/** Lambda alias parameters. */
export type LambdaAliasParameters = z.infer<typeof lambdaAliasParametersSchema>;

function aliasParts(arn: string): { functionArn: string; alias: string } {
  const match = LAMBDA_ALIAS_ARN.exec(arn);
  return { functionArn: arn.slice(0, arn.lastIndexOf(':')), alias: match?.[5] ?? '' };
}

/**
 * A Lambda alias's version and routing weights (UpdateAlias): roll back drops the additional
 * version's weight by default (all traffic to the alias's version); a shift sets the weights.
 * The update is conditional on the alias's revision read just before it.
 */
export function lambdaAliasExecutor(client: LambdaClient): Executor<LambdaAliasParameters> {
  const send = mappedSend(client, 'Lambda');
  const read = async (arn: string) => {
    const { functionArn, alias } = aliasParts(arn);
    const output = await send(new GetAliasCommand({ FunctionName: functionArn, Name: alias })).catch((error: unknown) => notFound(error, `Lambda alias ${arn}`));
    return { state: { functionVersion: output.FunctionVersion ?? '', additionalVersionWeights: output.RoutingConfig?.AdditionalVersionWeights ?? {} } as ResourceState, revisionId: output.RevisionId };
  };
  const update = async (arn: string, expected: ResourceState, next: ResourceState) => {
    const { functionArn, alias } = aliasParts(arn);
    const current = await read(arn);
    if (JSON.stringify(current.state) !== JSON.stringify(expected)) throw new ConflictError(`alias ${alias} changed since it was read (${JSON.stringify(current.state)})`);
    await send(new UpdateAliasCommand({
      FunctionName: functionArn,
      Name: alias,
      FunctionVersion: String(next.functionVersion),
      RoutingConfig: { AdditionalVersionWeights: next.additionalVersionWeights as Record<string, number> },
      ...(current.revisionId ? { RevisionId: current.revisionId } : {}),
    }));
  };
  return {
    kind: 'lambda-alias',
    description: 'Sets a Lambda alias’s version and routing weights (UpdateAlias): roll back, shift traffic',
    actions: ['reflex:roll-back', 'reflex:fail-over', 'promotion:promote', 'promotion:roll-back', 'execution:run-playbook', 'migration:migrate'],
    scope: "Lambda aliases of functions in the stage's account and region",
    parameters(action, raw) {
      const parsed = parseParameters(lambdaAliasParametersSchema, raw);
      const rollBack = action === 'reflex:roll-back' || action === 'promotion:roll-back';
      if (!rollBack && parsed.functionVersion === undefined && parsed.additionalVersionWeights === undefined) {
        throw new ValidationError([{ path: 'body.parameters.parameters', message: 'give functionVersion, additionalVersionWeights or both' }]);
      }
      return parsed;
    },
    async dryRun(request): Promise<ExecutionPlan> {
      const { state: before } = await read(request.binding.resource);
      const rollBack = request.action === 'reflex:roll-back' || request.action === 'promotion:roll-back';
      const after = {
        functionVersion: request.parameters.functionVersion ?? before.functionVersion,
        additionalVersionWeights: request.parameters.additionalVersionWeights ?? (rollBack ? {} : before.additionalVersionWeights),
      };
      const changes: string[] = [];
      if (after.functionVersion !== before.functionVersion) changes.push(`version: ${String(before.functionVersion)} → ${after.functionVersion}`);
      if (JSON.stringify(after.additionalVersionWeights) !== JSON.stringify(before.additionalVersionWeights)) changes.push(`additional weights: ${JSON.stringify(before.additionalVersionWeights)} → ${JSON.stringify(after.additionalVersionWeights)}`);
      return { before, after, changes };
    },
    async execute(request, _executionId, plan): Promise<ExecutionResult> {
      if (plan.changes.length > 0) await update(request.binding.resource, plan.before, plan.after);
      return { before: plan.before, after: plan.after, detail: plan.changes.length > 0 ? 'UpdateAlias' : 'alias already as asked' };
    },
    readBack: async (request) => (await read(request.binding.resource)).state,
    async undo(request, result): Promise<ExecutionResult> {
      await update(request.binding.resource, result.after, result.before);
      return { before: result.after, after: result.before, detail: 'UpdateAlias (restored)' };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// SageMaker endpoint weights and capacities

/** Desired weight and/or instance count per variant; how long the read-back waits for the endpoint to be InService. */
export const sageMakerParametersSchema = z
  .object({
    variants: z
      .array(
        z.object({
          variantName: z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/),
          weight: z.number().min(0).max(1000).optional(),
          instanceCount: z.number().int().min(1).max(1000).optional(),
        }).refine((variant) => variant.weight !== undefined || variant.instanceCount !== undefined, 'give weight, instanceCount or both'),
      )
      .min(1)
      .max(10),
    settleTimeoutMs: z.number().int().min(0).max(25_000).default(20_000),
  })
  .passthrough();
/** SageMaker endpoint parameters. */
export type SageMakerParameters = z.infer<typeof sageMakerParametersSchema>;

type VariantStates = Record<string, { weight: number; instanceCount: number }>;

function variantsOf(output: DescribeEndpointCommandOutput, which: 'Current' | 'Desired'): VariantStates {
  return Object.fromEntries(
    (output.ProductionVariants ?? []).map((variant) => [
      variant.VariantName ?? '',
      {
        weight: (which === 'Current' ? variant.CurrentWeight : (variant.DesiredWeight ?? variant.CurrentWeight)) ?? 0,
        instanceCount: (which === 'Current' ? variant.CurrentInstanceCount : (variant.DesiredInstanceCount ?? variant.CurrentInstanceCount)) ?? 0,
      },
    ]),
  );
}

/**
 * A SageMaker endpoint's variant weights and instance counts (UpdateEndpointWeightsAndCapacities):
 * shift traffic, scale, fail over. The read-back waits (up to `settleTimeoutMs`) for the endpoint
 * to be InService again and reads the current weights and counts.
 */
export function sageMakerEndpointExecutor(client: SageMakerClient, options: { pollMs?: number } = {}): Executor<SageMakerParameters> {
  const send = mappedSend(client, 'SageMaker');
  const nameOf = (arn: string) => SAGEMAKER_ENDPOINT_ARN.exec(arn)?.[4] ?? '';
  const describe = (arn: string) => send(new DescribeEndpointCommand({ EndpointName: nameOf(arn) })).catch((error: unknown) => notFound(error, `SageMaker endpoint ${arn}`));
  const apply = async (arn: string, before: VariantStates, after: VariantStates) => {
    const desired = Object.entries(after)
      .filter(([name, state]) => before[name]?.weight !== state.weight || before[name]?.instanceCount !== state.instanceCount)
      .map(([name, state]) => ({
        VariantName: name,
        ...(before[name]?.weight !== state.weight ? { DesiredWeight: state.weight } : {}),
        ...(before[name]?.instanceCount !== state.instanceCount ? { DesiredInstanceCount: state.instanceCount } : {}),
      }));
    if (desired.length > 0) await send(new UpdateEndpointWeightsAndCapacitiesCommand({ EndpointName: nameOf(arn), DesiredWeightsAndCapacities: desired }));
  };
  return {
    kind: 'sagemaker-endpoint',
    description: 'Sets a SageMaker endpoint’s variant weights and instance counts (UpdateEndpointWeightsAndCapacities)',
    actions: ['reflex:scale-out', 'reflex:fail-over', 'reflex:roll-back', 'replication:scale', 'promotion:promote', 'promotion:roll-back', 'execution:run-playbook', 'migration:migrate'],
    scope: "SageMaker endpoints in the stage's account and region",
    parameters(_action, raw) {
      const parsed = parseParameters(sageMakerParametersSchema, raw);
      const names = parsed.variants.map((variant) => variant.variantName);
      if (new Set(names).size !== names.length) throw new ValidationError([{ path: 'body.parameters.parameters.variants', message: 'each variant once' }]);
      return parsed;
    },
    async dryRun(request): Promise<ExecutionPlan> {
      const output = await describe(request.binding.resource);
      if (output.EndpointStatus !== 'InService') throw new ConflictError(`endpoint ${output.EndpointName} is ${output.EndpointStatus}; it can change only when InService`);
      const before = variantsOf(output, 'Current');
      const after: VariantStates = structuredClone(before);
      const changes: string[] = [];
      for (const variant of request.parameters.variants) {
        const current = before[variant.variantName];
        if (!current) throw new ValidationError([{ path: 'body.parameters.parameters.variants', message: `endpoint ${output.EndpointName} has no variant ${variant.variantName} (it has ${Object.keys(before).join(', ')})` }]);
        const next = { weight: variant.weight ?? current.weight, instanceCount: variant.instanceCount ?? current.instanceCount };
        after[variant.variantName] = next;
        if (next.weight !== current.weight) changes.push(`${variant.variantName} weight: ${current.weight} → ${next.weight}`);
        if (next.instanceCount !== current.instanceCount) changes.push(`${variant.variantName} instances: ${current.instanceCount} → ${next.instanceCount}`);
      }
      return { before: { variants: before }, after: { variants: after }, changes };
    },
    async execute(request, _executionId, plan): Promise<ExecutionResult> {
      await apply(request.binding.resource, plan.before.variants as VariantStates, plan.after.variants as VariantStates);
      return { before: plan.before, after: plan.after, detail: plan.changes.length > 0 ? 'UpdateEndpointWeightsAndCapacities' : 'endpoint already as asked' };
    },
    async readBack(request): Promise<ResourceState> {
      const deadline = Date.now() + request.parameters.settleTimeoutMs;
      for (;;) {
        const output = await describe(request.binding.resource);
        if (output.EndpointStatus === 'InService' || Date.now() >= deadline) return { variants: variantsOf(output, 'Current'), ...(output.EndpointStatus === 'InService' ? {} : { status: output.EndpointStatus }) };
        await sleep(options.pollMs ?? 1_000);
      }
    },
    async undo(request, result): Promise<ExecutionResult> {
      const output = await describe(request.binding.resource);
      if (output.EndpointStatus !== 'InService') throw new ConflictError(`endpoint ${output.EndpointName} is ${output.EndpointStatus}; it can change only when InService`);
      await apply(request.binding.resource, variantsOf(output, 'Current'), result.before.variants as VariantStates);
      return { before: result.after, after: result.before, detail: 'UpdateEndpointWeightsAndCapacities (restored)' };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// EventBridge rule state

/** The rule state to set; quarantine means DISABLED. */
export const eventBridgeRuleParametersSchema = z.object({ state: z.enum(['ENABLED', 'DISABLED']) }).passthrough();
/** EventBridge rule parameters. */
export type EventBridgeRuleParameters = z.infer<typeof eventBridgeRuleParametersSchema>;

function ruleParts(arn: string): { name: string; bus?: string } {
  const match = EVENTBRIDGE_RULE_ARN.exec(arn);
  return { name: match?.[5] ?? '', ...(match?.[4] ? { bus: match[4] } : {}) };
}

/** An EventBridge rule's state (DisableRule/EnableRule): quarantine a trigger, release it. */
export function eventBridgeRuleExecutor(client: EventBridgeClient): Executor<EventBridgeRuleParameters> {
  const send = mappedSend(client, 'EventBridge');
  const read = async (arn: string): Promise<ResourceState> => {
    const { name, bus } = ruleParts(arn);
    const output = await send(new DescribeRuleCommand({ Name: name, ...(bus ? { EventBusName: bus } : {}) })).catch((error: unknown) => notFound(error, `EventBridge rule ${arn}`));
    // ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS delivers too: it counts as enabled.
    return { state: output.State === 'DISABLED' ? 'DISABLED' : 'ENABLED' };
  };
  const apply = async (arn: string, state: unknown) => {
    const { name, bus } = ruleParts(arn);
    const input = { Name: name, ...(bus ? { EventBusName: bus } : {}) };
    await send(state === 'DISABLED' ? new DisableRuleCommand(input) : new EnableRuleCommand(input));
  };
  return {
    kind: 'eventbridge-rule',
    description: 'Disables or enables an EventBridge rule (DisableRule/EnableRule): a disabled rule delivers nothing',
    actions: ['reflex:quarantine', 'execution:run-playbook'],
    scope: "EventBridge rules in the stage's account and region",
    parameters(action, raw) {
      const parsed = parseParameters(eventBridgeRuleParametersSchema, action === 'reflex:quarantine' ? { state: 'DISABLED', ...raw } : raw);
      if (action === 'reflex:quarantine' && parsed.state !== 'DISABLED') throw new ValidationError([{ path: 'body.parameters.parameters.state', message: 'quarantine disables the rule' }]);
      return parsed;
    },
    async dryRun(request): Promise<ExecutionPlan> {
      const before = await read(request.binding.resource);
      const after = { state: request.parameters.state };
      return { before, after, changes: before.state === after.state ? [] : [`state: ${String(before.state)} → ${after.state}`] };
    },
    async execute(request, _executionId, plan): Promise<ExecutionResult> {
      await apply(request.binding.resource, request.parameters.state);
      return { before: plan.before, after: plan.after, detail: request.parameters.state === 'DISABLED' ? 'DisableRule' : 'EnableRule' };
    },
    readBack: (request) => read(request.binding.resource),
    async undo(request, result): Promise<ExecutionResult> {
      await apply(request.binding.resource, result.before.state);
      return { before: result.after, after: result.before, detail: result.before.state === 'DISABLED' ? 'DisableRule (restored)' : 'EnableRule (restored)' };
    },
  };
}
