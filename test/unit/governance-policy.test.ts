/**
 * Cedar policy as code (lib/governance/policy.ts, profiles.ts, cedar-schema.ts), with real Cedar:
 * the base profile, layer composition and ids, validation messages, break-glass, simulation, and
 * the esbuild bundle (the wasm embedded by infra/esbuild/plugins.cjs).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { ValidationError } from '../../lib/errors.ts';
import { actuationActionId, cedarSchema, routeActionId } from '../../lib/governance/cedar-schema.ts';
import {
  type ActuationRequestInput,
  BREAK_GLASS_ROUTES,
  PolicyEngine,
  type PolicyPrincipal,
  policyDocumentHash,
  type RecordedDecision,
  type RouteRequest,
  validatePolicies,
} from '../../lib/governance/policy.ts';
import { BASE_PROFILE, type PolicyLayers } from '../../lib/governance/profiles.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const catalog = {
  actuations: [
    actuationActionId('reflex', 'restart'),
    actuationActionId('reflex', 'scale-out'),
    actuationActionId('closure', 'terminate'),
    actuationActionId('promotion', 'promote'),
  ],
  routes: [routeActionId('PUT', '/observation/config'), routeActionId('POST', '/observation/ingest'), ...BREAK_GLASS_ROUTES],
};
const schema = cedarSchema(catalog);
const engine = new PolicyEngine(schema);

const user = (roles: string[], tenant = 'acme'): PolicyPrincipal => ({
  kind: 'user',
  id: `user-${roles.join('-') || 'none'}`,
  tenant,
  roles,
});
const operator = user(['operator']);
const admin = user(['admin']);
const viewer = user(['viewer']);

function actuation(overrides: Partial<ActuationRequestInput> = {}): ActuationRequestInput {
  return {
    principal: operator,
    tenant: 'acme',
    engine: 'reflex',
    action: 'restart',
    target: 'endpoint/chat',
    environment: 'staging',
    tags: ['tier-1'],
    operation: 'repair',
    riskScore: 0.3,
    riskLevel: 'low',
    autonomyLevel: 2,
    reversible: true,
    blastRadius: 2,
    ...overrides,
  };
}

function route(principal: PolicyPrincipal, id: string): RouteRequest {
  const [method, routePath] = id.split(' ') as [RouteRequest['method'], string];
  return { principal, tenant: 'acme', method, path: routePath };
}

describe('cedarSchema', () => {
  it('declares one action per actuation and route, in its group', () => {
    const actions = schema.Autonomy?.actions ?? {};
    assert.deepEqual(actions['reflex:restart']?.memberOf, [{ id: 'actuation' }]);
    assert.deepEqual(actions['PUT /observation/config']?.memberOf, [{ id: 'route' }]);
    assert.deepEqual(actions['reflex:restart']?.appliesTo?.resourceTypes, ['Target']);
    assert.deepEqual(actions['PUT /observation/config']?.appliesTo?.principalTypes, ['User', 'ApiKey', 'Engine', 'Agent', 'Capsule']);
  });

  it('rejects ids that are not engine:action or METHOD /path, naming each', () => {
    assert.throws(
      () => cedarSchema({ actuations: ['reflex:restart', 'Reflex restart'], routes: ['PATCH /x'] }),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.issues.map((issue) => issue.path).join() === 'actuations[1],routes[0]' &&
        /is not engine:action/.test(error.message),
    );
  });
});

describe('base profile', () => {
  it('validates against the generated schema, with its ids documented', () => {
    assert.deepEqual(validatePolicies(undefined, schema), {
      ok: true,
      policyIds: ['base/routes', 'base/operators-actuate', 'base/engines-actuate'],
    });
    for (const id of ['routes', 'operators-actuate', 'engines-actuate']) assert.match(BASE_PROFILE, new RegExp(`@id\\("${id}"\\)`));
  });

  const cases: { name: string; principal: PolicyPrincipal; tenant?: string; decision: 'allow' | 'deny'; policies: string[] }[] = [
    { name: 'an operator', principal: operator, decision: 'allow', policies: ['base/operators-actuate'] },
    { name: 'an admin', principal: admin, decision: 'allow', policies: ['base/operators-actuate'] },
    {
      name: "an engine's service principal",
      principal: { kind: 'engine', id: 'reflex', tenant: 'acme', roles: [] },
      decision: 'allow',
      policies: ['base/engines-actuate'],
    },
    {
      name: 'an API key with the operator role',
      principal: { kind: 'api-key', id: 'k1', tenant: 'acme', roles: ['operator'] },
      decision: 'allow',
      policies: ['base/operators-actuate'],
    },
    { name: 'a viewer', principal: viewer, decision: 'deny', policies: [] },
    { name: 'an approver', principal: user(['approver']), decision: 'deny', policies: [] },
    { name: 'an agent without roles', principal: { kind: 'agent', id: 'a1', tenant: 'acme', roles: [] }, decision: 'deny', policies: [] },
    { name: "another tenant's operator", principal: user(['operator'], 'globex'), decision: 'deny', policies: [] },
    {
      name: 'an engine acting for another tenant',
      principal: { kind: 'engine', id: 'reflex', tenant: 'globex', roles: [] },
      decision: 'deny',
      policies: [],
    },
  ];
  for (const { name, principal, decision, policies } of cases) {
    it(`${decision === 'allow' ? 'allows' : 'denies'} ${name} an actuation, naming ${policies.join(', ') || 'no policy'}`, () => {
      const result = engine.evaluateActuation(undefined, 0, actuation({ principal }));
      assert.deepEqual(result, { decision, policies, errors: [], version: 0, breakGlass: false });
    });
  }

  it('allows every declared route to any principal (roles are checked by the API first)', () => {
    for (const id of catalog.routes) assert.equal(engine.evaluateRoute(undefined, 0, route(viewer, id)).decision, 'allow', id);
  });
});

describe('layers', () => {
  const layers: PolicyLayers = {
    team: `@id("no-terminate")
forbid (principal, action == Autonomy::Action::"closure:terminate", resource);

forbid (principal, action == Autonomy::Action::"PUT /observation/config", resource)
unless { principal.roles.contains("admin") };`,
    environments: {
      prod: `@id("prod-low-risk-only")
forbid (principal, action in Autonomy::Action::"actuation", resource)
when { context.riskScore >= 700 };

@id("no-routes-in-prod")
forbid (principal, action in Autonomy::Action::"route", resource);`,
      staging: `@id("staging-tagged")
forbid (principal, action in Autonomy::Action::"actuation", resource)
when { resource.tags.contains("frozen") };`,
    },
  };

  const cases: { name: string; request: ActuationRequestInput; decision: 'allow' | 'deny'; policies: string[] }[] = [
    {
      name: 'a team forbid beats the base permit',
      request: actuation({ engine: 'closure', action: 'terminate' }),
      decision: 'deny',
      policies: ['team/no-terminate'],
    },
    {
      name: 'the prod layer forbids high risk in prod',
      request: actuation({ environment: 'prod', riskScore: 0.7 }),
      decision: 'deny',
      policies: ['env/prod/prod-low-risk-only'],
    },
    {
      name: 'the risk score is compared in per mille',
      request: actuation({ environment: 'prod', riskScore: 0.699 }),
      decision: 'allow',
      policies: ['base/operators-actuate'],
    },
    {
      name: 'the prod layer does not apply in staging',
      request: actuation({ environment: 'staging', riskScore: 0.9 }),
      decision: 'allow',
      policies: ['base/operators-actuate'],
    },
    {
      name: 'the staging layer reads the target tags',
      request: actuation({ tags: ['frozen'] }),
      decision: 'deny',
      policies: ['env/staging/staging-tagged'],
    },
    {
      name: 'the staging layer does not apply in dev',
      request: actuation({ environment: 'dev', tags: ['frozen'] }),
      decision: 'allow',
      policies: ['base/operators-actuate'],
    },
  ];
  for (const { name, request, decision, policies } of cases) {
    it(`${name}: ${decision} by ${policies.join(', ')}`, () => {
      const result = engine.evaluateActuation(layers, 4, request);
      assert.deepEqual(result, { decision, policies, errors: [], version: 4, breakGlass: false });
    });
  }

  it('names a policy without @id by its position in its layer (team/policy1)', () => {
    const result = engine.evaluateRoute(layers, 4, route(operator, 'PUT /observation/config'));
    assert.deepEqual(result, { decision: 'deny', policies: ['team/policy1'], errors: [], version: 4, breakGlass: false });
    assert.equal(engine.evaluateRoute(layers, 4, route(admin, 'PUT /observation/config')).decision, 'allow');
  });

  it('applies no environment layer to routes', () => {
    assert.equal(engine.evaluateRoute(layers, 4, route(operator, 'POST /observation/ingest')).decision, 'allow');
  });

  it('reports every id of the document when it validates', () => {
    assert.deepEqual(validatePolicies(layers, schema), {
      ok: true,
      policyIds: [
        'base/routes',
        'base/operators-actuate',
        'base/engines-actuate',
        'team/no-terminate',
        'team/policy1',
        'env/staging/staging-tagged',
        'env/prod/prod-low-risk-only',
        'env/prod/no-routes-in-prod',
      ],
    });
  });

  it('keeps decisions right when the cache evicts and reuses preparsed sets', () => {
    const small = new PolicyEngine(schema, { cacheSize: 2 });
    const forbidding = (id: string): PolicyLayers => ({
      team: `@id("${id}") forbid (principal, action == Autonomy::Action::"reflex:restart", resource);`,
    });
    for (let round = 0; round < 3; round += 1) {
      for (const id of ['a', 'b', 'c']) assert.deepEqual(small.evaluateActuation(forbidding(id), 1, actuation()).policies, [`team/${id}`]);
      assert.equal(small.evaluateActuation(undefined, 0, actuation()).decision, 'allow');
    }
  });
});

describe('validatePolicies', () => {
  const cases: { name: string; layers: PolicyLayers; errors: { layer: string; message: RegExp }[] }[] = [
    {
      name: 'a syntax error, quoting Cedar with its line and column',
      layers: { team: 'permit (principal, action, resource);\n\npermt (principal, action, resource);' },
      errors: [
        { layer: 'team', message: /^invalid policy effect: permt; effect must be either `permit` or `forbid` \(at line 3, column 1\)$/ },
      ],
    },
    {
      name: 'a missing token',
      layers: { environments: { dev: 'forbid (principal, action, resource) when context.x };' } },
      errors: [{ layer: 'env/dev', message: /unexpected token/ }],
    },
    {
      name: 'an unknown action',
      layers: { environments: { prod: '\n@id("x")\nforbid (principal, action == Autonomy::Action::"reflex:explode", resource);' } },
      errors: [
        {
          layer: 'env/prod',
          message: /^for policy `env\/prod\/x`, unrecognized action `Autonomy::Action::"reflex:explode"`.*\(at line 3, column 30\)$/,
        },
      ],
    },
    {
      name: 'an unknown context attribute',
      layers: { team: '@id("y") forbid (principal, action == Autonomy::Action::"reflex:restart", resource) when { context.cost > 3 };' },
      errors: [
        { layer: 'team', message: /^for policy `team\/y`, attribute `cost` in context for Autonomy::Action::"reflex:restart" not found/ },
      ],
    },
    {
      name: 'an unknown principal attribute',
      layers: { team: 'permit (principal is Autonomy::User, action, resource) when { principal.department == "x" };' },
      errors: [{ layer: 'team', message: /attribute `department` on entity type `Autonomy::User` not found/ }],
    },
    {
      name: 'a type error',
      layers: { team: 'forbid (principal, action in Autonomy::Action::"actuation", resource) when { context.riskScore > "high" };' },
      errors: [{ layer: 'team', message: /^for policy `team\/policy0`, .*type/ }],
    },
    {
      name: 'an unknown entity type',
      layers: { team: 'permit (principal is Autonomy::Robot, action, resource);' },
      errors: [{ layer: 'team', message: /Robot/ }],
    },
    {
      name: 'duplicate ids in a layer',
      layers: { team: '@id("a") permit (principal, action, resource);\n@id("a") forbid (principal, action, resource);' },
      errors: [{ layer: 'team', message: /^duplicate policy id team\/a \(at line 2, column 1\)$/ }],
    },
    {
      name: 'an @id that collides with a positional id',
      layers: { team: 'permit (principal, action, resource);\n@id("policy0") forbid (principal, action, resource);' },
      errors: [{ layer: 'team', message: /duplicate policy id team\/policy0/ }],
    },
    {
      name: 'an @id with a slash',
      layers: { team: '@id("a/b") permit (principal, action, resource);' },
      errors: [{ layer: 'team', message: /@id\("a\/b"\) must be/ }],
    },
    {
      name: 'a template',
      layers: { team: 'permit (principal == ?principal, action, resource);' },
      errors: [{ layer: 'team', message: /templates .* are not supported/ }],
    },
    {
      name: 'an unknown layer',
      layers: { team: '', region: 'permit (principal, action, resource);' } as PolicyLayers,
      errors: [{ layer: 'document', message: /region/ }],
    },
    {
      name: 'an unknown environment',
      layers: { environments: { qa: '' } } as unknown as PolicyLayers,
      errors: [{ layer: 'document', message: /environments/ }],
    },
  ];
  for (const { name, layers, errors } of cases) {
    it(`refuses ${name}`, () => {
      const result = validatePolicies(layers, schema);
      assert.equal(result.ok, false, JSON.stringify(result));
      if (result.ok) return;
      assert.equal(result.errors.length, errors.length, JSON.stringify(result.errors));
      for (const [index, expected] of errors.entries()) {
        assert.equal(result.errors[index]?.layer, expected.layer);
        assert.match(result.errors[index]?.message ?? '', expected.message);
      }
    });
  }

  it('accepts empty layers and comments only', () => {
    assert.deepEqual(validatePolicies({ team: '', environments: { prod: '// nothing yet\n' } }, schema), {
      ok: true,
      policyIds: ['base/routes', 'base/operators-actuate', 'base/engines-actuate'],
    });
  });
});

describe('evaluation', () => {
  it('refuses an unknown principal kind, naming the field and the kinds', () => {
    const principal = { ...operator, kind: 'robot' } as unknown as PolicyPrincipal;
    assert.throws(
      () => engine.evaluateActuation(undefined, 0, actuation({ principal })),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.issues[0]?.path === 'principal.kind' &&
        error.issues[0].message === 'unknown principal kind "robot"; expected one of user, api-key, engine, agent, capsule',
    );
    assert.throws(() => engine.evaluateRoute(undefined, 0, route(principal, 'PUT /observation/config')), ValidationError);
  });

  it('refuses a bad version or environment', () => {
    assert.throws(() => engine.evaluateActuation(undefined, -1, actuation()), /version/);
    assert.throws(() => engine.evaluateActuation(undefined, 0, actuation({ environment: 'qa' as 'dev' })), /environment/);
  });

  it('denies an actuation the schema does not declare, quoting Cedar', () => {
    const result = engine.evaluateActuation(undefined, 0, actuation({ engine: 'reflex', action: 'self-destruct' }));
    assert.equal(result.decision, 'deny');
    assert.deepEqual(result.policies, []);
    assert.match(result.errors[0] ?? '', /action `Autonomy::Action::"reflex:self-destruct"` does not exist in the supplied schema/);
  });

  it('fails closed on a stored document that does not parse, leaving break-glass', () => {
    const broken: PolicyLayers = { team: 'permt (principal, action, resource);' };
    const decided = engine.evaluateActuation(broken, 7, actuation());
    assert.equal(decided.decision, 'deny');
    assert.match(decided.errors[0] ?? '', /^team: invalid policy effect: permt/);
    assert.equal(engine.evaluateRoute(broken, 7, route(operator, 'POST /observation/ingest')).decision, 'deny');
    assert.deepEqual(engine.evaluateRoute(broken, 7, route(admin, 'PUT /governance/policies')), {
      ...decided,
      decision: 'allow',
      breakGlass: true,
    });
  });

  it('reports policies that error and skips them, as Cedar does', () => {
    const layers: PolicyLayers = {
      team: '@id("overflow") forbid (principal, action in Autonomy::Action::"actuation", resource) when { context.blastRadius * 9223372036854775807 > 0 };',
    };
    assert.equal(validatePolicies(layers, schema).ok, true);
    const result = engine.evaluateActuation(layers, 2, actuation());
    assert.equal(result.decision, 'allow');
    assert.match(result.errors[0] ?? '', /^team\/overflow: .*overflow/);
  });
});

describe('break-glass', () => {
  const lockout: PolicyLayers = { team: '@id("lockout") forbid (principal, action, resource);' };

  it('lists the governance repair routes', () => {
    assert.deepEqual(BREAK_GLASS_ROUTES, [
      'GET /governance/policies',
      'PUT /governance/policies',
      'POST /governance/policies/simulate',
      'GET /governance/killswitch',
      'PUT /governance/killswitch',
      'PUT /governance/autonomy',
      'GET /governance/config',
      'PUT /governance/config',
    ]);
  });

  for (const id of BREAK_GLASS_ROUTES) {
    it(`lets an admin through ${id} under a lockout, naming the denier`, () => {
      assert.deepEqual(engine.evaluateRoute(lockout, 9, route(admin, id)), {
        decision: 'allow',
        policies: ['team/lockout'],
        errors: [],
        version: 9,
        breakGlass: true,
      });
    });
  }

  it('is not used when the policies allow', () => {
    assert.deepEqual(engine.evaluateRoute(undefined, 0, route(admin, 'PUT /governance/policies')), {
      decision: 'allow',
      policies: ['base/routes'],
      errors: [],
      version: 0,
      breakGlass: false,
    });
  });

  it('holds for admins only, and for the repair routes only', () => {
    assert.equal(engine.evaluateRoute(lockout, 9, route(operator, 'PUT /governance/policies')).decision, 'deny');
    assert.equal(engine.evaluateRoute(lockout, 9, route(admin, 'PUT /observation/config')).decision, 'deny');
    assert.equal(engine.evaluateActuation(lockout, 9, actuation({ principal: admin })).decision, 'deny');
  });

  it('holds for an admin API key too', () => {
    const key: PolicyPrincipal = { kind: 'api-key', id: 'k1', tenant: 'acme', roles: ['admin'] };
    assert.equal(engine.evaluateRoute(lockout, 9, route(key, 'PUT /governance/killswitch')).breakGlass, true);
  });
});

describe('simulate', () => {
  const current: PolicyLayers = {
    team: '@id("no-terminate") forbid (principal, action == Autonomy::Action::"closure:terminate", resource);',
  };
  const candidate: PolicyLayers = {
    team: '',
    environments: { prod: '@id("freeze") forbid (principal, action in Autonomy::Action::"actuation", resource);' },
  };
  const requests: { id: string; kind: 'actuation' | 'route'; request: ActuationRequestInput | RouteRequest }[] = [
    { id: 'restart-prod', kind: 'actuation', request: actuation({ environment: 'prod' }) },
    { id: 'restart-staging', kind: 'actuation', request: actuation() },
    { id: 'terminate-staging', kind: 'actuation', request: actuation({ engine: 'closure', action: 'terminate' }) },
    { id: 'viewer-restart', kind: 'actuation', request: actuation({ principal: viewer, environment: 'prod' }) },
    { id: 'config', kind: 'route', request: route(operator, 'PUT /observation/config') },
  ];
  // Recorded as the ledger keeps them: through JSON.
  const recorded: RecordedDecision[] = JSON.parse(
    JSON.stringify(
      requests.map(({ id, kind, request }) => ({
        id,
        kind,
        request,
        decision:
          kind === 'actuation'
            ? engine.evaluateActuation(current, 3, request as ActuationRequestInput)
            : engine.evaluateRoute(current, 3, request as RouteRequest),
      })),
    ),
  );

  it('lists the decisions a candidate would change, with the deciding ids before and after', () => {
    assert.deepEqual(engine.simulate(candidate, recorded), {
      evaluated: 5,
      changed: [
        {
          id: 'restart-prod',
          before: 'allow',
          after: 'deny',
          policiesBefore: ['base/operators-actuate'],
          policiesAfter: ['env/prod/freeze'],
        },
        {
          id: 'terminate-staging',
          before: 'deny',
          after: 'allow',
          policiesBefore: ['team/no-terminate'],
          policiesAfter: ['base/operators-actuate'],
        },
      ],
      skipped: [],
    });
  });

  it('changes nothing when replayed against the recorded document', () => {
    assert.deepEqual(engine.simulate(current, recorded), { evaluated: 5, changed: [], skipped: [] });
  });

  it('skips what it cannot replay, saying why', () => {
    const odd = [
      ...recorded,
      { id: 'odd', kind: 'actuation', request: { principal: operator }, decision: recorded[0] } as unknown as RecordedDecision,
    ];
    const result = engine.simulate(current, odd);
    assert.equal(result.evaluated, 5);
    assert.equal(result.skipped[0]?.id, 'odd');
    assert.match(result.skipped[0]?.reason ?? '', /request\.tenant/);
  });

  it('refuses an invalid candidate', () => {
    assert.throws(
      () => engine.simulate({ team: 'permt (principal, action, resource);' }, recorded),
      (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === 'team',
    );
  });
});

describe('policyDocumentHash', () => {
  it('hashes canonical JSON: key order does not matter, text does', () => {
    const a = policyDocumentHash({ team: 'x', environments: { prod: 'y', dev: 'z' } });
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.equal(policyDocumentHash({ environments: { dev: 'z', prod: 'y' }, team: 'x' }), a);
    assert.notEqual(policyDocumentHash({ team: 'x ', environments: { prod: 'y', dev: 'z' } }), a);
    assert.equal(policyDocumentHash(undefined), policyDocumentHash({}));
  });
});

describe('bundled with esbuild as serverless.yml does', () => {
  const work = mkdtemp(path.join(os.tmpdir(), 'autonomy-policy-bundle-'));
  after(async () => rm(await work, { recursive: true, force: true }));

  it('embeds the wasm (no file beside the bundle) and evaluates from a folder without node_modules', async () => {
    const dir = await work;
    const plugins = createRequire(import.meta.url)(path.join(root, 'infra/esbuild/plugins.cjs')) as Plugin[];
    const outfile = path.join(dir, 'policy.mjs');
    // The options of serverless.yml's build.esbuild section.
    await build({
      stdin: {
        contents:
          "export { PolicyEngine } from './lib/governance/policy.ts'; export { cedarSchema } from './lib/governance/cedar-schema.ts';",
        resolveDir: root,
        loader: 'ts',
      },
      outfile,
      bundle: true,
      minify: true,
      sourcemap: true,
      keepNames: true,
      target: 'node22',
      platform: 'node',
      format: 'esm',
      mainFields: ['module', 'main'],
      plugins,
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      logLevel: 'silent',
    });
    assert.deepEqual((await readdir(dir)).sort(), ['policy.mjs', 'policy.mjs.map']);
    // The gzipped wasm is 1.9 MB as base64: no source in the map comes near it.
    const map = JSON.parse(await readFile(`${outfile}.map`, 'utf8')) as { sourcesContent: string[] };
    assert.ok(Math.max(...map.sourcesContent.map((source) => source.length)) < 500_000, 'the wasm stays out of the source map');
    const script = `
      const { PolicyEngine, cedarSchema } = await import(${JSON.stringify(outfile)});
      const engine = new PolicyEngine(cedarSchema({ actuations: ['reflex:restart'], routes: [] }));
      const request = { principal: { kind: 'user', id: 'u', tenant: 'acme', roles: ['operator'] }, tenant: 'acme', engine: 'reflex', action: 'restart',
        target: 't', environment: 'prod', operation: 'repair', riskScore: 0.2, riskLevel: 'low', autonomyLevel: 2, reversible: true, blastRadius: 0 };
      console.log(JSON.stringify(engine.evaluateActuation({ team: '@id("f") forbid (principal, action, resource) when { context.environment == "prod" };' }, 1, request)));`;
    const out = execFileSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], {
      cwd: dir,
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(out), { decision: 'deny', policies: ['team/f'], errors: [], version: 1, breakGlass: false });
  });
});
