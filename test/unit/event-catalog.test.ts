import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { FindingRaised } from '../../events/audit.ts';
import { type CatalogEntry, eventCatalog } from '../../events/catalog.ts';
import { DETAIL_TYPE_PATTERN, eventEnvelopeSchema, SOURCE_PATTERN } from '../../events/common.ts';
import type { ApprovalRequested } from '../../events/governance.ts';
import { type EventEvidence, evidenceSchema } from '../../events/observation.ts';
import type { Severity } from '../../lib/audit/compliance.ts';
import type { Approval } from '../../lib/governance/approvals.ts';
import type { Evidence } from '../../lib/observation/detector-contract.ts';
import { initSeriesState, updateSeriesState } from '../../lib/observation/detector-registry.ts';

const samplesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'events', 'samples');
const EXPECTATIONS = 'expected.json';

interface Sample {
  file: string;
  envelope: unknown;
}

const jsonFiles = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => name.endsWith('.json') && name !== EXPECTATIONS)
        .sort()
    : [];
const load = (dir: string): Sample[] =>
  jsonFiles(dir).map((file) => ({ file, envelope: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) }));
const validSamples = (entry: CatalogEntry) => load(path.join(samplesDir, entry.detailType));
const invalidSamples = (entry: CatalogEntry) => load(path.join(samplesDir, entry.detailType, 'invalid'));
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const issuePaths = (error: z.ZodError) => error.issues.map((issue) => issue.path.map(String).join('.'));

describe('event catalog', () => {
  it('names every event <engine>.<noun>.<past-verb> from source autonomy.<engine> of the same engine', () => {
    for (const entry of eventCatalog) {
      const source = SOURCE_PATTERN.exec(entry.source);
      const detailType = DETAIL_TYPE_PATTERN.exec(entry.detailType);
      assert.ok(source, `${entry.source} is not autonomy.<engine>`);
      assert.ok(detailType, `${entry.detailType} is not <engine>.<noun>.<past-verb>`);
      assert.equal(detailType[1], source[1], `${entry.detailType} is published by ${entry.source}`);
      assert.match(entry.version, /^[1-9]\d*$/, `${entry.detailType} version`);
      assert.ok(entry.description.length > 10, `${entry.detailType} has a description`);
    }
  });

  it('rejects names that break the convention', () => {
    for (const bad of [
      'platform.heartbeat',
      'Platform.heartbeat.emitted',
      'platform.heartbeat.emit',
      'platform.heart beat.emitted',
      'a.b.c.ed',
    ]) {
      assert.equal(DETAIL_TYPE_PATTERN.test(bad), false, bad);
    }
    for (const bad of ['autonomy', 'aws.events', 'autonomy.', 'autonomy.Platform', 'autonomy.platform.x'])
      assert.equal(SOURCE_PATTERN.test(bad), false, bad);
  });

  it('lists each detail-type once', () => {
    const types = eventCatalog.map((entry) => entry.detailType);
    assert.equal(new Set(types).size, types.length);
  });

  it('requires a tenant and the catalog version in every detail', () => {
    for (const entry of eventCatalog) {
      const [sample] = validSamples(entry);
      const detail = eventEnvelopeSchema.parse(sample?.envelope).detail as Record<string, unknown>;
      for (const field of ['tenant', 'version']) {
        const { [field]: _dropped, ...rest } = detail;
        const parsed = entry.schema.safeParse(rest);
        assert.equal(parsed.success, false, `${entry.detailType} without ${field}`);
        assert.ok(!parsed.success && issuePaths(parsed.error).includes(field), `${entry.detailType} names ${field}`);
      }
      assert.equal(
        entry.schema.safeParse({ ...detail, version: `${entry.version}0` }).success,
        false,
        `${entry.detailType} with another version`,
      );
    }
  });

  it('has at least one valid sample per event, and no sample folder without an event', () => {
    for (const entry of eventCatalog)
      assert.ok(validSamples(entry).length >= 1, `${entry.detailType} has no sample in events/samples/${entry.detailType}/`);
    const folders = readdirSync(samplesDir, { withFileTypes: true })
      .filter((item) => item.isDirectory())
      .map((item) => item.name);
    const known = new Set<string>(eventCatalog.map((entry) => entry.detailType));
    assert.deepEqual(
      folders.filter((folder) => !known.has(folder)),
      [],
    );
  });

  for (const entry of eventCatalog) {
    describe(entry.detailType, () => {
      for (const sample of validSamples(entry)) {
        it(`accepts ${sample.file} (envelope and detail)`, () => {
          const envelope = eventEnvelopeSchema.parse(sample.envelope);
          assert.equal(envelope.source, entry.source);
          assert.equal(envelope['detail-type'], entry.detailType);
          const parsed = entry.schema.safeParse(envelope.detail);
          assert.ok(parsed.success, parsed.success ? '' : z.prettifyError(parsed.error));
          assert.equal((parsed.data as { version: string }).version, entry.version);
        });
      }

      const invalid = invalidSamples(entry);
      const expectationsFile = path.join(samplesDir, entry.detailType, 'invalid', EXPECTATIONS);
      const expected: Record<string, string> = existsSync(expectationsFile) ? JSON.parse(readFileSync(expectationsFile, 'utf8')) : {};
      delete expected.$comment;

      it('lists the failing field of every invalid sample in invalid/expected.json', () => {
        assert.deepEqual(invalid.map((sample) => sample.file).sort(), Object.keys(expected).sort());
      });

      for (const sample of invalid) {
        it(`rejects invalid/${sample.file}, naming detail.${expected[sample.file] || '(root)'}`, () => {
          const envelope = eventEnvelopeSchema.parse(sample.envelope);
          assert.equal(envelope['detail-type'], entry.detailType);
          const parsed = entry.schema.safeParse(envelope.detail);
          assert.equal(parsed.success, false);
          assert.ok(
            !parsed.success && issuePaths(parsed.error).includes(expected[sample.file] ?? '?'),
            parsed.success ? '' : z.prettifyError(parsed.error),
          );
        });
      }
    });
  }
});

describe('catalog mirrors of engine types', () => {
  it('accepts the evidence every detector produces, scored, warming up or skipped', () => {
    const start = Date.parse('2026-11-25T00:00:00Z');
    const configs = { robust: {}, ewma: {}, knn: {}, seasonal: { seasonLength: 4, intervalMs: 60_000 } };
    for (const [name, config] of Object.entries(configs)) {
      let state = initSeriesState(name, config);
      const evidences: Evidence[] = [];
      for (let i = 0; i < 80; i += 1) {
        const update = updateSeriesState(state, { timestamp: start + i * 60_000, value: 100 + (i % 4) * 3 + (i === 70 ? 500 : 0) });
        state = update.state;
        evidences.push(update.evidence);
      }
      evidences.push(updateSeriesState(state, { timestamp: start, value: 1 }).evidence);
      assert.ok(evidences.some((evidence) => evidence.warmingUp));
      assert.ok(evidences.some((evidence) => evidence.skipped === 'out-of-order'));
      for (const evidence of evidences) {
        const parsed = evidenceSchema.safeParse(JSON.parse(JSON.stringify(evidence)));
        assert.ok(parsed.success, parsed.success ? '' : `${name}: ${z.prettifyError(parsed.error)}`);
      }
    }
  });

  it('keeps the severities, evidence, gated actions and approval groups of the engines', () => {
    // Compile-time checks (mutual assignability): a drift fails `npm run typecheck`. (Risk levels,
    // votes and assessments are one schema, lib/governance/model.ts, used by both.)
    const severitiesMatch: Same<Severity, FindingRaised['severity']> = true;
    const evidenceMatches: Same<Evidence, EventEvidence> = true;
    const gatedActionsMatch: Same<Approval['action'], ApprovalRequested['action']> = true;
    const groupsMatch: Same<Approval['group'], ApprovalRequested['group']> = true;
    assert.deepEqual([severitiesMatch, evidenceMatches, gatedActionsMatch, groupsMatch], [true, true, true, true]);
  });
});
