/**
 * How fast a kill switch reaches warm functions, on the local cloud: boots one (stage `local`),
 * warms the proposals function with proposals from several connections at once (up to one warm
 * environment per connection, as the local Lambda keeps them), then per trial
 *   1. sends `PUT /governance/killswitch { enabled: true }` and, once it replied, proposes from
 *      every connection at once, round after round, until one whole round answers 423;
 *   2. turns the switch off the same way and waits for a round of 200s (the resume).
 * Propagation is the time from sending the PUT to the end of the first all-423 round: the write,
 * then one proposal's latency, since the function reads the tenant's settings on every request
 * (nothing cached). Each trial does it from one connection, then from 4 at once. Any proposal accepted (200/202) after the PUT replied is a leak, counted and a
 * failure (exit code 1).
 *
 * Printed against the target (≤ 1 s) and against a peer measured in the same run: a warm
 * round of `POST /governance/proposals` from as many connections, the switch off (its slowest reply).
 * Run alone: `node scripts/run.mjs --needs-java bench/governance-killswitch.ts [--trials 10]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLocalCloud } from '../infra/local/cloud.ts';
import { loadOrCreateIdpKey, signLocalToken } from '../infra/local/idp.ts';
import { freePorts } from '../infra/local/ports.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The target for a switch to reach warm functions. */
const TARGET_MS = 1_000;
/** Connections proposing at once: the local Lambda keeps up to 4 environments per function. */
const CONNECTIONS = 4;
/** Longest a trial waits for its switch to take effect. */
const TRIAL_DEADLINE_MS = 10_000;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

const median = (values: readonly number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

/** Runs the bench and prints its figures; returns the median propagation in ms. */
export async function benchGovernanceKillSwitch(trials = 10): Promise<number> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-killswitch-bench-'));
  const booted = performance.now();
  const cloud = await startLocalCloud({ root, dataDir, ports: await freePorts(), stage: 'local', functionOutput: 'silent', log: () => {} });
  try {
    if (!/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(cloud.apiUrl))
      throw new Error(`refusing to run against ${cloud.apiUrl}: loopback only`);
    const bootSeconds = (performance.now() - booted) / 1000;
    const key = await loadOrCreateIdpKey(dataDir);
    const tenant = `bench-ks-${Date.now().toString(36)}`;
    const operator = await signLocalToken(key, { tenant, subject: 'alice', roles: ['operator'] });
    const admin = await signLocalToken(key, { tenant, subject: 'root', roles: ['admin'] });

    /** One call; resolves with its status and how long it took (ms), and when it ended (performance.now()). */
    const call = async (token: string, method: string, route: string, parameters: unknown) => {
      const started = performance.now();
      const reply = await fetch(`${cloud.apiUrl}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ parameters }),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await reply.text();
      const ended = performance.now();
      return { status: reply.status, text, ms: ended - started, ended };
    };
    let n = 0;
    // A low-risk repair in dev: autonomous (200) while the switch is off, 423 while on.
    const proposeOne = () =>
      call(operator, 'POST', '/governance/proposals', {
        engine: 'reflex',
        action: 'restart',
        target: `endpoint/bench-${n++ % 16}`,
        environment: 'dev',
        reason: 'kill-switch bench',
      });
    const round = (connections = CONNECTIONS) => Promise.all(Array.from({ length: connections }, proposeOne));
    const setSwitch = async (enabled: boolean) => {
      const reply = await call(admin, 'PUT', '/governance/killswitch', {
        enabled,
        reason: enabled ? 'bench: stop everything' : 'bench: resume',
      });
      if (reply.status !== 200) throw new Error(`PUT /governance/killswitch ${enabled}: ${reply.status} ${reply.text}`);
      return reply;
    };

    // Warm-up: both functions, and the proposals function from every connection (not measured).
    await setSwitch(false);
    for (let i = 0; i < 3; i += 1) {
      const replies = await round();
      const bad = replies.find((reply) => reply.status !== 200);
      if (bad) throw new Error(`warm-up proposal: ${bad.status} ${bad.text}`);
    }

    /** Rounds (each sent after the switch's PUT replied) until one whole round is `want`; counts the other replies. */
    const until = async (want: (status: number) => boolean, startedAt: number, connections: number) => {
      const deadline = startedAt + TRIAL_DEADLINE_MS;
      let rounds = 0;
      let wrong = 0;
      let firstWanted: number | undefined;
      while (performance.now() < deadline) {
        const replies = await round(connections);
        rounds += 1;
        for (const reply of replies) {
          if (want(reply.status)) firstWanted ??= reply.ended - startedAt;
          else if (reply.status >= 500) throw new Error(`a proposal answered ${reply.status}: ${reply.text}`);
          else wrong += 1;
        }
        if (replies.every((reply) => want(reply.status)))
          return { all: Math.max(...replies.map((reply) => reply.ended)) - startedAt, first: firstWanted ?? Number.NaN, rounds, wrong };
      }
      throw new Error(`the switch did not take effect within ${TRIAL_DEADLINE_MS} ms`);
    };

    /** Per number of connections: the switch-on PUT, propagation, first refusal, resume; and the peers. */
    const figures = new Map<number, { put: number[]; propagation: number[]; firstRefusal: number[]; resume: number[]; peer: number[] }>(
      [1, CONNECTIONS].map((connections) => [connections, { put: [], propagation: [], firstRefusal: [], resume: [], peer: [] }]),
    );
    let leaks = 0;
    let stale = 0;
    let extraRounds = 0;
    for (let trial = 0; trial < trials; trial += 1) {
      for (const [connections, f] of figures) {
        // The peer: one warm round of proposals from as many connections, the switch off.
        const warm = await round(connections);
        const bad = warm.find((reply) => reply.status !== 200);
        if (bad) throw new Error(`peer proposal: ${bad.status} ${bad.text}`);
        f.peer.push(Math.max(...warm.map((reply) => reply.ms)));
        const on = performance.now();
        const switched = await setSwitch(true);
        f.put.push(switched.ms);
        const refused = await until((status) => status === 423, on, connections);
        f.propagation.push(refused.all);
        f.firstRefusal.push(refused.first);
        leaks += refused.wrong;
        extraRounds += refused.rounds - 1;
        const off = performance.now();
        await setSwitch(false);
        const resumed = await until((status) => status === 200, off, connections);
        f.resume.push(resumed.all);
        stale += resumed.wrong;
      }
    }

    const ms = (value: number) => `${value.toFixed(0)} ms`;
    console.log(
      `# Governance: kill-switch propagation to warm functions (local cloud, booted in ${bootSeconds.toFixed(1)} s; ${trials} trials, proposing from 1 connection, then from ${CONNECTIONS} at once)\n`,
    );
    console.log('| connections | figure (median of the trials) | ms | ÷ target 1 s | ÷ peer (a warm round, same connections) |');
    console.log('|---|---|---|---|---|');
    for (const [connections, f] of figures) {
      const peer = median(f.peer);
      const line = (name: string, value: number) =>
        console.log(`| ${connections} | ${name} | ${ms(value)} | ${(value / TARGET_MS).toFixed(2)}× | ${(value / peer).toFixed(2)}× |`);
      line('PUT /governance/killswitch (on) round trip', median(f.put));
      line('PUT sent → first 423', median(f.firstRefusal));
      line('PUT sent → a whole round refused (**propagation**)', median(f.propagation));
      line('switch-off PUT sent → a whole round accepted (resume)', median(f.resume));
      line('peer: a warm round of POST /governance/proposals (200), slowest reply', peer);
    }
    const all = [...figures.values()].flatMap((f) => f.propagation);
    console.log(
      `\npropagation: max ${ms(Math.max(...all))} over ${all.length} switches; rounds after the first: ${extraRounds}; proposals accepted after the switch-on PUT replied: ${leaks}; refused after the switch-off PUT replied: ${stale}`,
    );
    console.log(
      `load average ${os
        .loadavg()
        .map((load) => load.toFixed(1))
        .join(' ')} on ${os.cpus().length} cores`,
    );
    if (leaks > 0) {
      console.log(`FAIL: ${leaks} proposals were accepted after the kill switch was confirmed on`);
      process.exitCode = 1;
    }
    return median(figures.get(CONNECTIONS)?.propagation ?? []);
  } finally {
    await cloud.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { trials: { type: 'string', default: '10' } } });
  const trials = Number(values.trials);
  if (!Number.isInteger(trials) || trials < 1 || trials > 100) throw new Error(`--trials must be an integer 1..100 (got ${values.trials})`);
  await benchGovernanceKillSwitch(trials);
}
