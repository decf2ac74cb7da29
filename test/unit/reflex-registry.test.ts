/**
 * The component registry (lib/reflex/registry.ts): validation (unknown dependencies named, ids and
 * series unique), cycles reported, transitive dependents and dependencies, governance's
 * ComponentGraph port, and replacement conditional on the generation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError, ValidationError } from '../../lib/errors.ts';
import {
  ComponentIndex,
  checkRegistry,
  componentGraph,
  findCycles,
  type RegistryStore,
  replaceRegistry,
} from '../../lib/reflex/registry.ts';
import { type Component, type ComponentInput, componentSchema, putComponentsSchema, type Registry } from '../../lib/reflex/schemas.ts';

const component = (input: ComponentInput): Component => componentSchema.parse(input);
const graph = (edges: Record<string, string[]>): Component[] =>
  Object.entries(edges).map(([id, dependsOn]) => component({ id, kind: 'service', dependsOn }));

/** A store on a variable, conditional on the generation like the DynamoDB one. */
function memoryRegistry(): RegistryStore & { current: Registry } {
  const store = {
    current: { tenant: 'acme', generation: 0, components: [] } as Registry,
    async registry() {
      return structuredClone(store.current);
    },
    async replace(tenant: string, components: readonly Component[], expected: number, meta: { at: string; by: string }) {
      if (store.current.generation !== expected) throw new ConflictError('moved on');
      const removed = store.current.components.map((entry) => entry.id).filter((id) => !components.some((entry) => entry.id === id));
      store.current = {
        tenant,
        generation: expected + 1,
        components: structuredClone([...components]),
        updatedAt: meta.at,
        updatedBy: meta.by,
      };
      return { generation: expected + 1, removed };
    },
  };
  return store;
}

describe('reflex registry', () => {
  it('names each unknown dependency with its path (400)', () => {
    const components = [component({ id: 'api', kind: 'lambda', dependsOn: ['db', 'cache'] }), component({ id: 'cache', kind: 'redis' })];
    assert.throws(
      () => checkRegistry(components),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.deepEqual(error.issues, [
          { path: 'body.parameters.components.0.dependsOn.0', message: "unknown component 'db' (not in this registry)" },
        ]);
        assert.match(error.message, /unknown component 'db'/);
        return true;
      },
    );
  });

  it('refuses a duplicate id and a series claimed by two components', () => {
    const components = [
      component({ id: 'api', kind: 'lambda', series: ['api.latency'] }),
      component({ id: 'api', kind: 'lambda' }),
      component({ id: 'web', kind: 'lambda', series: ['api.latency'] }),
    ];
    assert.throws(
      () => checkRegistry(components),
      (error: unknown) =>
        error instanceof ValidationError &&
        error.issues.some((issue) => issue.path === 'body.parameters.components.1.id' && /declared twice/.test(issue.message)) &&
        error.issues.some(
          (issue) => issue.path === 'body.parameters.components.2.series.0' && /already describes component 'api'/.test(issue.message),
        ),
    );
  });

  it('accepts cycles and reports each strongly connected group, and a self-dependency', () => {
    const components = graph({ a: ['b'], b: ['c'], c: ['a'], d: ['d'], e: ['a'], f: [] });
    assert.deepEqual(checkRegistry(components).cycles, [['a', 'b', 'c'], ['d']]);
    assert.deepEqual(findCycles(graph({ x: ['y'], y: ['x'] })), [['x', 'y']]);
    assert.deepEqual(findCycles(graph({ x: ['y'], y: [] })), []);
  });

  it('finds transitive dependents and dependencies, never the component itself, cycles included', () => {
    const index = new ComponentIndex(graph({ db: [], api: ['db'], web: ['api'], batch: ['db'], x: ['y'], y: ['x', 'db'] }));
    assert.deepEqual(index.dependentsOf('db'), ['api', 'batch', 'web', 'x', 'y']);
    assert.deepEqual(index.dependentsOf('web'), []);
    assert.deepEqual(index.dependenciesOf('web'), ['api', 'db']);
    assert.deepEqual(index.dependentsOf('x'), ['y']);
    assert.deepEqual(index.dependenciesOf('x'), ['db', 'y']);
    assert.deepEqual(index.dependentsOf('not-registered'), []);
  });

  it("answers governance's blast radius from the stored registry", async () => {
    const store = memoryRegistry();
    await replaceRegistry('acme', { components: graph({ db: [], api: ['db'], web: ['api'] }) }, 'alice', {
      store,
      now: new Date('2026-12-01T10:00:00Z'),
    });
    const ports = componentGraph(store);
    assert.deepEqual(await ports.dependents('acme', 'db'), ['api', 'web']);
    assert.deepEqual(await ports.dependents('acme', 'endpoint/unknown'), []);
  });

  it('replaces the registry whole, reports removed ids and refuses a stale ifGeneration (409)', async () => {
    const store = memoryRegistry();
    const now = new Date('2026-12-01T10:00:00Z');
    const first = await replaceRegistry('acme', { components: graph({ db: [], api: ['db'] }) }, 'alice', { store, now });
    assert.deepEqual(first, { generation: 1, count: 2, removed: [], cycles: [] });
    const second = await replaceRegistry('acme', { components: graph({ db: [] }), ifGeneration: 1 }, 'alice', { store, now });
    assert.deepEqual(second, { generation: 2, count: 1, removed: ['api'], cycles: [] });
    await assert.rejects(
      replaceRegistry('acme', { components: graph({ db: [] }), ifGeneration: 1 }, 'alice', { store, now }),
      ConflictError,
    );
    assert.equal(store.current.generation, 2);
  });

  it('applies defaults and refuses a binding for an unknown playbook or with too many parameters', () => {
    const parsed = putComponentsSchema.parse({ components: [{ id: 'endpoint/chat', kind: 'endpoint' }] });
    assert.deepEqual(parsed.components[0], {
      id: 'endpoint/chat',
      kind: 'endpoint',
      environment: 'prod',
      dependsOn: [],
      series: [],
      bindings: {},
    });
    const binding = { kind: 'lambda-concurrency', resource: 'arn:aws:lambda:eu-west-1:123456789012:function:api' };
    const many = putComponentsSchema.safeParse({
      components: [
        {
          id: 'api',
          kind: 'lambda',
          bindings: { throttle: { ...binding, parameters: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`p${i}`, i])) } },
        },
      ],
    });
    assert.ok(!many.success && many.error.issues.some((issue) => issue.path.join('.') === 'components.0.bindings.throttle.parameters'));
    const unknownPlaybook = putComponentsSchema.safeParse({ components: [{ id: 'api', kind: 'lambda', bindings: { reboot: binding } }] });
    assert.equal(unknownPlaybook.success, false);
    // Each kind's resource is checked as the Execution engine checks it.
    const badArn = putComponentsSchema.safeParse({
      components: [{ id: 'api', kind: 'lambda', bindings: { throttle: { kind: 'lambda-concurrency', resource: 'arn:aws:s3:::bucket' } } }],
    });
    assert.ok(
      !badArn.success &&
        badArn.error.issues.some(
          (issue) => issue.path.join('.') === 'components.0.bindings.throttle.resource' && /Lambda function ARN/.test(issue.message),
        ),
    );
    const badKind = putComponentsSchema.safeParse({
      components: [{ id: 'api', kind: 'lambda', bindings: { restart: { kind: 'ssh', resource: 'host' } } }],
    });
    assert.ok(!badKind.success && badKind.error.issues.some((issue) => issue.path.join('.') === 'components.0.bindings.restart.kind'));
    // A proposal's parameters are stored as DynamoDB numbers: no magnitude below 1e-100 but 0.
    const tiny = putComponentsSchema.safeParse({
      components: [{ id: 'api', kind: 'lambda', bindings: { throttle: { ...binding, parameters: { weight: 1e-229 } } } }],
    });
    assert.ok(
      !tiny.success && tiny.error.issues.some((issue) => issue.path.join('.') === 'components.0.bindings.throttle.parameters.weight'),
    );
    assert.equal(
      putComponentsSchema.safeParse({
        components: [{ id: 'api', kind: 'lambda', bindings: { throttle: { ...binding, parameters: { concurrency: 5 } } } }],
      }).success,
      true,
    );
  });
});
