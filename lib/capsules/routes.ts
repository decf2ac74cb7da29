/** Routes of the Capsules engine: author keys, submissions, the marketplace catalog, installs, deprecations, runs, plans. */
import { z } from 'zod';
import { defineRoute } from '../api/route.ts';
import { cancelPlanInputSchema, getPlansInputSchema, planViewSchema, submitPlanInputSchema } from './plans.ts';
import { capsuleRunSchema, getRunsInputSchema, runRecordSchema, startRunInputSchema } from './runs.ts';
import {
  authorKeyViewSchema,
  capsuleSummarySchema,
  capsuleVersionSchema,
  catalogInputSchema,
  deprecateInputSchema,
  getAuthorsInputSchema,
  installInputSchema,
  installSchema,
  putAuthorInputSchema,
  submitInputSchema,
  uninstallInputSchema,
} from './schemas.ts';

/** PUT /capsules/authors (admin): register or revoke an author's Ed25519 key. */
export const putAuthorRoute = defineRoute({
  engine: 'capsules',
  action: 'authors',
  method: 'PUT',
  permission: 'capsules:admin',
  summary:
    "Register an author's Ed25519 public key (PEM, SPKI; its id is the SHA-256 of its DER) or revoke one (revokeKeyId). Only the tenant's admins bind keys to authors; registering an active key again changes nothing, a revoked key is never registered again. Recorded in the ledger (capsules.author-key.changed)",
  parameters: putAuthorInputSchema,
  result: authorKeyViewSchema,
});

/** GET /capsules/authors: the tenant's author keys. */
export const getAuthorsRoute = defineRoute({
  engine: 'capsules',
  action: 'authors',
  method: 'GET',
  permission: 'capsules:read',
  summary: "The tenant's registered author keys (of one subject with `subject`): key id, public key, status",
  parameters: getAuthorsInputSchema,
  result: z.strictObject({ keys: z.array(authorKeyViewSchema).max(1000) }),
});

/** POST /capsules/submissions: submit a signed bundle for review and publication. */
export const submitRoute = defineRoute({
  engine: 'capsules',
  action: 'submissions',
  method: 'POST',
  permission: 'capsules:write',
  summary:
    "Submit a capsule bundle signed with the caller's registered Ed25519 key. The automated review checks size, the signature over the exact bytes, the bundle's canonical form, the manifest (templates, guardrails, input schema, tools, models), the author's rights on every tool and the version; a refusal stores and publishes nothing and answers with the exact reason: 400 naming the field (missing or wrong signature, content changed after signing, malformed manifest), 403 (tools beyond the author's rights, another tenant's name), 409 (the version exists), 413 (oversize). A bundle that passes waits for a reviewer's approval (202, a capsules:publish proposal with its approval id) and is published when approved",
  parameters: submitInputSchema,
  result: capsuleVersionSchema,
});

/** GET /capsules/catalog: search and read the marketplace. */
export const catalogRoute = defineRoute({
  engine: 'capsules',
  action: 'catalog',
  method: 'GET',
  permission: 'capsules:read',
  summary:
    'Search published capsules (q: words in the name or description), list one capsule’s versions (name), or read one version with its review record (name and version). Each capsule shows its success record (runs, completed, success rate, outcomes of every tenant’s runs). Versions in review or rejected are shown to their owner only',
  parameters: catalogInputSchema,
  result: z.strictObject({
    capsules: z.array(capsuleSummarySchema.extend({ record: runRecordSchema.optional() })).max(100),
    version: capsuleVersionSchema.optional(),
  }),
});

/** POST /capsules/installs (admin): install a published version in the tenant. */
export const installRoute = defineRoute({
  engine: 'capsules',
  action: 'installs',
  method: 'POST',
  permission: 'capsules:admin',
  summary:
    "Install a published capsule version in the tenant (or move to it): its bundle verified again, its guardrails made the capsule's layer of the tenant's Cedar policy set (a new policy version), its per-run budget recorded; recorded in the ledger (capsules.capsule.installed). 404 when no such version is published, 409 when it is deprecated or installed already",
  parameters: installInputSchema,
  result: installSchema,
});

/** DELETE /capsules/installs?name= (admin): uninstall. */
export const uninstallRoute = defineRoute({
  engine: 'capsules',
  action: 'installs',
  method: 'DELETE',
  permission: 'capsules:admin',
  summary:
    "Uninstall a capsule: its layer leaves the tenant's policy set (a new policy version), its budget is released; recorded in the ledger. 404 when it is not installed",
  parameters: uninstallInputSchema,
  result: installSchema,
});

/** GET /capsules/installs: the tenant's installs. */
export const listInstallsRoute = defineRoute({
  engine: 'capsules',
  action: 'installs',
  method: 'GET',
  permission: 'capsules:read',
  summary:
    "The tenant's installed (and uninstalled) capsules: version, bundle hash, tools, budget, the policy version holding their guardrails",
  parameters: z.strictObject({}),
  result: z.strictObject({ installs: z.array(installSchema).max(1000) }),
});

/** PUT /capsules/deprecations (admin): deprecate a published version of the tenant's own capsule. */
export const deprecateRoute = defineRoute({
  engine: 'capsules',
  action: 'deprecations',
  method: 'PUT',
  permission: 'capsules:admin',
  summary:
    "Deprecate a published version of one of the tenant's capsules, with a reason: tenants that installed it keep it, new installs are refused (409). 404 when the tenant owns no such version",
  parameters: deprecateInputSchema,
  result: capsuleVersionSchema,
});

/** POST /capsules/runs: run an installed capsule to its end. */
export const startRunRoute = defineRoute({
  engine: 'capsules',
  action: 'runs',
  method: 'POST',
  permission: 'capsules:write',
  summary:
    "Run an installed capsule with an input its input schema accepts (400 naming the field; 404 when the tenant has not installed it): its code runs in the sandbox (or, without code, one gateway chat with its persona and first template), calling only the capsule's declared tools through the MCP tools/call path with a key minted for the run (the caller's roles), each call first checked against the capsule's guardrails as Autonomy::Capsule::\"<name>\", within its per-run budget of tokens and USD. Ends completed (summary, usage), failed, over-budget, refused (an undeclared or forbidden tool) or pending-approval (a tool call waits for people: the approval id). Each step is an event and a ledger entry (capsules.run.started, capsules.run-tool.called, capsules.run.ended); the outcome counts in the capsule's record",
  parameters: startRunInputSchema,
  result: capsuleRunSchema,
});

/** GET /capsules/runs: the tenant's runs, or one. */
export const listRunsRoute = defineRoute({
  engine: 'capsules',
  action: 'runs',
  method: 'GET',
  permission: 'capsules:read',
  summary:
    "The tenant's capsule runs, newest first (of one capsule with `name`), or one run with `runId` (404 when the tenant has none such): outcome, summary, usage against its budget, each tool call; `record` gives the capsule's outcome counts and success rate when `name` is given",
  parameters: getRunsInputSchema,
  result: z.strictObject({ runs: z.array(capsuleRunSchema).max(100), record: runRecordSchema.optional() }),
});

/** POST /capsules/plans: submit and start a KAMACHIQ plan. */
export const submitPlanRoute = defineRoute({
  engine: 'capsules',
  action: 'plans',
  method: 'POST',
  permission: 'capsules:write',
  summary:
    "Start a KAMACHIQ plan: a goal, a DAG of runs of installed capsules (nodes with dependsOn; a string input may hold {{nodes.<id>.summary}}, the summary of a node it depends on) and a plan budget of tokens and USD. Refused with 400 naming the field, storing nothing: a cycle (named), an unknown dependency, a capsule not installed, a run budget beyond the capsule's or the plan's. Its layers run one after another, each layer's nodes in parallel, each node one capsule run (as POST /capsules/runs, with the caller's roles) on its run budget; before each layer the kill switches and a cancellation are checked, and a node whose run budget no longer fits what is left of the plan budget is skipped. Ends with a summary; the plan, each node and the summary are in the ledger (capsules.plan.started, capsules.plan-node.ended, capsules.plan.completed)",
  parameters: submitPlanInputSchema,
  result: planViewSchema,
});

/** GET /capsules/plans: the tenant's plans, or one. */
export const getPlansRoute = defineRoute({
  engine: 'capsules',
  action: 'plans',
  method: 'GET',
  permission: 'capsules:read',
  summary:
    "The tenant's KAMACHIQ plans, newest first, or one with `planId` (404 when the tenant has none such): status, layers, each node's state, run id, usage, duration and reason, and what the plan spent",
  parameters: getPlansInputSchema,
  result: z.strictObject({ plans: z.array(planViewSchema).max(100) }),
});

/** DELETE /capsules/plans?planId=: cancel a plan. */
export const cancelPlanRoute = defineRoute({
  engine: 'capsules',
  action: 'plans',
  method: 'DELETE',
  permission: 'capsules:write',
  summary:
    'Cancel a running KAMACHIQ plan: no node starts after this (runs under way finish) and the plan ends cancelled with its summary. 404 when the tenant has no such plan, 409 when it has ended',
  parameters: cancelPlanInputSchema,
  result: planViewSchema,
});
