/**
 * The Governance engine's state in the state table (every key starting with the tenant):
 *   <tenant>#governance           / settings          autonomy level, config, kill switch, constitution, policy version
 *   system#governance             / settings          the global kill switch
 *   <tenant>#governance#policies  / v<0000000001>     each published Cedar policy set, kept
 *   <tenant>#proposal             / <proposalId>      proposals (gsi1: <tenant>#proposal#<status>, newest first)
 *   <tenant>#approval             / <approvalId>      approvals (gsi1: <tenant>#approval#<status>, oldest first)
 *   <tenant>#governance#outcomes  / <engine:action#target>  the last outcomes, for the failure rate
 *   <tenant>#outbox               / <time>#<id>       events written with the state they report, until published
 *                                                     (gsi1: outbox, oldest first, for the sweep)
 * Every state write is one transaction with its outbox entries, conditional on the version read.
 * SDK failures map through lib/adapters/aws/errors.ts.
 */
import { randomUUID } from 'node:crypto';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../../errors.ts';
import type { BusEvent, EventPublisher } from '../../events/publisher.ts';
import { type Approval, type ApprovalOutbox, type ApprovalStore, approvalSchema } from '../../governance/approvals.ts';
import type { ProposalState } from '../../governance/model.ts';
import { type GovernanceStore, OUTCOME_HISTORY, type OutboxEntry, type Proposal, proposalSchema } from '../../governance/proposals.ts';
import { defaultSettings, type KillSwitch, type TenantSettings, tenantSettingsSchema } from '../../governance/settings.ts';
import { logger } from '../../observability.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';

type Send = DynamoDBDocumentClient['send'];
type Item = Record<string, unknown>;

const OUTBOX_INDEX_PK = 'outbox';

const settingsKey = (tenant: string) => ({ pk: `${tenant}#governance`, sk: 'settings' });
const proposalKey = (tenant: string, id: string) => ({ pk: `${tenant}#proposal`, sk: id });
const approvalKey = (tenant: string, id: string) => ({ pk: `${tenant}#approval`, sk: id });

function strip(item: Item): Item {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ...rest } = item;
  return rest;
}

/** Outbox items for `events`, in order. */
export function outboxEntries(tenant: string, events: readonly BusEvent[], now: Date): OutboxEntry[] {
  const at = now.toISOString();
  return events.map((event, index) => ({ tenant, id: `${at}#${String(index).padStart(2, '0')}#${randomUUID()}`, event }));
}

/** The transaction item that saves one outbox entry (the sweep finds it through gsi1 `outbox`). */
export function outboxPut(table: string, entry: OutboxEntry, now: Date) {
  const { time, ...rest } = entry.event;
  const event = time ? { ...rest, time: time.toISOString() } : rest;
  return { Put: { TableName: table, Item: { pk: `${entry.tenant}#outbox`, sk: entry.id, event, gsi1pk: OUTBOX_INDEX_PK, gsi1sk: `${now.toISOString()}#${entry.tenant}` } } };
}

/**
 * One conditional write of a record with its outbox entries (other engines' state too: Reflex saves
 * its incidents this way). @throws ConflictError when the record is not at `expectedVersion` (`undefined`: absent).
 */
export async function writeWithOutbox(send: Send, table: string, item: Item, expectedVersion: number | undefined, tenant: string, events: readonly BusEvent[], what: string): Promise<OutboxEntry[]> {
  const now = new Date();
  const entries = outboxEntries(tenant, events, now);
  const condition =
    expectedVersion === undefined
      ? { ConditionExpression: 'attribute_not_exists(pk)' }
      : { ConditionExpression: '#version = :expected', ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':expected': expectedVersion } };
  try {
    if (entries.length === 0) await send(new PutCommand({ TableName: table, Item: item, ...condition }));
    else await send(new TransactWriteCommand({ TransactItems: [{ Put: { TableName: table, Item: item, ...condition } }, ...entries.map((entry) => outboxPut(table, entry, now))] }));
  } catch (error) {
    if (error instanceof ConditionFailedError) throw new ConflictError(`${what} was changed concurrently; read it again`);
    throw error;
  }
  return entries;
}

/** Governance settings and proposals on the state table. */
export function dynamoGovernanceStore(client: DynamoDBDocumentClient, table: string): GovernanceStore {
  const send = mappedSend(client, 'DynamoDB');
  const readSettings = async (tenant: string): Promise<TenantSettings | undefined> => {
    const output = await send(new GetCommand({ TableName: table, Key: settingsKey(tenant), ConsistentRead: true }));
    return output.Item ? tenantSettingsSchema.parse(strip(output.Item)) : undefined;
  };
  return {
    async settings(tenant) {
      return (await readSettings(tenant)) ?? defaultSettings(tenant);
    },
    putSettings(next, expectedVersion, events) {
      return writeWithOutbox(send, table, { ...settingsKey(next.tenant), ...next }, expectedVersion === 0 ? undefined : expectedVersion, next.tenant, events, `The governance settings of ${next.tenant}`);
    },
    async globalKillSwitch(): Promise<KillSwitch | undefined> {
      return (await readSettings('system'))?.killSwitch;
    },
    async proposal(tenant, proposalId) {
      const output = await send(new GetCommand({ TableName: table, Key: proposalKey(tenant, proposalId), ConsistentRead: true }));
      return output.Item ? proposalSchema.parse(strip(output.Item)) : undefined;
    },
    putProposal(next, expectedVersion, events) {
      const item = { ...proposalKey(next.tenant, next.proposalId), ...next, gsi1pk: `${next.tenant}#proposal#${next.status}`, gsi1sk: next.createdAt };
      return writeWithOutbox(send, table, item, expectedVersion, next.tenant, events, `Proposal ${next.proposalId}`);
    },
    async proposals(tenant: string, status: ProposalState, limit: number): Promise<Proposal[]> {
      const output = await send(new QueryCommand({
        TableName: table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': `${tenant}#proposal#${status}` },
        ScanIndexForward: false,
        Limit: limit,
      }));
      return (output.Items ?? []).map((item) => proposalSchema.parse(strip(item)));
    },
    async outcomes(tenant, key) {
      const output = await send(new GetCommand({ TableName: table, Key: { pk: `${tenant}#governance#outcomes`, sk: key }, ConsistentRead: true }));
      return ((output.Item?.recent as ('executed' | 'failed')[] | undefined) ?? []).slice(0, OUTCOME_HISTORY);
    },
    async addOutcome(tenant, key, outcome) {
      // Newest first; trimmed to the history length on the next read.
      await send(new UpdateCommand({
        TableName: table,
        Key: { pk: `${tenant}#governance#outcomes`, sk: key },
        UpdateExpression: 'SET recent = list_append(:outcome, if_not_exists(recent, :empty))',
        ExpressionAttributeValues: { ':outcome': [outcome], ':empty': [] },
      }));
    },
  };
}

/** Approvals on the state table. */
export function dynamoApprovalStore(client: DynamoDBDocumentClient, table: string): ApprovalStore {
  const send = mappedSend(client, 'DynamoDB');
  return {
    async get(tenant, approvalId) {
      const output = await send(new GetCommand({ TableName: table, Key: approvalKey(tenant, approvalId), ConsistentRead: true }));
      return output.Item ? approvalSchema.parse(strip(output.Item)) : undefined;
    },
    put(next: Approval, expectedVersion, events) {
      const item = { ...approvalKey(next.tenant, next.approvalId), ...next, gsi1pk: `${next.tenant}#approval#${next.status}`, gsi1sk: next.requestedAt };
      return writeWithOutbox(send, table, item, expectedVersion, next.tenant, events, `Approval ${next.approvalId}`);
    },
    async list(tenant, status, limit) {
      const output = await send(new QueryCommand({
        TableName: table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': `${tenant}#approval#${status}` },
        ScanIndexForward: status === 'pending',
        Limit: limit,
      }));
      return (output.Items ?? []).map((item) => approvalSchema.parse(strip(item)));
    },
  };
}

/** Records an outbox entry in the ledger (the audit engine's append, deduplicated on the detail). */
export type LedgerRecorder = (entry: OutboxEntry) => Promise<{ tenant: string; stream: string; seq: number } | undefined>;

/**
 * The outbox: delivers entries (ledger first when a recorder is given, then the bus, then the entry
 * is removed), or discards them. Entries the bus refused stay for the sweep (`sweepOutbox`).
 */
export function dynamoOutbox(client: DynamoDBDocumentClient, table: string, publisher: EventPublisher, recorder?: LedgerRecorder): ApprovalOutbox & {
  record(entry: OutboxEntry): Promise<{ tenant: string; stream: string; seq: number } | undefined>;
} {
  const send = mappedSend(client, 'DynamoDB');
  const remove = (entries: OutboxEntry[]) => Promise.all(entries.map((entry) => send(new DeleteCommand({ TableName: table, Key: { pk: `${entry.tenant}#outbox`, sk: entry.id } }))));
  return {
    async deliver(entries) {
      if (entries.length === 0) return;
      try {
        await publisher.publish(entries.map((entry) => entry.event));
      } catch (error) {
        // Saved with the state: the sweep publishes them later.
        logger.warn('outbox entries left for the sweep', { error: (error as Error).message, entries: entries.length });
        return;
      }
      await remove(entries);
    },
    async discard(entries) {
      await remove(entries);
    },
    async record(entry) {
      if (!recorder) return undefined;
      try {
        return await recorder(entry);
      } catch (error) {
        // The bus copy reaches the ledger through the audit queue instead.
        logger.warn('ledger record deferred to the audit queue', { error: (error as Error).message });
        return undefined;
      }
    },
  };
}

/** Outbox entries older than `olderThanMs`, oldest first (the sweep). */
export async function staleOutboxEntries(client: DynamoDBDocumentClient, table: string, olderThanMs: number, now: Date, limit = 100): Promise<OutboxEntry[]> {
  const send = mappedSend(client, 'DynamoDB');
  const before = new Date(now.getTime() - olderThanMs).toISOString();
  const output = await send(new QueryCommand({
    TableName: table,
    IndexName: 'gsi1',
    KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk < :before',
    ExpressionAttributeValues: { ':pk': OUTBOX_INDEX_PK, ':before': before },
    Limit: limit,
  }));
  return (output.Items ?? []).map((item) => {
    const event = item.event as BusEvent & { time?: string };
    return {
      tenant: String(item.pk).replace(/#outbox$/, ''),
      id: String(item.sk),
      event: { ...event, time: event.time ? new Date(event.time) : undefined },
    };
  });
}
