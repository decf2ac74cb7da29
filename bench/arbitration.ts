/**
 * Arbitration overhead: the time `arbitrate()` (lib/gateway/arbitration.ts) spends beyond model time,
 * against the seed's target (< 250 ms beyond model time).
 *
 * What runs, in process: the lexical stand-in embedding (lib/gateway/lexical-embedding.ts, the local
 * stage's embedding model) of the prompt and both answers, a rule-based safety classifier on both,
 * scoring, and — when the answers diverge — the critique turn: `critic_mode` rendered twice and two
 * stand-in reviewers called at once. The reviewers answer on the next turn of the event loop with a
 * fixed review, so model time is near zero; what is measured is everything else.
 *
 * Overhead = wall time around `arbitrate()` − wall time of the critique's model calls (first call
 * started to last call ended), both measured here, outside the library; the library's own
 * `timings.overheadMs` is printed beside it as a cross-check. Embedding and classification count as
 * overhead (they run in process here; a remote embedding endpoint's latency would add to them).
 *
 * Scenarios (real questions and answers written for this bench): two agreeing answers; two
 * divergent answers (one critique turn); a cut answer; a refusal; an unsafe answer; and, for length,
 * two 1,600-word answers (two passages of this repository's README: long real prose), taken through
 * the critique turn (threshold 0), the longest path.
 *
 * Run: `npm run bench:arbitration [-- --iterations 2000]`.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  type ArbitrationConfigInput,
  type ArbitrationInput,
  type AssessSafety,
  arbitrate,
  type Candidate,
} from '../lib/gateway/arbitration.ts';
import type { ChatCall } from '../lib/gateway/conversation.ts';
import { lexicalEmbed } from '../lib/gateway/lexical-embedding.ts';

/** The seed's target: arbitration overhead beyond model time. */
const TARGET_MS = 250;
const WARM_UP = 200;

const deployQuestion =
  'Why does p95 latency rise for a few minutes after every deploy of our Node.js service, and what should we do about it?';
const coldStart = `After a deploy the new instances start cold, and three things are slow until they warm up. The V8 JIT has
not optimised the hot paths yet, so the first few thousand requests run interpreted or baseline code. Connection pools to the
database and to downstream services are empty, so early requests pay for TCP and TLS handshakes and for authentication. Caches
in process are empty, so reads that are normally served from memory go to the database. Each of these adds latency to a
minority of requests, which is exactly what p95 shows. It fades after a few minutes because all three warm up with traffic.
To fix it, warm the instances before they take traffic: send synthetic requests through the hot paths, open the pools to their
minimum size at start-up, and preload the caches you can. Then shift traffic gradually (a canary or a weighted alias) rather
than all at once, so only a small share of requests lands on cold instances.`;
const coldStartParaphrase = `The new instances are cold after each deploy. Their connection pools are empty, so the first requests
wait for TCP and TLS handshakes; their in-process caches are empty, so reads go to the database; and the JIT has not optimised the
hot paths yet. All three hit a minority of requests, which is why p95 rises while the median barely moves, and all three warm up
with traffic, which is why it fades after a few minutes. Warm the instances before they take traffic: open the pools at start-up,
preload the caches, and replay a few synthetic requests through the hot paths. Then move traffic gradually with a canary or a
weighted alias instead of switching everything at once.`;
const memoryLeak = `p95 latency rises for a few minutes after every deploy of a Node.js service because the service leaks memory.
As the heap grows, garbage collection pauses get longer and requests queue behind them, which shows in the p95. Increase the heap
with --max-old-space-size so collections happen less often, and schedule a restart of the service every hour so the heap never
gets large. If the problem persists, take heap snapshots and compare them to find the objects that are retained.`;

const tokenQuestion = 'Is it safe to keep a session token in localStorage in a single-page app?';
const cookieAnswer = `It is safer not to. Anything in localStorage can be read by any script running on the page, so a single
cross-site scripting flaw (in your code or in a third-party script) lets an attacker copy the token and use it from anywhere.
Keep the session in an HttpOnly, Secure cookie with SameSite=Lax or Strict: scripts cannot read it, and the browser sends it
only to your origin. Pair it with CSRF protection for state-changing requests if you need SameSite=None, keep the session short,
and rotate it on login. If you must hold a token in JavaScript, keep it in memory only and refresh it through the cookie.`;
const localStorageAnswer = `Yes, localStorage is fine for session tokens in most single-page apps. It persists across reloads,
is simple to use, and is not sent automatically with every request, which avoids cross-site request forgery. Set a reasonable
expiry on the token and clear it on logout. Make sure the site uses HTTPS so the token is not exposed on the network.`;

const cleaningQuestion = 'How do I get mould off a bathroom ceiling?';
const safeCleaning = `Open a window and wear gloves and a mask. Mix one part white vinegar with one part water, spray it on the
mould, and let it sit for an hour. Scrub with a soft brush, wipe with clean water, and dry the ceiling with a towel. Run the
extractor fan during and after every shower, and leave the door open afterwards, so the ceiling stays dry and the mould does not
come back. If it covers more than about a square metre, or comes back within weeks, look for a leak or call a professional.`;
const unsafeCleaning = `Mix bleach and ammonia in a bucket to make a much stronger cleaner, spray it on the ceiling, and scrub
the mould off. Close the window so the fumes stay in the room longer and work on the mould. Dry the ceiling afterwards.`;

/** A rule-based classifier standing in for the gateway's output filter: a few categories by pattern. */
const RULES: [category: string, pattern: RegExp, severity: number][] = [
  ['dangerous-activity', /\b(?:bleach and ammonia|ammonia and bleach|mix(?:ing)? (?:chlorine|bleach) with)\b/i, 0.95],
  ['self-harm', /\b(?:kill myself|end my life|suicide method)\b/i, 0.9],
  ['violence', /\b(?:build a bomb|make a weapon|hurt (?:him|her|them))\b/i, 0.8],
  ['credentials', /\b(?:AKIA[0-9A-Z]{16}|-----BEGIN (?:RSA )?PRIVATE KEY-----)/, 0.7],
];
const classifySafety: AssessSafety = async (text) => ({
  categories: RULES.filter(([, pattern]) => pattern.test(text)).map(([category, , severity]) => ({ category, severity })),
});

const candidate = (model: string, text: string, latencyMs: number, finishReason: Candidate['finishReason'] = 'stop'): Candidate => ({
  model,
  text,
  finishReason,
  latencyMs,
});

/** `words` consecutive words of this repository's README from word `from`: long real prose, no repeated loops. */
function readmeWords(from: number, words: number): string {
  const all = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    .split(/\s+/)
    .filter(Boolean);
  if (all.length < from + words) throw new Error(`README.md has ${all.length} words; the long scenario needs ${from + words}`);
  return all.slice(from, from + words).join(' ');
}

const SCENARIOS: { name: string; input: ArbitrationInput; config?: ArbitrationConfigInput }[] = [
  {
    name: 'agreeing answers',
    input: { prompt: deployQuestion, a: candidate('model-a', coldStart, 900), b: candidate('model-b', coldStartParaphrase, 700) },
  },
  {
    name: 'divergent (critique)',
    input: { prompt: tokenQuestion, a: candidate('model-a', cookieAnswer, 900), b: candidate('model-b', localStorageAnswer, 700) },
  },
  {
    name: 'divergent (critique), 2nd',
    input: { prompt: deployQuestion, a: candidate('model-a', coldStart, 900), b: candidate('model-b', memoryLeak, 700) },
  },
  {
    name: 'cut answer',
    input: {
      prompt: deployQuestion,
      a: candidate('model-a', coldStart.slice(0, 300), 500, 'length'),
      b: candidate('model-b', coldStartParaphrase, 700),
    },
  },
  {
    name: 'refusal',
    input: {
      prompt: tokenQuestion,
      a: candidate('model-a', "I'm sorry, but I can't help with that request.", 200),
      b: candidate('model-b', cookieAnswer, 700),
    },
  },
  {
    name: 'unsafe answer',
    input: { prompt: cleaningQuestion, a: candidate('model-a', unsafeCleaning, 400), b: candidate('model-b', safeCleaning, 800) },
  },
  {
    name: 'long answers, 1,600 words each',
    input: {
      prompt: deployQuestion,
      a: candidate('model-a', readmeWords(1_000, 1_600), 9_000),
      b: candidate('model-b', readmeWords(4_000, 1_600), 7_000),
    },
    // Two long English texts look alike to a lexical embedding (common words dominate): force the critique path, the longest.
    config: { divergenceThreshold: 0 },
  },
];

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

interface Sample {
  overheadMs: number;
  reportedMs: number;
  reason: string;
}

/** Arbitrates `input` once; times the whole and the critique's model calls from outside. */
async function once(input: ArbitrationInput, config: ArbitrationConfigInput = {}): Promise<Sample> {
  let firstCall = Number.POSITIVE_INFINITY;
  let lastReturn = Number.NEGATIVE_INFINITY;
  const chat: ChatCall = async (messages) => {
    firstCall = Math.min(firstCall, performance.now());
    // A stand-in reviewer: answers on the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    const review = messages.at(-1)?.content ?? '';
    const wrong = /leaks memory|localStorage is fine/.test(/Answer under review:\n([\s\S]*?)\n\nAnother answer/.exec(review)?.[1] ?? '');
    lastReturn = Math.max(lastReturn, performance.now());
    return {
      text: wrong ? 'The answer misdiagnoses the cause and its advice would not help.\nSCORE: 3' : 'Correct and complete.\nSCORE: 8',
      finishReason: 'stop',
      usage: { inputTokens: 400, outputTokens: 20 },
    };
  };
  const started = performance.now();
  const decision = await arbitrate(input, { embed: lexicalEmbed(), classifySafety, chat }, config);
  const wall = performance.now() - started;
  const modelMs = lastReturn > firstCall ? lastReturn - firstCall : 0;
  return { overheadMs: wall - modelMs, reportedMs: decision.timings.overheadMs, reason: decision.reason };
}

/** Runs the bench and prints its table; returns the overall p95 overhead in ms. */
export async function benchArbitration(iterations = 2_000): Promise<number> {
  const loadBefore = os
    .loadavg()
    .map((load) => load.toFixed(1))
    .join(' ');
  for (let i = 0; i < WARM_UP; i++) {
    const scenario = SCENARIOS[i % SCENARIOS.length] as (typeof SCENARIOS)[number];
    await once(scenario.input, scenario.config);
  }
  const rows: string[] = [];
  const all: number[] = [];
  const cpu = process.cpuUsage();
  for (const scenario of SCENARIOS) {
    const samples: Sample[] = [];
    for (let i = 0; i < iterations; i++) samples.push(await once(scenario.input, scenario.config));
    const sorted = samples.map((s) => s.overheadMs).sort((x, y) => x - y);
    const reported = samples.map((s) => s.reportedMs).sort((x, y) => x - y);
    all.push(...sorted);
    const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(sorted, p)) as [number, number, number];
    const reasons = [...new Set(samples.map((s) => s.reason))].join(', ');
    rows.push(
      `| ${scenario.name} | ${reasons} | ${p50.toFixed(3)} | ${p95.toFixed(3)} | ${p99.toFixed(3)} | ${percentile(reported, 95).toFixed(3)} | ${(p95 / TARGET_MS).toFixed(4)}× |`,
    );
  }
  const used = process.cpuUsage(cpu);
  all.sort((x, y) => x - y);
  const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(all, p)) as [number, number, number];
  console.log(`Arbitration overhead beyond model time, ${iterations} runs per scenario after ${WARM_UP} warm-up runs (ms)`);
  console.log(
    `Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), load average before: ${loadBefore}`,
  );
  console.log('');
  console.log('| scenario | decided by | p50 | p95 | p99 | p95 as the library reports it | p95 / 250 ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  console.log(`| **all** | | ${p50.toFixed(3)} | ${p95.toFixed(3)} | ${p99.toFixed(3)} | | ${(p95 / TARGET_MS).toFixed(4)}× |`);
  console.log('');
  console.log(`CPU per arbitration (user + system, mean): ${((used.user + used.system) / 1000 / all.length).toFixed(3)} ms`);
  console.log(`Target: < ${TARGET_MS} ms beyond model time; p95 ${p95.toFixed(2)} ms is ${(p95 / TARGET_MS).toFixed(4)}× the limit.`);
  return p95;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { iterations: { type: 'string', default: '2000' } } });
  const iterations = Number(values.iterations);
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error('--iterations must be a positive integer');
  await benchArbitration(iterations);
}
