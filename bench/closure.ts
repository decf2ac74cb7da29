/**
 * Closure engine bench, against the seed's limit: termination < 30 s after approval.
 *  1. Planning, pure: dependency validation, the topological cascade and the plan with its hash for
 *     a registry of 500 components (the registry's maximum), a cascade of 100 (the engine's maximum).
 *  2. With `--local-cloud`: the engine on the local cloud (booted in this process, stage `local`):
 *     each termination requested, approved by two approvers through /governance/approvals, and
 *     polled until terminated. Reported apart: the approval wait (request → the quorum's last vote,
 *     scripted here, people in production) and the time from the last vote to `terminated` as
 *     GET /closure/status shows it, with the engine's own approval → final ledger record.
 * Run: `npm run bench:closure [-- --local-cloud --terminations 5]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildPlan, type PlanComponent, planHash, terminationOrder } from '../lib/closure/plan.ts';

const { values } = parseArgs({
  options: { 'local-cloud': { type: 'boolean', default: false }, terminations: { type: 'string', default: '5' } },
});
const LIMIT_MS = 30_000;
const TERMINATIONS = Math.max(1, Number(values.terminations));

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
function row(name: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const p50 = pct(sorted, 50);
  const max = sorted.at(-1) ?? Number.NaN;
  console.log(
    `${name.padEnd(58)} p50 ${p50.toFixed(1).padStart(9)} ms  max ${max.toFixed(1).padStart(9)} ms  max/limit ${(max / LIMIT_MS).toFixed(4)}`,
  );
}

// 1. Planning: 400 independent components and a tree of 100 (a root with 99 transitive dependents).
const components: PlanComponent[] = [];
for (let i = 0; i < 400; i++) components.push({ id: `free-${i}`, kind: 'lambda', dependsOn: [] });
components.push({ id: 'root', kind: 'database', dependsOn: [] });
for (let i = 0; i < 99; i++)
  components.push({ id: `dep-${i}`, kind: 'service', dependsOn: [i < 10 ? 'root' : `dep-${Math.floor(i / 10) - 1}`] });
const byId = new Map(components.map((c) => [c.id, c]));
const keys = components.map((c, i) => ({ keyId: `k${i}`, name: c.id, revoked: false }));
const planning: number[] = [];
for (let run = 0; run < 50; run++) {
  const started = performance.now();
  const order = terminationOrder(components, 'root', true);
  planHash(buildPlan('root', order, byId, keys, undefined));
  planning.push(performance.now() - started);
}
console.log(
  `Planning a cascade of 100 in a registry of ${components.length} (validation, topological order, plan, hash), 50 runs; limit ${LIMIT_MS} ms\n`,
);
row('plan', planning);

if (values['local-cloud']) await onTheLocalCloud();
else console.log('\n(Through the engine on the local cloud: add --local-cloud; it boots one in this process, needs Java.)');

async function onTheLocalCloud(): Promise<void> {
  const { startLocalCloud } = await import('../infra/local/cloud.ts');
  const { loadOrCreateIdpKey, signLocalToken } = await import('../infra/local/idp.ts');
  const { freePorts } = await import('../infra/local/ports.ts');
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-closure-bench-'));
  console.log('\nBooting the local cloud (stage local)…');
  const cloud = await startLocalCloud({ root, dataDir, ports: await freePorts(), stage: 'local', functionOutput: 'silent', log: () => {} });
  try {
    if (!/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(cloud.apiUrl))
      throw new Error(`refusing to run against ${cloud.apiUrl}: loopback only`);
    const key = await loadOrCreateIdpKey(dataDir);
    const tenant = 'bench-closure';
    const call = async (subject: string, roles: string[], method: string, route: string, parameters?: unknown) => {
      const token = await signLocalToken(key, { tenant, subject, roles: roles as never });
      const reply = await fetch(`${cloud.apiUrl}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(parameters === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(parameters === undefined ? {} : { body: JSON.stringify({ parameters }) }),
      });
      // biome-ignore lint/suspicious/noExplicitAny: the bench reads whatever JSON a route replies
      const body = (await reply.json()) as any;
      if (reply.status >= 300 && reply.status !== 202) throw new Error(`${method} ${route}: ${reply.status} ${JSON.stringify(body)}`);
      return body;
    };
    await call('ops', ['operator'], 'PUT', '/reflex/components', {
      components: Array.from({ length: TERMINATIONS + 1 }, (_, i) => ({ id: `bench-${i}`, kind: 'lambda' })),
    });
    const wait: number[] = [];
    const afterApproval: number[] = [];
    const engine: number[] = [];
    // The first termination warms every function on the path (a cold start each); not counted.
    for (let i = 0; i <= TERMINATIONS; i++) {
      const requested = performance.now();
      const reply = await call('ops', ['operator'], 'POST', '/closure/terminations', { target: `bench-${i}`, reason: 'bench' });
      const { terminationId } = reply.result.termination;
      const approvalId = `approval-${terminationId}`;
      for (let deadline = Date.now() + 30_000; ; ) {
        const listed = await call('viewer', ['viewer'], 'GET', '/governance/approvals');
        if (listed.result.approvals.some((a: { approvalId: string }) => a.approvalId === approvalId)) break;
        if (Date.now() > deadline) throw new Error(`approval ${approvalId} never opened`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      for (const approver of ['bob', 'agent:sre'])
        await call(approver, ['approver'], 'POST', '/governance/approvals', { approvalId, decision: 'approve', reason: 'bench' });
      const approved = performance.now();
      let done: { status: string; terminationMs?: number } | undefined;
      for (let deadline = Date.now() + 60_000; !done; ) {
        const [current] = (await call('viewer', ['viewer'], 'GET', `/closure/status?terminationId=${terminationId}`)).result.terminations;
        if (!['pending', 'executing'].includes(current.status)) done = current;
        else if (Date.now() > deadline) throw new Error(`termination ${terminationId} still ${current.status}`);
        else await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (done.status !== 'terminated') throw new Error(`termination ${terminationId} ended ${done.status}`);
      if (i === 0) continue;
      wait.push(approved - requested);
      afterApproval.push(performance.now() - approved);
      engine.push(done.terminationMs ?? Number.NaN);
    }
    console.log(`\nThrough the engine on the local cloud: ${TERMINATIONS} terminations after a warm-up, 2 approvers each\n`);
    row('approval wait (request → last vote; scripted, people in prod)', wait);
    row('last vote → terminated (GET /closure/status, polled 100 ms)', afterApproval);
    row("engine's terminationMs (approval → final ledger record)", engine);
  } finally {
    await cloud.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
