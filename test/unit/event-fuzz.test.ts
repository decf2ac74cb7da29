/**
 * The standing fuzz suite of the event catalog (events/catalog.ts), in process: every catalogued
 * detail schema, including any added later, against the one publishing path,
 * `validatingPublisher` (lib/events/publisher.ts), through a recording fake of its PutEvents port.
 *
 * - Valid details (the catalog's samples, and values generated from the schema that it accepts)
 *   are sent once each, and what goes on the wire reads back as exactly what was validated.
 * - A detail with one constraint of its published JSON Schema broken is refused before anything
 *   is sent, with an issue naming `events.0.detail.<field>`.
 * - A hostile value at any field (wrong types, extremes, unicode edge cases, deep nesting, huge
 *   strings, and JavaScript values JSON cannot carry: NaN, ±Infinity, BigInt, cycles, functions,
 *   Maps) is either refused with an `InvalidEventError` (nothing sent) or sent as it was validated;
 *   never another error, never a silently changed detail.
 *
 * Bounded: FUZZ_RUNS cases per property (test/helpers/fuzz.ts), FUZZ_SEED to vary them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { eventCatalog } from '../../events/catalog.ts';
import { InvalidEventError, type OutgoingEntry, type PutEventsPort, validatingPublisher } from '../../lib/events/publisher.ts';
import {
  fuzzParameters,
  fuzzSettings,
  hostileValue,
  type JsonPath,
  jsonSchemaOf,
  pathsIn,
  RawJson,
  schemaAt,
  setAt,
  validArbitrary,
  violations,
} from '../helpers/fuzz.ts';

const samplesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'events', 'samples');

/** The `detail` of every valid sample of a detail-type. */
function sampleDetails(detailType: string): Record<string, unknown>[] {
  const dir = path.join(samplesDir, detailType);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => (JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as { detail: Record<string, unknown> }).detail);
}

/** A PutEvents port that accepts everything and keeps what it was sent. */
function recordingPort(): { port: PutEventsPort; sent: OutgoingEntry[] } {
  const sent: OutgoingEntry[] = [];
  return {
    sent,
    port: {
      async putEvents(entries) {
        sent.push(...entries);
        return entries.map((_, index) => ({ eventId: `e-${sent.length}-${index}` }));
      },
    },
  };
}

/** JSON writes -0 as 0, the same number: compare with that. */
function withoutNegativeZero(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withoutNegativeZero(item)]));
  return value;
}

const noWait = { sleep: async () => {}, random: () => 0 };

/** Values a JavaScript caller can put in a detail that JSON cannot carry as they are. */
function cyclic(): unknown {
  const node: Record<string, unknown> = { name: 'loop' };
  node.self = node;
  return node;
}
const jsOnlyValue = fc.constantFrom<unknown>(
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  10n,
  () => 1,
  Symbol('s'),
  new Map([['a', 1]]),
  new Set([1]),
  new Date(0),
  [1, undefined, 3],
  { nested: { deeper: [Number.NaN] } },
);
const jsValue = fc.oneof(
  { arbitrary: hostileValue.map((value) => (value instanceof RawJson ? JSON.parse(value.text()) : value)), weight: 3 },
  { arbitrary: jsOnlyValue, weight: 2 },
  { arbitrary: fc.constant(null).map(cyclic), weight: 1 },
);

for (const entry of eventCatalog) {
  const schema = jsonSchemaOf(entry.schema);
  const samples = sampleDetails(entry.detailType);
  /** Paths into the parts typed `unknown` (configs, action parameters), where only the publisher stands guard. */
  const looseTargets = (detail: unknown): JsonPath[] => {
    const loose = (at: JsonPath) => {
      const sub = schemaAt(schema, at);
      return sub !== undefined && sub.type === undefined && sub.const === undefined && sub.enum === undefined && sub.anyOf === undefined;
    };
    const records = pathsIn(detail).filter((at) => typeof schemaAt(schema, at)?.additionalProperties === 'object');
    const found = [...pathsIn(detail).filter(loose), ...records.map((at) => [...at, 'fuzzed']).filter(loose)];
    return found.length > 0 ? found : [['unexpected']];
  };
  const publish = async (detail: unknown) => {
    const { port, sent } = recordingPort();
    const outcome = await validatingPublisher(port, noWait)
      .publish([{ source: entry.source, detailType: entry.detailType, detail: detail as Record<string, unknown> }])
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    return { outcome, sent };
  };

  describe(`fuzz: ${entry.detailType} (${fuzzSettings.runs} cases per property, seed ${fuzzSettings.seed})`, () => {
    it('sends every valid detail once, exactly as validated', async () => {
      assert.ok(samples.length > 0, `events/samples/${entry.detailType}/ has no valid sample`);
      // Refinements (an anomaly's evidence names its detector, a checkpoint's key starts with its
      // tenant) are not in the JSON Schema: a generated value the schema refuses falls back to a sample.
      const accepted = (value: unknown, fallback: unknown) => (entry.schema.safeParse(value).success ? value : fallback);
      const whole = validArbitrary(schema).map((value) => accepted(value, samples[0]));
      const oneField = fc.constantFrom(...samples).chain((detail) => {
        const fields = pathsIn(detail).filter((at) => schemaAt(schema, at) !== undefined);
        return fc
          .constantFrom(...fields)
          .chain((at) => validArbitrary(schemaAt(schema, at) ?? {}).map((value) => accepted(setAt(detail, at, value), detail)));
      });
      const valid = fc.oneof(fc.constantFrom(...samples), whole, oneField);
      await fc.assert(
        fc.asyncProperty(valid, async (detail) => {
          const { outcome, sent } = await publish(detail);
          assert.equal(outcome, undefined, `refused a valid detail: ${String(outcome)}`);
          assert.equal(sent.length, 1);
          assert.equal(sent[0]?.source, entry.source);
          assert.equal(sent[0]?.detailType, entry.detailType);
          assert.deepEqual(JSON.parse(sent[0]?.detail ?? 'null'), withoutNegativeZero(entry.schema.parse(detail)));
        }),
        fuzzParameters(),
      );
    });

    it('refuses a detail breaking one constraint of its JSON Schema before sending, naming the field', async () => {
      const broken = fc
        .constantFrom(...samples)
        .chain((detail) =>
          fc
            .constantFrom(...violations(schema, detail))
            .map((violation) => ({ violation, detail: setAt(detail, violation.at, violation.replacement) })),
        );
      await fc.assert(
        fc.asyncProperty(broken, async ({ violation, detail }) => {
          const { outcome, sent } = await publish(detail);
          assert.equal(sent.length, 0, 'nothing is sent');
          assert.ok(outcome instanceof InvalidEventError, `${violation.rule} at ${violation.path.join('.')}: ${String(outcome)}`);
          const want = ['events', 0, 'detail', ...violation.path].join('.');
          assert.ok(
            outcome.issues.some((issue) => issue.path === want || issue.path.startsWith(`${want}.`)),
            `${violation.rule}: no issue at ${want} in ${JSON.stringify(outcome.issues)}`,
          );
        }),
        fuzzParameters(),
      );
    });

    it('refuses a hostile value with InvalidEventError, or sends exactly what it validated', async () => {
      const hostile = fc
        .constantFrom(...samples)
        .chain((detail) =>
          fc
            .tuple(fc.oneof(fc.constantFrom(...pathsIn(detail), ['unexpected']), fc.constantFrom(...looseTargets(detail))), jsValue)
            .map(([at, value]) => ({ at, value, detail: setAt(detail, at, value) })),
        );
      await fc.assert(
        fc.asyncProperty(hostile, async ({ at, detail }) => {
          const { outcome, sent } = await publish(detail);
          if (outcome !== undefined) {
            assert.ok(outcome instanceof InvalidEventError, `at ${at.join('.')}: not an InvalidEventError: ${String(outcome)}`);
            assert.equal(sent.length, 0, 'nothing is sent');
            return;
          }
          assert.equal(sent.length, 1);
          assert.deepEqual(
            JSON.parse(sent[0]?.detail ?? 'null'),
            withoutNegativeZero(entry.schema.parse(detail)),
            `at ${at.join('.')}: the detail changed on the way out`,
          );
        }),
        fuzzParameters(),
      );
    });
  });
}
