/**
 * The Gateway engine: every model call of every tenant, through one pipeline (lib/gateway/engine.ts):
 * templates, PII, context fitting, budgets, in-flight marks, resilient calls with fallback, safety,
 * exact billing, conversation logs chained in the ledger; dual-model exchanges and arbitration.
 * State-table items by partition-key prefix: <tenant>#gateway#budget and #gateway#usage (budgets and
 * per-window counters, lib/adapters/aws/gateway-budgets.ts), #gateway#conversations (leases and the
 * retention index), #gateway#requests (running requests, their cancellation flag), #gateway#settings;
 * #gateway#documents (the retrieval index's current version), #gateway#templates (the tenant's prompt
 * templates and their revision); system#gateway#inflight (in-flight slots
 * per model). Objects: <tenant>/conversations/<id>.json, <tenant>/gateway/documents/index-<version>.json.
 * Ledger streams: gateway.conversations (one entry per turn), gateway.billing (one per model or embedding call),
 * events.gateway (gateway.tenant.paused, gateway.template.changed).
 */
import { defineEngine, type Need, need, outboxNeeds } from '../engines/manifest.ts';
import {
  cancelChatRoute,
  chatRoute,
  deleteTemplateRoute,
  documentsRoute,
  exchangeRoute,
  getConversationRoute,
  getSettingsRoute,
  getTemplatesRoute,
  listModelsRoute,
  putBudgetRoute,
  putSettingsRoute,
  putTemplateRoute,
  usageRoute,
} from './routes.ts';

const BUDGET = '*#gateway#budget';
const USAGE = '*#gateway#usage';
const CONVERSATIONS = '*#gateway#conversations';
const REQUESTS = '*#gateway#requests';
const SETTINGS = '*#gateway#settings';
const DOCUMENTS = '*#gateway#documents';
const TEMPLATES = '*#gateway#templates';
const INDEXES = '*/gateway/documents/*';
const INFLIGHT = 'system#gateway#inflight';
const LOGS = '*/conversations/*';
const PAYLOADS = '*/audit/payloads/*';

/** Pausing a tenant at its hard cap: the event through the stage outbox (ledger entry, bus), the pause marked recorded. */
const pausing: Need[] = [...outboxNeeds, need.table('state', ['UpdateItem'], [USAGE])];

/** Budgeting and billing a model call (lib/gateway/embedding-calls.ts for embeddings): reserve and settle, a billing entry, a pause. */
const metering: Need[] = [
  need.table('state', ['GetItem'], [BUDGET]),
  need.table('state', ['GetItem', 'UpdateItem'], [USAGE]),
  need.table('ledger', ['PutItem', 'Query']),
  need.table('state', ['PutItem'], ['*#audit#streams']),
  need.objects('artifacts', ['PutObject', 'PutObjectTagging'], [PAYLOADS]),
  ...pausing,
];

/** One request through the pipeline (lib/gateway/engine.ts `chat`). */
const pipeline: Need[] = [
  need.table('state', ['GetItem'], [SETTINGS, BUDGET]),
  // The tenant's own templates, which override the built-ins of the same name.
  need.table('state', ['GetItem'], [TEMPLATES]),
  need.table('state', ['GetItem', 'UpdateItem'], [USAGE]),
  need.table('state', ['GetItem', 'UpdateItem'], [INFLIGHT]),
  need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], [REQUESTS]),
  need.table('state', ['UpdateItem'], [CONVERSATIONS]),
  need.objects('artifacts', ['GetObject', 'PutObject', 'PutObjectTagging'], [LOGS]),
  // Unconditioned: without ListBucket, S3 answers 403 instead of 404 for a log not written yet.
  need.listObjects('artifacts'),
  // Turns and billing entries in the ledger (the audit engine's `record`).
  need.table('ledger', ['PutItem', 'Query']),
  need.table('state', ['PutItem'], ['*#audit#streams']),
  need.objects('artifacts', ['PutObject', 'PutObjectTagging'], [PAYLOADS]),
  // Retrieval: the tenant's current index.
  need.table('state', ['GetItem'], [DOCUMENTS]),
  need.objects('artifacts', ['GetObject'], [INDEXES]),
  ...pausing,
  need.invokeModels(),
];

export const gatewayEngine = defineEngine({
  name: 'gateway',
  description:
    'Model gateway: managed model endpoints behind one API with budgets, safety, PII filters, exact billing and conversation logs chained in the ledger',
  actions: {
    models: {
      description: "GET /gateway/models: the stage's models with their limits and prices",
      routes: [listModelsRoute],
      memorySize: 256,
      needs: [],
    },
    chat: {
      description: 'POST /gateway/chat: one request through the pipeline (JSON or server-sent events); DELETE cancels a running one',
      routes: [chatRoute, cancelChatRoute],
      memorySize: 1024,
      timeout: 29,
      needs: pipeline,
    },
    'chat-stream': {
      description:
        'POST to its function URL (RESPONSE_STREAM): /gateway/chat answered with server-sent events while the model writes; a client that disconnects stops the call, the partial reply logged and charged',
      url: { route: chatRoute, streaming: true },
      memorySize: 1024,
      // A function URL is not held to API Gateway's 29 s: a long reply streams for minutes.
      timeout: 300,
      needs: pipeline,
    },
    conversations: {
      description:
        "POST /gateway/conversations: a dual-model exchange, every turn through the pipeline; GET: a conversation's log verified against the ledger",
      routes: [exchangeRoute, getConversationRoute],
      memorySize: 1024,
      timeout: 29,
      // Verifying reads the turns' entries and, for a turn that does not match, its stored record.
      needs: [...pipeline, need.objects('artifacts', ['GetObject'], [PAYLOADS])],
    },
    documents: {
      description: "POST /gateway/documents: adds or replaces documents of the tenant's retrieval index (chunks, BM25, embeddings)",
      routes: [documentsRoute],
      memorySize: 1024,
      timeout: 29,
      needs: [
        need.table('state', ['GetItem', 'UpdateItem'], [DOCUMENTS]),
        need.objects('artifacts', ['GetObject', 'PutObject', 'PutObjectTagging', 'DeleteObject'], [INDEXES]),
        need.listObjects('artifacts'),
        need.invokeModels(),
        // Each embedding call reserved and settled against the budget, and billed in the ledger.
        ...metering,
      ],
    },
    budgets: {
      description:
        "PUT /gateway/budgets: the tenant's token and cost budget per window (admin); raising it lifts a pause, lowering it under what was spent pauses",
      routes: [putBudgetRoute],
      needs: [need.table('state', ['GetItem', 'UpdateItem'], [BUDGET, USAGE]), ...pausing],
    },
    usage: {
      description: "GET /gateway/usage: the tenant's spending in its window against its budget",
      routes: [usageRoute],
      needs: [need.table('state', ['GetItem'], [BUDGET, USAGE])],
    },
    settings: {
      description: "GET and PUT /gateway/settings: the tenant's PII modes, context limit and log retention",
      routes: [getSettingsRoute, putSettingsRoute],
      needs: [need.table('state', ['GetItem', 'PutItem'], [SETTINGS])],
    },
    templates: {
      description:
        "PUT, GET and DELETE /gateway/templates: the tenant's own prompt templates, each change versioned and recorded in the ledger",
      routes: [putTemplateRoute, getTemplatesRoute, deleteTemplateRoute],
      needs: [
        // Read one (GetItem) or all (Query); a change is one transaction: the revision item, the template, the outbox.
        need.table('state', ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'], [TEMPLATES]),
        ...outboxNeeds,
      ],
    },
    'budget-sweep': {
      description: 'Charges reservations whose calls never settled at their worst case, and publishes pauses left unrecorded (scheduled)',
      schedule: { param: 'gatewayBudgetSweepSchedule' },
      timeout: 300,
      needs: [
        need.index('state', 'gsi1', ['Query']),
        need.table('state', ['GetItem'], [BUDGET]),
        need.table('state', ['GetItem', 'UpdateItem'], [USAGE]),
        ...pausing,
      ],
    },
    retention: {
      description: "Removes the content of conversation logs past their tenant's retention; the hashes and the ledger stay (scheduled)",
      schedule: { param: 'gatewayRetentionSchedule' },
      timeout: 300,
      needs: [
        need.index('state', 'gsi1', ['Query']),
        need.table('state', ['UpdateItem'], [CONVERSATIONS]),
        need.objects('artifacts', ['GetObject', 'PutObject', 'PutObjectTagging'], [LOGS]),
        need.listObjects('artifacts'),
      ],
    },
  },
});
