/** Routes of the Execution engine: runs of approved proposals, their state, their undo. */
import { z } from 'zod';
import { defineRoute } from '../api/route.ts';
import { resourceStateSchema, runInputSchema, runViewSchema, undoInputSchema } from './schemas.ts';

/** A dry run's reply: the plan, nothing changed. */
export const planViewSchema = z.object({
  executionId: z.string().max(80),
  dryRun: z.literal(true),
  plan: z.object({ before: resourceStateSchema, after: resourceStateSchema, changes: z.array(z.string().max(500)).max(50) }),
  parameters: z.record(z.string().min(1).max(128), z.unknown()),
});

/** POST /execution/runs: run an approved proposal through an executor binding (or plan it: dryRun). */
export const startRunRoute = defineRoute({
  engine: 'execution',
  action: 'runs',
  method: 'POST',
  permission: 'execution:write',
  summary:
    'Run an approved proposal through an executor (dry run, kill switch, execute, read-back); once per proposal. 403 binding out of scope, 404 no proposal, 409 not approved for this target and action, 423 kill switch',
  parameters: runInputSchema,
  result: z.union([runViewSchema.extend({ replayed: z.boolean() }), planViewSchema]),
});

/** GET /execution/runs: one run by its execution id. */
export const getRunRoute = defineRoute({
  engine: 'execution',
  action: 'runs',
  method: 'GET',
  permission: 'execution:read',
  summary: "A run's state: plan, read-back, outcome, undo",
  parameters: z.object({ executionId: z.string().min(1).max(80) }),
  result: runViewSchema,
});

/** POST /execution/undo: restore what a succeeded run changed, where its executor can. */
export const undoRunRoute = defineRoute({
  engine: 'execution',
  action: 'undo',
  method: 'POST',
  permission: 'execution:write',
  summary: 'Restore what a succeeded run changed (once; read back); 409 when the run did not succeed or its executor has no undo, 423 kill switch',
  parameters: undoInputSchema,
  result: runViewSchema,
});

/** GET /execution/webhook-key: the tenant's webhook signing key, for its receivers (admin). */
export const webhookKeyRoute = defineRoute({
  engine: 'execution',
  action: 'webhook-key',
  method: 'GET',
  permission: 'execution:admin',
  summary: "The tenant's HMAC-SHA256 key that signs webhooks (X-Autonomy-Signature: v1=hex(HMAC(key, timestamp + '.' + body))); created on first use",
  parameters: z.object({}),
  result: z.object({ key: z.string().max(128), algorithm: z.literal('HMAC-SHA256'), signatureHeader: z.string().max(64), timestampHeader: z.string().max(64) }),
});
