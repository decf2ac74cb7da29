/**
 * The stage's outbox (lib/adapters/aws/governance-store.ts `dynamoOutbox`) as engines use it: entries
 * are recorded in the tenant's ledger first, where the function may append to it (its LEDGER_TABLE is
 * set), exactly as the audit appender would record their bus copies (same dedupe key), then published.
 */
import { busEventRecord, recordOnce } from '../../audit/engine.ts';
import { config } from '../../config.ts';
import type { OutboxEntry } from '../../governance/proposals.ts';
import { recordDeps } from './audit-deps.ts';
import { dynamoClient, eventBridgeClient } from './clients.ts';
import { eventBridgePublisher } from './event-publisher.ts';
import { dynamoOutbox, type LedgerRecorder } from './governance-store.ts';

/** Records an outbox entry in the ledger as the audit appender would record its bus copy (same dedupe key). */
export const ledgerRecorder: LedgerRecorder = async (entry: OutboxEntry) => {
  const { input, dedupeKey } = busEventRecord(
    { id: entry.id, source: entry.event.source, 'detail-type': entry.event.detailType, time: (entry.event.time ?? new Date()).toISOString(), detail: entry.event.detail },
    new Date(),
  );
  const outcome = await recordOnce(recordDeps(), input, dedupeKey);
  return outcome.duplicate ? undefined : { tenant: outcome.entry.tenant, stream: outcome.entry.stream, seq: outcome.entry.seq };
};

let outbox: ReturnType<typeof dynamoOutbox> | undefined;

/** The outbox of this function (built once per container). */
export function stageOutbox(): ReturnType<typeof dynamoOutbox> {
  const cfg = config();
  outbox ??= dynamoOutbox(dynamoClient(), cfg.STATE_TABLE, eventBridgePublisher(eventBridgeClient(), { busName: cfg.EVENT_BUS_NAME }), cfg.LEDGER_TABLE ? ledgerRecorder : undefined);
  return outbox;
}
