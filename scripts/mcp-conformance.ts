/**
 * `npm run mcp:conformance`: boots the test-only conformance profile of the MCP server
 * (scripts/mcp-conformance-profile.ts) on a loopback port, runs the official suite's server
 * scenarios against it (`@modelcontextprotocol/conformance server --suite all`), and prints each
 * scenario and `N passed, M failed` (scenarios).
 *
 * A scenario a stateless server cannot serve is listed in {@link STATEFUL_ONLY} with the reason:
 * it is expected to fail and reported apart; the run fails (exit 1) when any other scenario fails,
 * or when one of those passes (the list is then stale). `--strict` counts them as failures too.
 * Options: `--scenario <name>` runs one; `--json` prints the per-scenario results as JSON.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

// The handlers' metrics and logs are the stage's; here only the suite's verdicts matter.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_METRICS_NAMESPACE ??= 'conformance';
process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
const { startConformanceProfile } = await import('./mcp-conformance-profile.ts');

/** The scenarios a stateless server (one JSON reply per POST, no session) cannot serve, and why. */
export const STATEFUL_ONLY: Readonly<Record<string, string>> = {
  'tools-call-with-logging':
    'log notifications sent during a call reach the client only on a streamed (SSE) reply to the POST; the endpoint answers one JSON body (API Gateway buffers the Lambda reply)',
  'tools-call-with-progress':
    'progress notifications during a call need a streamed (SSE) reply to the POST; the endpoint answers one JSON body',
  'tools-call-sampling':
    'the server asks the client (sampling/createMessage) mid-call and waits for its answer, which comes back on another POST: the pending call must live across requests (a session)',
  'tools-call-elicitation': 'the server asks the client (elicitation/create) mid-call: as sampling, a session holding the pending call',
  'elicitation-sep1034-defaults': 'elicitation mid-call (SEP-1034 defaults): a session holding the pending call',
  'elicitation-sep1330-enums': 'elicitation mid-call (SEP-1330 enums): a session holding the pending call',
  'resources-subscribe':
    'a subscription is state kept for the client and its updates are pushed on a GET SSE stream: a session and a stream',
  'resources-unsubscribe': 'ends a subscription: same as resources-subscribe',
};

/** Scenarios that give only warnings without a session (nothing passes or fails): reported as not served. */
export const SESSION_PROBES: Readonly<Record<string, string>> = {
  'server-sse-polling':
    'SSE polling and reconnection (SEP-1699) need a session, a GET stream, an event store and the test_reconnection tool that closes the stream mid-call',
  'server-sse-multiple-streams': 'several concurrent SSE streams of one session',
};

/** One scenario's outcome. */
export interface ScenarioOutcome {
  scenario: string;
  passed: number;
  failed: number;
}

function conformanceBin(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@modelcontextprotocol/conformance/package.json')), 'dist', 'index.js');
}

async function runSuite(url: string, scenario: string | undefined, cwd: string): Promise<{ code: number; output: string }> {
  const args = [conformanceBin(), 'server', '--url', url, ...(scenario ? ['--scenario', scenario] : ['--suite', 'all'])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** The suite's summary lines: `✓ <scenario>: <n> passed, <m> failed`. */
export function parseSummary(output: string): ScenarioOutcome[] {
  const summary = output.slice(output.lastIndexOf('=== SUMMARY ==='));
  return [...summary.matchAll(/^[✓✗] ([a-z0-9-]+): (\d+) passed, (\d+) failed$/gmu)].map((match) => ({
    scenario: match[1] ?? '',
    passed: Number(match[2]),
    failed: Number(match[3]),
  }));
}

/** Runs the suite against a fresh profile; the outcome of each scenario and the run's verdict. */
export async function conformance(options: { scenario?: string; strict?: boolean } = {}): Promise<{
  scenarios: ScenarioOutcome[];
  passed: string[];
  failed: string[];
  expected: string[];
  notServed: string[];
  recordedCalls: number;
  ok: boolean;
  output: string;
}> {
  const profile = await startConformanceProfile();
  const cwd = await mkdtemp(path.join(os.tmpdir(), 'mcp-conformance-run-'));
  try {
    const run = await runSuite(profile.url, options.scenario, cwd);
    const scenarios = parseSummary(run.output);
    if (scenarios.length === 0) throw new Error(`the suite produced no results (exit ${run.code}):\n${run.output.slice(-2000)}`);
    const passed: string[] = [];
    const failed: string[] = [];
    const expected: string[] = [];
    const notServed: string[] = [];
    for (const outcome of scenarios) {
      if (outcome.scenario in SESSION_PROBES && outcome.passed === 0 && outcome.failed === 0) notServed.push(outcome.scenario);
      else if (outcome.failed > 0 || outcome.passed === 0) {
        if (outcome.scenario in STATEFUL_ONLY && !options.strict) expected.push(outcome.scenario);
        else failed.push(outcome.scenario);
      } else if (outcome.scenario in STATEFUL_ONLY) failed.push(`${outcome.scenario} (passes: remove it from STATEFUL_ONLY)`);
      else passed.push(outcome.scenario);
    }
    return {
      scenarios,
      passed,
      failed,
      expected,
      notServed,
      recordedCalls: await profile.recorded(),
      ok: failed.length === 0,
      output: run.output,
    };
  } finally {
    await profile.close();
    await rm(cwd, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const scenarioAt = argv.indexOf('--scenario');
  const started = performance.now();
  const result = await conformance({
    ...(scenarioAt >= 0 && argv[scenarioAt + 1] ? { scenario: argv[scenarioAt + 1] } : {}),
    strict: argv.includes('--strict'),
  });
  if (argv.includes('--json')) console.log(JSON.stringify({ ...result, output: undefined }, null, 2));
  else {
    for (const outcome of result.scenarios) {
      const mark = result.passed.includes(outcome.scenario)
        ? 'pass'
        : result.expected.includes(outcome.scenario)
          ? 'stateful only'
          : result.notServed.includes(outcome.scenario)
            ? 'not served'
            : 'FAIL';
      const why = STATEFUL_ONLY[outcome.scenario] ?? SESSION_PROBES[outcome.scenario];
      console.log(`${mark.padEnd(13)} ${outcome.scenario}: ${outcome.passed} checks passed, ${outcome.failed} failed`);
      if (mark !== 'pass' && mark !== 'FAIL' && why) console.log(`              why: ${why}`);
    }
    if (!result.ok) console.log(`\nThe suite's output (run one with --scenario <name> for its checks):\n${result.output.slice(-4000)}`);
    console.log(
      `\n${result.passed.length} passed, ${result.failed.length} failed (of ${result.scenarios.length} scenarios; ${result.expected.length} need a stateful server, ${result.notServed.length} probe sessions; ${result.recordedCalls} route tool calls recorded in the ledger) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  process.exitCode = result.ok ? 0 : 1;
}
