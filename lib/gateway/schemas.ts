/**
 * The Gateway engine's shapes (zod, and the types inferred from them): chat requests and replies,
 * the decisions a reply reports, budgets and usage, tenant settings, dual-model conversations, and
 * the conversation log kept in S3 with its ledger records. Every string, array and number bounded
 * (test/unit/schema-bounds.test.ts walks every route's schemas).
 */
import { z } from 'zod';
import { isoTimestampSchema, sha256HexSchema } from '../../events/common.ts';
import { budgetWindowSchema } from '../../events/gateway.ts';
import { streamNameSchema, tenantSchema } from '../../events/ids.ts';
import { exchangeRequestSchema } from './conversation.ts';
import {
  MAX_TEMPLATE_MESSAGE_CHARS,
  MAX_TEMPLATE_MESSAGES,
  MAX_VARIABLE_CHARS,
  MAX_VARIABLES,
  TEMPLATE_NAME_PATTERN,
} from './templates.ts';

export { budgetWindowSchema };
/** A budget window: a calendar hour, day or month (UTC). */
export type BudgetWindow = z.infer<typeof budgetWindowSchema>;

/** Longest message content accepted (characters); the 1 MiB body bounds a request anyway. */
export const MAX_MESSAGE_CHARS = 200_000;
/** Most messages in one chat request. */
export const MAX_MESSAGES = 256;
/** Largest `maxTokens` a request may name (a model's own `maxOutputTokens` may be lower). */
export const MAX_OUTPUT_TOKENS = 32_768;
/** Largest token count anywhere in a reply (context windows, usage, budgets). */
export const MAX_TOKEN_COUNT = 1e12;
/** Largest USD amount anywhere (costs, budgets). */
export const MAX_USD = 1e9;
/** Most decisions a reply lists (a dual exchange's turns each list their own). */
export const MAX_DECISIONS = 64;

/** A model's name as callers give it: letters, digits and `._:/-`. */
export const modelNameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:/-]+$/, 'model names are letters, digits and . _ : / -');

/** A request id (client-chosen for cancellation, or generated): letters, digits, `._:-`. */
export const requestIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'request ids are 1-128 letters, digits and . _ : -');

/** A conversation id: letters, digits, `_-` (it is an S3 key segment). */
export const conversationIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'conversation ids are 1-64 letters, digits, _ and -');

/** A template's name (a built-in under lib/gateway/templates/ or a tenant's own): lower-case snake case. */
export const templateNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(TEMPLATE_NAME_PATTERN, 'template names are lower-case snake case (a-z, 0-9, _), starting with a letter');

/** One chat message. */
export const chatMessageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(MAX_MESSAGE_CHARS),
});
/** A chat message. */
export type ChatMessageInput = z.infer<typeof chatMessageSchema>;

/** Template variables (lib/gateway/templates.ts): names in lower-case snake case, values text, numbers or booleans. */
export const templateVariablesSchema = z
  .record(
    z.string().min(1).max(64).regex(TEMPLATE_NAME_PATTERN, 'variable names are lower-case snake case'),
    z.union([z.string().max(MAX_VARIABLE_CHARS), z.number().min(-1e15).max(1e15), z.boolean()]),
  )
  .refine((variables) => Object.keys(variables).length <= MAX_VARIABLES, { message: `at most ${MAX_VARIABLES} variables` });

/** `arbitrate`: ask two models the same thing and let the gateway choose (lib/gateway/arbitration.ts). */
export const arbitrateSchema = z.strictObject({
  models: z.tuple([modelNameSchema, modelNameSchema]),
});

/** `retrieval`: put the top-k chunks of the tenant's documents into the context, within a share of the budget. */
export const retrievalRequestSchema = z.strictObject({
  k: z.number().int().min(1).max(50).default(4),
  /** Share of the context budget retrieved chunks may take (default 0.25). */
  quota: z.number().min(0.01).max(0.9).default(0.25),
});

/** `POST /gateway/chat`. */
export const chatInputSchema = z.strictObject({
  model: modelNameSchema,
  messages: z.array(chatMessageSchema).min(1).max(MAX_MESSAGES),
  /** Upper bound of output tokens; the budget reserves input + this. Default: the model's own default (at most its maxOutputTokens). */
  maxTokens: z.number().int().min(1).max(MAX_OUTPUT_TOKENS).optional(),
  temperature: z.number().min(0).max(2).optional(),
  /** A prompt template rendered as the system message (before `messages`). */
  template: templateNameSchema.optional(),
  variables: templateVariablesSchema.optional(),
  /** Reply as server-sent events: `delta` events, then one `done` event carrying the reply. */
  stream: z.boolean().default(false),
  /** Include scores and details that are not needed to use the reply (arbitration scores). */
  debug: z.boolean().default(false),
  /** Continue a logged conversation (its log gets this turn); absent: a new conversation. */
  conversationId: conversationIdSchema.optional(),
  /** The caller's id for this request, to cancel it with `DELETE /gateway/chat?requestId=`; generated when absent. */
  requestId: requestIdSchema.optional(),
  arbitrate: arbitrateSchema.optional(),
  retrieval: retrievalRequestSchema.optional(),
});
/** A chat request. */
export type ChatInput = z.infer<typeof chatInputSchema>;

/** Token counts of a reply, counted by the gateway's tokenizer for the model. */
export const usageSchema = z.strictObject({
  inputTokens: z.number().int().min(0).max(MAX_TOKEN_COUNT),
  outputTokens: z.number().int().min(0).max(MAX_TOKEN_COUNT),
});

/** Counts of detected entities by type (PII). */
const entityCountsSchema = z
  .record(z.string().min(1).max(32), z.number().int().min(0).max(1e6))
  .refine((counts) => Object.keys(counts).length <= 32, { message: 'at most 32 entity types' });

const shortText = z.string().max(500);

/**
 * One thing the gateway decided about a request, by step. Listed in the reply, logged with the
 * conversation and summarised in the ledger.
 */
export const decisionSchema = z.discriminatedUnion('step', [
  z.strictObject({ step: z.literal('template'), template: templateNameSchema, variables: z.array(z.string().max(64)).max(64) }),
  z.strictObject({
    step: z.literal('pii'),
    /** `input`: what the model saw; `output`: what the caller got; `log`: what the conversation log keeps. */
    where: z.enum(['input', 'output', 'log']),
    mode: z.enum(['redact', 'mask', 'hash', 'tag', 'off']),
    entities: entityCountsSchema,
  }),
  z.strictObject({
    step: z.literal('context'),
    /** The limit the input had to fit: min(model context − reserved output, tenant limit). */
    limitTokens: z.number().int().min(0).max(MAX_TOKEN_COUNT),
    inputTokens: z.number().int().min(0).max(MAX_TOKEN_COUNT),
    droppedMessages: z.number().int().min(0).max(MAX_MESSAGES),
    droppedTokens: z.number().int().min(0).max(MAX_TOKEN_COUNT),
    /** Indexes (in the request's messages) of what was dropped or summarised. */
    dropped: z
      .array(
        z
          .number()
          .int()
          .min(0)
          .max(MAX_MESSAGES + 64),
      )
      .max(MAX_MESSAGES + 64),
    summarised: z.boolean(),
    detail: shortText,
  }),
  z.strictObject({
    step: z.literal('retrieval'),
    chunks: z.number().int().min(0).max(50),
    tokens: z.number().int().min(0).max(MAX_TOKEN_COUNT),
    scoring: z.enum(['hybrid', 'bm25']),
    sources: z.array(z.string().max(200)).max(50),
  }),
  z.strictObject({
    step: z.literal('budget'),
    /** Tokens reserved before the call (input + maxTokens, worst case). */
    reservedTokens: z.number().int().min(0).max(MAX_TOKEN_COUNT),
    reservedCostUsd: z.number().min(0).max(MAX_USD),
    /** What the request was charged after the call. */
    settledTokens: z.number().int().min(0).max(MAX_TOKEN_COUNT),
    settledCostUsd: z.number().min(0).max(MAX_USD),
    outcome: z.enum(['settled', 'released', 'unlimited']),
  }),
  z.strictObject({
    step: z.literal('fallback'),
    from: modelNameSchema,
    to: modelNameSchema,
    reason: shortText,
  }),
  z.strictObject({
    step: z.literal('safety'),
    verdict: z.enum(['allow', 'flag', 'block']),
    categories: z
      .array(
        z.strictObject({
          category: z.string().max(64),
          severity: z.enum(['none', 'low', 'moderate', 'severe']),
          score: z.number().min(0).max(1),
        }),
      )
      .max(32),
    classifier: z.string().max(64),
  }),
  z.strictObject({
    step: z.literal('arbitration'),
    chosen: modelNameSchema,
    candidates: z.array(modelNameSchema).max(4),
    divergence: z.number().min(0).max(2),
    critique: z.boolean(),
    reason: shortText,
  }),
  z.strictObject({ step: z.literal('cancelled'), afterOutputTokens: z.number().int().min(0).max(MAX_TOKEN_COUNT) }),
  z.strictObject({
    step: z.literal('embedding'),
    /** What the texts were embedded for: the retrieval query, or arbitration's candidates. */
    purpose: z.enum(['retrieval', 'arbitration']),
    /** The embedding model that answered. */
    model: modelNameSchema,
    texts: z.number().int().min(0).max(1e6),
    /** Input tokens charged, by the embedding model's tokenizer (an embedding has no output tokens). */
    inputTokens: z.number().int().min(0).max(MAX_TOKEN_COUNT),
    costUsd: z.number().min(0).max(MAX_USD),
  }),
]);
/** One decision of the gateway. */
export type Decision = z.infer<typeof decisionSchema>;

/** Why a generation ended, as the reply reports it (`blocked`: the safety filter refused to pass the output). */
export const finishReasonSchema = z.enum(['stop', 'length', 'refusal', 'cancelled', 'blocked']);
/** A reply's finish reason. */
export type ReplyFinishReason = z.infer<typeof finishReasonSchema>;

/** Arbitration scores (`debug: true`). */
export const arbitrationScoresSchema = z.strictObject({
  candidates: z
    .array(
      z.strictObject({
        model: modelNameSchema,
        agreement: z.number().min(-1).max(1),
        coherence: z.number().min(0).max(1),
        safety: z.number().min(0).max(1),
        score: z.number().min(-10).max(10),
        latencyMs: z.number().min(0).max(1e9),
      }),
    )
    .max(4),
  divergence: z.number().min(0).max(2),
  threshold: z.number().min(0).max(2),
  weights: z
    .record(z.string().max(32), z.number().min(0).max(100))
    .refine((weights) => Object.keys(weights).length <= 8, { message: 'at most 8 weights' }),
  overheadMs: z.number().min(0).max(1e9),
});

/** `POST /gateway/chat` reply (also the `done` event of a stream). */
export const chatResultSchema = z.strictObject({
  text: z.string().max(4 * MAX_OUTPUT_TOKENS * 8),
  model: modelNameSchema,
  usage: usageSchema,
  costUsd: z.number().min(0).max(MAX_USD),
  finishReason: finishReasonSchema,
  decisions: z.array(decisionSchema).max(MAX_DECISIONS),
  requestId: requestIdSchema,
  conversationId: conversationIdSchema,
  /** The turn's index in the conversation log. */
  turn: z.number().int().min(0).max(1e6),
  /** Where the turn was recorded in the ledger (`GET /gateway/conversations` verifies it). */
  ledger: z.strictObject({ stream: streamNameSchema, seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).optional(),
  /** `debug: true` with `arbitrate`. */
  scores: arbitrationScoresSchema.optional(),
});
/** A chat reply. */
export type ChatResult = z.infer<typeof chatResultSchema>;

/** `DELETE /gateway/chat?requestId=`. */
export const cancelInputSchema = z.strictObject({ requestId: requestIdSchema });

/** A model as `GET /gateway/models` lists it. */
export const modelViewSchema = z.strictObject({
  name: modelNameSchema,
  provider: z.enum(['sagemaker', 'openai', 'ollama']),
  description: z.string().max(500),
  contextTokens: z.number().int().min(1).max(MAX_TOKEN_COUNT),
  maxOutputTokens: z.number().int().min(1).max(MAX_TOKEN_COUNT),
  priceInputPer1k: z.number().min(0).max(1e6),
  priceOutputPer1k: z.number().min(0).max(1e6),
  tokenizer: z.enum(['cl100k_base', 'o200k_base', 'approx']),
  embeddings: z.boolean(),
  /** Whether it generates (chat); false for an embedding-only model. */
  chat: z.boolean(),
  /** The model that embeds for this one (arbitration, retrieval). */
  embedModel: modelNameSchema.optional(),
  /** The models tried after this one when it fails, in order. */
  fallbacks: z.array(modelNameSchema).max(8),
  /** In-flight requests past which calls get 429 with Retry-After. */
  maxInFlight: z.number().int().min(1).max(1e6),
});

/** A tenant's budget (`PUT /gateway/budgets`): a token and a cost limit per window. */
export const budgetInputSchema = z.strictObject({
  /** Input plus output tokens per window. */
  tokens: z.number().int().min(0).max(MAX_TOKEN_COUNT),
  costUsd: z.number().min(0).max(MAX_USD),
  window: budgetWindowSchema,
  /** Pause floor of the token limit: the tenant is paused when spending leaves less room than this (default 1% of `tokens`, at least 1). */
  pauseBelowTokens: z.number().int().min(1).max(MAX_TOKEN_COUNT).optional(),
  /** Pause floor of the cost limit, in USD (default 1% of `costUsd`, at least 10⁻¹²). */
  pauseBelowCostUsd: z.number().positive().max(MAX_USD).optional(),
});
/** A budget setting. */
export type BudgetInput = z.infer<typeof budgetInputSchema>;

/** What a tenant spent in its current window. */
export const usageViewSchema = z.strictObject({
  window: z.strictObject({ kind: budgetWindowSchema, start: isoTimestampSchema, end: isoTimestampSchema }),
  /** Input plus output tokens settled in the window. */
  tokens: z.number().int().min(0).max(MAX_TOKEN_COUNT),
  costUsd: z.number().min(0).max(MAX_USD),
  /** Tokens and cost reserved by requests still running. */
  reserved: z.strictObject({ tokens: z.number().int().min(0).max(MAX_TOKEN_COUNT), costUsd: z.number().min(0).max(MAX_USD) }),
  requests: z.number().int().min(0).max(1e12),
  /** Null when the tenant set none (unlimited). */
  budget: budgetInputSchema.nullable(),
  /** True when the hard cap was reached in this window: model calls are refused until it ends or the budget is raised. */
  paused: z.boolean(),
});
/** A usage view. */
export type UsageView = z.infer<typeof usageViewSchema>;

/** PII handling modes (lib/gateway/pii.ts). */
export const piiModeSchema = z.enum(['redact', 'mask', 'hash', 'tag', 'off']);

/** A tenant's gateway settings (`PUT /gateway/settings`, admin). */
export const gatewaySettingsSchema = z.strictObject({
  /** What is done to PII in the input before the model sees it (`off`: passed as sent). */
  piiInput: piiModeSchema.default('off'),
  /** What is done to PII in the output before the caller gets it. */
  piiOutput: piiModeSchema.default('off'),
  /** What the conversation log keeps of PII (at least redacted by default). */
  piiLog: piiModeSchema.exclude(['off', 'tag']).default('redact'),
  /** The tenant's input limit per request in tokens (the model's window bounds it too). */
  contextTokens: z.number().int().min(64).max(2_000_000).default(4096),
  /** Days the conversation logs keep their content; the ledger keeps the hashes forever. */
  retentionDays: z.number().int().min(1).max(36_500).default(365),
});
/** Tenant gateway settings. */
export type GatewaySettings = z.infer<typeof gatewaySettingsSchema>;
/** Settings of a tenant that set none. */
export const DEFAULT_GATEWAY_SETTINGS: GatewaySettings = gatewaySettingsSchema.parse({});

/**
 * `POST /gateway/conversations`: a dual-model exchange user → A → B → A … (lib/gateway/conversation.ts):
 * A gets `promptA` as its first user message (after `systemA`), B gets `promptB` as its system message.
 */
export const exchangeInputSchema = exchangeRequestSchema.extend({
  modelA: modelNameSchema,
  modelB: modelNameSchema,
  /** Output tokens per turn. */
  maxTokens: z.number().int().min(1).max(MAX_OUTPUT_TOKENS).optional(),
  /** Continue a logged conversation; absent: a new one. */
  conversationId: conversationIdSchema.optional(),
});
/** A dual-model exchange request. */
export type ExchangeInput = z.infer<typeof exchangeInputSchema>;

/** One turn of a dual exchange, as the reply lists it. */
export const exchangeTurnSchema = z.strictObject({
  speaker: z.enum(['A', 'B']),
  requestId: requestIdSchema,
  model: modelNameSchema,
  text: z.string().max(4 * MAX_OUTPUT_TOKENS * 8),
  usage: usageSchema,
  costUsd: z.number().min(0).max(MAX_USD),
  finishReason: finishReasonSchema,
  decisions: z.array(decisionSchema).max(MAX_DECISIONS),
});

/** `POST /gateway/conversations` reply. */
export const exchangeResultSchema = z.strictObject({
  conversationId: conversationIdSchema,
  transcript: z.array(exchangeTurnSchema).max(20),
  usage: usageSchema,
  costUsd: z.number().min(0).max(MAX_USD),
  /** `completed`, or why it ended before `exchanges` turns: `failed` (a call failed, a reply was empty or blocked), `cancelled`. */
  status: z.enum(['completed', 'failed', 'cancelled']),
  /** What stopped it early, when something did. */
  stoppedBy: z.string().max(1000).optional(),
});

// --- The conversation log (S3) and its ledger records ---------------------------------------

/** The log object's format tag. */
export const CONVERSATION_LOG_FORMAT = 'autonomy-gateway-conversation/1';

/** One message of a logged turn: its content (as the log keeps it: PII per `piiLog`) and the hash the ledger holds. */
export const loggedMessageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  /** Null once retention removed it; `contentHash` stays. */
  content: z.string().max(MAX_MESSAGE_CHARS).nullable(),
  /** SHA-256 (hex) of the canonical JSON of `{ role, content }` (lib/gateway/conversation-log.ts `messageHash`). */
  contentHash: sha256HexSchema,
  tokens: z.number().int().min(0).max(MAX_TOKEN_COUNT),
});
/** A logged message. */
export type LoggedMessage = z.infer<typeof loggedMessageSchema>;

/** One turn of a conversation log: one request through the chat pipeline. */
export const loggedTurnSchema = z.strictObject({
  turn: z.number().int().min(0).max(1e6),
  requestId: requestIdSchema,
  correlationId: z.string().max(256),
  actor: z.string().max(256),
  at: isoTimestampSchema,
  /** The model that answered. */
  model: modelNameSchema,
  /** Every model tried, in order (fallbacks after the first). */
  models: z.array(modelNameSchema).min(1).max(8),
  template: templateNameSchema.nullable(),
  /** What the model was sent (after templating, redaction and fitting) and what it answered. */
  messages: z.array(loggedMessageSchema).max(MAX_MESSAGES + 8),
  usage: usageSchema,
  costUsd: z.number().min(0).max(MAX_USD),
  finishReason: finishReasonSchema,
  decisions: z.array(decisionSchema).max(MAX_DECISIONS),
  /** The turn's ledger entry; absent when it could not be recorded. */
  ledger: z.strictObject({ stream: streamNameSchema, seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).optional(),
});
/** A logged turn. */
export type LoggedTurn = z.infer<typeof loggedTurnSchema>;

/** The conversation log object, `<tenant>/conversations/<id>.json` in the artifacts bucket. */
export const conversationLogSchema = z.strictObject({
  format: z.literal(CONVERSATION_LOG_FORMAT),
  tenant: tenantSchema,
  conversationId: conversationIdSchema,
  createdAt: isoTimestampSchema,
  updatedAt: isoTimestampSchema,
  turns: z.array(loggedTurnSchema).max(10_000),
  /** When retention removed the content (hashes kept). */
  contentRemovedAt: isoTimestampSchema.optional(),
});
/** A conversation log. */
export type ConversationLog = z.infer<typeof conversationLogSchema>;

/** `GET /gateway/conversations?conversationId=`. */
export const conversationQuerySchema = z.strictObject({ conversationId: conversationIdSchema });

/** How one logged message compares with its ledger record. */
export const messageVerdictSchema = z.enum(['verified', 'content-removed', 'altered', 'unrecorded', 'ledger-broken']);

/** `GET /gateway/conversations` reply: the log, and per message whether it is what the ledger recorded. */
export const conversationViewSchema = z.strictObject({
  log: conversationLogSchema,
  verification: z.strictObject({
    /** True when every turn's ledger entry is intact and linked, and every message kept matches its recorded hash. */
    intact: z.boolean(),
    turns: z
      .array(
        z.strictObject({
          turn: z.number().int().min(0).max(1e6),
          ledger: z.strictObject({ stream: streamNameSchema, seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).nullable(),
          /** The entry's own hash recomputes and it links to the entry before it. */
          entryIntact: z.boolean(),
          /** The turn rebuilt from the log hashes to the entry's payloadHash. */
          payloadMatches: z.boolean(),
          messages: z.array(messageVerdictSchema).max(MAX_MESSAGES + 8),
          problem: z.string().max(500).optional(),
        }),
      )
      .max(10_000),
  }),
});
/** A conversation with its verification. */
export type ConversationView = z.infer<typeof conversationViewSchema>;

/** Most templates of its own a tenant may hold (built-ins not counted). */
export const MAX_TENANT_TEMPLATES = 100;
/** Most characters of a tenant's template: its messages, defaults and description together (the item stays far under DynamoDB's 400 KB). */
export const MAX_TENANT_TEMPLATE_CHARS = 64_000;

/** A template version: the tenant's template revision that wrote it (0: none, or a built-in). */
export const templateVersionSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** One message of a template as defined: `{{name}}` placeholders (lib/gateway/templates.ts). */
export const templateMessageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().min(1).max(MAX_TEMPLATE_MESSAGE_CHARS),
});

/** Default values of a template's optional variables. */
export const templateDefaultsSchema = z
  .record(
    z.string().min(1).max(64).regex(TEMPLATE_NAME_PATTERN, 'variable names are lower-case snake case'),
    z.string().max(MAX_VARIABLE_CHARS),
  )
  .refine((defaults) => Object.keys(defaults).length <= MAX_VARIABLES, { message: `at most ${MAX_VARIABLES} defaults` });

/**
 * `PUT /gateway/templates`: define or replace one of the tenant's templates. The shape is checked
 * here; the placeholders, defaults and size by lib/gateway/tenant-templates.ts (400 naming the field).
 */
export const putTemplateInputSchema = z.strictObject({
  name: templateNameSchema,
  description: z.string().max(500).default(''),
  messages: z.array(templateMessageSchema).min(1).max(MAX_TEMPLATE_MESSAGES),
  defaults: templateDefaultsSchema.default({}),
  /** Replace only if the tenant's template is still at this version (0: only if the name is new to the tenant); 409 otherwise. */
  ifVersion: templateVersionSchema.optional(),
});
/** A template definition. */
export type PutTemplateInput = z.infer<typeof putTemplateInputSchema>;

/** A variable a template uses, and whether a render must give it (no default). */
export const templateVariableSchema = z.strictObject({ name: templateNameSchema, required: z.boolean() });

/** `PUT /gateway/templates` reply. */
export const putTemplateResultSchema = z.strictObject({
  name: templateNameSchema,
  change: z.enum(['defined', 'replaced']),
  version: templateVersionSchema,
  /** The version replaced; 0 when the name was new to the tenant. */
  previousVersion: templateVersionSchema,
  /** SHA-256 of the RFC 8785 canonical JSON of the template as stored (recorded in the ledger with the change). */
  hash: sha256HexSchema,
  /** A built-in of the same name exists: the tenant's template now overrides it. */
  builtIn: z.boolean(),
  variables: z.array(templateVariableSchema).max(MAX_VARIABLES),
});

/** `GET /gateway/templates`: every template the tenant can use, or one by name (with its messages). */
export const getTemplatesInputSchema = z.strictObject({
  name: templateNameSchema.optional(),
  /** With `name`: the tenant's own or the built-in; absent, the one chat uses (the tenant's when it has one). */
  source: z.enum(['tenant', 'built-in']).optional(),
});

/** A template as `GET /gateway/templates` shows it. */
export const templateViewSchema = z.strictObject({
  name: templateNameSchema,
  source: z.enum(['tenant', 'built-in']),
  description: z.string().max(500),
  /** 0 for a built-in. */
  version: templateVersionSchema,
  hash: sha256HexSchema,
  variables: z.array(templateVariableSchema).max(MAX_VARIABLES),
  /** Whether chat uses this one for its name (a built-in is not in force where the tenant overrides it). */
  inForce: z.boolean(),
  updatedAt: isoTimestampSchema.optional(),
  updatedBy: z.string().max(256).optional(),
  /** With `name` only. */
  messages: z.array(templateMessageSchema).max(MAX_TEMPLATE_MESSAGES).optional(),
  defaults: templateDefaultsSchema.optional(),
});
/** A template as listed. */
export type TemplateView = z.infer<typeof templateViewSchema>;

/** `GET /gateway/templates` reply. */
export const getTemplatesResultSchema = z.strictObject({ templates: z.array(templateViewSchema).max(MAX_TENANT_TEMPLATES + 64) });

/** `DELETE /gateway/templates?name=`: remove one of the tenant's templates (a built-in of the name applies again). */
export const deleteTemplateInputSchema = z.strictObject({
  name: templateNameSchema,
  /** Delete only if the template is still at this version; 409 otherwise. */
  ifVersion: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});

/** `DELETE /gateway/templates` reply. */
export const deleteTemplateResultSchema = z.strictObject({
  name: templateNameSchema,
  deleted: z.literal(true),
  /** The revision the deletion took. */
  version: templateVersionSchema,
  /** The version deleted. */
  previousVersion: templateVersionSchema,
  /** A built-in of the same name exists and applies again. */
  builtIn: z.boolean(),
});
