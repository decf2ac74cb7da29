/**
 * The risk assessment of a proposed actuation: deterministic, pure, and documented here (the
 * README quotes this table). The same input always gives the same score, factors and route.
 *
 * Score = the sum of six factors, each contribution rounded to 3 decimals, the sum rounded to 3
 * decimals and clamped to [0, 1]:
 *
 * | Factor          | Contribution                                                              |
 * |-----------------|---------------------------------------------------------------------------|
 * | operation       | observation 0.02, audit 0.02, optimisation 0.15, repair 0.25,              |
 * |                 | scaling 0.35, version-promotion 0.4, interface-exposure 0.4,               |
 * |                 | migration 0.45, structural-change 0.6, production-promotion 0.6,           |
 * |                 | termination 0.7, critical-context-deletion 0.7                             |
 * | environment     | dev 0, test 0.02, staging 0.05, prod 0.2                                   |
 * | blast-radius    | min(0.2, 0.04 × transitive dependents of the target)                       |
 * | reversibility   | irreversible 0.15, reversible 0                                            |
 * | failure-rate    | 0.2 × recent failure rate of that action on that target (0 without history)|
 * | autonomy-level  | 0 (the level routes, it does not score)                                    |
 *
 * Level: low < 0.4 ≤ medium < 0.7 ≤ high.
 *
 * Route: the operation class's boundary first, then the tenant's autonomy level.
 *
 * | Boundary / level | 1              | 2                              | 3                                         | 4                              |
 * |------------------|----------------|--------------------------------|-------------------------------------------|--------------------------------|
 * | human            | human-approval | human-approval                 | human-approval                            | human-approval                 |
 * | autonomous       | autonomous     | autonomous                     | autonomous                                | autonomous                     |
 * | risk             | human-approval | high: human, medium: L3, low: autonomous | high in prod: human, other high and medium: L3, low: autonomous | high: L3, else autonomous |
 * | l3               | human-approval | as risk, but never below L3    | as risk, but never below L3               | L3                             |
 *
 * (`autonomous`-boundary classes, observation and audit, never change a target, so they run at
 * every level.)
 */
import { z } from 'zod';
import { type FieldIssue, ValidationError } from '../errors.ts';
import { type Actuation, operationOf } from './actuations.ts';
import {
  type AutonomyLevel,
  autonomyLevelSchema,
  type Boundary,
  type Environment,
  environmentSchema,
  type OperationClass,
  operationBoundaries,
  operationClassSchema,
  type ProposalRoute,
  type RiskAssessment,
  type RiskFactor,
  type RiskLevel,
} from './model.ts';

/** What each operation class adds to the score. */
export const OPERATION_RISK = {
  observation: 0.02,
  audit: 0.02,
  optimisation: 0.15,
  repair: 0.25,
  scaling: 0.35,
  'version-promotion': 0.4,
  migration: 0.45,
  'interface-exposure': 0.4,
  'structural-change': 0.6,
  termination: 0.7,
  'production-promotion': 0.6,
  'critical-context-deletion': 0.7,
} as const satisfies Record<OperationClass, number>;

/** What each environment adds to the score. */
export const ENVIRONMENT_RISK = { dev: 0, test: 0.02, staging: 0.05, prod: 0.2 } as const satisfies Record<Environment, number>;

/** Blast radius: each transitive dependent adds this much … */
export const RISK_PER_DEPENDENT = 0.04;
/** … up to this. */
export const MAX_BLAST_RADIUS_RISK = 0.2;
/** What an irreversible actuation adds. */
export const IRREVERSIBLE_RISK = 0.15;
/** The recent failure rate (0..1) is multiplied by this. */
export const FAILURE_RATE_WEIGHT = 0.2;
/** Scores at or above this are medium. */
export const MEDIUM_RISK_FROM = 0.4;
/** Scores at or above this are high. */
export const HIGH_RISK_FROM = 0.7;

/** What {@link assessRisk} takes. */
export const riskInputSchema = z.object({
  /** The catalog entry, or just its class and reversibility (its `prodOperation`/`criticalOperation` apply when present). */
  actuation: z.object({
    operation: operationClassSchema,
    prodOperation: operationClassSchema.optional(),
    criticalOperation: operationClassSchema.optional(),
    reversible: z.boolean(),
  }),
  environment: environmentSchema,
  parameters: z.record(z.string(), z.unknown()).default({}),
  /** Transitive dependents of the target in the tenant's component graph ({@link transitiveDependents}). */
  dependents: z.number().int().min(0),
  /** Failure rate (0..1) of that action on that target recently; `undefined` when there is no history. */
  recentFailureRate: z.number().min(0).max(1).optional(),
  autonomyLevel: autonomyLevelSchema,
});
/** The input of a risk assessment. */
export type RiskInput = z.input<typeof riskInputSchema>;

/** The subject of an assessment: a catalog entry, or a class and reversibility. */
export type RiskSubject = Pick<Actuation, 'operation' | 'prodOperation' | 'criticalOperation' | 'reversible'>;

const round3 = (value: number) => Math.round(value * 1000) / 1000;

/** The risk level of a score: low < 0.4 ≤ medium < 0.7 ≤ high. */
export function riskLevelOf(score: number): RiskLevel {
  if (score >= HIGH_RISK_FROM) return 'high';
  return score >= MEDIUM_RISK_FROM ? 'medium' : 'low';
}

/**
 * The route of a proposal from its class's boundary, its risk level, the tenant's autonomy level
 * and the environment, with the reason in one sentence (see the table in this module's comment).
 */
export function routeFor(
  operation: OperationClass,
  level: RiskLevel,
  autonomyLevel: AutonomyLevel,
  environment: Environment,
): { route: ProposalRoute; reason: string } {
  const boundary: Boundary = operationBoundaries[operation];
  if (boundary === 'human') {
    return {
      route: 'human-approval',
      reason: `Operation class ${operation} always waits for people (seed boundary), at every autonomy level.`,
    };
  }
  if (boundary === 'autonomous') {
    return {
      route: 'autonomous',
      reason: `Operation class ${operation} changes no target, so it runs autonomously at every autonomy level.`,
    };
  }
  if (autonomyLevel === 1) {
    return { route: 'human-approval', reason: 'At autonomy level 1 (supervised) every actuation waits for people.' };
  }
  const byLevel = routeByLevel(level, autonomyLevel, environment);
  const where = level === 'high' && autonomyLevel === 3 ? ` in ${environment}` : '';
  const said = `At autonomy level ${autonomyLevel}, ${level} risk${where} goes to ${byLevel}`;
  if (boundary === 'l3' && byLevel === 'autonomous') {
    return { route: 'l3-validation', reason: `${said}, but ${operation} always passes L3 validation at least (seed boundary).` };
  }
  return { route: byLevel, reason: `${said}.` };
}

// Levels 2-4 for a class routed by risk.
function routeByLevel(level: RiskLevel, autonomyLevel: 2 | 3 | 4, environment: Environment): ProposalRoute {
  switch (autonomyLevel) {
    case 2:
      return level === 'high' ? 'human-approval' : level === 'medium' ? 'l3-validation' : 'autonomous';
    case 3:
      if (level === 'high' && environment === 'prod') return 'human-approval';
      return level === 'low' ? 'autonomous' : 'l3-validation';
    case 4:
      return level === 'high' ? 'l3-validation' : 'autonomous';
  }
}

/**
 * Scores a proposed actuation and routes it: the six factors with their contributions (which sum
 * to the score before clamping), the score in [0, 1] rounded to 3 decimals, its level, the class's
 * boundary and the route with its reason. Pure: no clock, no randomness, no I/O.
 * @throws {ValidationError} when the input is malformed (a negative or fractional number of
 * dependents, a failure rate outside 0..1, an unknown class, environment or level), naming each field.
 * @example
 * const risk = assessRisk({
 *   actuation: findActuation('reflex', 'restart')!, environment: 'prod', parameters: {},
 *   dependents: 2, recentFailureRate: 0.5, autonomyLevel: 2,
 * });
 * // risk.score 0.63 (0.25 + 0.2 + 0.08 + 0 + 0.1), level 'medium', route 'l3-validation'
 */
export function assessRisk(input: RiskInput): RiskAssessment {
  const parsed = riskInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new ValidationError(
      parsed.error.issues.map((issue): FieldIssue => ({ path: issue.path.map(String).join('.'), message: issue.message })),
    );
  }
  const { actuation, environment, parameters, dependents, recentFailureRate, autonomyLevel } = parsed.data;
  const operation = operationOf(actuation, environment, parameters);
  const boundary = operationBoundaries[operation];

  const factors: RiskFactor[] = [
    {
      name: 'operation',
      value: operation,
      contribution: OPERATION_RISK[operation],
      note:
        operation === actuation.operation
          ? `${operation} (boundary ${boundary})`
          : `${operation} (boundary ${boundary}) instead of ${actuation.operation}, for ${operation === actuation.criticalOperation ? 'critical data' : environment}`,
    },
    {
      name: 'environment',
      value: environment,
      contribution: ENVIRONMENT_RISK[environment],
      note: environment === 'prod' ? 'production raises risk' : `${environment} is not production`,
    },
    {
      name: 'blast-radius',
      value: dependents,
      contribution: round3(Math.min(MAX_BLAST_RADIUS_RISK, RISK_PER_DEPENDENT * dependents)),
      note: `${dependents} transitive dependent${dependents === 1 ? '' : 's'} × ${RISK_PER_DEPENDENT}, at most ${MAX_BLAST_RADIUS_RISK}`,
    },
    {
      name: 'reversibility',
      value: actuation.reversible,
      contribution: actuation.reversible ? 0 : IRREVERSIBLE_RISK,
      note: actuation.reversible ? 'can be undone' : 'cannot be undone',
    },
    recentFailureRate === undefined
      ? { name: 'failure-rate', value: 'no history', contribution: 0, note: 'no recent runs of this action on this target' }
      : {
          name: 'failure-rate',
          value: recentFailureRate,
          contribution: round3(FAILURE_RATE_WEIGHT * recentFailureRate),
          note: `recent failure rate ${recentFailureRate} × ${FAILURE_RATE_WEIGHT}`,
        },
    { name: 'autonomy-level', value: autonomyLevel, contribution: 0, note: 'the autonomy level routes, it does not score' },
  ];

  const sum = round3(factors.reduce((total, factor) => total + factor.contribution, 0));
  const score = Math.min(1, Math.max(0, sum));
  const level = riskLevelOf(score);
  const { route, reason } = routeFor(operation, level, autonomyLevel, environment);
  return { score, level, operation, boundary, autonomyLevel, factors, route, reason };
}

/**
 * The transitive dependents of `target` in a component graph (`dependsOn` lists what a component
 * calls): every component that depends on it directly or through others, nearest first (breadth
 * first over the reversed edges, neighbours in graph order). Cycles are safe; the target itself is
 * never included; an unknown target has none.
 * @example
 * transitiveDependents([{ id: 'api', dependsOn: ['db'] }, { id: 'ui', dependsOn: ['api'] }, { id: 'db', dependsOn: [] }], 'db');
 * // ['api', 'ui']
 */
export function transitiveDependents(graph: readonly { id: string; dependsOn: readonly string[] }[], target: string): string[] {
  const dependentsOf = new Map<string, string[]>();
  for (const component of graph) {
    for (const dependency of component.dependsOn) {
      const list = dependentsOf.get(dependency) ?? [];
      list.push(component.id);
      dependentsOf.set(dependency, list);
    }
  }
  const seen = new Set<string>([target]);
  const found: string[] = [];
  const queue = [target];
  for (let current = queue.shift(); current !== undefined; current = queue.shift()) {
    for (const dependent of dependentsOf.get(current) ?? []) {
      if (seen.has(dependent)) continue;
      seen.add(dependent);
      found.push(dependent);
      queue.push(dependent);
    }
  }
  return found;
}
