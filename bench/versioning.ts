/**
 * The Versioning engine in process:
 *  1. Schema-diff throughput on the 85 getsentry/json-schema-diff pairs (test/fixtures/conformance/
 *     json-schema-diff), each pair diffed both ways, against a named peer measured in the same run:
 *     ajv (draft-07, the pairs' dialect) compiling both schemas of each pair (what validating with them costs before the first instance).
 *  2. Time per tag against the issue's limit (< 5 s): `tagVersion()` on in-memory ports (the store's
 *     contracts as the DynamoDB adapter keeps them, governance's real `propose()` with an allowing
 *     policy port), for a tool schema of 40 properties tagged 200 times, alternating additive
 *     changes and breaking ones (which are proposed to governance), each with a 20-example golden set.
 * What is not in process (DynamoDB, S3, the ledger append) is not timed here; the integration test
 * (test/integration/versioning.test.ts) asserts a tag's `tagMs` under 5 s on the local cloud.
 * Run alone: `node bench/versioning.ts [--rounds 20] [--tags 200]`.
 */
import './quiet-powertools.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Ajv } from 'ajv';
import type { PolicyDecision } from '../lib/governance/model.ts';
import { tagVersion } from '../lib/versioning/engine.ts';
import { diffSchemas } from '../lib/versioning/schema-diff.ts';
import { conformancePath } from '../test/helpers/conformance.ts';
import { fixedPolicy, memoryGovernanceStore, memoryOutbox, recordingGate, staticGraph } from '../test/helpers/governance-memory.ts';
import { memoryVersioningStore } from '../test/helpers/versioning-memory.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' }, tags: { type: 'string', default: '200' } } });
const rounds = Number(values.rounds);
const tags = Number(values.tags);
const LIMIT_MS = 5000;

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

function loadPairs(): Array<{ lhs: unknown; rhs: unknown }> {
  const root = conformancePath('json-schema-diff', 'sentry', 'fixtures');
  return readdirSync(root).flatMap((group) =>
    readdirSync(join(root, group)).map(
      (file) => JSON.parse(readFileSync(join(root, group, file), 'utf8')) as { lhs: unknown; rhs: unknown },
    ),
  );
}

function benchDiff(): void {
  const pairs = loadPairs();
  // Warm both paths before timing.
  for (const { lhs, rhs } of pairs) diffSchemas(lhs, rhs);
  let started = performance.now();
  let diffs = 0;
  for (let r = 0; r < rounds; r++) {
    for (const { lhs, rhs } of pairs) {
      diffSchemas(lhs, rhs);
      diffSchemas(rhs, lhs);
      diffs += 2;
    }
  }
  const diffMs = performance.now() - started;
  started = performance.now();
  let compiles = 0;
  for (let r = 0; r < rounds; r++) {
    // A fresh instance per round: ajv caches compiled schemas by identity.
    const ajv = new Ajv({ strict: false, allErrors: true, addUsedSchema: false, logger: false });
    for (const { lhs, rhs } of pairs) {
      ajv.compile(structuredClone(lhs) as object);
      ajv.compile(structuredClone(rhs) as object);
      compiles += 1;
    }
  }
  const compileMs = performance.now() - started;
  const perDiffUs = (diffMs / diffs) * 1000;
  const perPairCompileUs = (compileMs / compiles) * 1000;
  console.log(
    `schema diff: ${pairs.length} conformance pairs × 2 directions × ${rounds} rounds = ${diffs} diffs in ${diffMs.toFixed(0)} ms`,
  );
  console.log(`  ${(diffs / (diffMs / 1000)).toFixed(0)} diffs/s, ${perDiffUs.toFixed(1)} µs per diff`);
  console.log(
    `  peer, ajv (draft-07, the pairs' dialect) compiling both schemas of a pair: ${perPairCompileUs.toFixed(1)} µs per pair → a diff costs ${(perDiffUs / perPairCompileUs).toFixed(3)}× a pair's compile`,
  );
}

function toolSchema(round: number): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (let i = 0; i < 40; i++)
    properties[`field_${i}`] =
      i % 3 === 0 ? { type: 'string', maxLength: 100 + round } : i % 3 === 1 ? { type: 'integer', minimum: 0 } : { enum: ['a', 'b', 'c'] };
  // Even rounds widen (additive), odd rounds add a required property (breaking).
  const required = ['field_0', ...Array.from({ length: Math.ceil(round / 2) }, (_, k) => `extra_${k}`)];
  for (let k = 0; k < Math.ceil(round / 2); k++) properties[`extra_${k}`] = { type: 'string' };
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties, required };
}

async function benchTags(): Promise<void> {
  const ALLOW: PolicyDecision = { decision: 'allow', policies: ['bench'], errors: [], version: 0, breakGlass: false };
  const outbox = memoryOutbox();
  const governance = memoryGovernanceStore(outbox);
  const store = memoryVersioningStore(outbox);
  const deps = {
    store,
    outbox,
    governance: { store: governance, policy: fixedPolicy(ALLOW), components: staticGraph(), gate: recordingGate(), outbox },
    now: () => new Date(),
  };
  const golden = Array.from({ length: 20 }, (_, i) => ({ field_0: `city-${i}`, field_1: i }));
  const times: number[] = [];
  let breaking = 0;
  for (let round = 0; round < tags; round++) {
    const started = performance.now();
    const { record } = await tagVersion(
      'bench',
      { artifact: 'tools/bench.input', kind: 'schema', body: toolSchema(round), ...(round === 0 ? { golden } : {}) },
      'bench',
      deps,
    );
    times.push(performance.now() - started);
    if (record.breaking) breaking += 1;
  }
  times.sort((a, b) => a - b);
  const p50 = quantile(times, 0.5);
  const p95 = quantile(times, 0.95);
  const max = times.at(-1) ?? Number.NaN;
  console.log(
    `tags: ${tags} versions of a 40-property tool schema (${breaking} breaking, each proposed to governance), 20-example golden set carried`,
  );
  console.log(
    `  per tag p50 ${p50.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms, max ${max.toFixed(2)} ms; limit ${LIMIT_MS} ms → p95 is ${((p95 / LIMIT_MS) * 100).toFixed(3)}% of it`,
  );
}

benchDiff();
await benchTags();
