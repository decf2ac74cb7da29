/**
 * The improvement demo against a running local cloud (issue 13, Loop 1): two configurations of a
 * stand-in service with different latency distributions, the loop finding and promoting the better
 * one, then a deliberately worse one canaried and rolled back. Used by `npm run demo -- improve`
 * (scripts/demo.ts) and test/integration/improve-demo.test.ts.
 *
 * 1. **Setup**: the demo engine's function (lib/demo/service.ts) gets three published versions, each
 *    with its latency switch (`DEMO_SERVICE_FAULT`, no errors): `slow` (+40 ms, serving), `fast`
 *    (+0 ms) and `worse` (+120 ms); an alias of the demo's own on `slow`; the service's arms declared
 *    to Evolution (`addedLatencyMs` is each arm's configuration); autonomy level 3 (a staging promotion
 *    passes L3 validation on its own).
 * 2. **Observe**: each version is called directly and each call's latency and success posted to
 *    `POST /evolution/observations`.
 * 3. **Loop 1** (`POST /evolution/loops`), watched through `GET /evolution/loops` and
 *    `GET /promotion/status`, never driven: while it runs, clients call the service through the alias;
 *    the version that served each call (Lambda's `ExecutedVersion`) says canary or baseline, and at each
 *    look the latencies measured since are posted to `POST /promotion/metrics` for the step the
 *    promotion is at, for the canary judge.
 * 4. **A worse configuration**: a second run asks for arm `worse`; its canary is judged worse and
 *    rolled back on its own.
 * 5. **Ledger**: the tenant's `events.evolution`, `.versioning` and `.promotion` streams verify.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { z } from 'zod';
import type { Role } from '../lib/auth/roles.ts';

/** The configurations: each arm's added latency (ms) on every request. */
export const IMPROVE_ARMS = { slow: 40, fast: 0, worse: 120 } as const;
type ArmId = keyof typeof IMPROVE_ARMS;

/** What the demo needs to know about the cloud it runs against. */
export interface ImproveDemoOptions {
  apiUrl: string;
  lambdaEndpoint?: string;
  region: string;
  accountId: string;
  /** The demo service's function name in the stage. */
  functionName: string;
  tenant: string;
  token: (roles: Role[], subject: string) => Promise<string>;
  /** Calls per arm while observing (default 40). */
  observations?: number;
  /** Bake seconds per canary step (default 5: the demo posts what it measured every look, a few per bake). */
  bakeSeconds?: number;
  /** Bound on each run (ms, default 300 s: on a loaded machine the first run pays every cold start, the gate's among them). */
  runTimeoutMs?: number;
  /** Each line as it happens. */
  onLine?: (line: string) => void;
}

const stepSchema = z.object({ step: z.string(), at: z.string(), ms: z.number(), detail: z.string() });
/** One run of the loop in the report. */
export const improveRunSchema = z.object({
  loopId: z.string(),
  status: z.string(),
  chosen: z.string().nullable(),
  version: z.string().nullable(),
  promotionId: z.string().nullable(),
  /** Each step with its time since the run was requested (ms) and its own duration. */
  steps: z.array(stepSchema.extend({ sinceMs: z.number() })),
  /** The judge's report per canary step: weight, decision, score, latency medians and the shift. */
  judged: z.array(
    z.object({
      step: z.number(),
      weight: z.number(),
      decision: z.string(),
      score: z.number(),
      canaryMedianMs: z.number().nullable(),
      baselineMedianMs: z.number().nullable(),
      shiftMs: z.number().nullable(),
      p: z.number().nullable(),
      samples: z.object({ canary: z.number(), baseline: z.number() }),
    }),
  ),
  timing: z.object({
    decisionMs: z.number().nullable(),
    tagMs: z.number().nullable(),
    deploymentMs: z.number().nullable(),
    bakeMs: z.number().nullable(),
    peopleMs: z.number().nullable(),
    totalMs: z.number().nullable(),
  }),
});
/** A run. */
export type ImproveRun = z.infer<typeof improveRunSchema>;

/** The demo's result, as `--json` prints it. */
export const improveReportSchema = z.object({
  tenant: z.string(),
  observed: z.record(z.string(), z.object({ n: z.number(), medianMs: z.number() })),
  improvement: improveRunSchema,
  worse: improveRunSchema,
  ledger: z.array(z.object({ stream: z.string(), intact: z.boolean(), entries: z.number() })),
  /** The better configuration promoted, the worse one rolled back, every stream verifying. */
  ok: z.boolean(),
});
/** The report. */
export type ImproveReport = z.infer<typeof improveReportSchema>;

// biome-ignore lint/suspicious/noExplicitAny: the demo reads whatever JSON a route replies, field by field
type Json = any;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : (sorted[Math.floor((sorted.length - 1) / 2)] ?? 0);
};

/**
 * Runs the demo once; never throws for a loop that did not do what it should (the report says so),
 * only for a cloud it cannot set up on.
 * @throws Error when the API or Lambda refuses the setup.
 */
export async function runImproveDemo(options: ImproveDemoOptions): Promise<ImproveReport> {
  const say = options.onLine ?? (() => {});
  const tenant = options.tenant;
  const runId = randomUUID().slice(0, 8);
  const aliasName = `improve-${runId}`;
  const aliasArn = `arn:aws:lambda:${options.region}:${options.accountId}:function:${options.functionName}:${aliasName}`;
  const service = 'demo/checkout';
  const component = `demo-checkout-${runId}`;
  const bakeSeconds = options.bakeSeconds ?? 5;
  const tokens = new Map<string, string>();
  const call = async (method: string, path: string, role: Role, parameters?: unknown): Promise<{ status: number; body: Json }> => {
    let token = tokens.get(role);
    if (!token) {
      token = await options.token([role], `demo-${role}`);
      tokens.set(role, token);
    }
    const response = await fetch(`${options.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(parameters === undefined ? {} : { 'content-type': 'application/json' }) },
      body: parameters === undefined ? undefined : JSON.stringify({ parameters }),
    });
    const text = await response.text();
    try {
      return { status: response.status, body: JSON.parse(text) };
    } catch {
      return { status: response.status, body: text };
    }
  };
  const expectOk = (what: string, reply: { status: number; body: Json }) => {
    if (reply.status >= 300) throw new Error(`${what}: ${reply.status} ${JSON.stringify(reply.body)}`.slice(0, 1000));
    return reply.body?.result;
  };

  // --- Setup: one published version per configuration, an alias on the serving one.
  const lambda = new LambdaClient({
    region: options.region,
    maxAttempts: 1,
    ...(options.lambdaEndpoint
      ? { endpoint: options.lambdaEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
  const FunctionName = options.functionName;
  const setupStarted = Date.now();
  const latest = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName }));
  const { DEMO_SERVICE_FAULT: _left, ...base } = latest.Environment?.Variables ?? {};
  const versions = {} as Record<ArmId, string>;
  for (const arm of Object.keys(IMPROVE_ARMS) as ArmId[]) {
    const switchText = JSON.stringify({ latencyMs: IMPROVE_ARMS[arm], errorRate: 0 });
    for (let attempt = 0; attempt < 5 && !versions[arm]; attempt++) {
      await lambda.send(
        new UpdateFunctionConfigurationCommand({ FunctionName, Environment: { Variables: { ...base, DEMO_SERVICE_FAULT: switchText } } }),
      );
      const version = (await lambda.send(new PublishVersionCommand({ FunctionName, Description: `improve demo: ${arm}` }))).Version ?? '';
      const published = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName, Qualifier: version }));
      if (published.Environment?.Variables?.DEMO_SERVICE_FAULT === switchText) versions[arm] = version;
    }
    if (!versions[arm]) throw new Error(`could not publish the ${arm} configuration of ${FunctionName}: its configuration kept changing`);
  }
  await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName, Environment: { Variables: base } }));
  await lambda.send(new CreateAliasCommand({ FunctionName, Name: aliasName, FunctionVersion: versions.slow, Description: 'improve demo' }));
  expectOk('PUT /governance/autonomy', await call('PUT', '/governance/autonomy', 'admin', { level: 3 }));
  expectOk(
    'PUT /evolution/config',
    await call('PUT', '/evolution/config', 'operator', {
      service,
      arms: (Object.keys(IMPROVE_ARMS) as ArmId[]).map((arm) => ({
        id: arm,
        parameters: { addedLatencyMs: IMPROVE_ARMS[arm] },
        description: `Lambda version ${versions[arm]}`,
      })),
      current: 'slow',
      weights: { success: 1, latency: 1, cost: 0 },
      scales: { latencyMs: 100 },
      minObservations: 20,
    }),
  );
  say(
    `setup     ${((Date.now() - setupStarted) / 1000).toFixed(1)} s: ${FunctionName} versions ${(Object.keys(IMPROVE_ARMS) as ArmId[]).map((arm) => `${arm}=${versions[arm]} (+${IMPROVE_ARMS[arm]} ms)`).join(', ')}; alias ${aliasName} → slow; autonomy level 3`,
  );

  const invoke = async (qualifier: string) => {
    const started = performance.now();
    const reply = await lambda.send(new InvokeCommand({ FunctionName, Qualifier: qualifier, Payload: Buffer.from('{}') }));
    return { ms: performance.now() - started, ok: reply.FunctionError === undefined, version: reply.ExecutedVersion ?? '' };
  };

  // --- Observe: each configuration called directly, its outcomes posted to Evolution.
  const observed: ImproveReport['observed'] = {};
  const perArm = options.observations ?? 40;
  for (const arm of Object.keys(IMPROVE_ARMS) as ArmId[]) {
    // Its environments start, one per client at once: a cold start is not the configuration's latency (it would swamp the means).
    await Promise.all(Array.from({ length: 4 }, () => invoke(versions[arm])));
    const calls: Array<{ ms: number; ok: boolean }> = [];
    for (let i = 0; i < perArm; i += 4)
      calls.push(...(await Promise.all(Array.from({ length: Math.min(4, perArm - i) }, () => invoke(versions[arm])))));
    expectOk(
      'POST /evolution/observations',
      await call('POST', '/evolution/observations', 'operator', {
        service,
        observations: calls.map((c) => ({ arm, success: c.ok, latencyMs: Math.round(c.ms * 100) / 100 })),
      }),
    );
    observed[arm] = { n: calls.length, medianMs: Math.round(median(calls.map((c) => c.ms)) * 10) / 10 };
  }
  say(
    `observed  ${Object.entries(observed)
      .map(([arm, o]) => `${arm}: ${o.n} calls, median ${o.medianMs} ms`)
      .join('; ')}`,
  );

  // The routes the watch uses start once now, so the first canary's bake is not spent waiting for their cold starts.
  await call('GET', '/promotion/status', 'viewer');
  await call('POST', '/promotion/metrics', 'operator', {});
  await call('GET', '/evolution/loops', 'viewer');
  const deployments = Object.fromEntries((Object.keys(IMPROVE_ARMS) as ArmId[]).map((arm) => [arm, versions[arm]]));
  const runLoop = async (label: string, arm?: ArmId): Promise<ImproveRun> => {
    const requestedAt = Date.now();
    const started = expectOk(
      'POST /evolution/loops',
      await call('POST', '/evolution/loops', 'operator', {
        service,
        component,
        target: { kind: 'lambda-alias', resource: aliasArn },
        deployments,
        ...(arm ? { arm } : {}),
        promotion: {
          stage: 'staging',
          steps: [25, 50, 100],
          bakeSeconds,
          metrics: [{ name: 'latency', direction: 'increase-is-bad', critical: true, weight: 1 }],
          metricsSource: 'posted',
        },
        reason: label,
      }),
    );
    const loopId: string = started.loopId;
    say(`${label}: loop ${loopId}`);
    // Traffic through the alias while the run lasts; each step's latencies posted for the judge.
    let running = true;
    let promotion: Json;
    // Every call's latency and the version that served it, until posted to the step the promotion is at.
    let served: Array<{ ms: number; version: string }> = [];
    const counted = new Map<number, { canary: number; baseline: number }>();
    const clients = Array.from({ length: 3 }, async () => {
      while (running) {
        const outcome = await invoke(aliasName).catch(() => undefined);
        if (outcome?.ok) served.push({ ms: Math.round(outcome.ms * 100) / 100, version: outcome.version });
        if (served.length > 2000) served = served.slice(-1000);
      }
    });
    const shown = new Set<string>();
    const judgedShown = new Set<number>();
    let loop: Json;
    const deadline = requestedAt + (options.runTimeoutMs ?? 300_000);
    try {
      while (Date.now() < deadline) {
        await sleep(200);
        // A read the cloud could not answer now (a cold function past its timeout) is read again next time.
        const read = await call('GET', `/evolution/loops?loopId=${loopId}`, 'viewer');
        if (read.status >= 500) continue;
        loop = expectOk('GET /evolution/loops', read).loops[0];
        for (const s of loop.steps as Array<z.infer<typeof stepSchema>>) {
          const key = `${s.step}@${s.at}`;
          if (shown.has(key)) continue;
          shown.add(key);
          say(
            `  +${((Date.parse(s.at) - requestedAt) / 1000).toFixed(1).padStart(5)} s  ${s.step.padEnd(10)} ${s.detail} (${Math.round(s.ms)} ms)`,
          );
        }
        if (loop.promotionId) {
          const status = await call('GET', `/promotion/status?promotionId=${loop.promotionId}`, 'viewer');
          if (status.status < 500) promotion = expectOk('GET /promotion/status', status).promotions[0];
          const step: number = promotion?.step ?? -1;
          if (step >= 0 && ['running', 'baking'].includes(promotion?.status) && served.length > 0) {
            const batch = served;
            served = [];
            const bucket = {
              canary: batch.filter((o) => o.version === promotion.target.canaryVersion).map((o) => o.ms),
              baseline: batch.filter((o) => o.version !== promotion.target.canaryVersion).map((o) => o.ms),
            };
            const reply = await call('POST', '/promotion/metrics', 'operator', {
              promotionId: loop.promotionId,
              step,
              metrics: { latency: { canary: bucket.canary.slice(-500), baseline: bucket.baseline.slice(-500) } },
            });
            // Not taken now (a cold function past its timeout): these samples go with the next post.
            if (reply.status >= 500) served = [...batch, ...served];
            else if (reply.status === 200) {
              const c = counted.get(step) ?? { canary: 0, baseline: 0 };
              counted.set(step, {
                canary: c.canary + Math.min(500, bucket.canary.length),
                baseline: c.baseline + Math.min(500, bucket.baseline.length),
              });
            }
          } else if (step < 0) served = served.slice(-200);
          for (const report of (promotion?.reports ?? []) as Json[]) {
            if (judgedShown.has(report.step)) continue;
            judgedShown.add(report.step);
            const m = report.metrics[0];
            say(
              `           judge step ${report.step} at ${report.weight}%: ${report.decision.toUpperCase()} score ${report.score}; latency canary median ${m?.canary.median?.toFixed(1) ?? '-'} ms (n=${m?.canary.n}) vs baseline ${m?.baseline.median?.toFixed(1) ?? '-'} ms (n=${m?.baseline.n}), shift ${m?.shift ? `${m.shift.estimate.toFixed(1)} ms [${m.shift.lower.toFixed(1)}, ${m.shift.upper.toFixed(1)}]` : '-'}, p ${m?.p === null || m?.p === undefined ? '-' : m.p.toExponential(2)} → ${m?.classification}`,
            );
          }
        }
        if (loop.finishedAt) break;
      }
    } finally {
      running = false;
      await Promise.all(clients);
    }
    const reports: Json[] = promotion?.reports ?? [];
    return {
      loopId,
      status: loop?.finishedAt ? loop.status : 'timed-out',
      chosen: loop?.chosen ?? null,
      version: loop?.version?.version ?? null,
      promotionId: loop?.promotionId ?? null,
      steps: (loop?.steps ?? []).map((s: z.infer<typeof stepSchema>) => ({ ...s, sinceMs: Date.parse(s.at) - requestedAt })),
      judged: reports.map((r) => ({
        step: r.step,
        weight: r.weight,
        decision: r.decision,
        score: r.score,
        canaryMedianMs: r.metrics[0]?.canary.median ?? null,
        baselineMedianMs: r.metrics[0]?.baseline.median ?? null,
        shiftMs: r.metrics[0]?.shift?.estimate ?? null,
        p: r.metrics[0]?.p ?? null,
        samples: counted.get(r.step) ?? { canary: 0, baseline: 0 },
      })),
      timing: {
        decisionMs: loop?.decision?.decisionMs ?? null,
        tagMs: loop?.version?.tagMs ?? null,
        deploymentMs: promotion?.timing?.deploymentMs ?? null,
        bakeMs: promotion?.timing?.bakeMs ?? null,
        peopleMs: promotion?.timing?.peopleMs ?? null,
        totalMs: loop?.totalMs ?? null,
      },
    };
  };

  try {
    const improvement = await runLoop('Loop 1: find the better configuration and promote it');
    const worse = await runLoop('A deliberately worse configuration (+120 ms), canaried', 'worse');
    const ledger = [];
    for (const stream of ['events.evolution', 'events.versioning', 'events.promotion']) {
      const deadline = Date.now() + 30_000;
      let check = { stream, intact: false, entries: 0 };
      while (Date.now() < deadline) {
        const reply = await call('GET', `/audit/verify?stream=${stream}`, 'viewer');
        check = {
          stream,
          intact: reply.body?.result?.intact === true,
          entries: Number(reply.body?.result?.entries ?? reply.body?.result?.length ?? 0),
        };
        if (check.intact && check.entries > 0) break;
        await sleep(500);
      }
      ledger.push(check);
      say(`ledger    ${stream.padEnd(18)} ${check.intact ? 'intact' : 'NOT INTACT'}, ${check.entries} entries`);
    }
    const ok =
      improvement.status === 'promoted' && improvement.chosen === 'fast' && worse.status === 'rolled-back' && ledger.every((c) => c.intact);
    return { tenant, observed, improvement, worse, ledger, ok };
  } finally {
    lambda.destroy();
  }
}
