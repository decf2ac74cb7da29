/**
 * The self-repair demo against a running local cloud (issue 10, Loop 2): a service, a bad release,
 * and the product repairing it while the demo watches. Used by `npm run demo -- self-repair`
 * (scripts/demo.ts), `bench/self-repair.ts` and `test/integration/self-repair-demo.test.ts`.
 *
 * 1. **Setup**: the demo engine's function (lib/demo/service.ts) gets two published versions, a
 *    healthy one and one released with its fault switch on, and an alias of the demo's own that
 *    sends all traffic to the healthy one. The tenant's autonomy level is set to 2 (a low-risk
 *    repair in dev is autonomous) or, with `gate`, to 1 (people approve every change).
 * 2. **Warm-up**: clients call the service through the alias without pause; every ~100 ms window
 *    becomes two points (p95 latency, error percentage) sent to `POST /observation/ingest`, until
 *    both series are past the default detector's warm-up and the incident tracker's estimation. The
 *    component and its `roll-back` binding (`lambda-alias` on the alias) are registered with Reflex
 *    only then, so a false alarm while the series learn their normal makes nobody act.
 * 3. **Fault**: the alias sends half its traffic to the faulty version (a canary of a bad release).
 * 4. **The loop**, watched through the APIs, never driven: Observation's ingest replies (incident
 *    opened, closed), `GET /reflex/incidents` (diagnosis, the playbook and its proposal),
 *    `GET /governance/proposals` (route, status), `GET /execution/runs` (the run of the proposal,
 *    `exec-<proposalId>`) and the alias itself (its weights). With `gate`, the demo plays the
 *    approver and approves the pending proposal, as a person would on the approvals page.
 * 5. **Recovered** when the change is verified, every incident opened since the fault is closed, and
 *    the last windows are back under the healthy ceiling (lib/demo/windows.ts).
 * 6. **Ledger**: the tenant's streams (`events.observation`, `.reflex`, `.governance`, `.execution`)
 *    hold each step's event and verify (`GET /audit/verify`).
 */
import { randomUUID } from 'node:crypto';
import {
  CreateAliasCommand,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import type { Role } from '../lib/auth/roles.ts';
import type { DemoReport, DemoStep, DemoStepName, LedgerCheck } from '../lib/demo/report.ts';
import type { Fault } from '../lib/demo/service.ts';
import {
  DEFAULT_WINDOW_RULE,
  normalCeiling,
  percentile,
  type RequestSample,
  WindowCollector,
  type WindowFigures,
  type WindowRule,
} from '../lib/demo/windows.ts';
import { incidentIdOf } from '../lib/reflex/schemas.ts';

/** The fault the demo releases: 300 ms more per request and 30 % of requests failing. */
export const DEFAULT_FAULT: Fault = { latencyMs: 300, errorRate: 0.3 };

/**
 * Points per series before the fault: the default detector's warm-up (60) and the incident tracker's
 * estimation (64 scored points) with a margin, so the first judged points are behind us.
 */
export const DEFAULT_WARM_POINTS = 150;

/** The tenant's ledger streams the loop writes to: one per engine that takes part. */
export const LOOP_STREAMS = ['events.observation', 'events.reflex', 'events.governance', 'events.execution'] as const;

/** What the demo needs to know about the cloud it runs against, and how it runs. */
export interface SelfRepairDemoOptions {
  /** The HTTP API, e.g. `http://127.0.0.1:3000`. */
  apiUrl: string;
  /** Lambda's endpoint (the local cloud's gateway); the SDK's own configuration when absent. */
  lambdaEndpoint?: string;
  region: string;
  accountId: string;
  /** The demo service's function name in the stage, e.g. `autonomy-local-demoService`. */
  functionName: string;
  /** A fresh tenant keeps each run's incidents, cases and ledger its own. */
  tenant: string;
  /** A bearer token for the tenant with these roles, as `subject`. */
  token: (roles: Role[], subject: string) => Promise<string>;
  fault?: Fault;
  /** Share of the alias's traffic the faulty version gets (0-1). */
  canaryWeight?: number;
  warmPoints?: number;
  /** Bound on warming up (ms). */
  warmTimeoutMs?: number;
  /** Bound from the injection to recovery (ms). */
  recoveryTimeoutMs?: number;
  /** Bound on the ledger catching up with the loop (ms). */
  ledgerTimeoutMs?: number;
  /** The newest windows whose median must be back under the healthy ceiling to call the service recovered. */
  calmWindows?: number;
  /** Ask people: autonomy level 1, and the demo approves as a second person. */
  gate?: boolean;
  windowRule?: WindowRule;
  /** Clients calling the service at once. */
  clients?: number;
  /** Each step as it happens. */
  onStep?: (step: DemoStep) => void;
  /** Progress notes (warm-up, waiting). */
  log?: (line: string) => void;
}

/** One of the service's series: its name and how a window becomes its value. */
interface SeriesSpec {
  name: string;
  unit: string;
  value: (window: WindowFigures) => number;
}

/** An incident Observation opened or closed on one of the demo's series. */
interface TrackedIncident {
  id: string;
  series: string;
  start: string;
  openedAt: number;
  /** When the point that opened it was sent (its arrival). */
  sentAt: number;
  closedAt?: number;
}

// biome-ignore lint/suspicious/noExplicitAny: the demo reads whatever JSON a route replies, field by field
type Json = any;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the demo once and returns its report; never throws for a loop that did not recover (the
 * report says what is missing), only for a cloud it cannot set up on.
 * @throws Error when the API or Lambda refuses the setup, or warming up takes longer than its bound.
 */
export async function runSelfRepairDemo(options: SelfRepairDemoOptions): Promise<DemoReport> {
  const fault = options.fault ?? DEFAULT_FAULT;
  const canaryWeight = options.canaryWeight ?? 0.5;
  const warmPoints = options.warmPoints ?? DEFAULT_WARM_POINTS;
  const recoveryTimeoutMs = options.recoveryTimeoutMs ?? 90_000;
  const calmWindows = options.calmWindows ?? 10;
  const log = options.log ?? (() => {});
  const tenant = options.tenant;
  const runId = randomUUID().slice(0, 8);
  const aliasName = `demo-${runId}`;
  const aliasArn = `arn:aws:lambda:${options.region}:${options.accountId}:function:${options.functionName}:${aliasName}`;
  const component = 'demo/checkout';
  const series: SeriesSpec[] = [
    { name: 'demo.checkout.latency.p95', unit: 'ms', value: (window) => Math.round(window.p95LatencyMs * 100) / 100 },
    { name: 'demo.checkout.errors.percent', unit: '%', value: (window) => Math.round(window.errorPercent * 100) / 100 },
  ];

  // Steps before the fault wait for its time: every step's time is counted from the injection.
  const steps: DemoStep[] = [];
  const early: { name: DemoStepName; detail: string; at: number }[] = [];
  let injectedAt: number | undefined;
  const step = (name: DemoStepName, detail: string, at = Date.now()) => {
    if (injectedAt === undefined && name !== 'injected') {
      early.push({ name, detail, at });
      return;
    }
    const t0 = injectedAt ?? at;
    for (const entry of [
      ...early.splice(0).map((pending) => ({ step: pending.name, atMs: pending.at - t0, detail: pending.detail })),
      { step: name, atMs: at - t0, detail },
    ]) {
      steps.push(entry);
      options.onStep?.(entry);
    }
  };

  // --- The API, as the tenant.
  const tokens = new Map<string, string>();
  const call = async (
    method: string,
    path: string,
    role: Role,
    parameters?: unknown,
    subject = `demo-${role}`,
  ): Promise<{ status: number; body: Json }> => {
    const key = `${role}/${subject}`;
    let token = tokens.get(key);
    if (!token) {
      token = await options.token([role], subject);
      tokens.set(key, token);
    }
    const response = await fetch(`${options.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(parameters === undefined ? {} : { 'content-type': 'application/json' }) },
      body: parameters === undefined ? undefined : JSON.stringify({ parameters }),
    });
    const text = await response.text();
    let body: Json = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: response.status, body };
  };
  const expectOk = (what: string, reply: { status: number; body: Json }) => {
    if (reply.status >= 300)
      throw new Error(
        `${what}: ${reply.status} ${typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body)}`.slice(0, 1000),
      );
    return reply.body;
  };

  // --- Setup: two versions (healthy, faulty) and an alias on the healthy one.
  const lambda = new LambdaClient({
    region: options.region,
    maxAttempts: 1,
    ...(options.lambdaEndpoint
      ? { endpoint: options.lambdaEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
  const FunctionName = options.functionName;
  const latest = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName }));
  const { DEMO_SERVICE_FAULT: leftOver, ...healthyVariables } = latest.Environment?.Variables ?? {};
  if (leftOver !== undefined)
    await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName, Environment: { Variables: healthyVariables } }));
  const publish = async (variables: Record<string, string>, description: string, faulty: boolean): Promise<string> => {
    // Another demo on the same cloud may change $LATEST between our update and our publish: check the version, try again.
    for (let attempt = 0; attempt < 5; attempt++) {
      await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName, Environment: { Variables: variables } }));
      const version = (await lambda.send(new PublishVersionCommand({ FunctionName, Description: description }))).Version ?? '';
      const published = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName, Qualifier: version }));
      if ((published.Environment?.Variables?.DEMO_SERVICE_FAULT !== undefined) === faulty) return version;
    }
    throw new Error(`could not publish a ${faulty ? 'faulty' : 'healthy'} version of ${FunctionName}: its configuration kept changing`);
  };
  const healthyVersion = await publish(healthyVariables, 'demo: healthy release', false);
  const faultyVersion = await publish(
    { ...healthyVariables, DEMO_SERVICE_FAULT: JSON.stringify(fault) },
    `demo: release with a fault (${JSON.stringify(fault)})`,
    true,
  );
  await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName, Environment: { Variables: healthyVariables } }));
  await lambda.send(
    new CreateAliasCommand({ FunctionName, Name: aliasName, FunctionVersion: healthyVersion, Description: 'self-repair demo' }),
  );
  const level = options.gate ? 1 : 2;
  expectOk('PUT /governance/autonomy', await call('PUT', '/governance/autonomy', 'admin', { level }));
  // The loop's defaults suit minutely series (look every 10 s for 5 minutes); these series get ten points a second.
  const loopSettings = { enabled: true, verifyIntervalSeconds: 1, recoveryWindowSeconds: 60, calmPoints: 10 };
  expectOk('PUT /reflex/config', await call('PUT', '/reflex/config', 'operator', loopSettings));
  step(
    'setup',
    `tenant ${tenant}; ${FunctionName}: version ${healthyVersion} healthy, version ${faultyVersion} released with the fault ${JSON.stringify(fault)}; alias ${aliasName} → version ${healthyVersion}; autonomy level ${level}${options.gate ? ' (people approve)' : ' (a low-risk repair in dev is autonomous)'}; self-repair loop verifies every ${loopSettings.verifyIntervalSeconds} s for up to ${loopSettings.recoveryWindowSeconds} s`,
  );

  // --- Traffic: clients call the service through the alias; windows become points.
  let running = true;
  const windows = new WindowCollector(options.windowRule ?? DEFAULT_WINDOW_RULE, Date.now());
  let reporting = false;
  const clients = Array.from({ length: options.clients ?? 4 }, async (_, client) => {
    let n = 0;
    while (running) {
      const started = performance.now();
      let ok = false;
      try {
        const reply = await lambda.send(
          new InvokeCommand({ FunctionName, Qualifier: aliasName, Payload: Buffer.from(JSON.stringify({ request: `${client}-${n++}` })) }),
        );
        ok = reply.FunctionError === undefined;
      } catch {
        ok = false;
      }
      if (reporting) windows.add({ endedAt: Date.now(), latencyMs: performance.now() - started, ok } satisfies RequestSample);
    }
  });

  const healthyValues = new Map<string, number[]>(series.map((spec) => [spec.name, []]));
  const recentValues = new Map<string, number[]>(series.map((spec) => [spec.name, []]));
  const pending: { series: string; timestamp: string; value: number }[] = [];
  const applied = new Map<string, number>(series.map((spec) => [spec.name, 0]));
  const incidents = new Map<string, TrackedIncident>();
  const open = new Set<string>();
  let ingestFailures = 0;
  let trafficError: Error | undefined;
  const reporter = (async () => {
    while (running) {
      await sleep(20);
      if (!reporting) continue;
      const figures = windows.close(Date.now());
      if (!figures) continue;
      for (const spec of series) {
        const value = spec.value(figures);
        pending.push({ series: spec.name, timestamp: new Date(figures.end).toISOString(), value });
        const recent = recentValues.get(spec.name) ?? [];
        recent.push(value);
        if (recent.length > calmWindows) recent.shift();
        if (injectedAt === undefined) healthyValues.get(spec.name)?.push(value);
      }
    }
  })();
  const sender = (async () => {
    while (running || pending.length > 0) {
      if (pending.length === 0) {
        await sleep(10);
        continue;
      }
      const batch = pending.splice(0, 500);
      const sentAt = Date.now();
      const reply = await call('POST', '/observation/ingest', 'operator', { points: batch }).catch((error: Error) => ({
        status: 0,
        body: error.message,
      }));
      const repliedAt = Date.now();
      if (reply.status !== 200) {
        // A 503 names what it did not apply; the rest come back as duplicates when sent again.
        ingestFailures++;
        if (ingestFailures > 20) {
          trafficError = new Error(`POST /observation/ingest keeps failing: ${reply.status} ${JSON.stringify(reply.body).slice(0, 500)}`);
          running = false;
          return;
        }
        pending.unshift(...batch);
        await sleep(200);
        continue;
      }
      for (const point of batch) applied.set(point.series, (applied.get(point.series) ?? 0) + 1);
      for (const incident of (reply.body?.result?.incidents ?? []) as { series: string; status: string; start: string }[]) {
        const id = incidentIdOf(incident.series, incident.start);
        if (incident.status === 'opened') {
          incidents.set(id, { id, series: incident.series, start: incident.start, openedAt: repliedAt, sentAt });
          open.add(id);
        } else {
          const tracked = incidents.get(id);
          if (tracked) tracked.closedAt = repliedAt;
          open.delete(id);
        }
      }
    }
  })();
  const stopTraffic = async () => {
    running = false;
    await Promise.all([...clients, reporter, sender]);
  };

  const missing: string[] = [];
  try {
    // --- Warm-up.
    await sleep(1000); // environments start (their cold starts are not the service's normal)
    reporting = true;
    const warmDeadline = Date.now() + (options.warmTimeoutMs ?? 120_000);
    let lastNote = 0;
    for (;;) {
      if (trafficError) throw trafficError;
      const points = Math.min(...series.map((spec) => applied.get(spec.name) ?? 0));
      if (points >= warmPoints && open.size === 0) break;
      if (Date.now() > warmDeadline) {
        throw new Error(
          `warming up took longer than ${options.warmTimeoutMs ?? 120_000} ms: ${points} of ${warmPoints} points per series, ${open.size} incident(s) open`,
        );
      }
      if (Date.now() - lastNote > 3000) {
        log(
          `warming up: ${points} of ${warmPoints} points per series${open.size > 0 ? `, waiting for ${open.size} incident(s) on the healthy service to close` : ''}`,
        );
        lastNote = Date.now();
      }
      await sleep(50);
    }
    const falseAlarms = incidents.size;
    const ceilings = new Map(series.map((spec) => [spec.name, normalCeiling(healthyValues.get(spec.name) ?? [])]));
    expectOk(
      'PUT /reflex/components',
      await call('PUT', '/reflex/components', 'operator', {
        components: [
          {
            id: component,
            kind: 'lambda',
            environment: 'dev',
            series: series.map((spec) => spec.name),
            description: `The self-repair demo's service (${FunctionName}, alias ${aliasName})`,
            bindings: { 'roll-back': { kind: 'lambda-alias', resource: aliasArn } },
          },
        ],
      }),
    );
    step(
      'warmed',
      `${Math.min(...series.map((spec) => applied.get(spec.name) ?? 0))} points per series; normal: ${series.map((spec) => `${spec.name} ≤ ${(ceilings.get(spec.name) ?? 0).toFixed(1)} ${spec.unit}`).join(', ')}` +
        `${falseAlarms > 0 ? `; ${falseAlarms} incident(s) opened and closed while the series learned their normal` : ''}; component ${component} registered with its roll-back binding (lambda-alias ${aliasArn})`,
    );

    // --- The fault: a canary of the bad release.
    const before = new Set(incidents.keys());
    await lambda.send(
      new UpdateAliasCommand({
        FunctionName,
        Name: aliasName,
        FunctionVersion: healthyVersion,
        RoutingConfig: { AdditionalVersionWeights: { [faultyVersion]: canaryWeight } },
      }),
    );
    injectedAt = Date.now();
    step(
      'injected',
      `alias ${aliasName}: ${Math.round(canaryWeight * 100)} % of traffic to version ${faultyVersion} (+${fault.latencyMs} ms, ${Math.round(fault.errorRate * 100)} % errors)`,
      injectedAt,
    );
    const t0 = injectedAt;

    // --- Watch the loop.
    const deadline = t0 + recoveryTimeoutMs;
    let detected: TrackedIncident | undefined;
    let diagnosedAt: number | undefined;
    let decidedAt: number | undefined;
    let executedAt: number | undefined;
    let recoveredAt: number | undefined;
    // Proposals Reflex made for the incidents since the fault, by id.
    const proposals = new Map<
      string,
      { incidentId: string; playbook: string; target: string; decided?: boolean; approved?: boolean; run?: Json }
    >();
    let executedIncident: string | undefined;
    const reflexDone = new Set<string>();
    const failedRuns = new Set<string>();
    let alias = { version: healthyVersion, weights: { [faultyVersion]: canaryWeight } as Record<string, number> };
    let lastWait = 0;
    const faultIncidents = () => [...incidents.values()].filter((incident) => !before.has(incident.id) && Date.parse(incident.start) >= t0);
    while (Date.now() < deadline && recoveredAt === undefined) {
      await sleep(200);
      if (trafficError) throw trafficError;
      const ours = faultIncidents();
      if (!detected && ours.length > 0) {
        detected = [...ours].sort((a, b) => a.openedAt - b.openedAt)[0];
        if (detected) {
          const others = ours.filter((incident) => incident !== detected).map((incident) => incident.series);
          step(
            'detected',
            `incident opened on ${detected.series} (started ${detected.start}; ${detected.openedAt - detected.sentAt} ms from the point's arrival to the incident)${others.length > 0 ? `; also on ${others.join(', ')}` : ''}`,
            detected.openedAt,
          );
        }
      }
      if (!detected) continue;

      // Reflex: the diagnosis and the playbook it proposed, for each incident (one opened while the
      // series warmed up may be diagnosed after the component is registered: its proposals count too).
      for (const tracked of incidents.values()) {
        if (reflexDone.has(tracked.id)) continue;
        const reply = await call('GET', `/reflex/incidents?incidentId=${encodeURIComponent(tracked.id)}`, 'viewer');
        const incident: Json = reply.status === 200 ? reply.body?.result?.incidents?.[0] : undefined;
        if (incident?.diagnosis && diagnosedAt === undefined && ours.includes(tracked)) {
          diagnosedAt = Math.max(Date.parse(incident.createdAt), detected.openedAt);
          const cause = incident.diagnosis.causes?.[0];
          step(
            'diagnosed',
            `Reflex on ${tracked.series}: most probable cause ${cause?.component ?? 'none'} (confidence ${typeof cause?.confidence === 'number' ? cause.confidence.toFixed(2) : '-'}); signature ${JSON.stringify(incident.match?.signature ?? {})}`,
            diagnosedAt,
          );
        }
        for (const attempt of (incident?.attempts ?? []) as Json[]) {
          if (attempt.proposalId && !proposals.has(attempt.proposalId))
            proposals.set(attempt.proposalId, { incidentId: tracked.id, playbook: attempt.playbook, target: attempt.target });
        }
        if (incident && ['proposed', 'escalated', 'refused', 'recovered', 'closed'].includes(incident.state)) reflexDone.add(tracked.id);
      }

      // Governance: each proposal's route and status (with `gate`, the demo approves as a second person).
      for (const [id, proposal] of proposals) {
        if (proposal.decided) continue;
        const found: Json = (await call('GET', `/governance/proposals?proposalId=${id}`, 'viewer')).body?.result?.proposals?.[0];
        if (found?.status === 'pending' && options.gate && found.approvalId && !proposal.approved) {
          proposal.approved = true;
          expectOk(
            'POST /governance/approvals',
            await call(
              'POST',
              '/governance/approvals',
              'approver',
              { approvalId: found.approvalId, decision: 'approve', reason: 'self-repair demo: the canary is failing' },
              'demo-approver',
            ),
          );
        }
        if (!found || found.status === 'pending') continue;
        proposal.decided = true;
        if (decidedAt === undefined) {
          decidedAt = Math.max(
            Date.parse(found.route === 'autonomous' ? found.createdAt : found.updatedAt),
            diagnosedAt ?? detected.openedAt,
          );
          step(
            'decided',
            `${proposal.playbook} of ${proposal.target} proposed (proposal ${id}): route ${found.route}, risk ${found.assessment?.level} (${found.assessment?.score}), ${found.status}${proposal.approved ? ' (approved by demo-approver)' : ''}`,
            decidedAt,
          );
        }
      }

      // Execution: the runs of the proposals, and what the alias says.
      const now = await lambda.send(new GetAliasCommand({ FunctionName, Name: aliasName }));
      alias = {
        version: now.FunctionVersion ?? '',
        weights: (now.RoutingConfig?.AdditionalVersionWeights ?? {}) as Record<string, number>,
      };
      // The run that changed the alias is the one that executed the fix; later runs of other incidents' proposals find it done.
      for (const [id, proposal] of proposals) {
        if (executedAt !== undefined || !proposal.decided || proposal.run) continue;
        const run: Json = (await call('GET', `/execution/runs?executionId=exec-${id}`, 'viewer')).body?.result;
        if (run?.status === 'failed' && !failedRuns.has(run.executionId)) {
          failedRuns.add(run.executionId);
          log(`run ${run.executionId} failed: ${run.detail}`);
        }
        if (run?.status === 'succeeded' || run?.status === 'failed') proposal.run = run;
      }
      const changing = [...proposals.values()]
        .filter((proposal) => proposal.run?.status === 'succeeded' && (proposal.run.plan?.changes ?? []).length > 0)
        .sort((a, b) => Date.parse(a.run.finishedAt ?? '') - Date.parse(b.run.finishedAt ?? ''))[0];
      if (executedAt === undefined && changing) {
        const run: Json = changing.run;
        executedAt = Math.max(Date.parse(run.finishedAt ?? run.startedAt), decidedAt ?? detected.openedAt);
        executedIncident = changing.incidentId;
        const during = ours.some((incident) => incident.id === changing.incidentId)
          ? ''
          : ` — the loop of ${changing.incidentId}, an incident opened before the fault, whose Reflex record was still open`;
        step(
          'executed',
          `run ${run.executionId} (the loop of ${changing.incidentId}) succeeded (by ${run.actor}): ${run.plan.changes.join('; ')}; read back ${JSON.stringify(run.observed ?? {})}${run.verified ? ', verified' : ', NOT verified'}${during}`,
          executedAt,
        );
      }

      // Recovered: the change verified, every incident since the fault closed, the series back to normal.
      const allClosed = ours.length > 0 && ours.every((incident) => incident.closedAt !== undefined);
      const calm = series.every((spec) => {
        const recent = recentValues.get(spec.name) ?? [];
        // The median: one slow window on a loaded machine is not the fault coming back.
        return recent.length >= calmWindows && percentile(recent, 0.5) <= (ceilings.get(spec.name) ?? 0);
      });
      if (executedAt !== undefined && allClosed && calm) {
        recoveredAt = Date.now();
        const closedEarly = ours.filter((incident) => (incident.closedAt ?? 0) < (executedAt ?? 0)).length;
        const perSeries = series
          .map((spec) => [spec.name, ours.filter((incident) => incident.series === spec.name).length] as const)
          .filter(([, count]) => count > 0)
          .map(([name, count]) => `${name} ×${count}`);
        const medians = series.map((spec) => `${spec.name} ${percentile(recentValues.get(spec.name) ?? [], 0.5).toFixed(1)} ${spec.unit}`);
        step(
          'recovered',
          `${ours.length} incident(s) since the fault, all closed (${perSeries.join(', ')}` +
            `${closedEarly > 0 ? `; ${closedEarly} closed on their own before the fix, as the detector adapted to the shift` : ''}); ` +
            `the last ${calmWindows} windows back to normal (medians ${medians.join(', ')}); alias ${aliasName} → version ${alias.version}${Object.keys(alias.weights).length > 0 ? ` with ${JSON.stringify(alias.weights)}` : ' only'}`,
          recoveredAt,
        );
      } else if (Date.now() - lastWait > 5000) {
        lastWait = Date.now();
        log(
          `+${((Date.now() - t0) / 1000).toFixed(0)} s: waiting for ${[
            decidedAt === undefined ? 'a decision' : undefined,
            executedAt === undefined
              ? `a run of ${[...proposals.keys()].map((id) => `exec-${id}`).join(' or ') || 'a proposal'}`
              : undefined,
            allClosed ? undefined : 'the incidents to close',
            calm ? undefined : 'the series to come back to normal',
          ]
            .filter(Boolean)
            .join(', ')}; alias → ${alias.version} ${JSON.stringify(alias.weights)}`,
        );
      }
    }
    // The loop's own verdict on the incident whose playbook ran (it watches the series for its recovery window).
    if (executedIncident !== undefined) {
      const loopDeadline = Date.now() + 20_000;
      let summary: Json;
      while (!summary && Date.now() < loopDeadline) {
        summary = (await call('GET', `/reflex/incidents?incidentId=${encodeURIComponent(executedIncident)}`, 'viewer')).body?.result
          ?.incidents?.[0]?.loop;
        if (!summary) await sleep(250);
      }
      if (summary) log(`the loop of ${executedIncident} ended: ${summary.outcome} after ${summary.rounds} round(s) (${summary.reason})`);
      else missing.push(`the loop of ${executedIncident} had not ended 20 s after recovery`);
      if (summary && summary.outcome !== 'recovered')
        missing.push(`the loop of ${executedIncident} ended ${summary.outcome}: ${summary.reason}`);
    }
    if (recoveredAt === undefined) {
      const ours = faultIncidents();
      if (!detected)
        missing.push(`no incident opened on ${series.map((spec) => spec.name).join(' or ')} within ${recoveryTimeoutMs} ms of the fault`);
      else {
        if (diagnosedAt === undefined) missing.push(`Reflex did not diagnose ${detected.id}`);
        if (decidedAt === undefined)
          missing.push(
            proposals.size > 0
              ? `proposal(s) ${[...proposals.keys()].join(', ')} not decided`
              : `Reflex proposed nothing for ${detected.id}`,
          );
        for (const id of failedRuns) missing.push(`the run ${id} failed`);
        if (executedAt === undefined) {
          missing.push(
            `no succeeded run of ${[...proposals.keys()].map((id) => `exec-${id}`).join(' or ') || 'a proposal'}: nothing executed the approved proposal (alias ${aliasName} still → ${alias.version} ${JSON.stringify(alias.weights)})`,
          );
        }
        const stillOpen = ours.filter((incident) => incident.closedAt === undefined).map((incident) => incident.id);
        if (stillOpen.length > 0) missing.push(`incident(s) still open: ${stillOpen.join(', ')}`);
      }
    }
    await stopTraffic();

    // --- The ledger: each step's event recorded, every stream verifying.
    const ledger = await checkLedger(call, {
      expected: {
        'events.observation': ['observation.incident.opened', ...(recoveredAt !== undefined ? ['observation.incident.closed'] : [])],
        'events.reflex': [
          ...(diagnosedAt !== undefined ? ['reflex.incident.diagnosed', 'reflex.playbook.chosen'] : []),
          ...(executedAt !== undefined ? ['reflex.recovery.verified', 'reflex.loop.completed'] : []),
        ],
        'events.governance': decidedAt !== undefined ? ['governance.proposal.evaluated'] : [],
        'events.execution': executedAt !== undefined ? ['execution.run.completed'] : [],
      },
      timeoutMs: options.ledgerTimeoutMs ?? 30_000,
    });
    for (const check of ledger) if (!check.intact) missing.push(`${check.stream}: ${check.detail}`);
    const ledgerIntact = ledger.every((check) => check.intact);
    step(
      'ledger',
      ledger.map((check) => `${check.stream} ${check.intact ? 'intact' : 'NOT INTACT'} (${check.entries} entries)`).join('; '),
    );

    const since = (at: number | undefined) => (at === undefined ? null : Math.max(0, at - t0));
    return {
      detectedMs: since(detected?.openedAt),
      diagnosedMs: since(diagnosedAt),
      decidedMs: since(decidedAt),
      executedMs: since(executedAt),
      recoveredMs: since(recoveredAt),
      recovered: recoveredAt !== undefined,
      ledgerIntact,
      detectionLatencyMs: detected ? detected.openedAt - detected.sentAt : null,
      decisionActionMs: detected && executedAt !== undefined ? executedAt - detected.openedAt : null,
      tenant,
      ledger,
      missing,
      steps,
    };
  } finally {
    if (running) await stopTraffic().catch(() => {});
    lambda.destroy();
  }
}

/**
 * Waits (bounded) until each stream holds the expected event types, then verifies every stream
 * (`GET /audit/verify`). A stream that must hold events and does not, or does not verify, is not intact.
 */
async function checkLedger(
  call: (method: string, path: string, role: Role) => Promise<{ status: number; body: Json }>,
  options: { expected: Record<string, string[]>; timeoutMs: number },
): Promise<LedgerCheck[]> {
  const deadline = Date.now() + options.timeoutMs;
  const recorded = async (stream: string): Promise<string[]> => {
    const reply = await call('GET', `/audit/export?stream=${stream}`, 'viewer');
    if (reply.status !== 200 || typeof reply.body !== 'string') return [];
    return reply.body
      .split('\n')
      .filter((line: string) => line.trim() !== '')
      .flatMap((line: string) => {
        const parsed: Json = JSON.parse(line);
        return parsed?.type === 'entry' && typeof parsed.payload?.detailType === 'string' ? [parsed.payload.detailType as string] : [];
      });
  };
  const checks: LedgerCheck[] = [];
  for (const stream of LOOP_STREAMS) {
    const expected = options.expected[stream] ?? [];
    let types = await recorded(stream);
    while (expected.some((type) => !types.includes(type)) && Date.now() < deadline) {
      await sleep(250);
      types = await recorded(stream);
    }
    const absent = expected.filter((type) => !types.includes(type));
    const verify = await call('GET', `/audit/verify?stream=${stream}`, 'viewer');
    const result: Json = verify.body?.result;
    if (verify.status === 404 && expected.length === 0) {
      checks.push({ stream, intact: true, entries: 0, detail: 'no entries (nothing of this engine happened)' });
      continue;
    }
    const counts = new Map<string, number>();
    for (const type of types) counts.set(type, (counts.get(type) ?? 0) + 1);
    const held = [...counts].map(([type, count]) => `${type}${count > 1 ? ` ×${count}` : ''}`).join(', ');
    const intact = verify.status === 200 && result?.intact === true && absent.length === 0;
    checks.push({
      stream,
      intact,
      entries: Number(result?.entries ?? types.length),
      detail: (absent.length > 0
        ? `missing ${absent.join(', ')} (holds ${held || 'nothing'})`
        : result?.intact === true
          ? held
          : `verify: ${verify.status} ${JSON.stringify(result ?? verify.body)}`
      ).slice(0, 1000),
    });
  }
  return checks;
}
