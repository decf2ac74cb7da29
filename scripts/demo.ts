/**
 * `npm run demo -- improve [--json] [--running]`: Loop 1, the improvement loop (scripts/improve-demo.ts):
 * two configurations of the demo service with different latencies, Evolution finding the better one from
 * observations, Versioning tagging it, the canary judged per step and promoted, then a deliberately worse
 * configuration canaried and rolled back, each decision printed with its time. Exit status: 0 the better
 * one promoted and the worse one rolled back with verifying ledgers; 1 otherwise; 2 usage; 3 set-up.
 *
 * `npm run demo -- self-repair [--json] [--gate] [--timeout <seconds>] [--running]`: the self-repair
 * loop on the local cloud (scripts/self-repair-demo.ts). It boots a local cloud of its own (fresh
 * data, free ports) unless `--running` says to use the one `npm start` runs, breaks the demo
 * service with a bad release, and prints each step with its time since the fault: detected,
 * diagnosed, decided, executed, recovered, then the ledger check.
 *
 * `--json` prints one JSON object instead (lib/demo/report.ts). `--gate` asks people (autonomy
 * level 1) and the demo approves as a second person. Exit status: 0 recovered with a verifying
 * ledger; 1 not recovered within the bound (`--timeout`, default 90 s after the fault) or a ledger
 * that does not verify; 2 usage; 3 the cloud could not be set up.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLocalCloud } from '../infra/local/cloud.ts';
import { loadOrCreateIdpKey, signLocalToken } from '../infra/local/idp.ts';
import { defaultPorts, freePorts } from '../infra/local/ports.ts';
import { formatStep, formatTargets } from '../lib/demo/report.ts';
import { runImproveDemo } from './improve-demo.ts';
import { runSelfRepairDemo, type SelfRepairDemoOptions } from './self-repair-demo.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const usage =
  'usage: npm run demo -- self-repair [--json] [--gate] [--timeout <seconds>] [--running]\n       npm run demo -- improve [--json] [--running]';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    json: { type: 'boolean', default: false },
    gate: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '90' },
    running: { type: 'boolean', default: false },
  },
});
const timeoutSeconds = Number(values.timeout);
const demo = positionals[0];
if (
  (demo !== 'self-repair' && demo !== 'improve') ||
  positionals.length !== 1 ||
  !Number.isFinite(timeoutSeconds) ||
  timeoutSeconds < 10 ||
  timeoutSeconds > 3600
) {
  console.error(`${usage}\n  the demos are self-repair and improve; --timeout is 10-3600 seconds`);
  process.exit(2);
}

const say = (line: string) => {
  if (!values.json) console.log(line);
};
const note = (line: string) => {
  if (!values.json) console.log(`           ${line}`);
};

/** The cloud to run on: booted here (and stopped after), or the one `npm start` runs. */
async function cloudFor(): Promise<{ options: Omit<SelfRepairDemoOptions, 'tenant'>; stop: () => Promise<void> }> {
  if (values.running) {
    const ports = defaultPorts();
    const key = await loadOrCreateIdpKey(path.join(root, '.local'));
    return {
      options: {
        apiUrl: `http://127.0.0.1:${ports.api}`,
        lambdaEndpoint: `http://127.0.0.1:${ports.gateway}`,
        region: 'us-east-1',
        accountId: '000000000000',
        functionName: 'autonomy-local-demoService',
        token: (roles, subject) => signLocalToken(key, { tenant: currentTenant, roles, subject }),
      },
      stop: async () => {},
    };
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-demo-'));
  const started = performance.now();
  note('booting a local cloud of its own (fresh data, free ports)…');
  const cloud = await startLocalCloud({
    root,
    dataDir,
    ports: await freePorts(),
    functionOutput: { file: path.join(dataDir, 'function-output.log') },
    log: () => {},
  });
  note(`local cloud ready in ${((performance.now() - started) / 1000).toFixed(1)} s (${cloud.apiUrl})`);
  const functionName = cloud.resources.functions.DemoServiceLambdaFunction;
  if (!functionName) throw new Error(`the stage ${cloud.stage} has no demo engine (it is deployed to local and dev only)`);
  const key = await loadOrCreateIdpKey(dataDir);
  return {
    options: {
      apiUrl: cloud.apiUrl,
      lambdaEndpoint: cloud.env.AWS_ENDPOINT_URL_LAMBDA,
      region: cloud.region,
      accountId: cloud.accountId,
      functionName,
      token: (roles, subject) => signLocalToken(key, { tenant: currentTenant, roles, subject }),
    },
    stop: async () => {
      await cloud.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const currentTenant = `demo-${Math.random().toString(16).slice(2, 10)}`;
let cloud: Awaited<ReturnType<typeof cloudFor>>;
try {
  cloud = await cloudFor();
} catch (error) {
  console.error(`Cannot set up the demo: ${(error as Error).message}`);
  process.exit(3);
}
let code = 1;
try {
  if (demo === 'improve') {
    say('');
    say(
      'Improvement demo (Loop 1): two configurations of the demo service, the better one found, versioned, canaried and promoted; then a worse one rolled back',
    );
    const report = await runImproveDemo({ ...cloud.options, tenant: currentTenant, onLine: say });
    if (values.json) console.log(JSON.stringify(report));
    else {
      say('');
      for (const run of [report.improvement, report.worse])
        say(
          `  ${run.status.padEnd(12)} arm ${run.chosen} ${run.version ?? ''}: decision ${run.timing.decisionMs ?? '-'} ms, tag ${run.timing.tagMs ?? '-'} ms, deployment ${run.timing.deploymentMs ?? '-'} ms + bake ${run.timing.bakeMs ?? '-'} ms, whole run ${((run.timing.totalMs ?? 0) / 1000).toFixed(1)} s`,
        );
      say(
        report.ok
          ? '  the better configuration promoted, the worse one rolled back, every stream verifying'
          : '  NOT AS EXPECTED: see the steps above',
      );
    }
    code = report.ok ? 0 : 1;
  } else {
    say('');
    say('Self-repair demo: a bad release of the demo service, and the loop that repairs it (times since the fault)');
    const report = await runSelfRepairDemo({
      ...cloud.options,
      tenant: currentTenant,
      gate: values.gate,
      recoveryTimeoutMs: timeoutSeconds * 1000,
      onStep: (step) => say(formatStep(step)),
      log: note,
    });
    if (values.json) console.log(JSON.stringify(report));
    else {
      say('');
      for (const check of report.ledger)
        say(`  ledger ${check.stream.padEnd(20)} ${check.intact ? 'intact' : 'NOT INTACT'}, ${check.entries} entries: ${check.detail}`);
      for (const line of formatTargets(report)) say(`  ${line}`);
      say(
        report.recovered && report.ledgerIntact
          ? `  recovered in ${((report.recoveredMs ?? 0) / 1000).toFixed(1)} s, every step in a verifying ledger`
          : `  NOT RECOVERED${report.missing.length > 0 ? `: ${report.missing.join('; ')}` : ''}`,
      );
    }
    code = report.recovered && report.ledgerIntact ? 0 : 1;
  }
} catch (error) {
  console.error(`The demo could not run: ${(error as Error).message}`);
  code = 3;
} finally {
  await cloud.stop();
}
process.exit(code);
