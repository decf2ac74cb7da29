/**
 * Prints the EventBridge matcher's score on the AWS-recorded conformance set
 * (test/fixtures/conformance/eventbridge-patterns/cases.json, see SOURCE.md there) and its
 * throughput on a realistic rule and event mix. Exits 0 whatever the score; a missing
 * conformance set is an error.
 *
 * Run: node bench/eventbridge-conformance.ts
 */
import { readFileSync } from 'node:fs';
import { compileEventPattern, InvalidEventPatternError } from '../infra/local/eventbridge/pattern.ts';
import { conformancePath } from '../test/helpers/conformance.ts';

const casesPath = conformancePath('eventbridge-patterns', 'cases.json');

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether one recorded case comes out as AWS recorded it. */
function passes(testCase: Record<string, unknown>): boolean {
  try {
    const matched = compileEventPattern(testCase.pattern)(testCase.event);
    return testCase.expected === matched;
  } catch (error) {
    return testCase.expected === 'error' && error instanceof InvalidEventPatternError && error.message === testCase.aws_message;
  }
}

function reportConformance(): void {
  const raw: unknown = JSON.parse(readFileSync(casesPath, 'utf8'));
  const cases = Array.isArray(raw) ? raw.filter(isRecord) : [];
  const failed = cases.filter((testCase) => !passes(testCase)).map((testCase) => String(testCase.name));
  console.log(`eventbridge matcher conformance: ${cases.length - failed.length}/${cases.length} passed`);
  if (failed.length > 0) console.log(`  failing: ${failed.join(', ')}`);
}

/** Deterministic pseudo-random numbers, so runs compare. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** A rule of the kind our governance rules use: source, prefix, numeric, negation, wildcard, $or. */
const RULE = {
  source: ['autonomy.observation'],
  'detail-type': [{ prefix: 'observation.anomaly.' }],
  detail: {
    severity: [{ numeric: ['>=', 3] }],
    series: [{ 'anything-but': { prefix: 'test-' } }],
    region: [{ wildcard: 'eu-*-1' }],
    $or: [{ tags: ['critical', 'page'] }, { score: [{ numeric: ['>', 0.9] }] }],
  },
};

function makeEvents(count: number): Record<string, unknown>[] {
  const random = lcg(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const events: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    events.push({
      version: '0',
      id: `6a7e8feb-b491-4cf7-a9f1-${String(i).padStart(12, '0')}`,
      'detail-type': random() < 0.85 ? pick(['observation.anomaly.detected', 'observation.anomaly.cleared']) : 'observation.ingested',
      source: random() < 0.95 ? 'autonomy.observation' : 'autonomy.governance',
      account: '123456789012',
      time: '2026-03-23T10:15:30Z',
      region: 'eu-west-1',
      resources: [`arn:aws:dynamodb:eu-west-1:123456789012:table/series-${i % 7}`],
      detail: {
        series: pick(['latency-p99', 'error-rate', 'test-latency', 'queue-depth']),
        severity: 2 + Math.floor(random() * 4),
        score: Math.round(random() * 1000) / 1000,
        region: pick(['eu-west-1', 'eu-central-1', 'us-east-1']),
        tags: random() < 0.6 ? ['critical', 'slo'] : ['slo'],
        window: { start: '2026-03-23T10:00:00Z', end: '2026-03-23T10:15:00Z', points: 90 },
        baseline: { mean: 120.5, stddev: 14.2 },
      },
    });
  }
  return events;
}

function reportThroughput(): void {
  const compileStart = performance.now();
  const matches = compileEventPattern(RULE);
  const compileMs = performance.now() - compileStart;
  const events = makeEvents(1024);
  for (let i = 0; i < 20_000; i++) matches(events[i & 1023]);
  const iterations = 500_000;
  let matched = 0;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) if (matches(events[i & 1023])) matched++;
  const seconds = (performance.now() - start) / 1000;
  const perSecond = Math.round(iterations / seconds);
  console.log(
    `eventbridge matcher throughput: ${perSecond.toLocaleString('en-US')} events/s ` +
      `(${iterations.toLocaleString('en-US')} matches of a 6-field rule with $or, ${((matched / iterations) * 100).toFixed(1)}% matched; compile ${compileMs.toFixed(2)} ms)`,
  );
}

reportConformance();
reportThroughput();
