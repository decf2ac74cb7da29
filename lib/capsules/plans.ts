/**
 * KAMACHIQ plans (autonomous project mode): a goal and a DAG of capsule runs with a plan budget.
 * Pure logic: validating a plan against the tenant's installs ({@link validatePlan}: duplicate ids,
 * unknown dependencies, cycles named, capsules not installed, per-run budgets beyond the capsule's or
 * the plan's), its topological layers ({@link planLayers}), which ready nodes of a layer may start
 * within the plan's remaining budget ({@link admitLayer}), node inputs filled from the outputs of the
 * nodes they depend on ({@link fillInput}), the review gate ({@link reviewFor}: each plan proposed as
 * `capsules:plan` before its first layer, and again before a layer holding a node flagged `review`;
 * {@link reviewProposal}, {@link reviewVerdict}) and the final summary ({@link planSummary}). The plan
 * runs as statemachines/capsule-plan.asl.json: one layer at a time, its nodes in parallel (a Map), each
 * node one capsule run through {@link startRun}'s path (lib/capsules/runs.ts).
 */
import { z } from 'zod';
import { capsuleNameSchema, tenantSchema } from '../../events/ids.ts';
import { roleSchema } from '../auth/roles.ts';
import type { FieldIssue } from '../errors.ts';
import { gateDecision } from '../governance/gate-wait.ts';
import { type ProposalInput, routeSchema } from '../governance/model.ts';
import type { Proposal } from '../governance/proposals.ts';
import type { RunUsage } from './runs.ts';
import type { Install } from './schemas.ts';

/** Most nodes one plan holds. */
export const MAX_PLAN_NODES = 20;
/** Longest goal, in characters. */
export const MAX_GOAL_CHARS = 2000;

/** A plan's id: `plan-` and 32 hex digits (also its execution's name). */
export const planIdSchema = z
  .string()
  .max(37)
  .regex(/^plan-[0-9a-f]{32}$/, 'a plan id (plan-<32 hex digits>)');

/** A node's id within its plan: lower-case letters, digits and dashes, starting with a letter. */
export const nodeIdSchema = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'a node id (lower-case letters, digits and dashes, starting with a letter)');

/** A budget: tokens and USD (what capsule runs are limited by). */
export const planBudgetSchema = z.strictObject({
  tokens: z.number().int().min(0).max(1e12),
  costUsd: z.number().min(0).max(1e9),
});
/** A budget of tokens and USD. */
export type PlanBudget = z.infer<typeof planBudgetSchema>;

/** One node as submitted: an installed capsule, its input, the nodes it depends on, optionally a per-run budget. */
export const planNodeInputSchema = z.strictObject({
  id: nodeIdSchema,
  capsule: capsuleNameSchema,
  input: z
    .record(z.string().max(128), z.unknown())
    .default({})
    .refine((input) => JSON.stringify(input).length <= 16 * 1024, 'at most 16 KiB of JSON')
    .describe(
      "The run's input; a string may hold {{nodes.<id>.summary}}, replaced by the summary of node <id> (one of dependsOn) when this node starts",
    ),
  dependsOn: z.array(nodeIdSchema).max(MAX_PLAN_NODES).default([]),
  budget: planBudgetSchema.optional().describe("This node's run budget (at most the capsule's per-run budget); absent: the capsule's"),
  review: z
    .boolean()
    .default(false)
    .describe("Ask people before this node's layer starts (a review gate), whatever the tenant's autonomy level"),
});
/** A node as submitted. */
export type PlanNodeInput = z.infer<typeof planNodeInputSchema>;

/** `POST /capsules/plans`: a goal, its DAG of capsule runs and the plan budget. */
export const submitPlanInputSchema = z.strictObject({
  goal: z.string().min(1).max(MAX_GOAL_CHARS),
  budget: planBudgetSchema,
  nodes: z.array(planNodeInputSchema).min(1).max(MAX_PLAN_NODES),
});
/** A plan as submitted. */
export type PlanSubmission = z.infer<typeof submitPlanInputSchema>;

/** `GET /capsules/plans`: the tenant's plans (newest first), or one by id with its nodes. */
export const getPlansInputSchema = z.strictObject({
  planId: planIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** `DELETE /capsules/plans?planId=`: cancel a running plan (nodes running now finish; no more start). */
export const cancelPlanInputSchema = z.strictObject({ planId: planIdSchema });

/** A node's state: waiting, running, an ended run's outcome, or skipped (never started). */
export const nodeStateSchema = z.enum([
  'pending',
  'running',
  'completed',
  'failed',
  'over-budget',
  'pending-approval',
  'refused',
  'skipped',
]);
/** A node's state. */
export type NodeState = z.infer<typeof nodeStateSchema>;

/** A plan's state. */
export const planStatusSchema = z.enum(['running', 'reviewing', 'completed', 'failed', 'halted', 'cancelled', 'rejected']);
/** A plan's state. */
export type PlanStatus = z.infer<typeof planStatusSchema>;

const usageSchema = z.object({
  tokens: z.number().int().min(0).max(1e12),
  costUsd: z.number().min(0).max(1e9),
  toolCalls: z.number().int().min(0).max(1e6),
});

/** One node of a stored plan, with its state. */
export const planNodeSchema = z.object({
  id: nodeIdSchema,
  capsule: capsuleNameSchema,
  input: z.record(z.string().max(128), z.unknown()),
  dependsOn: z.array(nodeIdSchema).max(MAX_PLAN_NODES),
  /** Its run's budget: the node's own, else the capsule's per-run budget. */
  budget: planBudgetSchema,
  /** People review the plan before this node's layer starts. */
  review: z.boolean().default(false),
  /** Its topological layer (0: no dependencies). */
  layer: z.number().int().min(0).max(MAX_PLAN_NODES),
  state: nodeStateSchema,
  runId: z.string().max(36).nullable(),
  summary: z.string().max(8000).nullable(),
  reason: z.string().max(2000).nullable(),
  usage: usageSchema,
  startedAt: z.iso.datetime().max(64).nullable(),
  endedAt: z.iso.datetime().max(64).nullable(),
  durationMs: z.number().int().min(0).max(1e9).nullable(),
});
/** A stored node. */
export type PlanNode = z.infer<typeof planNodeSchema>;

/** A review gate's decision: waiting, or how governance settled the `capsules:plan` proposal. */
export const reviewDecisionSchema = z.enum(['pending', 'approved', 'rejected', 'timed-out', 'refused']);
/** A review gate's decision. */
export type ReviewDecision = z.infer<typeof reviewDecisionSchema>;

/** One review gate of a plan: before which layer, its proposal, where governance routed it, its decision. */
export const planReviewSchema = z.object({
  layer: z.number().int().min(0).max(MAX_PLAN_NODES),
  proposalId: z.string().max(64),
  route: routeSchema,
  /** Why people were asked whatever the autonomy level (the budget, flagged nodes), if they were. */
  escalated: z.string().max(300).nullable(),
  decision: reviewDecisionSchema,
  reason: z.string().max(2000),
  decidedAt: z.iso.datetime().max(64).nullable(),
});
/** One review gate of a plan. */
export type PlanReview = z.infer<typeof planReviewSchema>;

/** A stored plan (its nodes kept as items of their own, so parallel runs never write the same item). */
export const planSchema = z.object({
  planId: planIdSchema,
  tenant: tenantSchema,
  goal: z.string().max(MAX_GOAL_CHARS),
  budget: planBudgetSchema,
  status: planStatusSchema,
  /** Node ids by topological layer. */
  layers: z.array(z.array(nodeIdSchema).max(MAX_PLAN_NODES)).max(MAX_PLAN_NODES),
  /** The layer that runs next (or ran last). */
  layer: z.number().int().min(0).max(MAX_PLAN_NODES),
  /** The latest review gate's proposal (`capsules:plan`), once the plan was proposed. */
  proposalId: z.string().max(64).nullable(),
  /** Its review gates, in order (records written before gates existed have none). */
  reviews: z
    .array(planReviewSchema)
    .max(MAX_PLAN_NODES + 1)
    .default([]),
  reason: z.string().max(2000).nullable(),
  usage: usageSchema,
  startedBy: z.string().max(256),
  /** The starter's roles: each node's run acts with them (a key minted per run). */
  roles: z.array(roleSchema).max(20),
  startedAt: z.iso.datetime().max(64),
  endedAt: z.iso.datetime().max(64).nullable(),
  executionArn: z.string().max(2048).nullable(),
  revision: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
/** A stored plan. */
export type Plan = z.infer<typeof planSchema>;

/** A plan with its nodes, as shown. */
export const planViewSchema = planSchema.extend({ nodes: z.array(planNodeSchema).max(MAX_PLAN_NODES) });
/** A plan with its nodes. */
export type PlanView = z.infer<typeof planViewSchema>;

/** `{{nodes.<id>.summary}}`: the place in a string input where a dependency's summary goes. */
const OUTPUT_REFERENCE = /\{\{\s*nodes\.([a-z][a-z0-9-]{0,31})\.summary\s*\}\}/g;

/** Every string inside a JSON value, with its path below `path`. */
function stringsOf(value: unknown, path: string[]): { path: string[]; text: string }[] {
  if (typeof value === 'string') return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((item, index) => stringsOf(item, [...path, String(index)]));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([key, item]) => stringsOf(item, [...path, key]));
  return [];
}

/** The node ids a node's input refers to, with where. */
export function inputReferences(input: Record<string, unknown>): { path: string[]; node: string }[] {
  return stringsOf(input, []).flatMap(({ path, text }) =>
    [...text.matchAll(OUTPUT_REFERENCE)].map((match) => ({ path, node: match[1] ?? '' })),
  );
}

/**
 * A cycle among `nodes` (their ids in order, the first repeated at the end), or undefined.
 * Dependencies on unknown ids are ignored here.
 */
export function findCycle(nodes: readonly { id: string; dependsOn: readonly string[] }[]): string[] | undefined {
  const deps = new Map(nodes.map((node) => [node.id, node.dependsOn]));
  const colour = new Map<string, 'grey' | 'black'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    colour.set(id, 'grey');
    stack.push(id);
    for (const next of deps.get(id) ?? []) {
      if (!deps.has(next)) continue;
      if (colour.get(next) === 'grey') return [...stack.slice(stack.indexOf(next)), next];
      if (!colour.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    colour.set(id, 'black');
    return undefined;
  };
  for (const node of nodes) {
    if (colour.has(node.id)) continue;
    const found = visit(node.id);
    if (found) return found;
  }
  return undefined;
}

/**
 * The topological layers of an acyclic plan: layer 0 holds the nodes with no dependencies, layer k
 * the nodes whose deepest dependency is in layer k-1; within a layer, nodes keep their submitted order.
 * @throws Error when the nodes have a cycle (validate with {@link validatePlan} first).
 * @example planLayers([{ id: 'a', dependsOn: [] }, { id: 'b', dependsOn: ['a'] }]); // [['a'], ['b']]
 */
export function planLayers(nodes: readonly { id: string; dependsOn: readonly string[] }[]): string[][] {
  const depth = new Map<string, number>();
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const depthOf = (id: string, seen: Set<string>): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) throw new Error(`the plan has a cycle through ${id}`);
    seen.add(id);
    const node = byId.get(id);
    const value = node && node.dependsOn.length > 0 ? 1 + Math.max(...node.dependsOn.map((dep) => depthOf(dep, seen))) : 0;
    seen.delete(id);
    depth.set(id, value);
    return value;
  };
  const layers: string[][] = [];
  for (const node of nodes) {
    const level = depthOf(node.id, new Set());
    while (layers.length <= level) layers.push([]);
    layers[level]?.push(node.id);
  }
  return layers;
}

function exceeds(budget: PlanBudget, limit: PlanBudget): 'tokens' | 'costUsd' | undefined {
  if (budget.tokens > limit.tokens) return 'tokens';
  if (budget.costUsd > limit.costUsd) return 'costUsd';
  return undefined;
}

/**
 * Checks a submitted plan against the tenant's installs and returns its nodes with their budgets
 * and layers, or the issues, each naming its field path: `nodes.2.id` (a duplicate),
 * `nodes.1.dependsOn.0` (an unknown node, or itself), `nodes.0.dependsOn` (a cycle, named
 * `a → b → a`), `nodes.1.capsule` (not installed), `nodes.1.budget.tokens` (beyond the capsule's
 * per-run budget or the plan budget), `nodes.1.input.text` (a reference to a node it does not depend on).
 * @example validatePlan(plan, new Map([['incident-summary', install]]));
 */
export function validatePlan(
  plan: PlanSubmission,
  installs: ReadonlyMap<string, Pick<Install, 'status' | 'budget'>>,
): { ok: true; nodes: PlanNode[]; layers: string[][] } | { ok: false; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const ids = new Set<string>();
  plan.nodes.forEach((node, index) => {
    if (ids.has(node.id)) issues.push({ path: `nodes.${index}.id`, message: `node ${node.id} is defined twice` });
    ids.add(node.id);
  });
  plan.nodes.forEach((node, index) => {
    node.dependsOn.forEach((dep, at) => {
      if (dep === node.id) issues.push({ path: `nodes.${index}.dependsOn.${at}`, message: `node ${node.id} depends on itself` });
      else if (!ids.has(dep)) issues.push({ path: `nodes.${index}.dependsOn.${at}`, message: `no node ${dep} in the plan` });
    });
    for (const reference of inputReferences(node.input))
      if (!node.dependsOn.includes(reference.node))
        issues.push({
          path: ['nodes', index, 'input', ...reference.path].join('.'),
          message: `refers to the summary of node ${reference.node}, which node ${node.id} does not depend on`,
        });
    const install = installs.get(node.capsule);
    if (install?.status !== 'installed') {
      issues.push({ path: `nodes.${index}.capsule`, message: `capsule ${node.capsule} is not installed in the tenant` });
      return;
    }
    const own = node.budget;
    const beyondCapsule = own && exceeds(own, install.budget);
    if (own && beyondCapsule)
      issues.push({
        path: `nodes.${index}.budget.${beyondCapsule}`,
        message: `${own[beyondCapsule]} exceeds capsule ${node.capsule}'s per-run budget of ${install.budget[beyondCapsule]}`,
      });
    const runBudget = own ?? { tokens: install.budget.tokens, costUsd: install.budget.costUsd };
    const beyondPlan = exceeds(runBudget, plan.budget);
    if (beyondPlan)
      issues.push({
        path: own ? `nodes.${index}.budget.${beyondPlan}` : `nodes.${index}.budget`,
        message: `the run budget's ${runBudget[beyondPlan]} ${beyondPlan} exceeds the plan budget of ${plan.budget[beyondPlan]}${own ? '' : ` (capsule ${node.capsule}'s per-run budget; give the node a smaller one)`}`,
      });
  });
  const cycle = findCycle(plan.nodes);
  if (cycle) {
    const index = plan.nodes.findIndex((node) => node.id === cycle[0]);
    issues.push({ path: `nodes.${index}.dependsOn`, message: `the plan has a cycle: ${cycle.join(' → ')}` });
  }
  if (issues.length > 0) return { ok: false, issues };
  const layers = planLayers(plan.nodes);
  const layerOf = new Map(layers.flatMap((layer, index) => layer.map((id) => [id, index] as const)));
  const nodes: PlanNode[] = plan.nodes.map((node) => {
    const install = installs.get(node.capsule);
    return {
      id: node.id,
      capsule: node.capsule,
      input: node.input,
      dependsOn: node.dependsOn,
      budget: node.budget ?? { tokens: install?.budget.tokens ?? 0, costUsd: install?.budget.costUsd ?? 0 },
      review: node.review,
      layer: layerOf.get(node.id) ?? 0,
      state: 'pending',
      runId: null,
      summary: null,
      reason: null,
      usage: { tokens: 0, costUsd: 0, toolCalls: 0 },
      startedAt: null,
      endedAt: null,
      durationMs: null,
    };
  });
  return { ok: true, nodes, layers };
}

/** What the plan's nodes spent so far (ended runs' usage). */
export function planUsage(nodes: readonly Pick<PlanNode, 'usage'>[]): RunUsage {
  return nodes.reduce(
    (sum, node) => ({
      tokens: sum.tokens + node.usage.tokens,
      costUsd: sum.costUsd + node.usage.costUsd,
      toolCalls: sum.toolCalls + node.usage.toolCalls,
    }),
    { tokens: 0, costUsd: 0, toolCalls: 0 },
  );
}

/** A layer's verdict: the nodes that start, and the nodes skipped with why. */
export interface LayerAdmission {
  start: string[];
  skip: { id: string; reason: string }[];
}

/**
 * Which nodes of layer `layer` start: a node whose dependency did not complete is skipped (naming
 * it); a node whose whole run budget does not fit in the plan's remaining budget (the plan budget
 * less what ended runs spent and what the layer's earlier nodes reserve) is skipped, so the plan
 * never starts a run that could take it past its budget.
 */
export function admitLayer(plan: Pick<Plan, 'budget' | 'layers'>, nodes: readonly PlanNode[], layer: number): LayerAdmission {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const spent = planUsage(nodes);
  const reserved = { tokens: spent.tokens, costUsd: spent.costUsd };
  const admission: LayerAdmission = { start: [], skip: [] };
  for (const id of plan.layers[layer] ?? []) {
    const node = byId.get(id);
    if (!node || node.state !== 'pending') continue;
    const blocked = node.dependsOn.map((dep) => byId.get(dep)).find((dep) => dep?.state !== 'completed');
    if (blocked) {
      admission.skip.push({
        id,
        reason: `dependency ${blocked.id} ended ${blocked.state}${blocked.reason ? `: ${blocked.reason}` : ''}`.slice(0, 2000),
      });
      continue;
    }
    const after = { tokens: reserved.tokens + node.budget.tokens, costUsd: reserved.costUsd + node.budget.costUsd };
    const over = exceeds(after, plan.budget);
    if (over) {
      const left = plan.budget[over] - reserved[over];
      admission.skip.push({
        id,
        reason: `its run budget of ${node.budget[over]} ${over} exceeds what is left of the plan budget (${over === 'costUsd' ? left.toFixed(6) : left} of ${plan.budget[over]})`,
      });
      continue;
    }
    reserved.tokens = after.tokens;
    reserved.costUsd = after.costUsd;
    admission.start.push(id);
  }
  return admission;
}

/**
 * The node's input with each `{{nodes.<id>.summary}}` replaced by that node's summary (empty when
 * it has none).
 */
export function fillInput(input: Record<string, unknown>, summaries: ReadonlyMap<string, string | null>): Record<string, unknown> {
  const fill = (value: unknown): unknown => {
    if (typeof value === 'string') return value.replace(OUTPUT_REFERENCE, (_match, id: string) => summaries.get(id) ?? '');
    if (Array.isArray(value)) return value.map(fill);
    if (typeof value === 'object' && value !== null)
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fill(item)]));
    return value;
  };
  return fill(input) as Record<string, unknown>;
}

/** The final summary of a plan: its outcome, each node's outcome, cost and duration, what was skipped and why. */
export interface PlanSummary {
  outcome: Exclude<PlanStatus, 'running' | 'reviewing'>;
  reason: string;
  usage: RunUsage;
  nodes: {
    id: string;
    capsule: string;
    state: NodeState;
    runId: string | null;
    costUsd: number;
    tokens: number;
    durationMs: number | null;
    reason: string | null;
  }[];
}

/**
 * The plan's summary once no layer is left (or it stopped): `completed` when every node completed;
 * otherwise the stop's outcome (`halted`, `cancelled`, `rejected`) or `failed`, naming what did not complete.
 */
export function planSummary(
  plan: Pick<Plan, 'budget'>,
  nodes: readonly PlanNode[],
  stop?: { outcome: 'halted' | 'cancelled' | 'rejected'; reason: string },
): PlanSummary {
  const usage = planUsage(nodes);
  const rows = nodes.map((node) => ({
    id: node.id,
    capsule: node.capsule,
    state: node.state,
    runId: node.runId,
    costUsd: node.usage.costUsd,
    tokens: node.usage.tokens,
    durationMs: node.durationMs,
    reason: node.reason,
  }));
  const spent = `${usage.tokens} tokens and ${usage.costUsd.toFixed(6)} USD of ${plan.budget.tokens} tokens and ${plan.budget.costUsd} USD`;
  if (stop) return { outcome: stop.outcome, reason: `${stop.reason}; spent ${spent}`.slice(0, 2000), usage, nodes: rows };
  const missed = nodes.filter((node) => node.state !== 'completed');
  if (missed.length === 0)
    return { outcome: 'completed', reason: `all ${nodes.length} runs completed; spent ${spent}`, usage, nodes: rows };
  return {
    outcome: 'failed',
    reason: `${missed.map((node) => `${node.id} ${node.state}`).join(', ')}; spent ${spent}`.slice(0, 2000),
    usage,
    nodes: rows,
  };
}

/**
 * A plan whose budget is above either figure goes to people before its first layer, whatever the
 * tenant's autonomy level (below it, governance routes `capsules:plan` by its risk and the level).
 */
export const REVIEW_THRESHOLD: PlanBudget = { tokens: 1_000_000, costUsd: 10 };

/** Seconds a review gate may keep a plan waiting beyond governance's approval and escalation timeouts. */
export const REVIEW_GATE_MARGIN_SECONDS = 300;

/** Seconds a plan waits at a review gate: the gate's two timeouts and {@link REVIEW_GATE_MARGIN_SECONDS}. */
export function reviewTimeoutOf(config: { approvalTimeoutSeconds: number; escalationTimeoutSeconds: number }): number {
  return config.approvalTimeoutSeconds + config.escalationTimeoutSeconds + REVIEW_GATE_MARGIN_SECONDS;
}

/** The review a layer needs: which layer, the nodes flagged in it, why people are asked whatever the level. */
export interface ReviewNeed {
  layer: number;
  flagged: string[];
  /** Set when people must decide whatever the autonomy level (the proposal's `escalate`). */
  escalate?: string;
}

/**
 * Whether layer `layer` waits for a review gate: layer 0 always (every plan is proposed as
 * `capsules:plan`; governance's risk and the tenant's autonomy level say whether people decide),
 * a later layer only when one of its pending nodes is flagged `review`; a layer whose gate approved
 * needs none. People are asked whatever the level when the plan budget is above
 * {@link REVIEW_THRESHOLD} (layer 0) or a node of the layer is flagged.
 * @example reviewFor({ budget: { tokens: 4000, costUsd: 20 }, layers: [['a']], reviews: [] }, nodes, 0)?.escalate; // 'the plan budget of 20 USD is above the review threshold of 10 USD'
 */
export function reviewFor(
  plan: Pick<Plan, 'budget' | 'layers' | 'reviews'>,
  nodes: readonly Pick<PlanNode, 'id' | 'review' | 'state'>[],
  layer: number,
): ReviewNeed | undefined {
  if (layer >= plan.layers.length) return undefined;
  if (plan.reviews.some((review) => review.layer === layer && review.decision === 'approved')) return undefined;
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const flagged = (plan.layers[layer] ?? []).filter((id) => byId.get(id)?.review === true && byId.get(id)?.state === 'pending');
  if (layer > 0 && flagged.length === 0) return undefined;
  const reasons: string[] = [];
  if (layer === 0 && plan.budget.costUsd > REVIEW_THRESHOLD.costUsd)
    reasons.push(`the plan budget of ${plan.budget.costUsd} USD is above the review threshold of ${REVIEW_THRESHOLD.costUsd} USD`);
  if (layer === 0 && plan.budget.tokens > REVIEW_THRESHOLD.tokens)
    reasons.push(`the plan budget of ${plan.budget.tokens} tokens is above the review threshold of ${REVIEW_THRESHOLD.tokens}`);
  if (flagged.length > 0) reasons.push(`node${flagged.length === 1 ? '' : 's'} ${flagged.join(', ')} flagged for review`);
  return { layer, flagged, ...(reasons.length > 0 ? { escalate: reasons.join('; ').slice(0, 300) } : {}) };
}

/** The id of a plan's review proposal before `layer` (one per plan and layer, so a retried step finds it). */
export function reviewProposalId(planId: string, layer: number): string {
  return `${planId}-review-${layer}`;
}

/**
 * The `capsules:plan` proposal of a review gate: on `capsules/plans/<planId>` in prod (the tenant's
 * live platform), its budget, the layer and the nodes it covers as parameters (all nodes before
 * layer 0), each node as evidence, escalated when {@link reviewFor} says so.
 */
export function reviewProposal(
  plan: Pick<Plan, 'planId' | 'goal' | 'budget' | 'layers'>,
  nodes: readonly PlanNode[],
  need: ReviewNeed,
): ProposalInput {
  const covered = need.layer === 0 ? nodes : nodes.filter((node) => node.layer === need.layer);
  return {
    engine: 'capsules',
    action: 'plan',
    target: `capsules/plans/${plan.planId}`,
    environment: 'prod',
    parameters: {
      planId: plan.planId,
      layer: need.layer,
      nodes: covered.length,
      tokens: plan.budget.tokens,
      costUsd: plan.budget.costUsd,
      flagged: need.flagged,
    },
    reason: `KAMACHIQ plan ${plan.planId}${need.layer > 0 ? `, before layer ${need.layer}` : ''}: ${plan.goal}`.slice(0, 2000),
    evidence: {
      nodes: covered.map((node) => ({
        id: node.id,
        capsule: node.capsule,
        dependsOn: node.dependsOn,
        budget: node.budget,
        layer: node.layer,
        review: node.review,
      })),
      layers: plan.layers,
    },
    ...(need.escalate ? { escalate: need.escalate } : {}),
  };
}

/**
 * A review gate's decision from its proposal ({@link gateDecision}): approved (also once executed or
 * failed: it was approved), undefined while it waits, else rejected, timed out or refused with why.
 */
export function reviewVerdict(
  proposal: Pick<Proposal, 'proposalId' | 'status' | 'reasons'> | undefined,
): { decision: Exclude<ReviewDecision, 'pending'>; reason: string } | undefined {
  const decided = gateDecision(proposal);
  if (decided.decision === 'pending') return undefined;
  if (decided.decision === 'approved')
    return {
      decision: 'approved',
      reason: `proposal ${proposal?.proposalId} approved: ${proposal?.reasons.at(-1) ?? proposal?.status}`.slice(0, 2000),
    };
  return { decision: decided.decision === 'missing' ? 'refused' : decided.decision, reason: decided.reason.slice(0, 2000) };
}
