/**
 * The capsule bundle format, its Ed25519 signature and the automated review
 * (lib/capsules/bundle.ts, lib/capsules/review.ts) against the real route registry, the stage's
 * Cedar schema and real signatures: every refusal names its check, status and field, and a passed
 * review gives a bundle that verifies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { allRoutes } from '../../lib/api/routes.ts';
import { BundleRefusedError, decodeBundle, encodeBundle, signBundle, verifyBundle } from '../../lib/capsules/bundle.ts';
import { type NameRecord, type ReviewContext, type ReviewRefused, reviewBundle, toolCatalog } from '../../lib/capsules/review.ts';
import { BUNDLE_FORMAT, MAX_BUNDLE_BYTES } from '../../lib/capsules/schemas.ts';
import { engines } from '../../lib/engines/index.ts';
import { actuationIds } from '../../lib/governance/actuations.ts';
import { cedarSchema, routeActionId } from '../../lib/governance/cedar-schema.ts';
import { routeTools } from '../../lib/mcp/tools.ts';
import { authorKeyPair, SUMMARY_MODULE, sampleManifest, signedBundle } from '../helpers/capsules.ts';

const schema = cedarSchema({ actuations: actuationIds(), routes: allRoutes.map((route) => routeActionId(route.method, route.path)) });
const tools = toolCatalog(routeTools(engines));
const alice = authorKeyPair();

function context(overrides: Partial<ReviewContext> = {}, names: Record<string, NameRecord> = {}): ReviewContext {
  return {
    tenant: 'acme',
    author: 'alice',
    roles: ['operator'],
    keys: [{ author: 'alice', keyId: alice.keyId, publicKey: alice.publicKey, status: 'active' }],
    tools,
    models: ['standin-a', 'standin-b'],
    cedarSchema: schema,
    lookup: async (name) => names[name],
    ...overrides,
  };
}

async function refused(verdict: Promise<Awaited<ReturnType<typeof reviewBundle>>>): Promise<ReviewRefused> {
  const outcome = await verdict;
  assert.equal(outcome.outcome, 'refused', 'the bundle is refused');
  return outcome as ReviewRefused;
}

describe('capsule bundles', () => {
  it('encode to one canonical byte form whatever the key order, and decode back', () => {
    const a = encodeBundle({ format: BUNDLE_FORMAT, manifest: { b: 1, a: 2 }, files: { 'z.js': 'z', 'a.js': 'a' } });
    const b = encodeBundle({ files: { 'a.js': 'a', 'z.js': 'z' }, manifest: { a: 2, b: 1 }, format: BUNDLE_FORMAT } as never);
    assert.deepEqual(a, b);
    assert.deepEqual(decodeBundle(a).files, { 'a.js': 'a', 'z.js': 'z' });
  });

  it('refuse bytes that are not canonical, with the field and how to fix it', () => {
    const text = JSON.stringify({ format: BUNDLE_FORMAT, manifest: {}, files: {} }, null, 2);
    assert.throws(
      () => decodeBundle(new TextEncoder().encode(text)),
      (error: unknown) => error instanceof BundleRefusedError && error.check === 'bundle' && /canonical form/.test(error.message),
    );
  });

  it('refuse a file path that climbs out of the bundle', () => {
    const bytes = encodeBundle({ format: BUNDLE_FORMAT, manifest: {}, files: { 'tools/../../etc/passwd': 'x' } });
    assert.throws(
      () => decodeBundle(bytes),
      (error: unknown) =>
        error instanceof BundleRefusedError &&
        error.issues.some((issue) => issue.path === 'body.parameters.bundle.files.tools/../../etc/passwd'),
    );
  });

  it('detect any single-byte change after signing', () => {
    const { bytes, signature } = signedBundle(alice);
    const key = { author: 'alice', keyId: alice.keyId, publicKey: alice.publicKey };
    assert.equal(verifyBundle(bytes, signature, key).sha256, signature.bundleSha256);
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (index, delta) => {
        const changed = Uint8Array.from(bytes);
        changed[index] = ((changed[index] ?? 0) + delta) % 256;
        assert.throws(
          () => verifyBundle(changed, signature, key),
          (error: unknown) => error instanceof BundleRefusedError && /content changed after signing/.test(error.message),
        );
      }),
      { numRuns: 200 },
    );
  });
});

describe('the automated review', () => {
  it('passes a signed, valid bundle within the author’s rights and gives a verified bundle', async () => {
    const { bytes, signature } = signedBundle(alice);
    const verdict = await reviewBundle(bytes, signature, context());
    assert.equal(verdict.outcome, 'passed', JSON.stringify(verdict));
    if (verdict.outcome !== 'passed') return;
    assert.deepEqual(
      verdict.checks.map((check) => `${check.check}:${check.outcome}`),
      ['size:passed', 'signature:passed', 'bundle:passed', 'manifest:passed', 'rights:passed', 'version:passed'],
    );
    assert.equal(verdict.bundle.manifest.name, 'incident-summary');
    assert.equal(verdict.bundle.content.files['tools/summary.js'], SUMMARY_MODULE);
    assert.equal(verdict.newName, true);
  });

  it('refuses a missing signature (400 naming body.parameters.signature)', async () => {
    const { bytes } = signedBundle(alice);
    const verdict = await refused(reviewBundle(bytes, undefined, context()));
    assert.deepEqual([verdict.check, verdict.status, verdict.issues[0]?.path], ['signature', 400, 'body.parameters.signature']);
    assert.match(verdict.reason, /missing signature/);
    assert.deepEqual(
      verdict.checks.map((check) => check.outcome),
      ['passed', 'failed', 'skipped', 'skipped', 'skipped', 'skipped'],
    );
  });

  it('refuses a wrong signature: another key’s, claimed under the author’s key id', async () => {
    const mallory = authorKeyPair();
    const { bytes } = signedBundle(alice);
    const forged = { ...signBundle(bytes, mallory.privateKey), keyId: alice.keyId };
    const verdict = await refused(reviewBundle(bytes, forged, context()));
    assert.deepEqual([verdict.check, verdict.status, verdict.issues[0]?.path], ['signature', 400, 'body.parameters.signature.signature']);
    assert.match(verdict.reason, /wrong signature: it does not verify/);
  });

  it('refuses content changed after signing, telling it from a wrong signature', async () => {
    const { signature } = signedBundle(alice);
    const { bytes: changed } = signedBundle(alice, sampleManifest({ budget: { tokens: 10_000_000, costUsd: 5000 } }));
    const verdict = await refused(reviewBundle(changed, signature, context()));
    assert.deepEqual([verdict.check, verdict.status, verdict.issues[0]?.path], ['signature', 400, 'body.parameters.bundle']);
    assert.match(verdict.reason, /content changed after signing/);
    assert.equal(verdict.name, null, 'nothing of the unsigned content is trusted');
  });

  it('refuses a key that is not an active key of the submitting author', async () => {
    const { bytes, signature } = signedBundle(alice);
    const revoked = context({ keys: [{ author: 'alice', keyId: alice.keyId, publicKey: alice.publicKey, status: 'revoked' }] });
    assert.match((await refused(reviewBundle(bytes, signature, revoked))).reason, /not an active registered key/);
    const otherAuthor = context({ author: 'bob' });
    assert.match((await refused(reviewBundle(bytes, signature, otherAuthor))).reason, /not an active registered key/);
  });

  it('refuses tools beyond the author’s rights (403 naming each tool and permission)', async () => {
    const manifest = sampleManifest({ tools: ['observation_status_get', 'governance_policies_update', 'identity_keys_create'] });
    const { bytes, signature } = signedBundle(alice, manifest);
    const verdict = await refused(reviewBundle(bytes, signature, context()));
    assert.deepEqual([verdict.check, verdict.status], ['rights', 403]);
    assert.deepEqual(
      verdict.issues.map((issue) => issue.path),
      ['body.parameters.bundle.manifest.tools.1', 'body.parameters.bundle.manifest.tools.2'],
    );
    assert.match(verdict.reason, /governance_policies_update needs governance:admin, beyond the author's roles \[operator\]/);
    const viewer = await refused(
      reviewBundle(...(Object.values(signedBundle(alice)) as [Uint8Array, never]), context({ roles: ['viewer'] })),
    );
    assert.match(viewer.reason, /gateway_chat_create needs gateway:write/);
    assert.ok(viewer.issues.some((issue) => issue.path === 'body.parameters.bundle.manifest.gateway'));
  });

  it('refuses a malformed manifest with a 400 naming the field', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [sampleManifest({ budget: { tokens: -1, costUsd: 0 } }), 'body.parameters.bundle.manifest.budget.tokens', />=1/],
      [sampleManifest({ version: '1.0' }), 'body.parameters.bundle.manifest.version', /semantic version/],
      [{ ...sampleManifest(), surprise: true }, 'body.parameters.bundle.manifest', /surprise/],
      [
        sampleManifest({ templates: [{ name: 'broken', messages: [{ role: 'user', content: 'Hello {{ Name }}' }] }] }),
        'body.parameters.bundle.manifest.templates.0.messages.0.content',
        /malformed placeholder/,
      ],
      [
        sampleManifest({ persona: { role: 'x', instructions: 'Hi {{' } }),
        'body.parameters.bundle.manifest.persona.instructions',
        /malformed placeholder/,
      ],
      [
        sampleManifest({ tools: ['observation_nowhere_get', 'observation_status_get'] }),
        'body.parameters.bundle.manifest.tools.0',
        /no engine tool is named/,
      ],
      [
        sampleManifest({ tools: ['capsules_installs_create', 'observation_status_get'] }),
        'body.parameters.bundle.manifest.tools.0',
        /capsules engine/,
      ],
      [
        sampleManifest({ gateway: { models: ['gpt-imaginary'] } }),
        'body.parameters.bundle.manifest.gateway.models.0',
        /no model gpt-imaginary/,
      ],
      [
        sampleManifest({ inputSchema: { type: 'object', porperties: {} } }),
        'body.parameters.bundle.manifest.inputSchema',
        /does not compile.*porperties/,
      ],
      [sampleManifest({ inputSchema: { type: 'string' } }), 'body.parameters.bundle.manifest.inputSchema', /root must be an object/],
      [
        sampleManifest({ inputSchema: { type: 'object', $ref: 'https://example.test/s.json' } }),
        'body.parameters.bundle.manifest.inputSchema',
        /outside the schema/,
      ],
      [
        sampleManifest({ guardrails: { policies: 'permit (principal, action, resource);' } }),
        'body.parameters.bundle.manifest.guardrails.policies',
        /is a permit: guardrails only narrow/,
      ],
      [
        sampleManifest({ guardrails: { policies: 'forbid (principal == Autonomy::Capsule::"someone-else", action, resource);' } }),
        'body.parameters.bundle.manifest.guardrails.policies',
        /must name the capsule itself/,
      ],
      [
        sampleManifest({
          guardrails: {
            policies: 'forbid (principal == Autonomy::Capsule::"incident-summary", action == Autonomy::Action::"PUT /nowhere", resource);',
          },
        }),
        'body.parameters.bundle.manifest.guardrails.policies',
        /PUT \/nowhere/,
      ],
      [
        sampleManifest({
          code: {
            module: 'tools/missing.js',
            capabilities: [],
            tools: [{ name: 'x', description: 'x', entry: 'x', inputSchema: { type: 'object' } }],
          },
        }),
        'body.parameters.bundle.manifest.code.module',
        /no file tools\/missing.js/,
      ],
      [
        sampleManifest({
          code: {
            module: 'tools/summary.js',
            capabilities: ['call:tool:audit_record_create'],
            tools: [{ name: 'x', description: 'x', entry: 'x', inputSchema: { type: 'object' } }],
          },
        }),
        'body.parameters.bundle.manifest.code.capabilities.0',
        /not among the tools the manifest requests/,
      ],
      [
        sampleManifest({
          code: {
            module: 'tools/summary.js',
            capabilities: ['network'],
            tools: [{ name: 'x', description: 'x', entry: 'x', inputSchema: { type: 'object' } }],
          },
        }),
        'body.parameters.bundle.manifest.code.capabilities.0',
        /capabilities are read:inputs, clock, random or call:tool/,
      ],
    ];
    for (const [manifest, path, message] of cases) {
      const { bytes, signature } = signedBundle(alice, manifest);
      const verdict = await refused(reviewBundle(bytes, signature, context()));
      assert.equal(verdict.status, 400, `${path}: ${verdict.reason}`);
      assert.equal(verdict.check, 'manifest', path);
      const issue = verdict.issues.find((candidate) => candidate.path === path);
      assert.ok(issue, `${path} not among ${JSON.stringify(verdict.issues)}`);
      assert.match(`${issue.path}: ${issue.message}`, message);
    }
  });

  it('refuses an oversize bundle (413) before reading anything else', async () => {
    const big = signedBundle(alice, sampleManifest(), {
      'tools/summary.js': SUMMARY_MODULE,
      'data/padding.txt': 'x'.repeat(100_000),
      'data/more.txt': 'y'.repeat(100_000),
      'data/last.txt': 'z'.repeat(70_000),
    });
    assert.ok(big.bytes.length > MAX_BUNDLE_BYTES);
    const verdict = await refused(reviewBundle(big.bytes, big.signature, context()));
    assert.deepEqual([verdict.check, verdict.status, verdict.issues[0]?.path], ['size', 413, 'body.parameters.bundle']);
    assert.match(verdict.reason, /oversize bundle: \d+ bytes; at most 262144/);
    assert.deepEqual(
      verdict.checks.slice(1).map((check) => check.outcome),
      ['skipped', 'skipped', 'skipped', 'skipped', 'skipped'],
    );
  });

  it('refuses a version that already exists (409), and a name another tenant owns (403)', async () => {
    const { bytes, signature } = signedBundle(alice);
    const taken = { 'incident-summary': { ownerTenant: 'acme', versions: new Map([['1.0.0', 'published' as const]]) } };
    const exists = await refused(reviewBundle(bytes, signature, context({}, taken)));
    assert.deepEqual([exists.check, exists.status, exists.issues[0]?.path], ['version', 409, 'body.parameters.bundle.manifest.version']);
    assert.match(exists.reason, /version already exists: incident-summary 1.0.0 is published/);
    const foreign = await refused(
      reviewBundle(bytes, signature, context({}, { 'incident-summary': { ownerTenant: 'globex', versions: new Map() } })),
    );
    assert.deepEqual([foreign.check, foreign.status], ['version', 403]);
    const again = await reviewBundle(
      bytes,
      signature,
      context({}, { 'incident-summary': { ownerTenant: 'acme', versions: new Map([['1.0.0', 'rejected' as const]]) } }),
    );
    assert.equal(again.outcome, 'passed', 'a rejected version may be submitted again');
  });
});
