/**
 * Capsule runs: an ephemeral session of one installed capsule. The capsule's code runs in the
 * sandbox (lib/capsules/sandbox.ts), its first code tool's entry called with the run's input, and
 * its `call:tool:<name>` callbacks reach the engine tools through {@link RunToolCaller} (the MCP
 * dispatch path: the route's own function, its auth, role, Cedar policy, risk routing, kill switch,
 * rate limit and budget); a capsule without code makes one gateway chat (`gateway_chat_create`)
 * with its persona and first template rendered from the input. Only the capsule's declared tools
 * are called; each call is checked first against the capsule's guardrails as the principal
 * `Autonomy::Capsule::"<name>"` ({@link RunGuardrails}) and against the run's budget (tokens and USD
 * the gateway replies report); a call that ends pending approval ends the run `pending-approval`
 * with the approval id. Each step (started, each tool call, ended) is saved with its event (an
 * outbox: recorded in the tenant's ledger, stream `events.capsules`), and the outcome counts in the
 * capsule's record.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { z } from 'zod';
import { sha256HexSchema } from '../../events/common.ts';
import { actorSchema, capsuleNameSchema, semverSchema, tenantSchema } from '../../events/ids.ts';
import { canonicalHash } from '../audit/digest.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { type BusEvent, busEvent } from '../events/publisher.ts';
import { renderTemplate } from '../gateway/templates.ts';
import { sandboxBundle } from './activation.ts';
import type { VerifiedCapsule } from './bundle.ts';
import { type JsonValue, runSandboxed, type SandboxLimitsInput, SandboxToolError } from './sandbox.ts';
import { type Install, toolNameSchema } from './schemas.ts';

/** The gateway's chat tool: what a capsule without code calls, once. */
export const GATEWAY_CHAT_TOOL = 'gateway_chat_create';
/** Longest summary kept on a run, in characters. */
export const MAX_SUMMARY_CHARS = 8000;
/** Most steps (tool calls) one run records. */
export const MAX_RUN_STEPS = 200;

/** A run's id: `run-` and 32 hex digits. */
export const runIdSchema = z
  .string()
  .max(36)
  .regex(/^run-[0-9a-f]{32}$/, 'a run id (run-<32 hex digits>)');

/** `POST /capsules/runs`: run an installed capsule with an input its input schema accepts. */
export const startRunInputSchema = z.strictObject({
  name: capsuleNameSchema,
  input: z
    .record(z.string().max(128), z.unknown())
    .default({})
    .refine((input) => JSON.stringify(input).length <= 64 * 1024, 'at most 64 KiB of JSON')
    .describe("The run's input, checked against the capsule's input schema (JSON Schema 2020-12)"),
});

/** `GET /capsules/runs`: the tenant's runs (newest first), of one capsule, or one run by id. */
export const getRunsInputSchema = z.strictObject({
  runId: runIdSchema.optional(),
  name: capsuleNameSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

/** How a run ended (`running` while it runs). */
export const runOutcomeSchema = z.enum(['running', 'completed', 'failed', 'over-budget', 'pending-approval', 'refused']);
/** A run's outcome. */
export type RunOutcome = z.infer<typeof runOutcomeSchema>;

/** What a run spent: tokens and USD of the gateway calls it made, and tool calls. */
export const runUsageSchema = z.object({
  tokens: z.number().int().min(0).max(1e12),
  costUsd: z.number().min(0).max(1e9),
  toolCalls: z.number().int().min(0).max(1e6),
});
/** A run's usage. */
export type RunUsage = z.infer<typeof runUsageSchema>;

/** One tool call of a run. */
export const runStepSchema = z.object({
  step: z
    .number()
    .int()
    .min(1)
    .max(MAX_RUN_STEPS + 1),
  tool: z.string().max(64),
  outcome: z.enum(['success', 'pending', 'error', 'refused']),
  statusCode: z.number().int().min(0).max(599),
  reason: z.string().max(2000).nullable(),
  approvalId: z.string().max(80).optional(),
  at: z.iso.datetime().max(64),
});
/** A run step. */
export type RunStep = z.infer<typeof runStepSchema>;

/** A capsule run as kept and shown. */
export const capsuleRunSchema = z.object({
  runId: runIdSchema,
  tenant: tenantSchema,
  name: capsuleNameSchema,
  version: semverSchema,
  bundleSha256: sha256HexSchema,
  inputSha256: sha256HexSchema,
  outcome: runOutcomeSchema,
  summary: z.string().max(MAX_SUMMARY_CHARS).nullable(),
  /** Why it did not complete. */
  reason: z.string().max(2000).nullable(),
  /** The approval a `pending-approval` run waits for. */
  approvalId: z.string().max(80).optional(),
  usage: runUsageSchema,
  budget: z.object({ tokens: z.number().int().min(0).max(1e12), costUsd: z.number().min(0).max(1e9) }),
  steps: z.array(runStepSchema).max(MAX_RUN_STEPS + 1),
  startedBy: actorSchema,
  startedAt: z.iso.datetime().max(64),
  endedAt: z.iso.datetime().max(64).optional(),
  /** The record's own version, for conditional writes. */
  revision: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
/** A capsule run. */
export type CapsuleRun = z.infer<typeof capsuleRunSchema>;

/** A capsule's record of runs: what its catalog entry shows. */
export const runRecordSchema = z.object({
  runs: z.number().int().min(0),
  completed: z.number().int().min(0),
  /** completed / runs (0 before the first run). */
  successRate: z.number().min(0).max(1),
  byOutcome: z.record(z.string().max(32), z.number().int().min(0)),
});
/** A capsule's run record. */
export type RunRecord = z.infer<typeof runRecordSchema>;

/** What one tool call through the MCP path replied. */
export interface RunToolReply {
  /** success, pending (approval or acceptance), error (a tool error result). */
  outcome: 'success' | 'pending' | 'error';
  /** The route's HTTP status (0 when its function failed without a reply). */
  statusCode: number;
  /** The route's result (the MCP tool result's structured content, else its text). */
  result: unknown;
  /** The tool result's text, for errors. */
  text: string;
  /** The approval a pending call waits for. */
  approvalId?: string;
}

/** Calls engine tools as the run's principal through the MCP dispatch path (the port; lib/adapters/aws/capsule-run-deps.ts). */
export interface RunToolCaller {
  call(
    tool: string,
    args: Record<string, unknown>,
    context: { tenant: string; runId: string; capsule: string; signal?: AbortSignal },
  ): Promise<RunToolReply>;
}

/**
 * The capsule's guardrails: whether the tenant's Cedar policy set lets principal
 * `Autonomy::Capsule::"<name>"` call a tool's route (its capsule layer holds only `forbid`s on it).
 */
export interface RunGuardrails {
  check(tenant: string, capsule: string, tool: string): Promise<{ allowed: boolean; reason?: string }>;
}

/** Where runs and capsules' records are kept. */
export interface RunStore {
  /** Saves a run with the events of its step. @throws ConflictError when it moved since `expectedRevision` (undefined: absent). */
  putRun(run: CapsuleRun, expectedRevision: number | undefined, events: BusEvent[]): Promise<void>;
  run(tenant: string, runId: string): Promise<CapsuleRun | undefined>;
  /** The tenant's runs, newest first (of one capsule when `name` is given). */
  runs(tenant: string, limit: number, name?: string): Promise<CapsuleRun[]>;
  /** Counts an ended run's outcome in the capsule's record. */
  countOutcome(name: string, outcome: Exclude<RunOutcome, 'running'>): Promise<void>;
}

/** The installed capsule a run runs. */
export interface RunCapsules {
  install(tenant: string, name: string): Promise<Install | undefined>;
  /** The install's bundle, read and its signature verified again. */
  capsule(install: Install): Promise<VerifiedCapsule>;
}

/** What {@link startRun} needs. */
export interface RunDeps {
  store: RunStore;
  capsules: RunCapsules;
  tools: RunToolCaller;
  guardrails?: RunGuardrails;
  clock: () => Date;
  /** The sandbox's limits for the capsule's code. */
  sandboxLimits?: SandboxLimitsInput;
  newRunId?: () => string;
}

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
let ajv: Ajv2020 | undefined;

/**
 * The input's problems against the capsule's input schema, each naming its field under `input`
 * (`input.audience`); empty when it fits.
 */
export function inputIssues(schema: Record<string, unknown>, input: unknown): { path: string; message: string }[] {
  if (!ajv) {
    ajv = new Ajv2020({ strict: false, allErrors: true, addUsedSchema: false });
    addFormats(ajv);
  }
  const validate = ajv.compile(schema);
  if (validate(input)) return [];
  return (validate.errors ?? []).slice(0, 20).map((error) => {
    const pointer = error.instancePath.split('/').filter(Boolean);
    const missing = error.keyword === 'required' ? String((error.params as { missingProperty?: string }).missingProperty ?? '') : '';
    const extra =
      error.keyword === 'additionalProperties' ? String((error.params as { additionalProperty?: string }).additionalProperty ?? '') : '';
    const field = [...pointer, ...(missing ? [missing] : []), ...(extra ? [extra] : [])];
    const message = extra ? 'is not a field of the capsule’s input' : (error.message ?? 'is invalid');
    return { path: ['input', ...field].join('.'), message };
  });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Tokens and USD a tool result reports (a gateway chat's `usage` and `costUsd`), else zero. */
export function replyUsage(result: unknown): { tokens: number; costUsd: number } {
  if (!isRecord(result)) return { tokens: 0, costUsd: 0 };
  const usage = isRecord(result.usage) ? result.usage : {};
  const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0);
  return {
    tokens: Math.round(count(usage.inputTokens) + count(usage.outputTokens)),
    costUsd: count(result.costUsd),
  };
}

function overBudget(usage: RunUsage, budget: CapsuleRun['budget']): string | undefined {
  if (usage.tokens > budget.tokens) return `the run used ${usage.tokens} tokens; its budget is ${budget.tokens}`;
  if (usage.costUsd > budget.costUsd) return `the run cost ${usage.costUsd.toFixed(6)} USD; its budget is ${budget.costUsd} USD`;
  return undefined;
}

function summaryOf(output: JsonValue): string {
  const text =
    typeof output === 'string' ? output : isRecord(output) && typeof output.summary === 'string' ? output.summary : JSON.stringify(output);
  return text.length > MAX_SUMMARY_CHARS ? `${text.slice(0, MAX_SUMMARY_CHARS - 1)}…` : text;
}

/** The template variables of an input: its strings, numbers and booleans. */
function variablesOf(input: Record<string, unknown>): Record<string, string | number | boolean> {
  return Object.fromEntries(
    Object.entries(input).filter((entry): entry is [string, string | number | boolean] =>
      ['string', 'number', 'boolean'].includes(typeof entry[1]),
    ),
  );
}

/** Why a run stopped before its code ended on its own. */
type Stop = { outcome: 'over-budget' | 'pending-approval' | 'refused'; reason: string; approvalId?: string };

/**
 * Runs an installed capsule for `tenant` as `actor`, to its end, and returns the run.
 * @throws ValidationError naming `input.<field>` when the input does not fit the capsule's input schema.
 * @throws NotFoundError when the tenant has not installed the capsule.
 * `options.budget` lowers the run's budget below the capsule's per-run budget (a KAMACHIQ plan's node).
 * @example const run = await startRun('acme', 'ops@acme.example', { name: 'incident-summary', input: { incident_id: 'i-1' } }, deps);
 */
export async function startRun(
  tenant: string,
  actor: string,
  params: z.input<typeof startRunInputSchema>,
  deps: RunDeps,
  options: { budget?: { tokens: number; costUsd: number } } = {},
): Promise<CapsuleRun> {
  const { name, input } = startRunInputSchema.parse(params);
  const install = await deps.capsules.install(tenant, name);
  if (install?.status !== 'installed') throw new NotFoundError(`Tenant ${tenant} has not installed capsule ${name}`);
  const capsule = await deps.capsules.capsule(install);
  const manifest = capsule.manifest;
  const issues = inputIssues(manifest.inputSchema, input);
  if (issues.length > 0) throw new ValidationError(issues);
  if (!manifest.code && !manifest.tools.includes(GATEWAY_CHAT_TOOL))
    throw new ForbiddenError(`Capsule ${name} brings no code and does not request ${GATEWAY_CHAT_TOOL}: it has nothing to run`);

  const runId = deps.newRunId?.() ?? `run-${randomBytes(16).toString('hex')}`;
  // A plan's node may run on less than the capsule's per-run budget, never on more.
  const budget = {
    tokens: Math.min(install.budget.tokens, options.budget?.tokens ?? install.budget.tokens),
    costUsd: Math.min(install.budget.costUsd, options.budget?.costUsd ?? install.budget.costUsd),
  };
  let run: CapsuleRun = {
    runId,
    tenant,
    name,
    version: install.version,
    bundleSha256: install.bundleSha256,
    inputSha256: canonicalHash(input),
    outcome: 'running',
    summary: null,
    reason: null,
    usage: { tokens: 0, costUsd: 0, toolCalls: 0 },
    budget,
    steps: [],
    startedBy: actor,
    startedAt: deps.clock().toISOString(),
    revision: 0,
  };
  await deps.store.putRun(run, undefined, [
    busEvent('capsules.run.started', {
      tenant,
      runId,
      name,
      capsuleVersion: run.version,
      bundleSha256: run.bundleSha256,
      inputSha256: run.inputSha256,
      budget,
      startedBy: actor,
      startedAt: run.startedAt,
    }),
  ]);
  // Steps are saved one at a time, in order (the sandbox calls tools one at a time too).
  let saving: Promise<void> = Promise.resolve();
  const save = (next: CapsuleRun, events: BusEvent[]) => {
    const expected = run.revision;
    const saved = { ...next, revision: expected + 1 };
    run = saved;
    saving = saving.then(() => deps.store.putRun(saved, expected, events));
    return saving;
  };

  let stop: Stop | undefined;
  const step = async (
    tool: string,
    args: Record<string, unknown>,
    made: Omit<RunStep, 'step' | 'at' | 'tool'>,
    resultSha256: string | null,
    usage: RunUsage,
  ) => {
    const at = deps.clock().toISOString();
    const entry: RunStep = { step: run.steps.length + 1, tool, at, ...made };
    await save({ ...run, usage, steps: [...run.steps, entry] }, [
      busEvent('capsules.run-tool.called', {
        tenant,
        runId,
        name,
        step: entry.step,
        tool,
        outcome: entry.outcome,
        argumentsSha256: canonicalHash(args),
        resultSha256,
        statusCode: entry.statusCode,
        reason: entry.reason,
        usage,
        calledAt: at,
      }),
    ]);
  };
  const refuse = async (tool: string, args: Record<string, unknown>, reason: string, outcome: Stop['outcome']): Promise<never> => {
    stop ??= { outcome, reason };
    await step(tool, args, { outcome: 'refused', statusCode: 0, reason }, null, run.usage);
    throw new SandboxToolError(reason);
  };

  /** One tool call: declared, within the guardrails and the budget, through the MCP path. */
  const callTool = async (tool: string, rawArgs: unknown, signal?: AbortSignal): Promise<unknown> => {
    const args = isRecord(rawArgs) ? rawArgs : {};
    if (stop) throw new SandboxToolError(`the run is over: ${stop.reason}`);
    if (!toolNameSchema.safeParse(tool).success || !manifest.tools.includes(tool))
      return refuse(tool.slice(0, 64) || '?', args, `${tool} is not among the tools capsule ${name} declares`, 'refused');
    if (run.steps.length >= MAX_RUN_STEPS)
      return refuse(tool, args, `the run made ${MAX_RUN_STEPS} tool calls, the most one run may`, 'over-budget');
    const spent =
      overBudget(run.usage, budget) ?? (run.usage.tokens >= budget.tokens ? `the run used its ${budget.tokens} tokens` : undefined);
    if (spent) return refuse(tool, args, spent, 'over-budget');
    if (deps.guardrails) {
      const decision = await deps.guardrails.check(tenant, name, tool);
      if (!decision.allowed)
        return refuse(tool, args, `the capsule's guardrails forbid ${tool}${decision.reason ? `: ${decision.reason}` : ''}`, 'refused');
    }
    const reply = await deps.tools.call(tool, args, { tenant, runId, capsule: name, ...(signal ? { signal } : {}) });
    const cost = replyUsage(reply.result);
    const usage: RunUsage = {
      tokens: run.usage.tokens + cost.tokens,
      costUsd: run.usage.costUsd + cost.costUsd,
      toolCalls: run.usage.toolCalls + 1,
    };
    const reason =
      reply.outcome === 'error' ? reply.text.slice(0, 2000) : reply.outcome === 'pending' ? `${tool} is pending approval` : null;
    await step(
      tool,
      args,
      { outcome: reply.outcome, statusCode: reply.statusCode, reason, ...(reply.approvalId ? { approvalId: reply.approvalId } : {}) },
      canonicalHash(reply.result ?? null),
      usage,
    );
    if (reply.outcome === 'pending') {
      stop ??= {
        outcome: 'pending-approval',
        reason: `${tool} waits for approval${reply.approvalId ? ` ${reply.approvalId}` : ''}: the run ends here, nothing more was done`,
        ...(reply.approvalId ? { approvalId: reply.approvalId } : {}),
      };
      throw new SandboxToolError(stop.reason);
    }
    const over = overBudget(usage, budget);
    if (over) {
      stop ??= { outcome: 'over-budget', reason: over };
      throw new SandboxToolError(over);
    }
    if (reply.outcome === 'error') throw new SandboxToolError(`${tool} failed: ${reply.text.slice(0, 500)}`);
    return reply.result ?? null;
  };

  let ended: { outcome: Exclude<RunOutcome, 'running'>; summary: string | null; reason: string | null; approvalId?: string };
  try {
    ended = manifest.code ? await runCode(capsule, input, callTool, deps.sandboxLimits) : await runChat(capsule, input, callTool);
  } catch (error) {
    // A tool refusal or failure of the chat path: `stop` says why when it was the run's own stop.
    ended = { outcome: 'failed', summary: null, reason: error instanceof SandboxToolError ? error.message : 'the run failed' };
  }
  if (stop)
    ended = {
      outcome: stop.outcome,
      summary: ended.summary,
      reason: stop.reason,
      ...(stop.approvalId ? { approvalId: stop.approvalId } : {}),
    };
  await saving;
  const endedAt = deps.clock().toISOString();
  const final: CapsuleRun = {
    ...run,
    outcome: ended.outcome,
    summary: ended.summary,
    reason: ended.reason,
    ...(ended.approvalId ? { approvalId: ended.approvalId } : {}),
    endedAt,
  };
  await save(final, [
    busEvent('capsules.run.ended', {
      tenant,
      runId,
      name,
      capsuleVersion: run.version,
      outcome: ended.outcome,
      summarySha256: ended.summary === null ? null : sha256(ended.summary),
      usage: run.usage,
      reason: ended.reason,
      endedAt,
    }),
  ]);
  await deps.store.countOutcome(name, ended.outcome);
  return run;
}

type ToolCall = (tool: string, args: unknown, signal?: AbortSignal) => Promise<unknown>;

/** The capsule's code: its first code tool's entry, in the sandbox, with the manifest's capabilities. */
async function runCode(
  capsule: VerifiedCapsule,
  input: Record<string, unknown>,
  callTool: ToolCall,
  limits: SandboxLimitsInput | undefined,
): Promise<{ outcome: 'completed' | 'failed' | 'refused'; summary: string | null; reason: string | null }> {
  const code = capsule.manifest.code;
  const bundle = sandboxBundle(capsule);
  if (!code || !bundle) return { outcome: 'failed', summary: null, reason: 'the capsule brings no code' };
  const [entry] = code.tools;
  const result = await runSandboxed({
    bundle,
    entry: entry?.entry ?? 'run',
    input,
    capabilities: bundle.capabilities,
    ...(limits ? { limits } : {}),
    host: { callTool: (tool, args, { signal }) => callTool(tool, args, signal) },
  });
  if (result.ok) return { outcome: 'completed', summary: summaryOf(result.output), reason: null };
  return {
    outcome: result.error.kind === 'capability' ? 'refused' : 'failed',
    summary: null,
    reason: `${result.error.kind}: ${result.error.message}`.slice(0, 2000),
  };
}

/** A capsule without code: one gateway chat with its persona and its first template, rendered from the input. */
async function runChat(
  capsule: VerifiedCapsule,
  input: Record<string, unknown>,
  callTool: ToolCall,
): Promise<{ outcome: 'completed'; summary: string; reason: null }> {
  const manifest = capsule.manifest;
  const variables = variablesOf(input);
  const persona = renderTemplate({ name: 'persona', messages: [{ role: 'system', content: manifest.persona.instructions }] }, variables, {
    unusedVariables: 'ignore',
    path: 'input',
  }).messages;
  const [first] = manifest.templates;
  const prompt = first
    ? renderTemplate(first, variables, { unusedVariables: 'ignore', path: 'input' }).messages
    : [{ role: 'user' as const, content: JSON.stringify(input) }];
  const model = manifest.gateway?.models[0];
  const reply = await callTool(GATEWAY_CHAT_TOOL, { ...(model ? { model } : {}), messages: [...persona, ...prompt] });
  const text = isRecord(reply) && typeof reply.text === 'string' ? reply.text : JSON.stringify(reply);
  return { outcome: 'completed', summary: text.slice(0, MAX_SUMMARY_CHARS), reason: null };
}

/** Reads the tenant's runs, or one run. @throws NotFoundError when `runId` names no run of the tenant. */
export async function readRuns(
  tenant: string,
  params: z.input<typeof getRunsInputSchema>,
  store: RunStore,
): Promise<{ runs: CapsuleRun[] }> {
  const { runId, name, limit } = getRunsInputSchema.parse(params);
  if (runId) {
    const run = await store.run(tenant, runId);
    if (!run) throw new NotFoundError(`Tenant ${tenant} has no run ${runId}`);
    return { runs: [run] };
  }
  return { runs: await store.runs(tenant, limit, name) };
}

/** A capsule's record from its outcome counts. */
export function runRecord(byOutcome: Record<string, number>): RunRecord {
  const runs = Object.values(byOutcome).reduce((sum, count) => sum + count, 0);
  const completed = byOutcome.completed ?? 0;
  return { runs, completed, successRate: runs === 0 ? 0 : completed / runs, byOutcome };
}
