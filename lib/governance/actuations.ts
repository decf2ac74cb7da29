/**
 * The catalog of governed actuations: every engine action that changes something, once. Each entry
 * names its operation class (and the stricter class it takes in prod or on critical data), whether
 * it can be undone, whether its executor offers a dry run, and the bounds its parameters must stay
 * within. The risk assessment, L3 validation and the Cedar schema's actions all read it; an action
 * that is not here is not an actuation (reads, governance's own routes) and is never proposed.
 */
import type { FieldIssue } from '../errors.ts';
import { type Environment, type OperationClass, operationBoundaries } from './model.ts';

/**
 * Declared bounds of one parameter, checked by L3 validation: a number within `min`..`max`
 * (inclusive, either may be absent), or one of `values`.
 */
export interface ParameterBound {
  min?: number;
  max?: number;
  values?: readonly (string | number)[];
}

/** One governed actuation. */
export interface Actuation {
  /** Engine that proposes and executes it (an engine name). */
  engine: string;
  /** Its action (kebab-case, the second route segment). */
  action: string;
  /** Operation class in dev, test and staging, and in prod unless {@link Actuation.prodOperation} says otherwise. */
  operation: OperationClass;
  /** Class when the environment is `prod`. */
  prodOperation?: OperationClass;
  /** Class when `parameters.critical === true` (context marked critical by policy). */
  criticalOperation?: OperationClass;
  /** True when its effect can be undone by another actuation (roll back, fail back, scale in, restore). */
  reversible: boolean;
  /** True when the executor offers a dry run (L3 validation runs it). */
  dryRun: boolean;
  /** Bounds of top-level parameters; a parameter absent from the proposal is not checked. */
  bounds?: Readonly<Record<string, ParameterBound>>;
  description: string;
}

/** An actuation's id, `engine:action`: the action id in the Cedar schema. */
export type ActuationId = `${string}:${string}`;

/**
 * Every governed actuation, in engine order (Reflex, Execution, Evolution, Versioning, Promotion,
 * Replication, Migration, Encapsulation, Compression, Closure, Capsules, Observation, Audit). Governance
 * itself has none: its routes decide, they do not actuate.
 */
export const actuations: readonly Actuation[] = [
  // Reflex (issue 10): what a component's executor bindings mean by each recovery step.
  {
    engine: 'reflex',
    action: 'restart',
    operation: 'repair',
    reversible: true,
    dryRun: true,
    description: 'Restarts a component (new instances or a cold start); it leaves no lasting change',
  },
  {
    engine: 'reflex',
    action: 'scale-out',
    operation: 'scaling',
    reversible: true,
    dryRun: true,
    bounds: { replicas: { min: 1, max: 50 } },
    description: 'Adds capacity to a component (instances, provisioned concurrency); scaling in undoes it',
  },
  {
    engine: 'reflex',
    action: 'roll-back',
    operation: 'repair',
    reversible: true,
    dryRun: true,
    description: 'Routes a component back to its previous version (alias or variant weights)',
  },
  {
    engine: 'reflex',
    action: 'fail-over',
    operation: 'repair',
    reversible: true,
    dryRun: true,
    description: 'Shifts traffic from a failing component to its standby; failing back undoes it',
  },
  {
    engine: 'reflex',
    action: 'throttle',
    operation: 'repair',
    reversible: true,
    dryRun: true,
    bounds: { concurrency: { min: 1, max: 1000 } },
    description: 'Caps the concurrency of a component (Lambda reserved concurrency) to protect what it calls',
  },
  {
    engine: 'reflex',
    action: 'quarantine',
    operation: 'repair',
    reversible: true,
    dryRun: true,
    description: 'Takes a component out of service (zero concurrency, rule disabled) until it is released',
  },
  // Execution (issue 10): a playbook chosen by Reflex, run step by step.
  {
    engine: 'execution',
    action: 'run-playbook',
    operation: 'repair',
    // A playbook may hold steps without an undo; assessed as irreversible as a whole.
    reversible: false,
    dryRun: true,
    description: 'Runs a recovery playbook through the L3 executors (each step idempotent and verified)',
  },
  // Evolution (issue 13): parameter changes within the declared set, and structural changes.
  {
    engine: 'evolution',
    action: 'tune',
    operation: 'optimisation',
    reversible: true,
    dryRun: false,
    bounds: {
      trafficShare: { min: 0, max: 0.5 },
      batchSize: { min: 1, max: 256 },
      cacheTtlSeconds: { min: 0, max: 86_400 },
      concurrency: { min: 1, max: 1000 },
    },
    description: 'Moves a managed service to another candidate configuration within its declared bounds',
  },
  {
    engine: 'evolution',
    action: 'restructure',
    operation: 'structural-change',
    reversible: false,
    dryRun: false,
    description: 'Changes the structure of a managed service (new components, topology)',
  },
  // Versioning (issue 13).
  {
    engine: 'versioning',
    action: 'publish',
    operation: 'version-promotion',
    // The version stays immutable, but consumers keep the previous one and it can be deprecated.
    reversible: true,
    dryRun: true,
    bounds: { bump: { values: ['major', 'minor', 'patch'] } },
    description: 'Publishes an artifact as an immutable semver version after its regression gate',
  },
  // Promotion (issue 13): prod needs people, whatever the level.
  {
    engine: 'promotion',
    action: 'promote',
    operation: 'version-promotion',
    prodOperation: 'production-promotion',
    reversible: true,
    dryRun: true,
    bounds: { weight: { min: 0, max: 100 } },
    description: 'Promotes a version to the next stage through canary steps (traffic weights in percent)',
  },
  {
    engine: 'promotion',
    action: 'roll-back',
    operation: 'repair',
    reversible: true,
    dryRun: true,
    description: 'Returns a stage to its previous version when the canary judge fails it',
  },
  // Replication (issue 13).
  {
    engine: 'replication',
    action: 'scale',
    operation: 'scaling',
    reversible: true,
    dryRun: true,
    bounds: { replicas: { min: 1, max: 50 } },
    description: 'Sets the capacity of a component (reactive or predictive; instances, provisioned concurrency)',
  },
  // Migration (issue 14).
  {
    engine: 'migration',
    action: 'migrate',
    operation: 'migration',
    reversible: true,
    dryRun: true,
    description: 'Moves workloads to other pools by a placement plan, rolled back on a failed post-check',
  },
  // Encapsulation (issue 14).
  {
    engine: 'encapsulation',
    action: 'expose-interface',
    operation: 'interface-exposure',
    // Once consumers depend on an interface, withdrawing it breaks them.
    reversible: false,
    dryRun: true,
    description: 'Exposes a generated interface (JSON Schema / OpenAPI) of a module to other components',
  },
  {
    engine: 'encapsulation',
    action: 'restructure',
    operation: 'structural-change',
    reversible: false,
    dryRun: false,
    description: 'Redraws module boundaries (splits, merges) from the observed dependencies',
  },
  // Compression (issue 14): context marked critical never goes without people.
  {
    engine: 'compression',
    action: 'compress',
    operation: 'optimisation',
    criticalOperation: 'critical-context-deletion',
    // The compressed context is a new version; the original stays until deleted.
    reversible: true,
    dryRun: true,
    bounds: { budgetTokens: { min: 256, max: 1_000_000 } },
    description: "Fits an agent's context to a token budget, recording the lineage of what became what",
  },
  // Loop 3 (statemachines/compression-loop.asl.json): one bounded step of a tenant's compression
  // settings from answer-found feedback; the bounds are the tuner's (lib/compression/tuner.ts TUNER_BOUNDS).
  {
    engine: 'compression',
    action: 'tune',
    operation: 'optimisation',
    reversible: true,
    dryRun: false,
    bounds: {
      relevanceWeight: { min: 0.5, max: 1 },
      itemWeight: { min: 0, max: 0.8 },
      summariseAboveTokens: { min: 256, max: 16_384 },
    },
    description: "Moves a tenant's compression settings one bounded step (MMR λ, item weight, summarising) from answer feedback",
  },
  {
    engine: 'compression',
    action: 'delete-context',
    operation: 'optimisation',
    criticalOperation: 'critical-context-deletion',
    reversible: false,
    dryRun: true,
    description: "Deletes parts of an agent's context (history, documents, memory) for good",
  },
  // Closure (issue 14).
  {
    engine: 'closure',
    action: 'terminate',
    operation: 'termination',
    reversible: false,
    dryRun: true,
    description: 'Terminates a component or capsule: clean-up in order, credentials revoked, a final ledger entry',
  },
  {
    engine: 'closure',
    action: 'archive',
    operation: 'optimisation',
    reversible: true,
    dryRun: true,
    description: "Archives a component's data and ledger checkpoints to S3 (restorable)",
  },
  // Capsules (issue 12): a reviewed capsule version published to the stage's marketplace.
  {
    engine: 'capsules',
    action: 'publish',
    operation: 'interface-exposure',
    // Once other tenants install a published version it cannot be taken back from them, only deprecated.
    reversible: false,
    dryRun: false,
    description:
      "Publishes a capsule version that passed the automated review to the stage's marketplace: an immutable semver version every tenant may install",
  },
  // Capsules (issue 12, KAMACHIQ mode): a plan of capsule runs, proposed before its first layer
  // (and before a layer holding a node flagged for review). Routed by risk, so the tenant's
  // autonomy level decides (level 1: people); the plan's proposer escalates a budget above the
  // review threshold, or a flagged node, to people at every level (lib/capsules/plans.ts reviewFor).
  {
    engine: 'capsules',
    action: 'plan',
    operation: 'optimisation',
    // The runs spend budget and call tools: what they spent cannot be taken back.
    reversible: false,
    dryRun: false,
    bounds: { nodes: { min: 1, max: 20 }, layer: { min: 0, max: 20 } },
    description:
      'Runs a KAMACHIQ plan: a DAG of installed capsule runs within a plan budget, layer after layer (a layer flagged for review is proposed again)',
  },
  // Observation and Audit: they never change a target; listed so policy can still name them.
  {
    engine: 'observation',
    action: 'configure',
    operation: 'observation',
    reversible: true,
    dryRun: false,
    description: "Changes a series' detector settings (what is watched and how)",
  },
  {
    engine: 'audit',
    action: 'record',
    operation: 'audit',
    reversible: true,
    dryRun: false,
    description: 'Records an entry in the ledger',
  },
];

const byId = new Map<ActuationId, Actuation>(actuations.map((entry) => [`${entry.engine}:${entry.action}`, entry]));

/**
 * The catalog entry of an engine's action, or `undefined` when that action is not an actuation.
 * @example
 * findActuation('promotion', 'promote')?.prodOperation; // 'production-promotion'
 */
export function findActuation(engine: string, action: string): Actuation | undefined {
  return byId.get(`${engine}:${action}`);
}

/** Every actuation id, `engine:action`, in catalog order (the Cedar schema's actions are generated from it). */
export function actuationIds(): ActuationId[] {
  return [...byId.keys()];
}

// Strictness of a boundary: a class with a stricter boundary wins when several apply.
const strictness = { autonomous: 0, risk: 1, l3: 2, human: 3 } as const;

/**
 * The operation class of an actuation in an environment with these parameters: the base class,
 * `prodOperation` in prod, `criticalOperation` when `parameters.critical === true`. When several
 * apply, the one with the strictest boundary wins (critical before prod before base on a tie).
 * @example
 * operationOf(findActuation('compression', 'compress')!, 'dev', { critical: true }); // 'critical-context-deletion'
 */
export function operationOf(
  entry: Pick<Actuation, 'operation' | 'prodOperation' | 'criticalOperation'>,
  environment: Environment,
  parameters: Readonly<Record<string, unknown>> = {},
): OperationClass {
  let chosen = entry.operation;
  const candidates: (OperationClass | undefined)[] = [
    environment === 'prod' ? entry.prodOperation : undefined,
    parameters.critical === true ? entry.criticalOperation : undefined,
  ];
  for (const candidate of candidates) {
    if (candidate !== undefined && strictness[operationBoundaries[candidate]] >= strictness[operationBoundaries[chosen]])
      chosen = candidate;
  }
  return chosen;
}

/**
 * The parameters outside the actuation's declared bounds, one issue each (`parameters.<name>`),
 * for L3 validation. Parameters without declared bounds, and declared ones that are absent, pass.
 * A bounded number must be a finite number; a `values` bound compares with `===`.
 * @example
 * checkBounds(findActuation('replication', 'scale')!, { replicas: 80 });
 * // [{ path: 'parameters.replicas', message: 'must be at most 50 (got 80)' }]
 */
export function checkBounds(entry: Pick<Actuation, 'bounds'>, parameters: Readonly<Record<string, unknown>>): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const [name, bound] of Object.entries(entry.bounds ?? {})) {
    if (!Object.hasOwn(parameters, name) || parameters[name] === undefined) continue;
    const value = parameters[name];
    const path = `parameters.${name}`;
    if (bound.values !== undefined && !bound.values.includes(value as string | number)) {
      issues.push({ path, message: `must be one of ${bound.values.map((v) => JSON.stringify(v)).join(', ')} (got ${describe(value)})` });
      continue;
    }
    if (bound.min === undefined && bound.max === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      issues.push({ path, message: `must be a finite number (got ${describe(value)})` });
    } else if (bound.min !== undefined && value < bound.min) {
      issues.push({ path, message: `must be at least ${bound.min} (got ${value})` });
    } else if (bound.max !== undefined && value > bound.max) {
      issues.push({ path, message: `must be at most ${bound.max} (got ${value})` });
    }
  }
  return issues;
}

// A short, safe rendering of a rejected value for a message (never the whole of a large object).
function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : typeof value;
}
