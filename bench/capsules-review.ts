/**
 * `node scripts/run.mjs bench/capsules-review.ts`: what the capsule checks cost in process, on the
 * example bundle shape (test/helpers/capsules.ts: templates, three tools, a guardrail, an input
 * schema, one code tool) and on a bundle padded to the size limit:
 *
 * - `sign`: encoding the bundle (RFC 8785) and signing it with Ed25519;
 * - `verify`: the verifier the sandbox and installs use (signature over the exact bytes, canonical
 *   form, manifest schema);
 * - `review`: the whole automated review (verify, then Cedar validation of the guardrails against
 *   the stage's schema, ajv compilation of the input schemas, tool and model catalogs, rights).
 *
 * Median and 95th percentile of {@link RUNS} runs each (wall clock, after {@link WARMUP} warm-up
 * runs), printed as a table. Nothing touches the network.
 */
import { performance } from 'node:perf_hooks';
import { allRoutes } from '../lib/api/routes.ts';
import { encodeBundle, signBundle, verifyBundle } from '../lib/capsules/bundle.ts';
import { reviewBundle, toolCatalog } from '../lib/capsules/review.ts';
import { BUNDLE_FORMAT, MAX_BUNDLE_BYTES } from '../lib/capsules/schemas.ts';
import { engines } from '../lib/engines/index.ts';
import { actuationIds } from '../lib/governance/actuations.ts';
import { cedarSchema, routeActionId } from '../lib/governance/cedar-schema.ts';
import { routeTools } from '../lib/mcp/tools.ts';
import { authorKeyPair, SUMMARY_MODULE, sampleManifest } from '../test/helpers/capsules.ts';

const RUNS = 200;
const WARMUP = 20;

const key = authorKeyPair();
const schema = cedarSchema({ actuations: actuationIds(), routes: allRoutes.map((route) => routeActionId(route.method, route.path)) });
const tools = toolCatalog(routeTools(engines));

async function measure(run: () => unknown): Promise<{ median: number; p95: number }> {
  for (let index = 0; index < WARMUP; index += 1) await run();
  const times: number[] = [];
  for (let index = 0; index < RUNS; index += 1) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(RUNS / 2)] ?? 0, p95: times[Math.floor(RUNS * 0.95)] ?? 0 };
}

const padding = 'x'.repeat(MAX_BUNDLE_BYTES - 4096);
const shapes: Array<{ label: string; files: Record<string, string> }> = [
  { label: 'example bundle', files: { 'tools/summary.js': SUMMARY_MODULE } },
  {
    label: 'padded to the limit',
    files: {
      'tools/summary.js': SUMMARY_MODULE,
      'data/a.txt': padding.slice(0, 100_000),
      'data/b.txt': padding.slice(100_000, 200_000),
      'data/c.txt': padding.slice(200_000),
    },
  },
];

console.log('| bundle | bytes | sign (median / p95 ms) | verify | review |');
console.log('|---|---|---|---|---|');
for (const shape of shapes) {
  const content = { format: BUNDLE_FORMAT, manifest: sampleManifest(), files: shape.files } as const;
  const bytes = encodeBundle(content);
  const signature = signBundle(bytes, key.privateKey);
  const signing = await measure(() => signBundle(encodeBundle(content), key.privateKey));
  const verifying = await measure(() => verifyBundle(bytes, signature, { author: 'alice', keyId: key.keyId, publicKey: key.publicKey }));
  const reviewing = await measure(async () => {
    const verdict = await reviewBundle(bytes, signature, {
      tenant: 'acme',
      author: 'alice',
      roles: ['operator'],
      keys: [{ author: 'alice', keyId: key.keyId, publicKey: key.publicKey, status: 'active' }],
      tools,
      models: ['standin-a'],
      cedarSchema: schema,
      lookup: async () => undefined,
    });
    if (verdict.outcome !== 'passed') throw new Error(`the bench bundle was refused: ${verdict.reason}`);
  });
  const cell = ({ median, p95 }: { median: number; p95: number }) => `${median.toFixed(2)} / ${p95.toFixed(2)}`;
  console.log(`| ${shape.label} | ${bytes.length} | ${cell(signing)} | ${cell(verifying)} | ${cell(reviewing)} |`);
}
