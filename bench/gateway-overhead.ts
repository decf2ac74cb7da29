/**
 * Gateway overhead per request, in process: the whole chat pipeline (lib/gateway/engine.ts `chat`)
 * around models that answer instantly, against the bare backend call, compared with what LiteLLM
 * publishes for its proxy (overhead p50 2 ms, p95 8 ms: docs.litellm.ai/docs/benchmarks, 4 instances,
 * "LiteLLM Overhead Duration") and what Portkey claims (under 1 ms).
 *
 * What runs, per request, as deployed except for where state lives: the local stage's models
 * (infra/gateway/models.json: standin-a, whose chain falls back to standin-b and standin-tgi, so
 * fitting counts with cl100k_base, o200k_base and the `approx` rule) behind the real router
 * (lib/gateway/resilience.ts: timeout timer, breaker, in-flight count); the template; PII redaction
 * of the input, the output and the log (the tenant's settings: `redact` everywhere, so the input is
 * redacted on the messages sent and the log reuses the input's and the output's passes); context fitting
 * with the exact tokenizers; the budget reserved and settled and an in-flight slot taken on the
 * in-memory stores (lib/gateway/memory-store.ts, the DynamoDB stores' semantics); the built-in safety
 * rules; usage counted, a billing entry and the turn recorded through the audit engine's `record` on
 * its in-memory ledger; the conversation log committed; a metrics callback. The streamed shapes also
 * encode the reply as server-sent events (lib/gateway/sse.ts), as the handler does.
 *
 * Each model is an {@link instantBackend}: a fixed reply of a known number of cl100k_base tokens,
 * yielded without any wait (one delta, or one delta per token when streaming). So model time is ~0
 * and nothing is subtracted: the pipeline's wall time IS its overhead. The floor, timed in the same
 * loop (alternating, so load hits both alike), is the bare backend call: the same stream consumed by
 * a `for await`. Not included: HTTP, auth, JSON parsing of the body and network round trips to
 * DynamoDB, S3 and the ledger, which a deployed request pays on top (see README, Model gateway).
 *
 * Requests differ from one another (a fresh reference in the last user message), so the
 * tokenizer's cache of merged words sees a new word every request, as a warm gateway does.
 *
 * Where the time goes: (1) an instrumented pass that times every port call (and the tokenizers)
 * per request; the rest is the engine's own code (templating, fitting's bookkeeping, hashing the
 * turn, building the log); (2) ablations, each run alone: PII off, safety off, a chain of one model
 * (fitting counts with one tokenizer), and all three off.
 *
 * Run: `npm run bench:gateway-overhead [-- --iterations 1000 --warm-up 200 --ablation-iterations 300]`.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import modelsFile from '../infra/gateway/models.json' with { type: 'json' };
import type { ChatMessage, GenerateRequest, ModelBackend, StreamEvent } from '../lib/gateway/backend.ts';
import { budgetFromInput } from '../lib/gateway/budgets.ts';
import { type ChatCaller, type ChatDeps, chat, piiCounts } from '../lib/gateway/engine.ts';
import {
  MemoryBudgetStore,
  MemoryConversationStore,
  MemoryInflightLimiter,
  MemoryRequestRegistry,
  MemorySettingsStore,
  memoryGatewayLedger,
} from '../lib/gateway/memory-store.ts';
import { type ModelConfig, modelInfo, stageModels } from '../lib/gateway/models.ts';
import { ModelRouter } from '../lib/gateway/resilience.ts';
import { classifySafety } from '../lib/gateway/safety.ts';
import type { ChatInput, GatewaySettings } from '../lib/gateway/schemas.ts';
import { sseStream } from '../lib/gateway/sse.ts';
import { type Tokenizer, tokenizer } from '../lib/gateway/tokenizer.ts';

/** LiteLLM's published proxy overhead (ms), 4 instances: docs.litellm.ai/docs/benchmarks. */
const LITELLM = { p50: 2, p95: 8 } as const;
const MODEL = 'standin-a';
const TENANT = 'bench-overhead';

// Real-looking prose for prompts, history and replies (written for this bench; ASCII, so every
// token decodes alone).
const USER_TURNS = [
  'Our checkout service started returning 502s at 14:05 UTC, right after the 14:00 deploy of version 4.12. The load balancer shows healthy targets, but about one request in twenty fails. Error logs mention "upstream prematurely closed connection" on the payments client. What should we look at first?',
  'The payments client uses a keep-alive pool with a 60 second idle timeout, and the payments service behind it closes idle connections after 55 seconds. That did not change in this deploy, as far as I can tell. The deploy did bump the HTTP library from 2.3 to 2.5 though.',
  'I checked the changelog of the HTTP library. Version 2.4 changed the default of the "reuse idle sockets" option from false to true, and 2.5 raised the pool size from 10 to 50. Could that explain the failures only starting now?',
  'We rolled back one of the six instances to 4.11 and its error rate dropped to zero within a minute. The other five are still on 4.12. Is it safe to roll back the rest, or should we pin the library and redeploy instead?',
  'The rollback worked and errors are gone. I want to write the incident report now. Which timeline entries matter, and how do we phrase the root cause so it is useful for the next team that upgrades this library?',
  'One more thing: the on-call engineer, reachable at oncall-payments@example.com, asked whether we should add an alert for this. What would a good alert look like, with thresholds, so it fires before customers notice?',
];
const ASSISTANT_TURNS = [
  'Start with the connection lifecycle between checkout and payments. A 502 with "upstream prematurely closed connection" usually means the client sent a request on a socket the server had already decided to close. Compare the idle timeouts on both sides, check whether the deploy changed the HTTP client or its pool settings, and look at whether the failures cluster on requests that follow a quiet period of a minute or so.',
  'That fits the pattern. If the client keeps sockets idle for up to 60 seconds while the server drops them after 55, a request sent in that five-second window lands on a dead socket. The library bump matters: minor versions of HTTP clients often change pooling defaults. Read its changelog for anything about idle sockets, keep-alive or pool size between 2.3 and 2.5.',
  'Yes. With reuse of idle sockets on and a pool five times larger, many more sockets sit idle long enough to cross the 55-second mark, and the client now reuses them instead of opening fresh ones. Before, most requests opened new connections, so the timeout mismatch was latent. The fix is to set the client idle timeout below the server one, for example 50 seconds, or to turn reuse off again.',
  'Roll back the rest first: it is proven on one instance and stops customer impact now. Then pin the library at 2.5 with an explicit idle timeout of 50 seconds and the pool size you want, test it in staging with traffic that has idle gaps, and redeploy. Keep the rollback path ready until the new build has run through a quiet night.',
  'Keep the timeline short: the deploy at 14:00, first errors at 14:05, detection, the one-instance rollback as the confirming experiment, the full rollback, and recovery. For the root cause, name the mechanism rather than the person: an HTTP library upgrade changed pooling defaults, which exposed a mismatch between client and server idle timeouts. Add the action items: explicit timeouts in config, and a staging test with idle gaps.',
];
const REPLY_PROSE =
  'The most useful alert watches the share of failed calls from checkout to payments rather than the raw count, so it scales with traffic. Fire when more than one percent of calls fail over five minutes, and page when it passes three percent over two minutes. Add a second signal on connection resets per minute from the HTTP client, which rises before customers see errors. Route both to the payments on-call rotation, link the runbook that explains the idle timeout settings, and review the thresholds after two weeks of data. ';

/** One request shape. */
interface Shape {
  name: string;
  /** The caller's messages, before templating; the last one gets a per-request reference. */
  messages: ChatMessage[];
  maxTokens: number;
  template?: { name: string; variables: Record<string, string> };
  replyTokens: number;
  /** One delta per token (and the reply encoded as server-sent events), or the whole reply in one delta. */
  streamed: boolean;
}

/** Messages of the incident conversation alternating user and assistant until `countChat` reaches `tokens`, ending on a user turn. */
function history(tok: Tokenizer, tokens: number): ChatMessage[] {
  const messages: ChatMessage[] = [
    { role: 'system', content: 'You are a calm, precise site reliability engineer. Answer in plain prose.' },
  ];
  for (let turn = 0; tok.countChat(messages) < tokens; turn += 1) {
    const round = Math.floor(turn / USER_TURNS.length) + 1;
    const user = USER_TURNS[turn % USER_TURNS.length] as string;
    messages.push({ role: 'user', content: round > 1 ? `(Day ${round}) ${user}` : user });
    if (tok.countChat(messages) >= tokens) break;
    messages.push({ role: 'assistant', content: ASSISTANT_TURNS[turn % ASSISTANT_TURNS.length] as string });
  }
  if (messages.at(-1)?.role !== 'user') messages.push({ role: 'user', content: USER_TURNS.at(-1) as string });
  return messages;
}

/** `tokens` cl100k_base tokens of the reply prose, as one piece per token. */
function replyPieces(tok: Tokenizer, tokens: number): string[] {
  const ids = tok.encode(REPLY_PROSE.repeat(Math.ceil(tokens / tok.count(REPLY_PROSE)) + 1)).slice(0, tokens);
  return ids.map((id) => tok.decode([id]));
}

/**
 * A model that answers instantly: `reply()`'s pieces, yielded with no wait, as one delta (`streamed`
 * false: a backend that does not stream) or one delta each.
 */
function instantBackend(model: ModelConfig, reply: () => { pieces: readonly string[]; whole: string; streamed: boolean }): ModelBackend {
  return {
    info: modelInfo(model),
    async generate() {
      return { text: reply().whole, finishReason: 'stop' };
    },
    async *stream(): AsyncGenerator<StreamEvent> {
      const { pieces, whole, streamed } = reply();
      if (streamed) for (const text of pieces) yield { type: 'delta', text };
      else yield { type: 'delta', text: whole };
      yield { type: 'done', finishReason: 'stop' };
    },
  };
}

/** What an ablation turns off. */
interface Variant {
  name: string;
  pii: boolean;
  safety: boolean;
  /** The model keeps its fallback chain (fitting counts with every tokenizer of the chain). */
  chain: boolean;
}
const FULL: Variant = { name: 'full pipeline', pii: true, safety: true, chain: true };

/** Milliseconds per port (and tokenizer) of the current request, filled by instrumented deps. */
type Timings = Map<string, number>;

/** The gateway's deps in memory, for `variant`, with instant models answering `current`'s reply. */
async function pipeline(variant: Variant, timings?: Timings) {
  const configured = stageModels(modelsFile, 'local');
  const models = configured.map((model) => (variant.chain || model.name !== MODEL ? model : { ...model, fallbacks: [] }));
  const current = { pieces: [] as readonly string[], whole: '', streamed: false };
  const backends: Record<string, ModelBackend> = {};
  for (const model of models) backends[model.name] = instantBackend(model, () => current);
  const router = ModelRouter.fromConfig(models, backends);
  const budgets = new MemoryBudgetStore();
  await budgets.putBudget(TENANT, budgetFromInput({ tokens: 1e15, costUsd: 1e9, window: 'month' }), 'bench');
  const settings = new MemorySettingsStore();
  const mode = variant.pii ? 'redact' : 'off';
  const tenantSettings: GatewaySettings = { piiInput: mode, piiOutput: mode, piiLog: 'redact', contextTokens: 4096, retentionDays: 30 };
  await settings.put(TENANT, tenantSettings);
  const calls = new Map<string, { calls: number; tokens: number }>();
  const deps: ChatDeps = {
    models: new Map(models.map((model) => [model.name, model])),
    stream: (model, request, options) => router.stream(model, request, options),
    budgets,
    inflight: new MemoryInflightLimiter(),
    settings,
    conversations: new MemoryConversationStore(),
    requests: new MemoryRequestRegistry(),
    ledger: memoryGatewayLedger(),
    safety: variant.safety ? (text, signal) => classifySafety(text, [], signal) : async () => ({ categories: [], classifier: 'none' }),
    // The log is always redacted (`piiLog` has no `off`): with PII off the port passes text through.
    pii: variant.pii ? piiCounts : (text) => ({ text, counts: {} }),
    pauses: async (crossing) => {
      await budgets.recordPause(crossing.tenant, crossing.window);
    },
    metrics: (call) => {
      const seen = calls.get(call.model) ?? { calls: 0, tokens: 0 };
      seen.calls += 1;
      seen.tokens += call.inputTokens + call.outputTokens;
      calls.set(call.model, seen);
    },
    now: () => new Date(),
  };
  return { deps: timings ? instrument(deps, timings) : deps, current, backend: backends[MODEL] as ModelBackend };
}

const add = (timings: Timings, name: string, ms: number) => timings.set(name, (timings.get(name) ?? 0) + ms);

/** `fn` timed into `timings` under `name` (sync or async). */
function timed<A extends unknown[], R>(
  timings: Timings,
  name: string | ((...args: A) => string),
  fn: (...args: A) => R,
): (...args: A) => R {
  return (...args: A) => {
    const label = typeof name === 'string' ? name : name(...args);
    const start = performance.now();
    const out = fn(...args);
    if (out instanceof Promise) return out.finally(() => add(timings, label, performance.now() - start)) as R;
    add(timings, label, performance.now() - start);
    return out;
  };
}

/**
 * `deps` with every port timed. PII calls are told apart by when they happen: before the model call
 * (input), the first after the safety filter (output), the others (the log's messages).
 */
function instrument(deps: ChatDeps, timings: Timings): ChatDeps {
  let phase: 'input' | 'output' | 'log' = 'input';
  const ports = <T extends object>(name: string, port: T, methods: (keyof T & string)[]): T => {
    const wrapped = Object.create(port) as T;
    for (const method of methods) {
      const fn = (port[method] as (...args: unknown[]) => unknown).bind(port);
      (wrapped as Record<string, unknown>)[method] = timed(timings, `${name}.${method}`, fn);
    }
    return wrapped;
  };
  const settings = ports('settings', deps.settings, ['get']);
  return {
    ...deps,
    // The first port a request calls: a new request's PII starts with its input.
    settings: {
      ...settings,
      get: (tenant) => {
        phase = 'input';
        return settings.get(tenant);
      },
      put: (tenant, value) => deps.settings.put(tenant, value),
    },
    requests: ports('requests', deps.requests, ['start', 'cancelled', 'finish']),
    conversations: ports('conversations', deps.conversations, ['begin', 'commit', 'abandon']),
    budgets: ports('budgets', deps.budgets, ['reserve', 'settle', 'release']),
    inflight: ports('inflight', deps.inflight, ['acquire', 'release']),
    ledger: ports('ledger', deps.ledger, ['record']),
    safety: (text, signal) => {
      phase = 'output';
      return timed(timings, 'safety filter', deps.safety)(text, signal);
    },
    pii: (text, mode) => {
      const label = `pii ${phase}`;
      if (phase === 'output') phase = 'log';
      return timed(timings, label, deps.pii)(text, mode);
    },
    stream: (model, request, options) => {
      const start = performance.now();
      const stream = deps.stream(model, request, options);
      add(timings, 'router + model stream', performance.now() - start);
      return {
        get model() {
          return stream.model;
        },
        get hops() {
          return stream.hops;
        },
        [Symbol.asyncIterator]: () => {
          const iterator = stream[Symbol.asyncIterator]();
          return {
            next: timed(timings, 'router + model stream', () => iterator.next()),
            return: (value?: unknown) => iterator.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined }),
          };
        },
      };
    },
  };
}

/** The shared tokenizers with their methods timed into `timings` (undone by the returned function). */
async function instrumentTokenizers(timings: Timings): Promise<() => void> {
  const undo: (() => void)[] = [];
  for (const family of ['cl100k_base', 'o200k_base', 'approx'] as const) {
    const tok = (await tokenizer(family)) as Tokenizer & Record<string, unknown>;
    for (const method of ['count', 'countChat', 'encode', 'decode'] as const) {
      const original = tok[method];
      tok[method] = timed(timings, 'tokenizers (fitting, usage, cut, log counts)', original as (...args: unknown[]) => unknown) as never;
      undo.push(() => {
        tok[method] = original as never;
      });
    }
  }
  return () => {
    for (const each of undo) each();
  };
}

let serial = 0;
/** A reference unique to one request (fixed length): a word the tokenizer's cache has not seen. */
const reference = () => {
  serial += 1;
  return `Ref ${(Math.imul(serial, 2654435761) >>> 0).toString(16).padStart(8, '0')}.`;
};

/** The request of `shape`, made unique. */
function input(shape: Shape): ChatInput {
  const messages = shape.messages.map((message) => ({ ...message }));
  const last = messages.at(-1) as ChatMessage;
  last.content = `${last.content} ${reference()}`;
  return {
    model: MODEL,
    messages,
    maxTokens: shape.maxTokens,
    stream: shape.streamed,
    debug: false,
    ...(shape.template ? { template: shape.template.name, variables: shape.template.variables } : {}),
  };
}

const caller = (): ChatCaller => ({ tenant: TENANT, actor: 'bench', correlationId: `corr-${serial}` });

/** The fewest and most input tokens the model was sent over a run. */
interface Sent {
  min: number;
  max: number;
}
const newSent = (): Sent => ({ min: Number.POSITIVE_INFINITY, max: 0 });
const sentText = (sent: Sent) => (sent.min === sent.max ? `${sent.min}` : `${sent.min}-${sent.max}`);

/** One request through the pipeline; the ms it took (`sent`: the input tokens the model was sent). */
async function throughPipeline(deps: ChatDeps, shape: Shape, request: ChatInput, sent?: Sent): Promise<number> {
  const start = performance.now();
  const { result, deltas } = await chat(request, caller(), deps);
  if (shape.streamed) sseStream(deltas, result);
  const ms = performance.now() - start;
  if (result.finishReason !== 'stop' || result.usage.outputTokens !== shape.replyTokens)
    throw new Error(
      `${shape.name}: ${result.finishReason}, ${result.usage.outputTokens} output tokens (expected stop, ${shape.replyTokens})`,
    );
  if (sent) {
    sent.min = Math.min(sent.min, result.usage.inputTokens);
    sent.max = Math.max(sent.max, result.usage.inputTokens);
  }
  return ms;
}

/** The bare backend call: the same stream, consumed. */
async function throughBackend(backend: ModelBackend, request: ChatInput): Promise<number> {
  const start = performance.now();
  const generate: GenerateRequest = { messages: request.messages, maxTokens: request.maxTokens ?? 256 };
  let text = '';
  for await (const event of backend.stream(generate)) if (event.type === 'delta') text += event.text;
  const ms = performance.now() - start;
  if (text === '') throw new Error('the backend answered nothing');
  return ms;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

const quantiles = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
};

const ms = (value: number) => (value < 0.1 ? value.toFixed(4) : value.toFixed(3));
const load = () =>
  os
    .loadavg()
    .map((each) => each.toFixed(2))
    .join(' ');

/** Runs the bench and prints its tables; returns the p95 of the full pipeline per shape. */
export async function benchGatewayOverhead(options: { iterations: number; warmUp: number; ablationIterations: number }) {
  const cl100k = await tokenizer('cl100k_base');
  const question = `${USER_TURNS[5] as string}`;
  const shortReply = replyPieces(cl100k, 50);
  const longReply = replyPieces(cl100k, 500);
  const shapes: (Shape & { pieces: string[] })[] = [
    {
      name: 'short chat',
      messages: [{ role: 'user', content: question }],
      maxTokens: 256,
      replyTokens: 50,
      streamed: false,
      pieces: shortReply,
    },
    {
      name: 'with a template (developer_mode)',
      messages: [{ role: 'user', content: 'Write a function that retries an HTTP call with jittered backoff and a deadline.' }],
      template: { name: 'developer_mode', variables: { language: 'TypeScript' } },
      maxTokens: 256,
      replyTokens: 50,
      streamed: false,
      pieces: shortReply,
    },
    {
      name: '3,000-token context, fitted',
      messages: history(cl100k, 3_000),
      maxTokens: 1_500,
      replyTokens: 50,
      streamed: false,
      pieces: shortReply,
    },
    {
      name: '500-token reply',
      messages: [{ role: 'user', content: question }],
      maxTokens: 1_024,
      replyTokens: 500,
      streamed: false,
      pieces: longReply,
    },
    {
      name: '500-token reply, streamed (500 deltas, SSE)',
      messages: [{ role: 'user', content: question }],
      maxTokens: 1_024,
      replyTokens: 500,
      streamed: true,
      pieces: longReply,
    },
    {
      name: 'all: template + 3,000 fitted + 500 streamed',
      messages: history(cl100k, 3_000),
      template: { name: 'developer_mode', variables: { language: 'TypeScript' } },
      maxTokens: 1_500,
      replyTokens: 500,
      streamed: true,
      pieces: longReply,
    },
  ];
  const loadBefore = load();
  const started = Date.now();

  // 1. The full pipeline against the floor, alternating.
  const headline: string[] = [];
  const p95s: Record<string, number> = {};
  const cpuAll = process.cpuUsage();
  let requests = 0;
  for (const shape of shapes) {
    const { deps, current, backend } = await pipeline(FULL);
    Object.assign(current, { pieces: shape.pieces, whole: shape.pieces.join(''), streamed: shape.streamed });
    const asked = cl100k.countChat(input(shape).messages);
    const sent = newSent();
    for (let i = 0; i < options.warmUp; i++) {
      await throughBackend(backend, input(shape));
      await throughPipeline(deps, shape, input(shape));
    }
    const floor: number[] = [];
    const full: number[] = [];
    const cpu = process.cpuUsage();
    for (let i = 0; i < options.iterations; i++) {
      floor.push(await throughBackend(backend, input(shape)));
      full.push(await throughPipeline(deps, shape, input(shape), sent));
    }
    const used = process.cpuUsage(cpu);
    requests += options.iterations;
    const f = quantiles(floor);
    const q = quantiles(full);
    p95s[shape.name] = q.p95;
    const fitted = `${asked} | ${sentText(sent)}`;
    headline.push(
      `| ${shape.name} | ${fitted} | ${shape.replyTokens} | ${ms(f.p50)} | ${ms(q.p50)} | ${ms(q.p95)} | ${ms(q.p99)} | ${((used.user + used.system) / 1000 / options.iterations).toFixed(3)} | ${(q.p50 / LITELLM.p50).toFixed(2)}× | ${(q.p95 / LITELLM.p95).toFixed(2)}× |`,
    );
  }
  const cpuUsed = process.cpuUsage(cpuAll);
  console.log(
    `Gateway overhead per request, in process (ms): ${options.iterations} requests per shape after ${options.warmUp} warm-up requests`,
  );
  console.log(
    `Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), load average (1/5/15 min) before: ${loadBefore}, after: ${load()}`,
  );
  console.log(
    'Model time ~0 (instant backends); nothing subtracted: the pipeline time is the overhead. CPU per request counts the pipeline and its floor call. Tokens: cl100k_base (the tokenizer of standin-a); sent = as the model got them, min-max over the run (each request carries its own reference).',
  );
  console.log('');
  console.log(
    `| shape | input tokens asked | sent (after PII, template, fitting) | reply tokens | bare backend p50 | pipeline p50 | p95 | p99 | CPU ms / request | p50 / LiteLLM ${LITELLM.p50} ms | p95 / LiteLLM ${LITELLM.p95} ms |`,
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const row of headline) console.log(row);
  console.log('');
  console.log(
    `CPU over the run: ${(((cpuUsed.user + cpuUsed.system) / 1000 / (Date.now() - started || 1)) * 100).toFixed(0)}% of one core for ${requests} pipeline + ${requests} floor requests (a share near 100% means the process was not starved).`,
  );

  // 2. Where the time goes: every port and the tokenizers timed, per request (mean ms).
  const breakdown: string[] = [];
  const names = new Set<string>();
  const perShape: { shape: string; total: number; parts: Map<string, number> }[] = [];
  const timings: Timings = new Map();
  const undo = await instrumentTokenizers(timings);
  try {
    for (const shape of shapes) {
      const { deps, current } = await pipeline(FULL, timings);
      Object.assign(current, { pieces: shape.pieces, whole: shape.pieces.join(''), streamed: shape.streamed });
      const n = Math.max(50, Math.floor(options.iterations / 4));
      for (let i = 0; i < Math.floor(options.warmUp / 4); i++) await throughPipeline(deps, shape, input(shape));
      const parts = new Map<string, number>();
      let total = 0;
      for (let i = 0; i < n; i++) {
        timings.clear();
        total += await throughPipeline(deps, shape, input(shape));
        for (const [name, value] of timings) {
          parts.set(name, (parts.get(name) ?? 0) + value);
          names.add(name);
        }
      }
      for (const [name, value] of parts) parts.set(name, value / n);
      perShape.push({ shape: shape.name, total: total / n, parts });
    }
  } finally {
    undo();
  }
  const order = [...names].sort((a, b) => {
    const sum = (name: string) => perShape.reduce((s, each) => s + (each.parts.get(name) ?? 0), 0);
    return sum(b) - sum(a);
  });
  for (const name of order) {
    breakdown.push(`| ${name} | ${perShape.map((each) => ms(each.parts.get(name) ?? 0)).join(' | ')} |`);
  }
  const restRow = perShape.map((each) => {
    const ports = [...each.parts.values()].reduce((s, v) => s + v, 0);
    return ms(Math.max(0, each.total - ports));
  });
  console.log('');
  console.log('Where the time goes: mean ms per request, every port and the tokenizers timed (an instrumented run; timers add a little)');
  console.log('');
  console.log(`| part | ${shapes.map((shape) => shape.name).join(' | ')} |`);
  console.log(`|---|${shapes.map(() => '---').join('|')}|`);
  for (const row of breakdown) console.log(row);
  console.log(
    `| rest of the engine (templating, fitting's bookkeeping, hashing the turn, building the log, SSE) | ${restRow.join(' | ')} |`,
  );
  console.log(`| **total (mean)** | ${perShape.map((each) => `**${ms(each.total)}**`).join(' | ')} |`);

  // 3. Ablations, each alone, uninstrumented: p50 / p95.
  const variants: Variant[] = [
    FULL,
    { name: 'PII off (input, output; log port passes through)', pii: false, safety: true, chain: true },
    { name: 'safety filter off', pii: true, safety: false, chain: true },
    { name: 'chain of one model (fitting counts with cl100k_base only)', pii: true, safety: true, chain: false },
    { name: 'all three off', pii: false, safety: false, chain: false },
  ];
  const ablation: string[] = [];
  for (const variant of variants) {
    const cells: string[] = [];
    for (const shape of shapes) {
      const { deps, current } = await pipeline(variant);
      Object.assign(current, { pieces: shape.pieces, whole: shape.pieces.join(''), streamed: shape.streamed });
      for (let i = 0; i < Math.floor(options.warmUp / 2); i++) await throughPipeline(deps, shape, input(shape));
      const samples: number[] = [];
      const sent = newSent();
      for (let i = 0; i < options.ablationIterations; i++) samples.push(await throughPipeline(deps, shape, input(shape), sent));
      const q = quantiles(samples);
      // Fitting keeps more of a long context when the chain's strictest count is lower: say how much was sent.
      cells.push(`${ms(q.p50)} / ${ms(q.p95)}${shape.messages.length > 2 ? ` (${sentText(sent)} in)` : ''}`);
    }
    ablation.push(`| ${variant.name} | ${cells.join(' | ')} |`);
  }
  console.log('');
  console.log(`Ablations: p50 / p95 ms, ${options.ablationIterations} requests per cell, each variant with everything else on`);
  console.log('');
  console.log(`| variant | ${shapes.map((shape) => shape.name).join(' | ')} |`);
  console.log(`|---|${shapes.map(() => '---').join('|')}|`);
  for (const row of ablation) console.log(row);
  console.log('');
  console.log(`Load average after: ${load()}; ${((Date.now() - started) / 1000).toFixed(0)} s.`);
  return p95s;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      iterations: { type: 'string', default: '1000' },
      'warm-up': { type: 'string', default: '200' },
      'ablation-iterations': { type: 'string', default: '300' },
    },
  });
  const number = (name: string, value: string | undefined, min: number) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
    return parsed;
  };
  await benchGatewayOverhead({
    iterations: number('iterations', values.iterations, 1),
    warmUp: number('warm-up', values['warm-up'], 0),
    ablationIterations: number('ablation-iterations', values['ablation-iterations'], 1),
  });
}
