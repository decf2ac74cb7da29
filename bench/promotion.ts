/**
 * The Promotion engine, measured end to end on a local cloud it boots: `PROMOTION_RUNS` promotions
 * (default 3) of a canary version over a real Lambda alias of the stack, through the default steps
 * 5 → 25 → 50 → 100% with a `PROMOTION_BAKE_SECONDS` bake each (default 2), each step judged on
 * samples posted over HTTP (canary and baseline from the same distribution: every step passes).
 * Prints per run and as medians, from GET /promotion/status's timings:
 * - deployment time: start to promoted, bake and people's waiting excluded (seed target < 5 min),
 *   as a ratio to the target;
 * - bake time and people's waiting (0 here: staging at autonomy level 3 passes L3 validation
 *   on its own), and the total.
 * Exit status 1 when a run did not end promoted with the alias on the canary.
 * Run alone: `node bench/promotion.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateAliasCommand,
  GetAliasCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { startLocalCloud } from '../infra/local/cloud.ts';
import { loadOrCreateIdpKey, signLocalToken } from '../infra/local/idp.ts';
import { freePorts } from '../infra/local/ports.ts';
import type { Role } from '../lib/auth/roles.ts';
import { percentile } from '../lib/demo/windows.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.PROMOTION_RUNS ?? 3);
const BAKE_SECONDS = Number(process.env.PROMOTION_BAKE_SECONDS ?? 2);
const TARGET_MS = 5 * 60_000;

/** Deterministic normal samples. */
function normals(n: number, mean: number, sd: number, seed: number): number[] {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 1) / 4294967297;
  };
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next()));
}

interface Timing {
  totalMs: number;
  deploymentMs: number;
  bakeMs: number;
  peopleMs: number;
}

/** Runs `runs` promotions on a fresh local cloud; returns their timings (null for a run that did not promote). */
export async function benchPromotion(runs = RUNS): Promise<Array<Timing | null>> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-promotion-'));
  const cloud = await startLocalCloud({ root, dataDir, ports: await freePorts(), functionOutput: 'silent', log: () => {} });
  const key = await loadOrCreateIdpKey(dataDir);
  const lambda = new LambdaClient({
    endpoint: cloud.env.AWS_ENDPOINT_URL_LAMBDA,
    region: cloud.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const functionName = cloud.resources.functions.PromotionStatusLambdaFunction ?? '';
  const results: Array<Timing | null> = [];
  try {
    const versions: string[] = [];
    for (const role of ['primary', 'canary']) {
      await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: functionName, Description: `bench ${role}` }));
      versions.push((await lambda.send(new PublishVersionCommand({ FunctionName: functionName }))).Version ?? '');
    }
    const [primary = '', canary = ''] = versions;
    for (let index = 0; index < runs; index++) {
      const tenant = `bench-${index}-${Math.random().toString(16).slice(2, 8)}`;
      const call = async (roles: Role[], method: string, route: string, parameters?: unknown) => {
        const token = await signLocalToken(key, { tenant, roles, subject: 'bench' });
        const response = await fetch(`${cloud.apiUrl}${route}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(parameters === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(parameters === undefined ? {} : { body: JSON.stringify({ parameters }) }),
        });
        const body = (await response.json()) as { result?: Record<string, unknown> };
        if (response.status >= 300) throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(body)}`);
        return body.result ?? {};
      };
      const alias = `bench-${index}`;
      await lambda.send(new CreateAliasCommand({ FunctionName: functionName, Name: alias, FunctionVersion: primary }));
      await call(['admin'], 'PUT', '/governance/autonomy', { level: 3 });
      const started = await call(['operator'], 'POST', '/promotion/promotions', {
        component: `bench-${index}`,
        version: `1.${canary}.0`,
        stage: 'staging',
        target: {
          kind: 'lambda-alias',
          resource: `arn:aws:lambda:${cloud.region}:${cloud.accountId}:function:${functionName}:${alias}`,
          canaryVersion: canary,
        },
        bakeSeconds: BAKE_SECONDS,
        metrics: [{ name: 'latency', critical: true }],
      });
      const promotionId = String(started.promotionId);
      for (let step = 0; step < 3; step++) {
        await call(['operator'], 'POST', '/promotion/metrics', {
          promotionId,
          step,
          metrics: {
            latency: { canary: normals(40, 100, 10, index * 100 + step), baseline: normals(40, 100, 10, index * 100 + step + 50) },
          },
        });
      }
      const deadline = Date.now() + 120_000 + 4 * BAKE_SECONDS * 1000;
      let promotion: Record<string, unknown> | undefined;
      while (Date.now() < deadline) {
        const listed = (await call(['viewer'], 'GET', `/promotion/status?promotionId=${promotionId}`)).promotions as Array<
          Record<string, unknown>
        >;
        promotion = listed[0];
        if (promotion && ['promoted', 'rolled-back', 'failed', 'refused'].includes(String(promotion.status))) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const aliasNow = await lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: alias }));
      const timing = promotion?.timing as Timing | undefined;
      const ok = promotion?.status === 'promoted' && aliasNow.FunctionVersion === canary && timing?.deploymentMs !== undefined;
      results.push(ok && timing ? timing : null);
      const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(2)} s`);
      console.log(
        `run ${index + 1}: ${String(promotion?.status)} (alias on version ${aliasNow.FunctionVersion}); deployment ${s(timing?.deploymentMs)}, bake ${s(timing?.bakeMs)}, people ${s(timing?.peopleMs)}, total ${s(timing?.totalMs)}`,
      );
    }
  } finally {
    lambda.destroy();
    await cloud.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  const done = results.filter((result): result is Timing => result !== null);
  if (done.length > 0) {
    const median = (field: keyof Timing) =>
      percentile(
        done.map((timing) => timing[field]),
        0.5,
      );
    console.log(
      `deployment time, bake and people excluded (seed target < 5 min): median ${(median('deploymentMs') / 1000).toFixed(2)} s = ${(median('deploymentMs') / TARGET_MS).toFixed(4)}× the target, ` +
        `max ${(Math.max(...done.map((timing) => timing.deploymentMs)) / 1000).toFixed(2)} s`,
    );
    console.log(
      `bake median ${(median('bakeMs') / 1000).toFixed(2)} s (3 judged steps × ${BAKE_SECONDS} s asked), people median ${(median('peopleMs') / 1000).toFixed(2)} s, total median ${(median('totalMs') / 1000).toFixed(2)} s`,
    );
  }
  console.log(`${done.length} of ${results.length} run(s) promoted to 100% with the alias on the canary`);
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await benchPromotion();
  process.exit(results.every((result) => result !== null) ? 0 : 1);
}
