/**
 * Events of the model Gateway engine (`autonomy.gateway`). A tenant paused at its budget's hard cap
 * is saved with the budget state that paused it (an outbox), and a change of a tenant's prompt
 * templates with the template; each is recorded in the tenant's ledger (stream `events.gateway`) and
 * published after it, so it is published at least once (events/delivery.ts).
 */
import { z } from 'zod';
import { defineEvent, detailSchema, isoTimestampSchema, sha256HexSchema } from './common.ts';
import { actorSchema } from './ids.ts';

/** The budget windows a tenant may set (`PUT /gateway/budgets`): a calendar hour, day or month in UTC. */
export const budgetWindowSchema = z.enum(['hour', 'day', 'month']);

/** `gateway.tenant.paused` v1: a tenant's spending reached its token or cost budget; model calls are refused until the window ends or an admin raises the budget. */
export const tenantPaused = defineEvent({
  source: 'autonomy.gateway',
  detailType: 'gateway.tenant.paused',
  version: '1',
  description:
    "A tenant's model spending reached the hard cap of its token or cost budget in the current window: the gateway refuses its model calls (429 naming the budget) until the window ends or an admin raises the budget.",
  schema: detailSchema('1', {
    /** Which limit was reached: input plus output tokens, or USD. */
    budget: z.enum(['tokens', 'costUsd']),
    window: budgetWindowSchema,
    /** The window's first instant (UTC). */
    windowStart: isoTimestampSchema,
    /** When the window ends and spending starts from zero again. */
    pausedUntil: isoTimestampSchema,
    /** The budget's limit, in its unit. */
    limit: z.number().min(0).max(1e15),
    /** What was spent in the window when the cap was reached, in the budget's unit. */
    spent: z.number().min(0).max(1e15),
    /** The request whose settlement reached the cap. */
    requestId: z.string().min(1).max(128),
    pausedAt: isoTimestampSchema,
  }),
});
/** The detail of `gateway.tenant.paused`. */
export type TenantPaused = z.infer<typeof tenantPaused.schema>;

/** A template's name in an event (lib/gateway/templates.ts `TEMPLATE_NAME_PATTERN`). */
const templateNameText = z
  .string()
  .max(64)
  .regex(/^[a-z][a-z0-9_]{0,63}$/);
/** A template version: the tenant's template revision when it was written (0: none). */
const templateVersion = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * `gateway.template.changed` v1: a tenant defined, replaced or deleted one of its prompt templates
 * (`PUT` / `DELETE /gateway/templates`). Saved with the template in one write (an outbox), recorded in
 * the tenant's ledger (stream `events.gateway`) and published after it. The content never reaches the
 * bus: its SHA-256 does, which proves which text a version held.
 */
export const templateChanged = defineEvent({
  source: 'autonomy.gateway',
  detailType: 'gateway.template.changed',
  version: '1',
  description:
    "A tenant's prompt template was defined, replaced or deleted: its name, the new and previous versions and the SHA-256 of each (the content stays in the gateway's state), who changed it and whether it overrides a built-in of the same name.",
  schema: detailSchema('1', {
    name: templateNameText,
    change: z.enum(['defined', 'replaced', 'deleted']),
    /** The version written (for a deletion: the revision the deletion took). `version` is the detail's own. */
    templateVersion: templateVersion.min(1),
    /** The version it replaced or deleted; 0 when the name was new to the tenant. */
    previousTemplateVersion: templateVersion,
    /** SHA-256 of the RFC 8785 canonical JSON of the template now in force; null after a deletion. */
    hash: sha256HexSchema.nullable(),
    /** The same of the template it replaced or deleted; null when there was none. */
    previousHash: sha256HexSchema.nullable(),
    /** A built-in template of the same name exists (the tenant's overrides it; after a deletion it applies again). */
    builtIn: z.boolean(),
    actor: actorSchema,
    changedAt: isoTimestampSchema,
  }),
});
/** The detail of `gateway.template.changed`. */
export type TemplateChanged = z.infer<typeof templateChanged.schema>;
