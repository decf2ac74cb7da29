import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { actionNameSchema, engineNameSchema } from '../../events/ids.ts';
import { ValidationError } from '../../lib/errors.ts';
import { type Actuation, actuationIds, actuations, checkBounds, findActuation, operationOf } from '../../lib/governance/actuations.ts';
import {
  type AutonomyLevel,
  type Environment,
  environments,
  type OperationClass,
  operationBoundaries,
  type ProposalRoute,
  type RiskLevel,
  riskAssessmentSchema,
} from '../../lib/governance/model.ts';
import { assessRisk, type RiskInput, riskLevelOf, routeFor, transitiveDependents } from '../../lib/governance/risk.ts';

const classes = Object.keys(operationBoundaries) as OperationClass[];
const levels: AutonomyLevel[] = [1, 2, 3, 4];
const riskLevels: RiskLevel[] = ['low', 'medium', 'high'];

function entry(name: string): Actuation {
  const [engine = '', action = ''] = name.split(':');
  const found = findActuation(engine, action);
  assert.ok(found, `${name} is in the catalog`);
  return found;
}

const sum = (numbers: number[]) => numbers.reduce((total, n) => total + n, 0);

// The seed's boundaries, as issue 9 lists them.
const seedBoundaries: [OperationClass, string][] = [
  ['structural-change', 'human'],
  ['termination', 'human'],
  ['production-promotion', 'human'],
  ['critical-context-deletion', 'human'],
  ['version-promotion', 'l3'],
  ['migration', 'l3'],
  ['interface-exposure', 'l3'],
  ['scaling', 'l3'],
  ['observation', 'autonomous'],
  ['audit', 'autonomous'],
  ['optimisation', 'risk'],
  ['repair', 'risk'],
];

const H: ProposalRoute = 'human-approval';
const L: ProposalRoute = 'l3-validation';
const A: ProposalRoute = 'autonomous';
// [boundary, autonomy level, risk level, route outside prod, route in prod], written out from issue 9.
const routeTable: ['risk' | 'l3', AutonomyLevel, RiskLevel, ProposalRoute, ProposalRoute][] = [
  ['risk', 1, 'low', H, H],
  ['risk', 1, 'medium', H, H],
  ['risk', 1, 'high', H, H],
  ['risk', 2, 'low', A, A],
  ['risk', 2, 'medium', L, L],
  ['risk', 2, 'high', H, H],
  ['risk', 3, 'low', A, A],
  ['risk', 3, 'medium', L, L],
  ['risk', 3, 'high', L, H],
  ['risk', 4, 'low', A, A],
  ['risk', 4, 'medium', A, A],
  ['risk', 4, 'high', L, L],
  ['l3', 1, 'low', H, H],
  ['l3', 1, 'medium', H, H],
  ['l3', 1, 'high', H, H],
  ['l3', 2, 'low', L, L],
  ['l3', 2, 'medium', L, L],
  ['l3', 2, 'high', H, H],
  ['l3', 3, 'low', L, L],
  ['l3', 3, 'medium', L, L],
  ['l3', 3, 'high', L, H],
  ['l3', 4, 'low', L, L],
  ['l3', 4, 'medium', L, L],
  ['l3', 4, 'high', L, L],
];

function expectedRoute(operation: OperationClass, autonomyLevel: AutonomyLevel, level: RiskLevel, environment: Environment): ProposalRoute {
  const boundary = operationBoundaries[operation];
  if (boundary === 'human') return H;
  if (boundary === 'autonomous') return A;
  const row = routeTable.find(([b, a, r]) => b === boundary && a === autonomyLevel && r === level);
  assert.ok(row, `route table has ${boundary} ${autonomyLevel} ${level}`);
  return environment === 'prod' ? row[4] : row[3];
}

// The mildest and the harshest input for a class: with them, every class reaches its extremes.
const mild = (operation: OperationClass, environment: Environment, autonomyLevel: AutonomyLevel): RiskInput => ({
  actuation: { operation, reversible: true },
  environment,
  dependents: 0,
  recentFailureRate: undefined,
  autonomyLevel,
});
const harsh = (operation: OperationClass, environment: Environment, autonomyLevel: AutonomyLevel): RiskInput => ({
  actuation: { operation, reversible: false },
  environment,
  dependents: 10,
  recentFailureRate: 1,
  autonomyLevel,
});

describe('governance risk: boundaries and routes', () => {
  it('keeps the seed boundary of every operation class', () => {
    assert.deepEqual(Object.fromEntries(seedBoundaries), operationBoundaries);
  });

  for (const operation of classes) {
    for (const autonomyLevel of levels) {
      for (const environment of environments) {
        for (const level of riskLevels) {
          const expected = expectedRoute(operation, autonomyLevel, level, environment);
          it(`routes ${level}-risk ${operation} in ${environment} at level ${autonomyLevel} to ${expected}`, () => {
            const { route, reason } = routeFor(operation, level, autonomyLevel, environment);
            assert.equal(route, expected);
            assert.match(reason, /^[A-Z].*\.$/);
            assert.ok(!reason.slice(0, -1).includes('. '), `one sentence: ${reason}`);
          });
        }
      }
    }
  }

  it('never routes an always-human class anywhere but to people, whatever the score, level or environment', () => {
    for (const operation of classes.filter((c) => operationBoundaries[c] === 'human')) {
      for (const autonomyLevel of levels) {
        for (const environment of environments) {
          for (const input of [mild(operation, environment, autonomyLevel), harsh(operation, environment, autonomyLevel)]) {
            const risk = assessRisk(input);
            assert.equal(risk.route, 'human-approval', `${operation} ${environment} level ${autonomyLevel}`);
            assert.match(risk.reason, /always waits for people/);
          }
        }
      }
    }
  });

  it('never routes an L3 class below L3 validation, even at level 4 with the lowest score', () => {
    for (const operation of classes.filter((c) => operationBoundaries[c] === 'l3')) {
      for (const autonomyLevel of levels) {
        for (const environment of environments) {
          const low = assessRisk(mild(operation, environment, autonomyLevel));
          assert.notEqual(low.route, 'autonomous', `${operation} ${environment} level ${autonomyLevel}`);
          assert.notEqual(assessRisk(harsh(operation, environment, autonomyLevel)).route, 'autonomous');
        }
      }
    }
    const scaling = assessRisk(mild('scaling', 'dev', 4));
    assert.equal(scaling.level, 'low');
    assert.equal(scaling.route, 'l3-validation');
    assert.match(scaling.reason, /scaling always passes L3 validation/);
  });

  it('runs observation and audit autonomously at every level, even with the harshest input', () => {
    for (const operation of ['observation', 'audit'] as const) {
      for (const autonomyLevel of levels) {
        for (const environment of environments) {
          assert.equal(assessRisk(harsh(operation, environment, autonomyLevel)).route, 'autonomous');
        }
      }
    }
  });

  it('routes the assessed level the same way routeFor does, for every class, level and environment', () => {
    for (const operation of classes) {
      for (const autonomyLevel of levels) {
        for (const environment of environments) {
          for (const input of [mild(operation, environment, autonomyLevel), harsh(operation, environment, autonomyLevel)]) {
            const risk = assessRisk(input);
            assert.equal(risk.route, expectedRoute(operation, autonomyLevel, risk.level, environment));
            assert.equal(risk.boundary, operationBoundaries[operation]);
          }
        }
      }
    }
  });

  it('says why in the reason: level 1 supervised, and high risk in prod at level 3', () => {
    assert.equal(assessRisk(mild('repair', 'dev', 1)).reason, 'At autonomy level 1 (supervised) every actuation waits for people.');
    const prodHigh = assessRisk(harsh('repair', 'prod', 3));
    assert.equal(prodHigh.reason, 'At autonomy level 3, high risk in prod goes to human-approval.');
    assert.equal(assessRisk(harsh('repair', 'staging', 3)).route, 'l3-validation');
  });
});

describe('governance risk: score', () => {
  const cases: { name: string; input: RiskInput; score: number; level: RiskLevel; contributions: number[] }[] = [
    {
      name: 'a reversible restart in dev with no dependents or history',
      input: { actuation: entry('reflex:restart'), environment: 'dev', dependents: 0, recentFailureRate: undefined, autonomyLevel: 2 },
      score: 0.25,
      level: 'low',
      contributions: [0.25, 0, 0, 0, 0, 0],
    },
    {
      name: 'a restart in prod with 2 dependents and half its recent runs failed',
      input: { actuation: entry('reflex:restart'), environment: 'prod', dependents: 2, recentFailureRate: 0.5, autonomyLevel: 2 },
      score: 0.63,
      level: 'medium',
      contributions: [0.25, 0.2, 0.08, 0, 0.1, 0],
    },
    {
      name: 'an irreversible playbook in staging with 3 dependents and a third of its runs failed',
      input: {
        actuation: entry('execution:run-playbook'),
        environment: 'staging',
        dependents: 3,
        recentFailureRate: 1 / 3,
        autonomyLevel: 3,
      },
      score: 0.637,
      level: 'medium',
      contributions: [0.25, 0.05, 0.12, 0.15, 0.067, 0],
    },
    {
      name: 'tuning in test with the blast radius capped at 0.2 (7 dependents)',
      input: { actuation: entry('evolution:tune'), environment: 'test', dependents: 7, recentFailureRate: 0, autonomyLevel: 4 },
      score: 0.37,
      level: 'low',
      contributions: [0.15, 0.02, 0.2, 0, 0, 0],
    },
    {
      name: 'a promotion to prod, which is production-promotion',
      input: { actuation: entry('promotion:promote'), environment: 'prod', dependents: 1, recentFailureRate: undefined, autonomyLevel: 4 },
      score: 0.84,
      level: 'high',
      contributions: [0.6, 0.2, 0.04, 0, 0, 0],
    },
    {
      name: 'observation in dev',
      input: {
        actuation: entry('observation:configure'),
        environment: 'dev',
        dependents: 0,
        recentFailureRate: undefined,
        autonomyLevel: 1,
      },
      score: 0.02,
      level: 'low',
      contributions: [0.02, 0, 0, 0, 0, 0],
    },
  ];

  for (const { name, input, score, level, contributions } of cases) {
    it(`scores ${name} at ${score} (${level}), its factors summing to the score`, () => {
      const risk = assessRisk(input);
      assert.equal(risk.score, score);
      assert.equal(risk.level, level);
      assert.deepEqual(
        risk.factors.map((factor) => factor.contribution),
        contributions,
      );
      assert.equal(Math.round(sum(contributions) * 1000) / 1000, score);
      riskAssessmentSchema.parse(risk);
    });
  }

  it('lists the six factors once each, in order, with the inputs as assessed', () => {
    const risk = assessRisk({
      actuation: entry('closure:terminate'),
      environment: 'staging',
      dependents: 4,
      recentFailureRate: 0.25,
      autonomyLevel: 3,
    });
    assert.deepEqual(
      risk.factors.map((factor) => [factor.name, factor.value]),
      [
        ['operation', 'termination'],
        ['environment', 'staging'],
        ['blast-radius', 4],
        ['reversibility', false],
        ['failure-rate', 0.25],
        ['autonomy-level', 3],
      ],
    );
  });

  it('clamps to 1 when the factors sum past it, keeping each contribution (terminate in prod, 10 dependents, every run failed)', () => {
    const risk = assessRisk({
      actuation: entry('closure:terminate'),
      environment: 'prod',
      dependents: 10,
      recentFailureRate: 1,
      autonomyLevel: 4,
    });
    assert.equal(risk.score, 1);
    assert.equal(risk.level, 'high');
    assert.deepEqual(
      risk.factors.map((factor) => factor.contribution),
      [0.7, 0.2, 0.2, 0.15, 0.2, 0],
    );
    assert.equal(Math.round(sum(risk.factors.map((factor) => factor.contribution)) * 1000) / 1000, 1.45);
  });

  it('puts the thresholds exactly at 0.4 and 0.7', () => {
    for (const [score, level] of [
      [0, 'low'],
      [0.399, 'low'],
      [0.4, 'medium'],
      [0.699, 'medium'],
      [0.7, 'high'],
      [1, 'high'],
    ] as const) {
      assert.equal(riskLevelOf(score), level, String(score));
    }
  });

  const at = (operation: OperationClass, reversible: boolean, environment: Environment, dependents: number, rate?: number) =>
    assessRisk({ actuation: { operation, reversible }, environment, dependents, recentFailureRate: rate, autonomyLevel: 2 });

  it('scores 0.399 as low and routes it autonomously at level 2', () => {
    const risk = at('optimisation', true, 'prod', 0, 0.245); // 0.15 + 0.2 + 0.049
    assert.deepEqual([risk.score, risk.level, risk.route], [0.399, 'low', 'autonomous']);
  });

  it('scores exactly 0.4 as medium and routes it to L3 validation at level 2', () => {
    const risk = at('repair', false, 'dev', 0); // 0.25 + 0.15
    assert.deepEqual([risk.score, risk.level, risk.route], [0.4, 'medium', 'l3-validation']);
  });

  it('scores 0.699 as medium and exactly 0.7 as high (human approval at level 2)', () => {
    const below = at('repair', true, 'prod', 5, 0.245); // 0.25 + 0.2 + 0.2 + 0.049
    assert.deepEqual([below.score, below.level, below.route], [0.699, 'medium', 'l3-validation']);
    const exact = at('repair', true, 'prod', 5, 0.25); // 0.25 + 0.2 + 0.2 + 0.05
    assert.deepEqual([exact.score, exact.level, exact.route], [0.7, 'high', 'human-approval']);
  });

  it('adds nothing for the failure rate without history, and 0.2 × the rate with it', () => {
    const rateFactor = (rate: number | undefined) =>
      at('repair', true, 'dev', 0, rate).factors.find((factor) => factor.name === 'failure-rate');
    assert.deepEqual([rateFactor(undefined)?.value, rateFactor(undefined)?.contribution], ['no history', 0]);
    assert.deepEqual([rateFactor(0)?.value, rateFactor(0)?.contribution], [0, 0]);
    assert.equal(rateFactor(0.5)?.contribution, 0.1);
    assert.equal(rateFactor(1)?.contribution, 0.2);
    assert.equal(at('repair', true, 'dev', 0, 1).score, 0.45);
  });

  it('lets the autonomy level route but never score', () => {
    const scores = levels.map(
      (autonomyLevel) =>
        assessRisk({ actuation: entry('reflex:throttle'), environment: 'prod', dependents: 3, recentFailureRate: 0.4, autonomyLevel })
          .score,
    );
    assert.deepEqual(scores, [0.65, 0.65, 0.65, 0.65]);
  });

  it('uses the stricter class of the catalog entry in prod and on critical data', () => {
    const promote = assessRisk({
      actuation: entry('promotion:promote'),
      environment: 'staging',
      dependents: 0,
      recentFailureRate: undefined,
      autonomyLevel: 4,
    });
    assert.deepEqual([promote.operation, promote.route], ['version-promotion', 'l3-validation']);
    const compress = (critical: unknown) =>
      assessRisk({
        actuation: entry('compression:compress'),
        environment: 'dev',
        parameters: { critical },
        dependents: 0,
        recentFailureRate: undefined,
        autonomyLevel: 4,
      });
    assert.deepEqual([compress(true).operation, compress(true).route], ['critical-context-deletion', 'human-approval']);
    assert.deepEqual([compress('yes').operation, compress('yes').route], ['optimisation', 'autonomous']);
    assert.match(compress(true).factors[0]?.note ?? '', /instead of optimisation, for critical data/);
  });

  it('refuses malformed input naming each field', () => {
    const base: RiskInput = {
      actuation: entry('reflex:restart'),
      environment: 'dev',
      dependents: 0,
      recentFailureRate: undefined,
      autonomyLevel: 2,
    };
    const paths = (input: unknown) => {
      try {
        assessRisk(input as RiskInput);
      } catch (error) {
        assert.ok(error instanceof ValidationError);
        return error.issues.map((issue) => issue.path);
      }
      assert.fail('expected a ValidationError');
    };
    assert.deepEqual(paths({ ...base, dependents: -1 }), ['dependents']);
    assert.deepEqual(paths({ ...base, dependents: 1.5 }), ['dependents']);
    assert.deepEqual(paths({ ...base, recentFailureRate: 1.5 }), ['recentFailureRate']);
    assert.deepEqual(paths({ ...base, recentFailureRate: Number.NaN }), ['recentFailureRate']);
    assert.deepEqual(paths({ ...base, autonomyLevel: 5, environment: 'qa' }), ['environment', 'autonomyLevel']);
    assert.deepEqual(paths({ ...base, actuation: { operation: 'deletion', reversible: true } }), ['actuation.operation']);
  });
});

describe('governance risk: blast radius', () => {
  // ui and admin both reach db through api-a and api-b (a diamond); worker ↔ queue is a cycle that reaches db too.
  const graph = [
    { id: 'db', dependsOn: [] },
    { id: 'api-a', dependsOn: ['db'] },
    { id: 'api-b', dependsOn: ['db', 'cache'] },
    { id: 'ui', dependsOn: ['api-a', 'api-b'] },
    { id: 'admin', dependsOn: ['ui'] },
    { id: 'worker', dependsOn: ['queue', 'db'] },
    { id: 'queue', dependsOn: ['worker'] },
    { id: 'cache', dependsOn: ['cache'] },
    { id: 'loner', dependsOn: [] },
  ];

  it('counts each dependent once across a diamond, nearest first', () => {
    assert.deepEqual(transitiveDependents(graph, 'api-a'), ['ui', 'admin']);
    assert.deepEqual(transitiveDependents(graph, 'db'), ['api-a', 'api-b', 'worker', 'ui', 'queue', 'admin']);
  });

  it('terminates on a cycle and never counts the target itself', () => {
    assert.deepEqual(transitiveDependents(graph, 'worker'), ['queue']);
    assert.deepEqual(transitiveDependents(graph, 'queue'), ['worker']);
    assert.deepEqual(transitiveDependents(graph, 'cache'), ['api-b', 'ui', 'admin']);
  });

  it('finds none for a leaf, an isolated component or an unknown target', () => {
    assert.deepEqual(transitiveDependents(graph, 'admin'), []);
    assert.deepEqual(transitiveDependents(graph, 'loner'), []);
    assert.deepEqual(transitiveDependents(graph, 'nowhere'), []);
    assert.deepEqual(transitiveDependents([], 'db'), []);
  });

  it('feeds the count into the score (6 dependents of db: capped at 0.2)', () => {
    const dependents = transitiveDependents(graph, 'db').length;
    const risk = assessRisk({
      actuation: entry('replication:scale'),
      environment: 'dev',
      dependents,
      recentFailureRate: undefined,
      autonomyLevel: 3,
    });
    assert.deepEqual(risk.factors[2], {
      name: 'blast-radius',
      value: 6,
      contribution: 0.2,
      note: '6 transitive dependents × 0.04, at most 0.2',
    });
    assert.equal(risk.score, 0.55);
  });
});

describe('governance risk: determinism', () => {
  const inputArbitrary = fc.record({
    actuation: fc.record({ operation: fc.constantFrom(...classes), reversible: fc.boolean() }),
    environment: fc.constantFrom(...environments),
    parameters: fc.constant({}),
    dependents: fc.nat({ max: 1000 }),
    recentFailureRate: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    autonomyLevel: fc.constantFrom(...levels),
  });

  it('gives the same assessment for the same input, leaves the input untouched, and keeps the invariants', () => {
    fc.assert(
      fc.property(inputArbitrary, (input) => {
        const before = structuredClone(input);
        const first = assessRisk(input);
        assert.deepEqual(assessRisk(structuredClone(input)), first);
        assert.deepEqual(structuredClone(input), before);
        riskAssessmentSchema.parse(first);
        const total = Math.round(sum(first.factors.map((factor) => factor.contribution)) * 1000) / 1000;
        assert.equal(first.score, Math.min(1, total));
        assert.equal(first.level, riskLevelOf(first.score));
        assert.equal(first.route, expectedRoute(first.operation, input.autonomyLevel, first.level, input.environment));
      }),
      { numRuns: 500 },
    );
  });
});

describe('governance actuation catalog', () => {
  it('has unique engine:action ids, each a valid engine and action name', () => {
    const ids = actuationIds();
    assert.equal(ids.length, actuations.length);
    assert.equal(new Set(ids).size, ids.length);
    for (const { engine, action } of actuations) {
      engineNameSchema.parse(engine);
      actionNameSchema.parse(action);
      assert.ok(ids.includes(`${engine}:${action}`));
      assert.equal(findActuation(engine, action)?.action, action);
    }
    assert.equal(findActuation('governance', 'approvals'), undefined);
    assert.equal(actuations.filter((a) => a.engine === 'governance').length, 0);
  });

  it('names only known operation classes, with well-formed bounds and a description', () => {
    for (const a of actuations) {
      const id = `${a.engine}:${a.action}`;
      for (const operation of [a.operation, a.prodOperation, a.criticalOperation]) {
        if (operation !== undefined) assert.ok(Object.hasOwn(operationBoundaries, operation), `${id}: ${operation}`);
      }
      assert.ok(a.description.length > 10, id);
      for (const [name, bound] of Object.entries(a.bounds ?? {})) {
        const where = `${id} ${name}`;
        assert.ok(bound.min !== undefined || bound.max !== undefined || bound.values !== undefined, `${where} bounds something`);
        if (bound.min !== undefined) assert.ok(Number.isFinite(bound.min), where);
        if (bound.max !== undefined) assert.ok(Number.isFinite(bound.max), where);
        if (bound.min !== undefined && bound.max !== undefined) assert.ok(bound.min <= bound.max, where);
        if (bound.values !== undefined) {
          assert.ok(bound.values.length > 0, where);
          assert.equal(new Set(bound.values).size, bound.values.length, where);
        }
      }
    }
  });

  it('covers every class that actuates, and classes the actions of issues 10-14 as the seed says (and capsule publication and plans, issue 12)', () => {
    const expected: [string, OperationClass, boolean][] = [
      ['reflex:restart', 'repair', true],
      ['reflex:scale-out', 'scaling', true],
      ['reflex:roll-back', 'repair', true],
      ['reflex:fail-over', 'repair', true],
      ['reflex:throttle', 'repair', true],
      ['reflex:quarantine', 'repair', true],
      ['execution:run-playbook', 'repair', false],
      ['evolution:tune', 'optimisation', true],
      ['evolution:restructure', 'structural-change', false],
      ['versioning:publish', 'version-promotion', true],
      ['promotion:promote', 'version-promotion', true],
      ['promotion:roll-back', 'repair', true],
      ['replication:scale', 'scaling', true],
      ['migration:migrate', 'migration', true],
      ['encapsulation:expose-interface', 'interface-exposure', false],
      ['encapsulation:restructure', 'structural-change', false],
      ['compression:compress', 'optimisation', true],
      ['compression:tune', 'optimisation', true],
      ['compression:delete-context', 'optimisation', false],
      ['closure:terminate', 'termination', false],
      ['closure:archive', 'optimisation', true],
      ['capsules:publish', 'interface-exposure', false],
      ['capsules:plan', 'optimisation', false],
      ['observation:configure', 'observation', true],
      ['audit:record', 'audit', true],
    ];
    assert.deepEqual(
      actuationIds(),
      expected.map(([id]) => id),
    );
    for (const [id, operation, reversible] of expected) {
      assert.deepEqual([entry(id).operation, entry(id).reversible], [operation, reversible], id);
    }
    const reachable = new Set(actuations.flatMap((a) => [a.operation, a.prodOperation, a.criticalOperation]));
    assert.deepEqual(
      classes.filter((c) => !reachable.has(c)),
      [],
    );
  });

  it('picks the class by environment and criticality', () => {
    const promote = entry('promotion:promote');
    assert.deepEqual(
      environments.map((environment) => operationOf(promote, environment, {})),
      ['version-promotion', 'version-promotion', 'version-promotion', 'production-promotion'],
    );
    const deletion = entry('compression:delete-context');
    assert.equal(operationOf(deletion, 'prod', { critical: true }), 'critical-context-deletion');
    assert.equal(operationOf(deletion, 'prod', { critical: 'true' }), 'optimisation');
    assert.equal(operationOf(deletion, 'prod'), 'optimisation');
    // Both apply: the stricter boundary wins, critical before prod on a tie.
    const both = { operation: 'repair', prodOperation: 'scaling', criticalOperation: 'termination' } as const;
    assert.equal(operationOf(both, 'prod', { critical: true }), 'termination');
    assert.equal(operationOf({ ...both, criticalOperation: 'optimisation' }, 'prod', { critical: true }), 'scaling');
    assert.equal(
      operationOf({ operation: 'repair', prodOperation: 'termination', criticalOperation: 'structural-change' }, 'prod', {
        critical: true,
      }),
      'structural-change',
    );
  });
});

describe('governance actuation bounds', () => {
  const scale = entry('replication:scale');

  const cases: { name: string; actuation: string; parameters: Record<string, unknown>; issues: { path: string; message: string }[] }[] = [
    { name: 'a value within bounds', actuation: 'replication:scale', parameters: { replicas: 50 }, issues: [] },
    { name: 'the lower edge', actuation: 'replication:scale', parameters: { replicas: 1 }, issues: [] },
    { name: 'an absent bounded parameter', actuation: 'replication:scale', parameters: { zone: 'a' }, issues: [] },
    {
      name: 'above max',
      actuation: 'replication:scale',
      parameters: { replicas: 80 },
      issues: [{ path: 'parameters.replicas', message: 'must be at most 50 (got 80)' }],
    },
    {
      name: 'below min',
      actuation: 'reflex:scale-out',
      parameters: { replicas: 0 },
      issues: [{ path: 'parameters.replicas', message: 'must be at least 1 (got 0)' }],
    },
    {
      name: 'a number as a string',
      actuation: 'replication:scale',
      parameters: { replicas: '5' },
      issues: [{ path: 'parameters.replicas', message: 'must be a finite number (got "5")' }],
    },
    {
      name: 'NaN',
      actuation: 'replication:scale',
      parameters: { replicas: Number.NaN },
      issues: [{ path: 'parameters.replicas', message: 'must be a finite number (got NaN)' }],
    },
    {
      name: 'an object',
      actuation: 'replication:scale',
      parameters: { replicas: { $gt: 1 } },
      issues: [{ path: 'parameters.replicas', message: 'must be a finite number (got an object)' }],
    },
    {
      name: 'a value outside an enumeration',
      actuation: 'versioning:publish',
      parameters: { bump: 'huge' },
      issues: [{ path: 'parameters.bump', message: 'must be one of "major", "minor", "patch" (got "huge")' }],
    },
    {
      name: 'two parameters out at once, in declaration order',
      actuation: 'evolution:tune',
      parameters: { concurrency: 5000, trafficShare: 0.9, batchSize: 8 },
      issues: [
        { path: 'parameters.trafficShare', message: 'must be at most 0.5 (got 0.9)' },
        { path: 'parameters.concurrency', message: 'must be at most 1000 (got 5000)' },
      ],
    },
    { name: 'anything, for an actuation with no bounds', actuation: 'closure:terminate', parameters: { replicas: -3 }, issues: [] },
  ];

  for (const { name, actuation, parameters, issues } of cases) {
    it(`${issues.length === 0 ? 'passes' : 'flags'} ${name} (${actuation})`, () => {
      assert.deepEqual(checkBounds(entry(actuation), parameters), issues);
    });
  }

  it('keeps a long string out of the message', () => {
    const issues = checkBounds(entry('versioning:publish'), { bump: 'x'.repeat(10_000) });
    assert.equal(issues.length, 1);
    const message = issues[0]?.message ?? '';
    assert.ok(message.length < 120, message);
    assert.match(message, /\(got "x{40}…"\)$/);
  });

  it('ignores inherited properties', () => {
    const parameters = Object.create({ replicas: 999 }) as Record<string, unknown>;
    assert.deepEqual(checkBounds(scale, parameters), []);
  });
});
