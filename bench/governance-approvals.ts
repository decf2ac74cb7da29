/**
 * Approvals throughput with a quorum, on the local cloud: boots one (stage `local`), sets the
 * tenant's quorum for high risk to 2 (`PUT /governance/config`), proposes terminations in prod
 * (always people: each starts a gate execution that opens an approval), waits until every approval
 * is open, then decides them in phases: a warm-up (4 gates, not printed), one gate at a time (N/4
 * gates), then 4 at a time (N gates), each gate by two approvers voting in the same instant (the second vote completes the
 * quorum and resumes the execution: conditional writes, a retry for the vote that lost the race,
 * SendTaskSuccess). Per phase it prints
 *  - votes per second and decided gates per second (2 votes each), and vote latency p50/p95;
 *  - gates ended per second: until every proposal is `approved` by the gate's settle step;
 * each against references measured in the same run, with as many requests in flight as the votes
 * have: `GET /health` through the same API and local Lambda (three store calls in parallel), and a
 * plain DynamoDB PutItem on the state table straight from this process (no API, no Lambda).
 * Every gate must end approved with both votes counted once (exit code 1 otherwise).
 * Run alone: `node scripts/run.mjs --needs-java bench/governance-approvals.ts [--gates 20]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalCloud } from '../infra/local/cloud.ts';
import { loadOrCreateIdpKey, signLocalToken } from '../infra/local/idp.ts';
import { freePorts } from '../infra/local/ports.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** A phase: its gates decided `gatesAtOnce` at a time (two votes each, so twice as many requests in flight). */
interface Phase {
  /** False for the warm-up: it runs like the others, to warm every function on the path, and is not printed. */
  measured: boolean;
  gatesAtOnce: number;
  /** Its number of gates, from the run's `--gates`. */
  gates: (run: number) => number;
}
/**
 * A warm-up (4 gates at once: up to 4 environments of each function on the path, as the local
 * Lambda keeps per function), then one gate at a time (the votes' own latency), then four at a
 * time (8 votes in flight).
 */
const PHASES: readonly Phase[] = [
  { measured: false, gatesAtOnce: 4, gates: () => 4 },
  { measured: true, gatesAtOnce: 1, gates: (run) => Math.max(2, Math.round(run / 4)) },
  { measured: true, gatesAtOnce: 4, gates: (run) => run },
];
/** Requests per reference (GET /health, PutItem) and phase. */
const REFERENCE_REQUESTS = 120;
const APPROVERS = ['bob', 'carol'] as const;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

/** Runs `work(i)` for i in 0..count-1, `concurrency` at a time; returns the wall time in ms. */
async function pool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) await work(i);
    }),
  );
  return performance.now() - started;
}

/** Polls `probe` every `intervalMs` until it returns a value, or throws naming `what` after `timeoutMs`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** What a rate and latency figure holds. */
interface Rate {
  perSecond: number;
  p50: number;
  p95: number;
}

function rateOf(count: number, wallMs: number, latencies: number[]): Rate {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { perSecond: (count * 1000) / wallMs, p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
}

/** Runs the bench and prints its figures; returns the decided gates per second. */
export async function benchGovernanceApprovals(gates = 20): Promise<number> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-approvals-bench-'));
  const booted = performance.now();
  const cloud = await startLocalCloud({ root, dataDir, ports: await freePorts(), stage: 'local', functionOutput: 'silent', log: () => {} });
  try {
    if (!/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(cloud.apiUrl))
      throw new Error(`refusing to run against ${cloud.apiUrl}: loopback only`);
    const bootSeconds = (performance.now() - booted) / 1000;
    Object.assign(process.env, cloud.env);
    const stateTable = cloud.resources.tables.StateTable;
    if (!stateTable) throw new Error('the local cloud has no StateTable');
    const key = await loadOrCreateIdpKey(dataDir);
    const tenant = `bench-ap-${Date.now().toString(36)}`;
    const tokens = {
      proposer: await signLocalToken(key, { tenant, subject: 'alice', roles: ['operator'] }),
      admin: await signLocalToken(key, { tenant, subject: 'root', roles: ['admin'] }),
      viewer: await signLocalToken(key, { tenant, subject: 'viewer', roles: ['viewer'] }),
      bob: await signLocalToken(key, { tenant, subject: 'bob', roles: ['approver'] }),
      carol: await signLocalToken(key, { tenant, subject: 'carol', roles: ['approver'] }),
    };
    /** One call; its status, parsed body and latency (ms). */
    const call = async (token: string | undefined, method: string, route: string, parameters?: unknown) => {
      const started = performance.now();
      const reply = await fetch(`${cloud.apiUrl}${route}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(parameters === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(parameters === undefined ? {} : { body: JSON.stringify({ parameters }) }),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await reply.text();
      const ms = performance.now() - started;
      let body: { result?: Record<string, unknown> } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {}
      return { status: reply.status, text, body, ms };
    };
    const expect = (reply: { status: number; text: string }, status: number, what: string) => {
      if (reply.status !== status) throw new Error(`${what}: ${reply.status} ${reply.text.slice(0, 500)}`);
    };

    const config = await call(tokens.admin, 'PUT', '/governance/config', { minApprovals: { high: 2 } });
    expect(config, 200, 'PUT /governance/config');

    // Every gate of every phase: terminations in prod always wait for people (high risk: quorum 2).
    const total = PHASES.reduce((sum, phase) => sum + phase.gates(gates), 0);
    const opened: { proposalId: string; approvalId: string }[] = new Array(total);
    const proposing = await pool(total, 4, async (i) => {
      const reply = await call(tokens.proposer, 'POST', '/governance/proposals', {
        engine: 'closure',
        action: 'terminate',
        target: `agent/bench-${i}`,
        environment: 'prod',
        reason: 'approvals bench: idle for 30 days',
      });
      expect(reply, 202, 'POST /governance/proposals');
      const result = reply.body.result ?? {};
      if (result.route !== 'human-approval' || typeof result.approvalId !== 'string' || typeof result.proposalId !== 'string')
        throw new Error(`proposal ${i} was not sent to people: ${reply.text.slice(0, 500)}`);
      opened[i] = { proposalId: result.proposalId, approvalId: result.approvalId };
    });
    /** Of `gates`, the approvals or proposals listed in one status (the tenant is fresh: nothing else is listed). */
    const listed = async (
      kind: 'approvals' | 'proposals',
      status: string,
      gatesOf: readonly { proposalId: string; approvalId: string }[],
    ) => {
      const reply = await call(tokens.viewer, 'GET', `/governance/${kind}?status=${status}&limit=100`);
      expect(reply, 200, `GET /governance/${kind}`);
      const ours = new Set(gatesOf.map((gate) => (kind === 'approvals' ? gate.approvalId : gate.proposalId)));
      const entries = (reply.body.result?.[kind] as Record<string, unknown>[] | undefined) ?? [];
      return entries.filter((entry) => ours.has(String(kind === 'approvals' ? entry.approvalId : entry.proposalId)));
    };
    const openedAt = performance.now();
    const pending = await eventually(
      `${total} approvals to open`,
      async () => {
        const entries = await listed('approvals', 'pending', opened);
        return entries.length === total ? entries : undefined;
      },
      90_000,
      250,
    );
    const openSeconds = (performance.now() - openedAt) / 1000;
    if (pending.some((entry) => entry.required !== 2)) throw new Error('an approval does not need 2 approvals');

    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
    await call(undefined, 'GET', '/health');
    await documents.send(new PutCommand({ TableName: stateTable, Item: { pk: `${tenant}#bench`, sk: 'warm' } }));
    let puts = 0;
    const results: {
      phase: Phase;
      inFlight: number;
      health: Rate;
      put: Rate;
      votes: Rate;
      decidedPerSecond: number;
      endedPerSecond: number;
      gates: number;
    }[] = [];
    let first = 0;
    for (const phase of PHASES) {
      const gatesOfPhase = opened.slice(first, first + phase.gates(gates));
      first += gatesOfPhase.length;
      const inFlight = phase.gatesAtOnce * APPROVERS.length;

      // Reference 1: GET /health through the same API and local Lambda, as many in flight as the votes.
      const healthLatencies: number[] = [];
      const healthWall = await pool(REFERENCE_REQUESTS, inFlight, async () => {
        const reply = await call(undefined, 'GET', '/health');
        expect(reply, 200, 'GET /health');
        healthLatencies.push(reply.ms);
      });
      // Reference 2: a plain PutItem on the state table, from this process, as many in flight.
      const putLatencies: number[] = [];
      const putWall = await pool(REFERENCE_REQUESTS, inFlight, async () => {
        const started = performance.now();
        const item = { pk: `${tenant}#bench`, sk: `put-${puts++}`, payload: 'x'.repeat(512), version: 0 };
        await documents.send(new PutCommand({ TableName: stateTable, Item: item }));
        putLatencies.push(performance.now() - started);
      });

      // The votes: each gate by two approvers at once, `gatesAtOnce` gates at a time.
      const voteLatencies: number[] = [];
      const votingStarted = performance.now();
      const votingWall = await pool(gatesOfPhase.length, phase.gatesAtOnce, async (i) => {
        const gate = gatesOfPhase[i];
        if (!gate) throw new Error(`gate ${i} was never opened`);
        const replies = await Promise.all(
          APPROVERS.map((approver) =>
            call(tokens[approver], 'POST', '/governance/approvals', {
              approvalId: gate.approvalId,
              decision: 'approve',
              reason: `${approver}: checked, idle`,
            }),
          ),
        );
        for (const reply of replies) {
          expect(reply, 200, `POST /governance/approvals (${gate.approvalId})`);
          voteLatencies.push(reply.ms);
        }
        const statuses = replies.map((reply) => reply.body.result?.status).sort();
        if (statuses.join() !== 'approved,pending')
          throw new Error(`gate ${gate.approvalId}: the two votes left ${statuses.join(', ')}, not one pending and one approved`);
      });
      // Gates ended: every proposal of the phase approved by its gate's settle step.
      await eventually(
        `${gatesOfPhase.length} proposals to be approved by their gates`,
        async () => ((await listed('proposals', 'approved', gatesOfPhase)).length === gatesOfPhase.length ? true : undefined),
        60_000,
        100,
      );
      const endedWall = performance.now() - votingStarted;
      if (phase.measured)
        results.push({
          phase,
          inFlight,
          gates: gatesOfPhase.length,
          health: rateOf(REFERENCE_REQUESTS, healthWall, healthLatencies),
          put: rateOf(REFERENCE_REQUESTS, putWall, putLatencies),
          votes: rateOf(gatesOfPhase.length * APPROVERS.length, votingWall, voteLatencies),
          decidedPerSecond: (gatesOfPhase.length * 1000) / votingWall,
          endedPerSecond: (gatesOfPhase.length * 1000) / endedWall,
        });
    }
    const decided = await listed('approvals', 'approved', opened);
    const counted = decided.filter((entry) => {
      const voters = ((entry.votes as { actor: string }[] | undefined) ?? []).map((vote) => vote.actor).sort();
      return voters.join() === APPROVERS.join();
    }).length;

    console.log(
      `# Governance: approvals throughput with quorum 2 (local cloud, booted in ${bootSeconds.toFixed(1)} s; 2 approvers voting on each gate at once)\n`,
    );
    console.log(
      `${total} proposals sent to people in ${(proposing / 1000).toFixed(1)} s (${((total * 1000) / proposing).toFixed(1)}/s, 4 at a time, cold starts included); every approval open ${openSeconds.toFixed(1)} s after the last. ` +
        `References, measured just before each phase with as many requests in flight as its votes: GET /health (API, local Lambda, three store calls) and a DynamoDB PutItem from this process.\n`,
    );
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
    console.log('| gates at once (requests in flight) | figure | value | GET /health | ÷ GET /health | DynamoDB PutItem | ÷ PutItem |');
    console.log('|---|---|---|---|---|---|---|');
    for (const { phase, inFlight, gates: count, health, put, votes, decidedPerSecond, endedPerSecond } of results) {
      const at = `${phase.gatesAtOnce} (${inFlight}), ${count} gates`;
      const rate = (name: string, value: number) =>
        console.log(
          `| ${at} | ${name} | ${value.toFixed(1)}/s | ${health.perSecond.toFixed(0)}/s | ${ratio(value, health.perSecond)} | ${put.perSecond.toFixed(0)}/s | ${ratio(value, put.perSecond)} |`,
        );
      const latency = (name: string, value: number, healthValue: number, putValue: number) =>
        console.log(
          `| ${at} | ${name} | ${value.toFixed(0)} ms | ${healthValue.toFixed(0)} ms | ${ratio(value, healthValue)} | ${putValue.toFixed(1)} ms | ${ratio(value, putValue)} |`,
        );
      rate('votes', votes.perSecond);
      rate('decided gates (quorum reached, execution resumed)', decidedPerSecond);
      rate('gates ended (proposal approved by the settle step)', endedPerSecond);
      latency('vote latency p50', votes.p50, health.p50, put.p50);
      latency('vote latency p95', votes.p95, health.p95, put.p95);
    }
    console.log(
      `\n${counted} of ${total} gates approved with both votes counted once; load average ${os
        .loadavg()
        .map((load) => load.toFixed(1))
        .join(' ')} on ${os.cpus().length} cores`,
    );
    if (counted !== total) {
      console.log(`FAIL: ${total - counted} gates did not end approved with one vote from each approver`);
      process.exitCode = 1;
    }
    return results.at(-1)?.decidedPerSecond ?? Number.NaN;
  } finally {
    await cloud.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { gates: { type: 'string', default: '20' } } });
  const gates = Number(values.gates);
  if (!Number.isInteger(gates) || gates < 1 || gates > 75)
    throw new Error(
      `--gates must be an integer 1..75 (with the first phase's gates, GET /governance/approvals must list them all: 100 at most; got ${values.gates})`,
    );
  await benchGovernanceApprovals(gates);
}
