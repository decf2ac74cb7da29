/**
 * The self-repair loop, measured: runs the demo (scripts/self-repair-demo.ts) `SELF_REPAIR_RUNS`
 * times (default 5) on a local cloud it boots, each run with a fresh tenant and alias, and prints
 * per run and as median and p95 against the seed targets:
 * - detection: from the arrival of the point that opened the incident to the ingest reply saying it
 *   opened (target < 1 s);
 * - decision and action: from the incident's opening to the executor's verified change (target < 30 s);
 * - and, for scale, the times since the injection of the fault (detected, decided, executed, recovered).
 * Exit status 1 when a run did not recover or its ledger did not verify.
 * Run alone: `node bench/self-repair.ts` (`npm run bench` runs it too).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalCloud } from '../infra/local/cloud.ts';
import { loadOrCreateIdpKey, signLocalToken } from '../infra/local/idp.ts';
import { freePorts } from '../infra/local/ports.ts';
import type { DemoReport } from '../lib/demo/report.ts';
import { percentile } from '../lib/demo/windows.ts';
import { runSelfRepairDemo } from '../scripts/self-repair-demo.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.SELF_REPAIR_RUNS ?? 5);
const DETECTION_TARGET_MS = 1000;
const DECISION_ACTION_TARGET_MS = 30_000;

/** Median and p95 of the values present, with their ratios to `target` when one is given. */
function summary(values: readonly (number | null)[], target?: number): string {
  const present = values.filter((value): value is number => value !== null);
  if (present.length === 0) return 'none';
  const p50 = percentile(present, 0.5);
  const p95 = percentile(present, 0.95);
  const ratio = (value: number) => (target === undefined ? '' : ` (${(value / target).toFixed(3)}×)`);
  return `median ${p50.toFixed(0)} ms${ratio(p50)}, p95 ${p95.toFixed(0)} ms${ratio(p95)} over ${present.length} run(s)`;
}

/** Runs the demo `runs` times on a fresh local cloud; returns the reports. */
export async function benchSelfRepair(runs = RUNS): Promise<DemoReport[]> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-self-repair-'));
  const cloud = await startLocalCloud({ root, dataDir, ports: await freePorts(), functionOutput: 'silent', log: () => {} });
  const key = await loadOrCreateIdpKey(dataDir);
  const functionName = cloud.resources.functions.DemoServiceLambdaFunction ?? '';
  const reports: DemoReport[] = [];
  try {
    for (let index = 0; index < runs; index++) {
      const tenant = `bench-${index}-${Math.random().toString(16).slice(2, 8)}`;
      const report = await runSelfRepairDemo({
        apiUrl: cloud.apiUrl,
        lambdaEndpoint: cloud.env.AWS_ENDPOINT_URL_LAMBDA,
        region: cloud.region,
        accountId: cloud.accountId,
        functionName,
        tenant,
        token: (roles, subject) => signLocalToken(key, { tenant, roles, subject }),
      });
      reports.push(report);
      const s = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(2)} s`);
      console.log(
        `run ${index + 1}: detected ${s(report.detectedMs)}, decided ${s(report.decidedMs)}, executed ${s(report.executedMs)}, recovered ${s(report.recoveredMs)} after the fault; ` +
          `detection ${report.detectionLatencyMs ?? '-'} ms, decision and action ${report.decisionActionMs ?? '-'} ms; ` +
          `${report.recovered ? 'recovered' : 'NOT recovered'}, ledger ${report.ledgerIntact ? 'intact' : 'NOT intact'}${report.missing.length > 0 ? ` (${report.missing.join('; ')})` : ''}`,
      );
    }
  } finally {
    await cloud.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  console.log(
    `detection (point arrived → incident opened; target < 1 s): ${summary(
      reports.map((report) => report.detectionLatencyMs),
      DETECTION_TARGET_MS,
    )}`,
  );
  console.log(
    `decision and action (incident opened → change verified; target < 30 s): ${summary(
      reports.map((report) => report.decisionActionMs),
      DECISION_ACTION_TARGET_MS,
    )}`,
  );
  for (const field of ['detectedMs', 'decidedMs', 'executedMs', 'recoveredMs'] as const) {
    console.log(`${field.replace('Ms', '')} after the fault: ${summary(reports.map((report) => report[field]))}`);
  }
  const good = reports.filter((report) => report.recovered && report.ledgerIntact).length;
  console.log(`${good} of ${reports.length} run(s) recovered with a verifying ledger`);
  return reports;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const reports = await benchSelfRepair();
  process.exit(reports.every((report) => report.recovered && report.ledgerIntact) ? 0 : 1);
}
