/**
 * The Encapsulation engine's pure parts (lib/encapsulation/): Tarjan on hand graphs and a 100 000-node
 * chain, edges derived from correlated ledger entries, Louvain against a planted partition, schema
 * inference (every sample validates with ajv, property-based), the OpenAPI document and the
 * reusability score's parts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { analyseGraph } from '../../lib/encapsulation/analysis.ts';
import { louvain, modularity } from '../../lib/encapsulation/communities.ts';
import { buildGraph, findCycles, stronglyConnected } from '../../lib/encapsulation/graph.ts';
import { plantedPartition } from '../../lib/encapsulation/planted.ts';
import { REUSABILITY_WEIGHTS, reusability } from '../../lib/encapsulation/reusability.ts';
import { inferSchema, openApiDocument } from '../../lib/encapsulation/schema-infer.ts';
import { edgesFromEntries, type TraceEntry } from '../../lib/encapsulation/traces.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });
addFormats(ajv);

const graphOf = (pairs: [string, string][], extra: string[] = []) =>
  buildGraph(
    [...new Set([...pairs.flat(), ...extra])].map((id) => ({
      id,
      kind: 'service',
      dependsOn: pairs.filter(([a]) => a === id).map(([, b]) => b),
    })),
    [],
  );

describe('strongly connected components (Tarjan, iterative)', () => {
  it('finds a two-node cycle, a self-loop and leaves acyclic nodes out', () => {
    const graph = graphOf([
      ['a', 'b'],
      ['b', 'a'],
      ['b', 'c'],
      ['d', 'd'],
      ['c', 'e'],
    ]);
    assert.deepEqual(findCycles(graph), [['a', 'b'], ['d']]);
  });

  it('finds nested cycles as one component and two disjoint cycles apart', () => {
    const graph = graphOf([
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'a'],
      ['c', 'b'],
      ['x', 'y'],
      ['y', 'x'],
      ['c', 'x'],
    ]);
    assert.deepEqual(findCycles(graph), [
      ['a', 'b', 'c'],
      ['x', 'y'],
    ]);
  });

  it('reports no cycle in a DAG and every node as its own component', () => {
    const components = stronglyConnected([[1, 2], [2], []]);
    assert.equal(components.length, 3);
    assert.deepEqual(components, [[2], [1], [0]]);
  });

  it('walks a 100 000-node chain without overflowing the stack, and finds it one cycle when closed', () => {
    const n = 100_000;
    const chain = Array.from({ length: n }, (_, i) => (i + 1 < n ? [i + 1] : []));
    assert.equal(stronglyConnected(chain).length, n);
    chain[n - 1] = [0];
    const components = stronglyConnected(chain);
    assert.equal(components.length, 1);
    assert.equal(components[0]?.length, n);
  });
});

describe('edges from correlated ledger entries', () => {
  const entry = (
    seq: number,
    correlationId: string | null,
    payload: Record<string, unknown>,
    timestamp = `2025-01-01T00:00:0${seq}Z`,
  ): TraceEntry => ({
    stream: 'traces',
    seq,
    timestamp,
    correlationId,
    payload,
  });

  it('chains a trace in ledger order, counts edges over traces, and takes explicit callers first', () => {
    const observed = edgesFromEntries([
      entry(2, 'r1', { component: 'db' }),
      entry(0, 'r1', { component: 'web' }),
      entry(1, 'r1', { component: 'api', operation: 'create', request: { id: 1 } }),
      entry(3, 'r2', { component: 'web' }),
      entry(4, 'r2', { component: 'api', operation: 'create', request: { id: 2, note: 'x' } }),
      entry(5, 'r2', { component: 'cache', caller: 'web' }),
      entry(6, 'r2', { component: 'cache' }),
      entry(7, null, { component: 'ghost' }),
      entry(8, 'r3', { note: 'no component' }),
      entry(9, 'r3', { detail: { component: 'bus-consumer' } }),
    ]);
    assert.deepEqual(observed.edges, [
      { from: 'api', to: 'db', calls: 1 },
      { from: 'web', to: 'api', calls: 2 },
      { from: 'web', to: 'cache', calls: 1 },
    ]);
    assert.equal(observed.traces, 3);
    assert.equal(observed.entries, 8);
    assert.deepEqual(
      observed.samples.map((s) => [s.component, s.operation]),
      [
        ['api', 'create'],
        ['api', 'create'],
      ],
    );
  });

  it('orders entries of one timestamp by stream then seq', () => {
    const same = '2025-01-01T00:00:00Z';
    const observed = edgesFromEntries([
      { stream: 'b', seq: 0, timestamp: same, correlationId: 't', payload: { component: 'z' } },
      { stream: 'a', seq: 5, timestamp: same, correlationId: 't', payload: { component: 'y' } },
      { stream: 'a', seq: 4, timestamp: same, correlationId: 't', payload: { component: 'x' } },
    ]);
    assert.deepEqual(
      observed.edges.map((e) => `${e.from}>${e.to}`),
      ['x>y', 'y>z'],
    );
  });
});

describe('module boundaries (Louvain)', () => {
  it('splits two triangles joined by one edge into the two triangles (modularity 5/14)', () => {
    const edges = [
      [0, 1],
      [1, 2],
      [2, 0],
      [3, 4],
      [4, 5],
      [5, 3],
      [2, 3],
    ].map(([a, b]) => ({ a: a as number, b: b as number, weight: 1 }));
    const found = louvain(6, edges, { seed: 7 });
    assert.deepEqual(found.community, [0, 0, 0, 1, 1, 1]);
    assert.ok(Math.abs(found.modularity - 5 / 14) < 1e-9);
  });

  it('finds a partition at least as modular as the planted one, and the same for the same seed', () => {
    for (const seed of [1, 2, 3]) {
      const graph = plantedPartition({ groups: 8, size: 40, inside: 6, outside: 1, seed });
      const found = louvain(graph.n, graph.edges, { seed });
      const planted = modularity(graph.n, graph.edges, graph.planted);
      assert.ok(found.modularity >= planted - 1e-9, `seed ${seed}: found ${found.modularity} < planted ${planted}`);
      assert.deepEqual(louvain(graph.n, graph.edges, { seed }).community, found.community);
    }
  });

  it('gives modularity 0 to a graph without edges, each node alone', () => {
    const found = louvain(3, []);
    assert.deepEqual(found.community, [0, 1, 2]);
    assert.equal(found.modularity, 0);
  });
});

describe('schema inference', () => {
  it('merges types, requires what every sample has, detects formats and small enums, merges array items', () => {
    const schema = inferSchema([
      {
        id: 1,
        at: '2025-01-02T03:04:05Z',
        who: 'a@example.com',
        ref: '3f2b8c1e-8a4b-4c7d-9e1f-2a3b4c5d6e7f',
        link: 'https://x.example/a',
        state: 'open',
        tags: ['a', 1],
      },
      { id: 2.5, at: '2025-01-03T00:00:00Z', who: 'b@example.com', state: 'closed', tags: [] },
      { id: 3, at: '2025-01-04T00:00:00+02:00', who: 'c@example.com', state: 'open', tags: [{ k: 1 }], extra: null },
      { id: 4, at: '2025-01-05T00:00:00Z', who: 'd@example.com', state: 'closed', tags: ['b'] },
    ]);
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    const properties = schema.properties as Record<string, Record<string, unknown>>;
    assert.deepEqual(schema.required, ['at', 'id', 'state', 'tags', 'who']);
    assert.deepEqual(properties.id, { type: 'number' });
    assert.deepEqual(properties.at, { type: 'string', format: 'date-time' });
    assert.deepEqual(properties.who, { type: 'string', format: 'email' });
    assert.deepEqual(properties.ref, { type: 'string', format: 'uuid' });
    assert.deepEqual(properties.link, { type: 'string', format: 'uri' });
    assert.deepEqual(properties.state, { type: 'string', enum: ['closed', 'open'] });
    assert.deepEqual(properties.extra, { type: 'null' });
    assert.deepEqual((properties.tags as { items: unknown }).items, {
      type: ['integer', 'string', 'object'],
      properties: { k: { type: 'integer' } },
      required: ['k'],
    });
  });

  it('leaves out enum when strings are many or seen once each', () => {
    assert.deepEqual(inferSchema(['a', 'b', 'c']), { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'string' });
  });

  it('infers a schema every sample validates against (property-based, ajv 2020-12 with formats)', () => {
    const value = fc.letrec((tie) => ({
      json: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom(null, true, false),
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.string(),
        fc.constantFrom('2025-01-01T00:00:00Z', 'x@example.org', 'https://example.org/a', '3f2b8c1e-8a4b-4c7d-9e1f-2a3b4c5d6e7f', 'open'),
        fc.array(tie('json'), { maxLength: 4 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'c', 'id', 'at'), tie('json'), { maxKeys: 4 }),
      ),
    })).json;
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 8 }), (samples) => {
        const validate = ajv.compile(inferSchema(samples));
        for (const sample of samples) assert.ok(validate(sample), JSON.stringify({ sample, errors: validate.errors }));
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('wraps entry points into an OpenAPI 3.1 document with referenced schemas', () => {
    const doc = openApiDocument('orders', '1.2.0', [
      { component: 'api/orders', operation: 'create', requests: [{ id: 1 }], responses: [{ ok: true }] },
    ]);
    assert.equal(doc.openapi, '3.1.0');
    const post = (doc.paths as Record<string, { post: Record<string, unknown> }>)['/api/orders/create']?.post ?? {};
    assert.deepEqual((post.requestBody as { content: Record<string, { schema: unknown }> }).content['application/json']?.schema, {
      $ref: '#/components/schemas/api_orders.create.request',
    });
    assert.deepEqual((doc.components as { schemas: Record<string, unknown> }).schemas['api_orders.create.response'], {
      type: 'object',
      properties: { ok: { type: 'boolean' } },
      required: ['ok'],
    });
  });
});

describe('reusability score', () => {
  it('shows each part by its formula and sums them with the documented weights', () => {
    const r = reusability({ fanIn: 3, fanOut: 1, internalWeight: 6, externalWeight: 2, operations: 2, properties: 6 });
    assert.deepEqual(r.parts, { reach: 0.75, cohesion: 0.75, decoupling: 0.5, stability: 0.75, compactness: 0.5 });
    const sum = Object.entries(REUSABILITY_WEIGHTS).reduce((s, [k, w]) => s + w * r.parts[k as keyof typeof r.parts], 0);
    assert.ok(Math.abs(r.score - sum) < 1e-4);
  });

  it('scores a widely used, self-contained module above a leaf that only calls out', () => {
    const graph = buildGraph(
      [
        { id: 'lib', kind: 'service', dependsOn: ['lib-store'] },
        { id: 'lib-store', kind: 'table', dependsOn: [] },
        ...['c1', 'c2', 'c3'].flatMap((id) => [
          { id, kind: 'service', dependsOn: ['lib', `${id}-db`] },
          { id: `${id}-db`, kind: 'table', dependsOn: [] },
        ]),
      ],
      [{ from: 'lib', to: 'lib-store', calls: 20 }, ...['c1', 'c2', 'c3'].map((id) => ({ from: id, to: `${id}-db`, calls: 20 }))],
    );
    const analysis = analyseGraph(graph, [{ component: 'lib', operation: 'get', request: { key: 'k' } }], { seed: 1 });
    const lib = analysis.modules.find((m) => m.members.includes('lib'));
    const leaf = analysis.modules.find((m) => m.members.includes('c1') && !m.members.includes('lib'));
    assert.ok(lib && leaf);
    assert.deepEqual(lib.entryPoints, [{ component: 'lib', operation: 'get', samples: 1 }]);
    assert.ok(lib.reusability.score > leaf.reusability.score);
  });
});
