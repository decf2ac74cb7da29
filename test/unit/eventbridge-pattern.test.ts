/**
 * EventBridge event-pattern matcher: every case of the AWS-recorded conformance set in
 * test/fixtures/conformance/eventbridge-patterns/ (see its SOURCE.md), then behaviour the set does
 * not cover.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  compileEventPattern,
  InvalidEventPatternError,
  matchesEventPattern,
  validateEventPattern,
} from '../../infra/local/eventbridge/pattern.ts';
import { conformancePath } from '../helpers/conformance.ts';

const casesPath = conformancePath('eventbridge-patterns', 'cases.json');
const snapshotPath = conformancePath('eventbridge-patterns', 'test_events_patterns.snapshot.json');
const multiKeyEventPath = conformancePath('eventbridge-patterns', 'localstack_event_pattern_templates', 'complex_multi_key_event.json');
const multiKeyPatternPath = conformancePath(
  'eventbridge-patterns',
  'localstack_event_pattern_templates',
  'complex_multi_key_event_pattern.json',
);

interface ConformanceCase {
  name: string;
  event: unknown;
  pattern: unknown;
  expected: boolean | 'error';
  awsError?: string;
  awsMessage?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads cases.json, checking each entry's shape instead of trusting it. */
function readCases(path: string): ConformanceCase[] {
  const raw: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(raw)) throw new Error(`${path}: expected an array of cases`);
  return raw.map((item: unknown, index) => {
    if (!isRecord(item) || typeof item.name !== 'string') throw new Error(`${path}: case ${index} has no name`);
    const { name, event, pattern, expected, aws_error: awsError, aws_message: awsMessage } = item;
    if (expected !== true && expected !== false && expected !== 'error') throw new Error(`${path}: case ${name} has no expected outcome`);
    if (expected === 'error' && (typeof awsError !== 'string' || typeof awsMessage !== 'string')) {
      throw new Error(`${path}: error case ${name} lacks aws_error/aws_message`);
    }
    return { name, event, pattern, expected, awsError: awsError as string | undefined, awsMessage: awsMessage as string | undefined };
  });
}

/** Asserts that `run` throws our error with exactly `message`. */
function assertRejects(run: () => unknown, message: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof InvalidEventPatternError, `expected InvalidEventPatternError, got ${String(error)}`);
    assert.equal(error.message, message);
    return true;
  });
}

const reason = (text: string): string => `Event pattern is not valid. Reason: ${text}`;

describe('EventBridge pattern conformance (recorded against AWS)', () => {
  const cases = readCases(casesPath);
  it('holds all 155 recorded cases', () => assert.equal(cases.length, 155));
  for (const testCase of cases) {
    it(testCase.name, () => {
      if (testCase.expected === 'error') {
        assert.throws(
          () => validateEventPattern(testCase.pattern),
          (error: unknown) => {
            assert.ok(error instanceof InvalidEventPatternError, `expected InvalidEventPatternError, got ${String(error)}`);
            assert.equal(error.name, testCase.awsError);
            assert.equal(error.message, testCase.awsMessage);
            return true;
          },
        );
        // The API receives patterns as JSON text; that path must agree.
        assertRejects(() => compileEventPattern(JSON.stringify(testCase.pattern)), testCase.awsMessage ?? '');
      } else {
        assert.equal(compileEventPattern(testCase.pattern)(testCase.event), testCase.expected);
        assert.equal(matchesEventPattern(JSON.stringify(testCase.pattern), testCase.event), testCase.expected);
      }
    });
  }
});

describe('EventBridge pattern conformance: raw JSON recordings', () => {
  it('complex_multi_key (duplicate keys in the pattern text) matches', () => {
    assert.equal(matchesEventPattern(readFileSync(multiKeyPatternPath, 'utf8'), readFileSync(multiKeyEventPath, 'utf8')), true);
  });

  const snapshot: unknown = JSON.parse(readFileSync(snapshotPath, 'utf8'));
  if (!isRecord(snapshot)) throw new Error(`${snapshotPath}: expected an object`);
  const invalidTextKeys = Object.keys(snapshot).filter((key) => key.includes('test_invalid_json_event_pattern['));
  it('holds the 4 recorded rejections of invalid pattern text', () => assert.equal(invalidTextKeys.length, 4));
  for (const [key, entry] of Object.entries(snapshot)) {
    const text = /test_invalid_json_event_pattern\[(.*)\]$/s.exec(key)?.[1];
    if (text === undefined || !isRecord(entry)) continue;
    const content = entry['recorded-content'];
    const invalid = isRecord(content) ? content['invalid-pattern'] : undefined;
    const error = isRecord(invalid) ? invalid.Error : undefined;
    if (!isRecord(error) || typeof error.Message !== 'string') continue;
    const message = error.Message;
    it(`rejects pattern text ${JSON.stringify(text)} with AWS's message`, () => {
      assertRejects(() => validateEventPattern(text), message);
    });
  }
});

describe('EventBridge pattern semantics beyond the conformance set', () => {
  it('matches numbers by value but never numeric strings, for exact values and ranges alike', () => {
    const matches = compileEventPattern({ n: [5], r: [{ numeric: ['>=', 1, '<', 2] }] });
    assert.equal(matches({ n: 5.0, r: 1 }), true);
    assert.equal(matches({ n: '5', r: 1 }), false);
    assert.equal(matches({ n: 5, r: '1.5' }), false);
    assert.equal(matches({ n: 5, r: 2 }), false);
  });

  it('rejects numeric operands outside ±5e9 and empty ranges with event-ruler messages', () => {
    assertRejects(
      () => validateEventPattern({ a: [{ numeric: ['<', 6e9] }] }),
      reason('Value must be between -5.0E9 and 5.0E9, inclusive'),
    );
    assertRejects(() => validateEventPattern({ a: [{ numeric: ['>', 5, '<=', 5] }] }), reason('Bottom must be less than top'));
    assertRejects(
      () => validateEventPattern({ a: [{ numeric: ['>', 1, '<', 9, 3] }] }),
      reason('Too many terms in numeric range expression'),
    );
    assert.equal(matchesEventPattern({ a: [{ numeric: ['>', 0] }] }, { a: 6e9 }), false);
  });

  it('combines fields only from the same element of an array (array consistency)', () => {
    const event = {
      employees: [
        { first: 'John', last: 'Doe' },
        { first: 'Anna', last: 'Smith' },
      ],
    };
    assert.equal(matchesEventPattern({ employees: { first: ['Anna'], last: ['Smith'] } }, event), true);
    assert.equal(matchesEventPattern({ employees: { first: ['Anna'], last: ['Doe'] } }, event), false);
    assert.equal(matchesEventPattern({ employees: { first: ['Anna'] }, other: [{ exists: false }] }, event), true);
  });

  it('treats null as a present leaf, and empty arrays and objects as absent, for exists', () => {
    assert.equal(matchesEventPattern({ a: [{ exists: true }] }, { a: null }), true);
    assert.equal(matchesEventPattern({ a: [{ exists: true }] }, { a: [] }), false);
    assert.equal(matchesEventPattern({ a: [{ exists: false }] }, { a: [] }), true);
    assert.equal(matchesEventPattern({ a: [{ exists: false }] }, { a: { b: 1 } }), true);
    assert.equal(matchesEventPattern({ a: [{ 'anything-but': 'x' }] }, { a: ['x', 'y'] }), true);
  });

  it('expands $or at any depth and rejects malformed $or with AWS messages', () => {
    const matches = compileEventPattern({
      source: ['s'],
      detail: { $or: [{ x: [1] }, { y: [2], $or: [{ z: [3] }, { w: [4] }] }] },
    });
    assert.equal(matches({ source: 's', detail: { y: 2, w: 4 } }), true);
    assert.equal(matches({ source: 's', detail: { y: 2 } }), false);
    assertRejects(() => validateEventPattern({ $or: [{ a: [1] }] }), reason('There must have at least 2 Objects in $or relationship.'));
    assertRejects(() => validateEventPattern({ $or: { a: [1] } }), reason('It must be an Array followed with $or.'));
    assertRejects(
      () => validateEventPattern({ $or: [{ prefix: ['a'] }, { b: [1] }] }),
      reason('prefix is Ruler reserved fieldName which cannot be used inside $or.'),
    );
  });

  it('reads escaped wildcards literally and reports bad escapes at their byte position', () => {
    assert.equal(matchesEventPattern({ a: [{ wildcard: 'a\\*b*' }] }, { a: 'a*bcd' }), true);
    assert.equal(matchesEventPattern({ a: [{ wildcard: 'a\\*b*' }] }, { a: 'axbcd' }), false);
    assertRejects(() => validateEventPattern({ a: [{ wildcard: 'a\\b' }] }), reason('Invalid escape character at pos 2'));
    assertRejects(() => validateEventPattern({ a: [{ wildcard: 'ü**' }] }), reason('Consecutive wildcard characters at pos 3'));
    validateEventPattern({ a: [{ wildcard: 'arn:aws:s3:::bucket-*/logs/*/*.json' }] });
  });

  it('limits wildcard complexity per field as AWS was seen to (four *.ext accepted, four */dir/*.ext rejected)', () => {
    // Outcomes a public Terraform configuration records from real EventBridge.
    const rule = (keys: string[]) => ({ source: ['aws.s3'], detail: { object: { key: keys.map((wildcard) => ({ wildcard })) } } });
    validateEventPattern(rule(['*.bif', '*.tiff', '*.tif', '*.svs']));
    validateEventPattern(rule(['*/datasync/*.bif', '*/datasync/*.tif']));
    assertRejects(
      () => validateEventPattern(rule(['*/datasync/*.bif', '*/datasync/*.tif', '*/datasync/*.tiff', '*/datasync/*.svs'])),
      reason('Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character'),
    );
  });

  it('matches IP addresses by value in cidr blocks and IP literals', () => {
    assert.equal(matchesEventPattern({ ip: ['::1'] }, { ip: '0:0:0:0:0:0:0:1' }), true);
    assert.equal(matchesEventPattern({ ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db8:ffff::1' }), true);
    assert.equal(matchesEventPattern({ ip: [{ cidr: '10.0.0.0/8' }] }, { ip: '11.0.0.1' }), false);
    assertRejects(() => validateEventPattern({ ip: [{ cidr: '10.0.0.256/8' }] }), reason('Invalid IP address: 10.0.0.256'));
  });

  it('applies equals-ignore-case inside prefix, suffix and anything-but', () => {
    const matches = compileEventPattern({
      p: [{ prefix: { 'equals-ignore-case': 'ABC' } }],
      s: [{ suffix: { 'equals-ignore-case': '.JPG' } }],
      n: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'failed'] } }],
    });
    assert.equal(matches({ p: 'abcdef', s: 'photo.jpg', n: 'running' }), true);
    assert.equal(matches({ p: 'abcdef', s: 'photo.jpg', n: 'FAILED' }), false);
    assert.equal(matches({ p: 'xabc', s: 'photo.jpg', n: 'running' }), false);
  });

  it('reports JSON syntax errors in Jackson words and ignores text after the root object', () => {
    assertRejects(
      () => validateEventPattern('{"a": [1}'),
      reason(
        `Unexpected close marker '}': expected ']' (for Array starting at [Source: (String)"{"a": [1}"; line: 1, column: 7])\n at [Source: (String)"{"a": [1}"; line: 1, column: 9]`,
      ),
    );
    // event-ruler stops reading at the end of the root object, as AWS does.
    validateEventPattern('{"a": ["b"]} trailing');
    // A rule error met while streaming wins over a later syntax error.
    assertRejects(() => validateEventPattern('{"a": 1'), reason('"a" must be an object or an array'));
  });

  it('accepts events as JSON text and never matches non-object events', () => {
    const matches = compileEventPattern('{"a": [{"exists": false}]}');
    assert.equal(matches('{"b": 1}'), true);
    assert.equal(matches('not json'), false);
    assert.equal(matches([1]), false);
    assert.equal(matches(null), false);
  });

  it('matches any string exactly, by prefix and by fully escaped wildcard (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (head, tail) => {
        const value = head + tail;
        const escaped = value.replace(/[\\*]/g, '\\$&');
        assert.equal(matchesEventPattern({ v: [value] }, { v: value }), true);
        assert.equal(matchesEventPattern({ v: [{ prefix: head }] }, { v: value }), true);
        assert.equal(matchesEventPattern({ v: [{ wildcard: escaped }] }, { v: value }), true);
        assert.equal(matchesEventPattern({ v: [{ wildcard: escaped }] }, { v: `${value}!` }), false);
      }),
    );
  });
});
