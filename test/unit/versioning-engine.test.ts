/**
 * The Versioning engine (lib/versioning/engine.ts, artifact-diff.ts, golden.ts): semver derivation,
 * the compatibility matrix, the regression gate and promotability, the structural diff of templates,
 * configurations and capsules, and tagging on an in-memory store with governance's in-memory ports.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ConflictError, ValidationError } from '../../lib/errors.ts';
import type { PolicyDecision } from '../../lib/governance/model.ts';
import { artifactBump, diffArtifact } from '../../lib/versioning/artifact-diff.ts';
import {
  compatibilityOf,
  deriveVersion,
  listVersions,
  promotabilityOf,
  promotable,
  recordGate,
  tagVersion,
  versioningProposalId,
} from '../../lib/versioning/engine.ts';
import { checkGolden } from '../../lib/versioning/golden.ts';
import type { VersioningDeps } from '../../lib/versioning/ports.ts';
import { INLINE_BODY_BYTES } from '../../lib/versioning/schemas.ts';
import {
  fixedPolicy,
  type MemoryGovernanceStore,
  type MemoryOutbox,
  memoryGovernanceStore,
  memoryOutbox,
  recordingGate,
  staticGraph,
} from '../helpers/governance-memory.ts';
import { memoryVersioningStore } from '../helpers/versioning-memory.ts';

describe('deriveVersion', () => {
  it('bumps the latest by the changes, or starts at 1.0.0', () => {
    assert.equal(deriveVersion(undefined, 'initial'), '1.0.0');
    assert.equal(deriveVersion(undefined, 'initial', '0.3.0'), '0.3.0');
    assert.equal(deriveVersion('1.4.2', 'major'), '2.0.0');
    assert.equal(deriveVersion('1.4.2', 'minor'), '1.5.0');
    assert.equal(deriveVersion('1.4.2', 'patch'), '1.4.3');
    assert.equal(deriveVersion('2.0.0-rc.1', 'patch'), '2.0.0');
  });
  it('takes a requested version at or above the derived one, a prerelease of it included', () => {
    assert.equal(deriveVersion('1.4.2', 'minor', '1.6.0'), '1.6.0');
    assert.equal(deriveVersion('1.4.2', 'major', '2.0.0-rc.1'), '2.0.0-rc.1');
    assert.equal(deriveVersion('1.4.2', 'patch', '3.0.0'), '3.0.0');
  });
  it('refuses a requested version smaller than the changes call for, or not above the latest, naming version', () => {
    for (const [latest, bump, requested] of [
      ['1.4.2', 'major', '1.9.0'],
      ['1.4.2', 'minor', '1.4.3'],
      ['1.4.2', 'patch', '1.4.2'],
      ['1.4.2', 'patch', '1.0.0'],
    ] as const) {
      assert.throws(
        () => deriveVersion(latest, bump, requested),
        (error: unknown) => error instanceof ValidationError && error.issues[0]?.path === 'version',
        `${latest} ${bump} ${requested}`,
      );
    }
  });
});

describe('compatibilityOf', () => {
  it('lets a consumer accept producers up to the next breaking version, in both directions', () => {
    const versions = [
      { version: '1.0.0', breaking: false },
      { version: '1.1.0', breaking: false },
      { version: '2.0.0', breaking: true },
      { version: '2.0.1', breaking: false },
      { version: '3.0.0', breaking: true },
    ];
    const matrix = compatibilityOf('a', versions);
    assert.deepEqual(
      matrix.consumers.map((c) => c.accepts),
      [['1.0.0', '1.1.0'], ['1.0.0', '1.1.0'], ['2.0.0', '2.0.1'], ['2.0.0', '2.0.1'], ['3.0.0']],
    );
    assert.equal(matrix.matrix[0]?.[2], false);
    assert.equal(matrix.matrix[3]?.[2], true);
    for (let i = 0; i < versions.length; i++) assert.equal(matrix.matrix[i]?.[i], true);
  });
});

describe('promotabilityOf', () => {
  const passed = { golden: { passed: true, total: 2, failures: [], source: 'request' as const } };
  it('says yes for a non-breaking version whose gate passed', () => {
    assert.deepEqual(promotabilityOf({ gate: passed, breaking: false }), { promotable: true, reasons: [] });
  });
  it('says no with reasons when no gate result exists, the golden set or the suite failed', () => {
    assert.match(promotabilityOf({ gate: {}, breaking: false }).reasons[0] ?? '', /no regression result/);
    const failed = {
      golden: { passed: false, total: 3, failures: [{ index: 1, errors: ['/ must be string'] }], source: 'previous' as const },
    };
    assert.match(promotabilityOf({ gate: failed, breaking: false }).reasons[0] ?? '', /golden set failed: 1 of 3/);
    const suite = { suite: 'contract', passed: false, total: 10, failed: 2, recordedAt: '2026-12-01T00:00:00.000Z', recordedBy: 'ci' };
    assert.match(promotabilityOf({ gate: { ...passed, suite }, breaking: false }).reasons[0] ?? '', /contract failed: 2 of 10/);
  });
  it('says no for a breaking version until its approval is approved', () => {
    assert.match(promotabilityOf({ gate: passed, breaking: true }).reasons[0] ?? '', /no governance approval/);
    assert.match(
      promotabilityOf({ gate: passed, breaking: true, approval: { proposalId: 'p', status: 'pending' } }).reasons[0] ?? '',
      /waits for approval/,
    );
    assert.match(
      promotabilityOf({ gate: passed, breaking: true, approval: { proposalId: 'p', status: 'rejected' } }).reasons[0] ?? '',
      /not approved: proposal p rejected/,
    );
    assert.equal(promotabilityOf({ gate: passed, breaking: true, approval: { proposalId: 'p', status: 'approved' } }).promotable, true);
  });
});

describe('diffArtifact for templates, configurations and capsules', () => {
  const template = (content: string, defaults: Record<string, string> = {}) => ({
    name: 'support',
    messages: [{ role: 'system', content }],
    defaults,
  });
  it('calls a new required template variable and a removed one breaking, an optional one additive, text a patch', () => {
    assert.deepEqual(diffArtifact('prompt-template', template('Hi {{name}}'), template('Hi {{name}} in {{lang}}')).changes, [
      { path: '/variables/lang', kind: 'variable-added', breaking: true },
      { path: '/messages/0/content', kind: 'text-changed', breaking: false },
    ]);
    assert.equal(
      diffArtifact('prompt-template', template('Hi {{name}}'), template('Hi {{name}} in {{lang}}', { lang: 'en' })).bump,
      'minor',
    );
    assert.equal(diffArtifact('prompt-template', template('Hi {{name}} {{x}}'), template('Hi {{name}}')).bump, 'major');
    assert.equal(diffArtifact('prompt-template', template('Hi {{name}}'), template('Hello {{name}}')).bump, 'patch');
  });
  it('compares configurations key by key: removed or retyped breaks, added is additive, a changed value a patch', () => {
    const diff = diffArtifact(
      'configuration',
      { ttl: 60, cache: { on: true }, tags: ['a'] },
      { ttl: '60s', cache: { on: true, size: 10 }, tags: ['a', 'b'] },
    );
    assert.deepEqual(diff.changes, [
      { path: '/ttl', kind: 'value-type-changed', breaking: true },
      { path: '/cache/size', kind: 'key-added', breaking: false },
      { path: '/tags', kind: 'value-changed', breaking: false },
    ]);
    assert.equal(diffArtifact('configuration', { a: 1 }, { a: 2 }).bump, 'patch');
    assert.equal(diffArtifact('configuration', { a: 1, b: 1 }, { a: 1 }).bump, 'major');
  });
  it("diffs a capsule's input schema with the schema diff", () => {
    const capsule = (maxLength: number) => ({
      name: 'c',
      inputSchema: { type: 'object', properties: { q: { type: 'string', maxLength } } },
    });
    assert.deepEqual(diffArtifact('capsule', capsule(10), capsule(5)).changes, [
      { path: '/inputSchema/properties/q/maxLength', kind: 'bound-tightened', breaking: true },
    ]);
  });
  it('orders patch below minor below major', () => {
    assert.equal(artifactBump([{ kind: 'annotation-changed', breaking: false }]).bump, 'patch');
    assert.equal(artifactBump([{ kind: 'key-added', breaking: false }]).bump, 'minor');
  });
});

describe('checkGolden', () => {
  it('checks examples with the dialect the schema names', () => {
    const d7 = { $schema: 'http://json-schema.org/draft-07/schema#', items: [{ type: 'string' }], additionalItems: false };
    assert.equal(checkGolden(d7, [['a']], 'request').passed, true);
    assert.equal(checkGolden(d7, [['a', 'b']], 'request').passed, false);
    const g = checkGolden(
      { type: 'object', properties: { at: { type: 'string', format: 'date-time' } } },
      [{ at: '2026-12-01T00:00:00Z' }, { at: 'soon' }],
      'request',
    );
    assert.deepEqual({ passed: g.passed, total: g.total, index: g.failures[0]?.index }, { passed: false, total: 2, index: 1 });
  });
});

describe('tagVersion, recordGate and promotable', () => {
  const ALLOW: PolicyDecision = { decision: 'allow', policies: ['base-operator'], errors: [], version: 0, breakGlass: false };
  const NOW = new Date('2026-12-01T12:00:00.000Z');
  let outbox: MemoryOutbox;
  let governance: MemoryGovernanceStore;
  let store: ReturnType<typeof memoryVersioningStore>;
  let deps: VersioningDeps;
  const v1 = { type: 'object', properties: { city: { type: 'string', maxLength: 80 } }, required: ['city'] };
  const v2 = { type: 'object', properties: { city: { type: 'string', maxLength: 120 } }, required: ['city'] };
  const v3 = {
    type: 'object',
    properties: { city: { type: 'string', maxLength: 120 }, days: { type: 'integer' } },
    required: ['city', 'days'],
  };
  beforeEach(() => {
    outbox = memoryOutbox();
    governance = memoryGovernanceStore(outbox);
    store = memoryVersioningStore(outbox);
    deps = {
      store,
      outbox,
      governance: { store: governance, policy: fixedPolicy(ALLOW), components: staticGraph(), gate: recordingGate(), outbox },
      now: () => NOW,
    };
  });
  const tag = (body: object, extra: { golden?: unknown[]; version?: string } = {}) =>
    tagVersion('acme', { artifact: 'tools/weather.input', kind: 'schema', body, ...extra }, 'alice', deps);

  it('tags 1.0.0, then a minor and a breaking major that waits for people, each in the ledger with its hash', async () => {
    const first = await tag(v1, { golden: [{ city: 'Oslo' }] });
    assert.equal(first.record.version, '1.0.0');
    assert.equal(first.record.bump, 'initial');
    const second = await tag(v2);
    assert.deepEqual([second.record.version, second.record.bump, second.record.breaking], ['1.1.0', 'minor', false]);
    assert.equal(second.record.gate.golden?.source, 'previous');
    assert.equal((await promotable('acme', 'tools/weather.input', '1.1.0', deps)).promotable, true);
    const third = await tag(v3);
    assert.deepEqual([third.record.version, third.record.bump, third.record.breaking], ['2.0.0', 'major', true]);
    // The carried golden example lacks the new required `days`: the gate fails too.
    assert.equal(third.record.gate.golden?.passed, false);
    assert.equal(third.proposal?.route, 'human-approval');
    assert.equal(third.record.approval?.status, 'pending');
    assert.equal(third.record.approval?.proposalId, versioningProposalId('acme', 'tools/weather.input', '2.0.0'));
    const tagged = outbox.published.filter((e) => e.detailType === 'versioning.version.tagged');
    assert.deepEqual(
      tagged.map((e) => (e.detail as { hash: string }).hash),
      [first.record.hash, second.record.hash, third.record.hash],
    );
    assert.equal(outbox.recorded.filter((e) => e.event.detailType === 'versioning.version.tagged').length, 3);
    const listed = await listVersions('acme', 'tools/weather.input', deps);
    assert.deepEqual(
      listed.versions.map((v) => v.version),
      ['1.0.0', '1.1.0', '2.0.0'],
    );
  });

  it('blocks a breaking version until its proposal is approved, then records the approval on the version', async () => {
    await tag(v1, { golden: [{ city: 'Oslo', days: 3 }] });
    await tag(v3);
    const blocked = await promotable('acme', 'tools/weather.input', '2.0.0', deps);
    assert.equal(blocked.promotable, false);
    assert.match(blocked.reasons.join(' '), /waits for approval/);
    const id = versioningProposalId('acme', 'tools/weather.input', '2.0.0');
    const proposal = governance.items.get(`acme/${id}`);
    assert.ok(proposal);
    governance.items.set(`acme/${id}`, {
      ...proposal,
      status: 'approved',
      updatedAt: '2026-12-01T13:00:00.000Z',
      version: proposal.version + 1,
    });
    const approved = await promotable('acme', 'tools/weather.input', '2.0.0', deps);
    assert.deepEqual(approved.reasons, []);
    assert.equal(store.records.get('acme/tools/weather.input@2.0.0')?.approval?.status, 'approved');
    assert.ok(
      outbox.published.some((e) => e.detailType === 'versioning.version.updated' && (e.detail as { what: string }).what === 'approval'),
    );
  });

  it('writes nothing when the requested version is too small, the kind differs, the body is identical or not a schema', async () => {
    await tag(v1);
    const before = [store.records.size, governance.items.size, outbox.published.length];
    await assert.rejects(tag(v3, { version: '1.2.0' }), (e: unknown) => e instanceof ValidationError && e.issues[0]?.path === 'version');
    await assert.rejects(
      tagVersion('acme', { artifact: 'tools/weather.input', kind: 'configuration', body: {} }, 'alice', deps),
      (e: unknown) => e instanceof ValidationError && e.issues[0]?.path === 'kind',
    );
    await assert.rejects(tag({ ...v1 }), ConflictError);
    await assert.rejects(tag([1]), (e: unknown) => e instanceof ValidationError && e.issues[0]?.path === 'body');
    assert.deepEqual([store.records.size, governance.items.size, outbox.published.length], before);
  });

  it('keeps large bodies out of the record, addressed by hash, and diffs against them', async () => {
    const big = { type: 'object', description: 'x'.repeat(INLINE_BODY_BYTES), properties: { a: { type: 'string' } } };
    const first = await tag(big);
    assert.deepEqual(first.record.bodyRef, { at: 's3', key: `acme/versioning/bodies/${first.record.hash}.json` });
    assert.equal(first.record.body, undefined);
    const second = await tag({ ...big, properties: { a: { type: 'string' }, b: { type: 'number' } }, additionalProperties: false });
    assert.equal(second.record.bump, 'major');
  });

  it('records a test-suite result as the gate of a version without a golden set', async () => {
    await tagVersion('acme', { artifact: 'cfg/router', kind: 'configuration', body: { ttl: 60 } }, 'alice', deps);
    assert.match((await promotable('acme', 'cfg/router', '1.0.0', deps)).reasons[0] ?? '', /no regression result/);
    await recordGate('acme', { artifact: 'cfg/router', version: '1.0.0', suite: 'smoke', total: 5, failed: 1 }, 'ci', deps);
    assert.match((await promotable('acme', 'cfg/router', '1.0.0', deps)).reasons[0] ?? '', /smoke failed: 1 of 5/);
    await recordGate('acme', { artifact: 'cfg/router', version: '1.0.0', suite: 'smoke', total: 5, failed: 0 }, 'ci', deps);
    assert.equal((await promotable('acme', 'cfg/router', '1.0.0', deps)).promotable, true);
    await assert.rejects(
      recordGate('acme', { artifact: 'cfg/router', version: '1.0.0', suite: 's', total: 1, failed: 2 }, 'ci', deps),
      ValidationError,
    );
  });
});
