/** Routes of the Gateway engine: models, chat (and its cancellation), budgets and usage, settings, templates, conversations, documents. */
import { z } from 'zod';
import { defineRoute } from '../api/route.ts';
import { documentsInputSchema, documentsResultSchema } from './documents.ts';
import {
  budgetInputSchema,
  cancelInputSchema,
  chatInputSchema,
  chatResultSchema,
  conversationQuerySchema,
  conversationViewSchema,
  deleteTemplateInputSchema,
  deleteTemplateResultSchema,
  exchangeInputSchema,
  exchangeResultSchema,
  gatewaySettingsSchema,
  getTemplatesInputSchema,
  getTemplatesResultSchema,
  modelViewSchema,
  putTemplateInputSchema,
  putTemplateResultSchema,
  requestIdSchema,
  usageViewSchema,
} from './schemas.ts';

/** GET /gateway/models: the stage's models with their limits and prices. */
export const listModelsRoute = defineRoute({
  engine: 'gateway',
  action: 'models',
  method: 'GET',
  permission: 'gateway:read',
  summary:
    'The models a tenant may call: context window, output limit, prices per 1,000 input and output tokens, tokenizer, fallbacks and in-flight mark',
  parameters: z.strictObject({}),
  result: z.strictObject({ models: z.array(modelViewSchema).max(64) }),
});

/** POST /gateway/chat: one request through the pipeline; `stream: true` answers as server-sent events. */
export const chatRoute = defineRoute({
  engine: 'gateway',
  action: 'chat',
  method: 'POST',
  permission: 'gateway:write',
  summary:
    "Chat with a model through the gateway: template, PII, context fitting, budget reservation, model call with fallback, safety filter, settlement, logging. 400 names an unknown model, template or missing variable; 429 names the budget (or the model's in-flight mark, with Retry-After); 503 with Retry-After when no model of the chain answered. With stream: true the reply is text/event-stream (delta events, then a done event holding this result); behind API Gateway it arrives buffered (the gateway's chat-stream function URL streams it as the model writes)",
  parameters: chatInputSchema,
  result: chatResultSchema,
});

/** DELETE /gateway/chat?requestId=: cancel a running request; its streaming loop stops at the next chunk. */
export const cancelChatRoute = defineRoute({
  engine: 'gateway',
  action: 'chat',
  method: 'DELETE',
  permission: 'gateway:write',
  summary:
    'Cancel a running chat request of the tenant: its streaming loop stops at the next chunk, aborts the model call, keeps the partial transcript in the log (finishReason cancelled) and is charged what it used',
  parameters: cancelInputSchema,
  result: z.strictObject({ requestId: requestIdSchema, cancelled: z.literal(true) }),
});

/** PUT /gateway/budgets: the tenant's token and cost budget per window (admin). */
export const putBudgetRoute = defineRoute({
  engine: 'gateway',
  action: 'budgets',
  method: 'PUT',
  permission: 'gateway:admin',
  summary:
    "Set the tenant's budget: input plus output tokens and USD per hour, day or month (UTC). Raising it above what was spent lifts a pause",
  parameters: budgetInputSchema,
  result: usageViewSchema,
});

/** GET /gateway/usage: what the tenant spent in its current window, against its budget. */
export const usageRoute = defineRoute({
  engine: 'gateway',
  action: 'usage',
  method: 'GET',
  permission: 'gateway:read',
  summary: "The tenant's spending in the current window (input plus output tokens, USD, requests, reservations in flight) and its budget",
  parameters: z.strictObject({}),
  result: usageViewSchema,
});

/** GET /gateway/settings: the tenant's PII modes, context limit and log retention. */
export const getSettingsRoute = defineRoute({
  engine: 'gateway',
  action: 'settings',
  method: 'GET',
  permission: 'gateway:read',
  summary:
    "The tenant's gateway settings: PII modes for input, output and logs, its context limit in tokens, days conversation logs keep their content",
  parameters: z.strictObject({}),
  result: gatewaySettingsSchema,
});

/** PUT /gateway/settings (admin). */
export const putSettingsRoute = defineRoute({
  engine: 'gateway',
  action: 'settings',
  method: 'PUT',
  permission: 'gateway:admin',
  summary: "Replace the tenant's gateway settings (fields left out take their defaults)",
  parameters: gatewaySettingsSchema,
  result: gatewaySettingsSchema,
});

/** POST /gateway/conversations: a dual-model exchange, every turn through the chat pipeline. */
export const exchangeRoute = defineRoute({
  engine: 'gateway',
  action: 'conversations',
  method: 'POST',
  permission: 'gateway:write',
  summary:
    'Run a dual-model exchange (opening → A → B → A …, `exchanges` replies), each turn through the chat pipeline (budget, safety, PII, logging), and return the transcript; it stops early on a block, a refusal or the budget',
  parameters: exchangeInputSchema,
  result: exchangeResultSchema,
});

/** GET /gateway/conversations?conversationId=: the log, verified against the ledger. */
export const getConversationRoute = defineRoute({
  engine: 'gateway',
  action: 'conversations',
  method: 'GET',
  permission: 'gateway:read',
  summary:
    "A conversation's log and, per turn and message, whether it is what the ledger recorded (entry hash and link, the turn's rebuilt record against its payloadHash, each message's content hash)",
  parameters: conversationQuerySchema,
  result: conversationViewSchema,
});

/** POST /gateway/documents: add or replace documents of the tenant's retrieval index. */
export const documentsRoute = defineRoute({
  engine: 'gateway',
  action: 'documents',
  method: 'POST',
  permission: 'gateway:write',
  summary:
    "Add or replace documents (same id: replaced) in the tenant's retrieval index: chunked, BM25-indexed and embedded with the stage's embedding model when it has one; chat with `retrieval: { k, quota }` puts the top-k chunks into the context within the quota. 409 when another ingest changed the index meanwhile (retry)",
  parameters: documentsInputSchema,
  result: documentsResultSchema,
});

/** PUT /gateway/templates: define or replace one of the tenant's prompt templates (operator, admin). */
export const putTemplateRoute = defineRoute({
  engine: 'gateway',
  action: 'templates',
  method: 'PUT',
  permission: 'gateway:configure',
  summary:
    "Define or replace one of the tenant's prompt templates ({{variable}} placeholders, defaults for optional ones); it overrides a built-in of the same name in chat. A malformed template is a 400 naming the field and nothing is stored; each change takes the tenant's next template version and is recorded in the ledger (gateway.template.changed, with the template's SHA-256). ifVersion: 409 unless still at it",
  parameters: putTemplateInputSchema,
  result: putTemplateResultSchema,
});

/** GET /gateway/templates: the built-ins and the tenant's templates, or one by name with its messages. */
export const getTemplatesRoute = defineRoute({
  engine: 'gateway',
  action: 'templates',
  method: 'GET',
  permission: 'gateway:read',
  summary:
    "The templates chat can use: the built-ins and the tenant's own (version, hash, variables, whether in force), or with name one of them with its messages and defaults (by default the one chat uses; source picks the tenant's or the built-in)",
  parameters: getTemplatesInputSchema,
  result: getTemplatesResultSchema,
});

/** DELETE /gateway/templates?name=: remove one of the tenant's templates (operator, admin). */
export const deleteTemplateRoute = defineRoute({
  engine: 'gateway',
  action: 'templates',
  method: 'DELETE',
  permission: 'gateway:configure',
  summary:
    "Delete one of the tenant's templates (recorded in the ledger); a built-in of the same name applies again. 404 when the tenant has none of that name (built-ins cannot be deleted)",
  parameters: deleteTemplateInputSchema,
  result: deleteTemplateResultSchema,
});
