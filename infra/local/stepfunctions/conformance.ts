/**
 * Runs the pure-JSONPath conformance data recorded on real AWS Step Functions
 * (`test/fixtures/conformance/step-functions-asl/`, see its SOURCE.md) through our engine and
 * definition checks, and reports pass rates per suite.
 *
 * What counts: for each recorded execution, the final outcome must match — SUCCEEDED with the
 * same output, or FAILED with the same error and cause (placeholders such as `<ArnPart_0idx>`,
 * "date" and "timestamp" in the recordings match any text). Tests whose definitions are edited in
 * test code, that need AWS service integrations, or that use the TestState API are skipped;
 * definitions our checks refuse (JSONata, Assign, Output/Arguments, distributed Map) are counted
 * as `refused`, not as failures. Wait and Retry delays are skipped (only outcomes are compared).
 */
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkDefinition, DefinitionError } from './definition-checks.ts';
import { type EngineHost, outcomeOf, startRun, type TaskCall } from './engine.ts';

/** Result of one suite. */
export interface ConformanceSuiteResult {
  suite: string;
  passed: number;
  /** Tests run (passed + failed); refused and skipped are not included. */
  total: number;
  refused: number;
  skipped: number;
  failures: { test: string; reason: string }[];
}

const ACCOUNT = '111111111111';
const REGION = 'us-east-1';

/** Parses the JSON5 subset the templates use: comments and trailing commas. */
export function parseJson5(text: string): unknown {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\') {
          s += text.slice(j, j + 2);
          j += 2;
        } else s += text[j++];
      }
      out += c === '"' ? `"${s}"` : JSON.stringify(s.replace(/\\'/g, "'"));
      i = j + 1;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2) + 2;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
}

/** A host that runs tasks as errors (the suites are pure ASL) and skips delays. */
function conformanceHost(name: string, input: unknown): EngineHost {
  const smName = 'ConformanceMachine';
  const journal = new Map<string, unknown>();
  return {
    executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:${smName}:${name}`,
    executionName: name,
    stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${smName}`,
    stateMachineName: smName,
    roleArn: `arn:aws:iam::${ACCOUNT}:role/snf_role_arn`,
    startTime: new Date().toISOString(),
    input,
    runTask: async (call: TaskCall) => {
      throw Object.assign(new Error(`No service integrations in conformance runs (${call.resource})`), { name: 'States.TaskFailed' });
    },
    tokenFor: (key) => createHmac('sha256', 'conformance').update(key).digest('base64url'),
    emit: () => {},
    record<T>(key: string, compute: () => T): T {
      if (key.endsWith(':wait') || key.endsWith(':retry')) {
        compute(); // still evaluate paths so invalid ones fail as on AWS
        return Date.now() as T;
      }
      if (!journal.has(key)) journal.set(key, compute());
      return journal.get(key) as T;
    },
  };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Recorded values that the recorder normalised away entirely. */
const WHOLE_PLACEHOLDERS = new Set(['date', 'timestamp', 'start-time', 'entered-time', 'snf_role_arn', '<timestamp>']);

/** String equality where recorded placeholders match any text. */
function textMatches(expected: string, actual: string): boolean {
  if (expected === actual) return true;
  if (WHOLE_PLACEHOLDERS.has(expected)) return true;
  if (!/<[A-Za-z0-9_:.-]+>|\bdate\b/.test(expected)) return false;
  const re = expected
    .split(/(<[A-Za-z0-9_:.-]+>|\bdate\b)/)
    .map((part, idx) => (idx % 2 === 1 ? '[\\s\\S]*?' : escapeRe(part)))
    .join('');
  return new RegExp(`^${re}$`).test(actual);
}

/** Recorded snapshot values vs our values (recordings decode JSON strings into objects). */
export function valueMatches(expected: unknown, actual: unknown): boolean {
  if (typeof expected === 'string') {
    if (typeof actual === 'string' && textMatches(expected, actual)) return true;
    if (typeof actual !== 'string' && textMatches(expected, JSON.stringify(actual))) return true;
    try {
      const parsed = JSON.parse(expected);
      if (typeof parsed !== 'string' && parsed !== null && typeof parsed === 'object') return valueMatches(parsed, actual);
      return JSON.stringify(parsed) === JSON.stringify(actual);
    } catch {
      return false;
    }
  }
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => valueMatches(e, actual[i]));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const ek = Object.keys(expected);
    const ak = Object.keys(actual);
    return ek.length === ak.length && ek.every((k) => k in actual && valueMatches((expected as Record<string, unknown>)[k], (actual as Record<string, unknown>)[k]));
  }
  return expected === actual;
}

interface RecordedRun {
  input: unknown;
  final: Record<string, unknown>;
}

function recordedRuns(content: Record<string, unknown>): RecordedRun[] {
  const runs: RecordedRun[] = [];
  for (const value of Object.values(content)) {
    const events = (value as { events?: Record<string, unknown>[] } | null)?.events;
    if (!Array.isArray(events) || events.length === 0) continue;
    const started = events.find((e) => e.type === 'ExecutionStarted');
    const final = events[events.length - 1] as Record<string, unknown>;
    if (!started) continue;
    const details = started.executionStartedEventDetails as { input?: unknown };
    runs.push({ input: details.input, final });
  }
  return runs;
}

async function runOne(definition: unknown, input: unknown, final: Record<string, unknown>): Promise<string | null> {
  const run = startRun(definition, typeof input === 'string' ? safeParse(input) : input, conformanceHost('ConformanceExecution', input));
  const outcome = await outcomeOf(run);
  const type = final.type;
  if (type === 'ExecutionSucceeded') {
    const expected = (final.executionSucceededEventDetails as { output?: unknown }).output;
    if (outcome.status !== 'SUCCEEDED') return `expected SUCCEEDED, got ${outcome.status} ${JSON.stringify(outcome)}`.slice(0, 400);
    return valueMatches(expected, outcome.output) ? null : `output ${JSON.stringify(outcome.output)} != ${JSON.stringify(expected)}`.slice(0, 400);
  }
  if (type === 'ExecutionFailed') {
    const d = final.executionFailedEventDetails as { error?: string; cause?: string };
    if (outcome.status !== 'FAILED') return `expected FAILED ${d.error}, got ${outcome.status}`;
    if ((d.error ?? undefined) !== outcome.error && !(d.error !== undefined && outcome.error !== undefined && textMatches(d.error, outcome.error))) {
      return `error ${outcome.error} != ${d.error}`;
    }
    const causeOk = d.cause === undefined ? outcome.cause === undefined : outcome.cause !== undefined && valueMatches(d.cause, outcome.cause);
    return causeOk ? null : `cause ${JSON.stringify(outcome.cause)} != ${JSON.stringify(d.cause)}`.slice(0, 400);
  }
  return `unsupported final event ${String(type)}`;
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

async function choiceSuite(root: string): Promise<ConformanceSuiteResult> {
  const res: ConformanceSuiteResult = { suite: 'choice_operator_cases', passed: 0, total: 0, refused: 0, skipped: 0, failures: [] };
  const data = JSON.parse(readFileSync(join(root, 'choice_operator_cases.json'), 'utf8')) as {
    cases: { operator: string; choice_rule: Record<string, unknown>; input: unknown; expected_branch: string; source_test: string }[];
  };
  for (const [n, c] of data.cases.entries()) {
    const definition = {
      StartAt: 'CheckValues',
      States: {
        CheckValues: { Type: 'Choice', Choices: [{ ...c.choice_rule, Next: 'ConditionTrue' }], Default: 'ConditionFalse' },
        ConditionTrue: { Type: 'Pass', Result: 'ConditionTrue', End: true },
        ConditionFalse: { Type: 'Pass', Result: 'ConditionFalse', End: true },
      },
    };
    res.total++;
    const outcome = await outcomeOf(startRun(definition, c.input, conformanceHost(`choice-${n}`, c.input)));
    const got = outcome.status === 'SUCCEEDED' ? outcome.output : `${outcome.status} ${'error' in outcome ? outcome.error : ''}`;
    if (got === c.expected_branch) res.passed++;
    else res.failures.push({ test: `${c.source_test}#${n} ${JSON.stringify(c.choice_rule)} input=${JSON.stringify(c.input)}`, reason: `expected ${c.expected_branch}, got ${String(got)}` });
  }
  return res;
}

interface IndexEntry {
  templates: string[];
  template_or_definition_modified_in_test_code: boolean;
  mentions_aws_service_integration: boolean;
}

function pickTemplate(entry: IndexEntry, param: string | undefined): string | undefined {
  if (entry.templates.length === 1) return entry.templates[0];
  if (!param) return undefined;
  const byId = entry.templates.find((t) => basename(t).replace(/\.json5?$/, '').toUpperCase() === param.toUpperCase());
  if (byId) return byId;
  const m = /^[A-Za-z_]*?(\d+)$/.exec(param);
  return m ? entry.templates[Number(m[1])] : undefined;
}

async function snapshotSuites(root: string): Promise<ConformanceSuiteResult[]> {
  const base = join(root, 'localstack_sfn');
  const index = JSON.parse(readFileSync(join(base, 'test_to_template_index.json'), 'utf8')) as Record<string, Record<string, IndexEntry>>;
  const results: ConformanceSuiteResult[] = [];
  for (const [file, tests] of Object.entries(index)) {
    const res: ConformanceSuiteResult = { suite: file.replace(/\.snapshot\.json$/, ''), passed: 0, total: 0, refused: 0, skipped: 0, failures: [] };
    results.push(res);
    const snapPath = join(base, 'snapshots', file);
    // The index names every suite: a missing snapshot would quietly drop its tests.
    if (!existsSync(snapPath)) throw new Error(`conformance data missing: ${snapPath}`);
    const snapshot = JSON.parse(readFileSync(snapPath, 'utf8')) as Record<string, { 'recorded-content': Record<string, unknown> }>;
    for (const [key, recorded] of Object.entries(snapshot)) {
      const m = /::(test_[A-Za-z0-9_]+)(?:\[(.*)\])?$/.exec(key);
      const testName = m?.[1] ?? key;
      const entry = tests[testName];
      const label = key.split('::').slice(-1)[0] ?? key;
      if (!entry || entry.template_or_definition_modified_in_test_code || entry.mentions_aws_service_integration || file.startsWith('test_state/')) {
        res.skipped++;
        continue;
      }
      const template = pickTemplate(entry, m?.[2]);
      const runs = recordedRuns(recorded['recorded-content']);
      const usable = runs.every(
        (r) => ['ExecutionSucceeded', 'ExecutionFailed'].includes(String(r.final.type)) && !/"(date|timestamp|<timestamp>)"/.test(JSON.stringify(r.input)),
      );
      // Inputs whose timestamps were normalised to "date" in the recording cannot be replayed.
      if (!template || runs.length === 0 || !usable) {
        res.skipped++;
        continue;
      }
      let definition: unknown;
      try {
        definition = checkDefinition(JSON.stringify(parseJson5(readFileSync(join(base, 'templates', template), 'utf8'))));
      } catch (e) {
        if (e instanceof DefinitionError && e.refused) {
          res.refused++;
          continue;
        }
        // A definition AWS accepted and we reject is a failure of ours.
        res.total++;
        res.failures.push({ test: label, reason: `definition rejected: ${(e as Error).message}`.slice(0, 400) });
        continue;
      }
      res.total++;
      let reason: string | null = null;
      for (const run of runs) {
        try {
          reason = await runOne(definition, run.input, run.final);
        } catch (e) {
          reason = `engine threw: ${(e as Error).stack ?? String(e)}`.slice(0, 400);
        }
        if (reason) break;
      }
      if (reason) res.failures.push({ test: label, reason });
      else res.passed++;
    }
  }
  return results.filter((r) => r.total + r.refused + r.skipped > 0);
}

/** Location of the conformance data, which ships with the repository. */
export const DEFAULT_CONFORMANCE_DIR = new URL('../../../test/fixtures/conformance/step-functions-asl/', import.meta.url);

/**
 * Runs all suites.
 * @param dir directory holding SOURCE.md, choice_operator_cases.json and localstack_sfn/
 * @throws Error naming the path when the data or a snapshot the index names is missing
 */
export async function runStepFunctionsConformance(dir: string | URL = DEFAULT_CONFORMANCE_DIR): Promise<ConformanceSuiteResult[]> {
  const root = typeof dir === 'string' ? dir : fileURLToPath(dir);
  for (const required of ['choice_operator_cases.json', 'localstack_sfn']) {
    if (!existsSync(join(root, required))) throw new Error(`conformance data missing: ${join(root, required)}`);
  }
  return [await choiceSuite(root), ...(await snapshotSuites(root))];
}
