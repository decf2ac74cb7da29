/**
 * The Executor port: one kind of change on one kind of resource, with a declared scope, a dry run,
 * an idempotent execute, a read-back that verifies, and an undo where the change can be undone.
 * AWS executors live in lib/adapters/aws/ (SDK clients); the webhook executor in lib/execution/webhook.ts.
 *
 * States are plain JSON objects of the fields an executor changes (`{ reservedConcurrency: 5 }`,
 * `{ state: 'DISABLED' }`): the plan says the state before and the state wanted, the read-back says
 * the state seen, and the engine verifies that every field wanted is the field seen.
 */
import type { z } from 'zod';
import { ValidationError } from '../errors.ts';
import type { ActuationId } from '../governance/actuations.ts';
import type { Binding, ExecutorKind } from './bindings.ts';

/** A resource's state as far as an executor changes it: JSON values only. */
export type ResourceState = Record<string, unknown>;

/** What an executor is asked to do. */
export interface ExecutionRequest<P = Record<string, unknown>> {
  tenant: string;
  /** The governed actuation the proposal approved (`reflex:throttle`). */
  action: ActuationId;
  /** The proposal's target (a component, or the resource itself). */
  target: string;
  binding: Binding;
  /** The effective parameters (the binding's defaults, then the run's), parsed by the executor's schema. */
  parameters: P;
}

/** A dry run: what would change, read from the resource, changing nothing. */
export interface ExecutionPlan {
  /** The state now. */
  before: ResourceState;
  /** The state the change makes. */
  after: ResourceState;
  /** One line per change, for people (`reserved concurrency 100 → 5`); empty when nothing would change. */
  changes: string[];
}

/** What an execution did. */
export interface ExecutionResult {
  /** The state before the change (what undo restores). */
  before: ResourceState;
  /** The state the change asked for. */
  after: ResourceState;
  /** What the executor reports (a status, the calls made). */
  detail: string;
  /** The far side's answer, where the change is known only from it (a webhook receiver's acknowledgement). */
  reply?: ResourceState;
}

/**
 * One executor kind. `execute` is idempotent on `executionId`: it sets absolute states (calling it
 * again with the same request changes nothing more), and where the far side can deduplicate (a
 * webhook receiver), the id travels with the call. The engine also records each execution id once,
 * so an id never reaches `execute` twice.
 */
export interface Executor<P = Record<string, unknown>> {
  kind: ExecutorKind;
  description: string;
  /** The governed actuations (`engine:action`) it can carry out. */
  actions: readonly ActuationId[];
  /** What it may touch, in words (the binding's schema and {@link checkScope} enforce it). */
  scope: string;
  /**
   * The effective parameters of a request for `action`: the schema, and defaults the action implies
   * (quarantine means concurrency 0).
   * @throws ValidationError naming each parameter at fault.
   */
  parameters(action: ActuationId, raw: Record<string, unknown>): P;
  /** Reads the resource and plans the change. @throws NotFoundError when the resource does not exist. */
  dryRun(request: ExecutionRequest<P>): Promise<ExecutionPlan>;
  /** Makes the change. */
  execute(request: ExecutionRequest<P>, executionId: string, plan: ExecutionPlan): Promise<ExecutionResult>;
  /** Reads the resource's state now (the fields the executor changes), waiting for an update in progress to settle. */
  readBack(request: ExecutionRequest<P>, result: ExecutionResult): Promise<ResourceState>;
  /** Restores the state before `result` (absent when the change cannot be undone). */
  undo?(request: ExecutionRequest<P>, result: ExecutionResult, undoId: string): Promise<ExecutionResult>;
}

/**
 * Parses an executor's parameters with its schema.
 * @throws ValidationError naming each field under `body.parameters.parameters`.
 */
export function parseParameters<P>(schema: z.ZodType<P>, raw: Record<string, unknown>): P {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ValidationError(parsed.error.issues.map((issue) => ({ path: ['body', 'parameters', 'parameters', ...issue.path.map(String)].join('.'), message: issue.message })));
}

/** Every executor by kind. */
export type ExecutorRegistry = Readonly<Partial<Record<ExecutorKind, Executor<never>>>>;

/**
 * The fields of `expected` that `observed` does not hold (deep equality per field); empty when
 * the read-back verifies the change.
 * @example mismatches({ state: 'DISABLED' }, { state: 'ENABLED' }) // ['state: expected "DISABLED", read "ENABLED"']
 */
export function mismatches(expected: ResourceState, observed: ResourceState): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(expected)) {
    if (JSON.stringify(canonical(value)) !== JSON.stringify(canonical(observed[key]))) {
      out.push(`${key}: expected ${JSON.stringify(value) ?? 'nothing'}, read ${JSON.stringify(observed[key]) ?? 'nothing'}`);
    }
  }
  return out;
}

// Object keys sorted, so `{a,b}` equals `{b,a}`.
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, item]) => [key, canonical(item)]));
  return value;
}
