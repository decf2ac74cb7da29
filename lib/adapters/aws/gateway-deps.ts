/**
 * The Gateway engine's ports in a deployed function, built once per container: the stage's models
 * and their router (lib/adapters/aws/model-backends.ts), budgets and in-flight slots, conversation
 * logs, running requests, settings and tenants' templates on the state table and the artifacts bucket, the tenant's
 * ledger (the audit engine's `record`), the safety filter (the built-in rules), PII redaction, the
 * pause event through the ledger and the bus, and usage metrics with one dimension: the model.
 */
import { randomUUID } from 'node:crypto';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { record } from '../../audit/engine.ts';
import { config } from '../../config.ts';
import type { BudgetStore } from '../../gateway/budgets.ts';
import type { DocumentStore } from '../../gateway/documents.ts';
import { type CallMetrics, type ChatDeps, type PausePublisher, pausedEvent, piiCounts } from '../../gateway/engine.ts';
import type { ConversationStore, GatewayLedger, RequestRegistry, SettingsStore } from '../../gateway/ports.ts';
import { classifySafety } from '../../gateway/safety.ts';
import { type TemplateStore, tenantTemplateLookup } from '../../gateway/tenant-templates.ts';
import { auditLedger, auditPayloads, recordDeps } from './audit-deps.ts';
import { dynamoClient, eventBridgeClient, s3Client } from './clients.ts';
import { eventBridgePublisher } from './event-publisher.ts';
import { dynamoInflightLimiter } from './gateway-backpressure.ts';
import { dynamoBudgetStore } from './gateway-budgets.ts';
import { dynamoRequestRegistry, dynamoSettingsStore, dynamoTemplateStore, s3ConversationStore, s3DocumentStore } from './gateway-store.ts';
import { gatewayModels } from './model-backends.ts';
import { ledgerRecorder } from './stage-outbox.ts';

let budgets: BudgetStore | undefined;
let conversations: ConversationStore | undefined;
let requests: RequestRegistry | undefined;
let settings: SettingsStore | undefined;
let ledger: GatewayLedger | undefined;
let documents: DocumentStore | undefined;
let templates: TemplateStore | undefined;
let deps: Omit<ChatDeps, 'now'> | undefined;

/** The tenants' budgets and spending. */
export function gatewayBudgets(): BudgetStore {
  budgets ??= dynamoBudgetStore(dynamoClient(), config().STATE_TABLE);
  return budgets;
}

/** Conversation logs (S3) and their leases (state table). */
export function gatewayConversations(): ConversationStore {
  conversations ??= s3ConversationStore(dynamoClient(), config().STATE_TABLE, s3Client(), config().ARTIFACTS_BUCKET);
  return conversations;
}

/** The tenants' retrieval indexes. */
export function gatewayDocuments(): DocumentStore {
  documents ??= s3DocumentStore(dynamoClient(), config().STATE_TABLE, s3Client(), config().ARTIFACTS_BUCKET);
  return documents;
}

/** The tenants' own prompt templates. */
export function gatewayTemplates(): TemplateStore {
  templates ??= dynamoTemplateStore(dynamoClient(), config().STATE_TABLE);
  return templates;
}

/** Running requests and their cancellation flags. */
export function gatewayRequests(): RequestRegistry {
  requests ??= dynamoRequestRegistry(dynamoClient(), config().STATE_TABLE);
  return requests;
}

/** The tenants' gateway settings. */
export function gatewaySettings(): SettingsStore {
  settings ??= dynamoSettingsStore(dynamoClient(), config().STATE_TABLE);
  return settings;
}

/** The tenant's ledger: turns and billing recorded as the audit engine records, entries and payloads read back. */
export function gatewayLedger(): GatewayLedger {
  ledger ??= {
    record: (input) => record(recordDeps(), input),
    read: (tenant, stream, fromSeq, toSeq) => auditLedger().read(tenant, stream, fromSeq, toSeq),
    payload: (tenant, hash) => auditPayloads().get(tenant, hash),
  };
  return ledger;
}

/**
 * Publishes a pause: `gateway.tenant.paused` recorded in the tenant's ledger (once per content, as
 * the audit appender records outbox events), then on the bus, then the pause marked recorded; a
 * failure before the mark leaves it to the budget sweep, which publishes it again.
 */
export function pausePublisher(store: BudgetStore = gatewayBudgets()): PausePublisher {
  const publisher = eventBridgePublisher(eventBridgeClient(), { busName: config().EVENT_BUS_NAME });
  return async (crossing) => {
    const event = pausedEvent(crossing);
    await ledgerRecorder({ tenant: crossing.tenant, id: `${crossing.pausedAt}#pause#${randomUUID()}`, event });
    await publisher.publish([event]);
    await store.recordPause(crossing.tenant, crossing.window);
  };
}

/**
 * Usage metrics of one model call as one EMF record: input and output tokens, cost (micro-USD) and
 * latency, with two dimensions of bounded cardinality: the model (the stage's configured models) and
 * the outcome (answered, blocked, cancelled, failed); never a tenant or a user.
 */
export function recordCallMetrics(call: CallMetrics): void {
  // A record of its own: the dimensions belong to these four metrics only (the shared instance's are per invocation).
  const record = new Metrics();
  record.addDimensions({ model: call.model, outcome: call.outcome });
  record.addMetric('GatewayInputTokens', MetricUnit.Count, call.inputTokens);
  record.addMetric('GatewayOutputTokens', MetricUnit.Count, call.outputTokens);
  record.addMetric('GatewayCostMicroUsd', MetricUnit.Count, Math.round(call.costUsd * 1e6));
  record.addMetric('GatewayCallLatency', MetricUnit.Milliseconds, call.latencyMs);
  record.publishStoredMetrics();
}

/** What the chat pipeline needs in a deployed function. */
export function gatewayDeps(): ChatDeps {
  if (!deps) {
    const cfg = config();
    const models = gatewayModels(cfg.STAGE);
    deps = {
      models: models.byName,
      stream: (model, request, options) => models.router.stream(model, request, options),
      embed: (model, texts, signal) => models.router.embed(model, texts, signal),
      budgets: gatewayBudgets(),
      inflight: dynamoInflightLimiter(dynamoClient(), cfg.STATE_TABLE),
      settings: gatewaySettings(),
      conversations: gatewayConversations(),
      requests: gatewayRequests(),
      documents: gatewayDocuments(),
      templates: (tenant) => tenantTemplateLookup(gatewayTemplates(), tenant),
      ledger: gatewayLedger(),
      safety: (text, signal) => classifySafety(text, [], signal),
      pii: piiCounts,
      pauses: pausePublisher(),
      metrics: recordCallMetrics,
    };
  }
  return { ...deps, now: () => new Date() };
}
