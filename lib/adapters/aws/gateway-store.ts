/**
 * The Gateway engine's own state (every key starting with the tenant):
 *   S3 <tenant>/conversations/<id>.json          conversation logs (tagged for the versions' lifecycle)
 *   <tenant>#gateway#conversations / <id>        each conversation's lease and turn count; while it has
 *                                                content, gsi1 `gateway#retention` / `<expiresAt>#<tenant>#<id>`
 *   <tenant>#gateway#requests      / <requestId> running requests and their cancellation flag (TTL a day)
 *   <tenant>#gateway#settings      / settings    the tenant's settings
 *   <tenant>#gateway#documents     / index       the current version of the tenant's retrieval index,
 *   S3 <tenant>/gateway/documents/index-<version>.json   whose versions are immutable objects
 *   <tenant>#gateway#templates     / <name>      the tenant's prompt templates (JSON text, version, hash)
 *   <tenant>#gateway#templates     / #revision   the tenant's template revision and count
 * SDK failures map through lib/adapters/aws/errors.ts.
 */
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ConflictError, NotFoundError } from '../../errors.ts';
import { conversationKey, newConversationLog } from '../../gateway/conversation-log.ts';
import { type DocumentStore, documentIndexSchema } from '../../gateway/documents.ts';
import type { ConversationStore, RequestRegistry, SettingsStore } from '../../gateway/ports.ts';
import {
  type ConversationLog,
  conversationLogSchema,
  DEFAULT_GATEWAY_SETTINGS,
  type GatewaySettings,
  gatewaySettingsSchema,
} from '../../gateway/schemas.ts';
import { promptTemplateSchema } from '../../gateway/templates.ts';
import {
  type StoredTemplate,
  type TemplateStore,
  type TemplateSummary,
  TemplateWriteConflictError,
} from '../../gateway/tenant-templates.ts';
import { getText } from './audit-objects.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';
import { outboxEntries, outboxPut } from './governance-store.ts';

/**
 * The tag of conversation logs: the bucket is versioned, and the lifecycle rule on this tag expires
 * non-current versions after a day, so the content retention removes (and each earlier turn's copy)
 * does not live on as an old version (infra/resources/storage.yml).
 */
export const CONVERSATION_TAGGING = 'autonomy-retention=gateway-conversation';

/** The gsi1 partition of conversations that still hold content, by when retention removes it. */
const RETENTION_INDEX_PK = 'gateway#retention';

const conversationItemKey = (tenant: string, id: string) => ({ pk: `${tenant}#gateway#conversations`, sk: id });
const requestKey = (tenant: string, id: string) => ({ pk: `${tenant}#gateway#requests`, sk: id });
const settingsKey = (tenant: string) => ({ pk: `${tenant}#gateway#settings`, sk: 'settings' });

/** A corrupt log object is an error for its reader, not a silent new conversation. */
function parseLog(text: string, key: string): ConversationLog {
  try {
    return conversationLogSchema.parse(JSON.parse(text));
  } catch {
    throw new ConflictError(`The conversation log ${key} is not a valid log; it was changed outside the gateway`);
  }
}

/** {@link ConversationStore}: logs in the artifacts bucket, leases and the retention index in the state table. */
export function s3ConversationStore(dynamo: DynamoDBDocumentClient, table: string, s3: S3Client, bucket: string): ConversationStore {
  const send = mappedSend(dynamo, 'DynamoDB');
  const sendS3 = mappedSend(s3, 'S3');
  const get = async (tenant: string, conversationId: string) => {
    const key = conversationKey(tenant, conversationId);
    const text = await getText(sendS3, bucket, key);
    return text === undefined ? undefined : parseLog(text, key);
  };
  return {
    async begin(tenant, conversationId, requestId, now, leaseUntil) {
      try {
        await send(
          new UpdateCommand({
            TableName: table,
            Key: conversationItemKey(tenant, conversationId),
            UpdateExpression: 'SET #lease = :request, #until = :until, #created = if_not_exists(#created, :now)',
            ConditionExpression: 'attribute_not_exists(#lease) OR #until < :now OR #lease = :request',
            ExpressionAttributeNames: { '#lease': 'lease', '#until': 'leaseUntil', '#created': 'createdAt' },
            ExpressionAttributeValues: { ':request': requestId, ':until': leaseUntil.toISOString(), ':now': now.toISOString() },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError)
          throw new ConflictError(`Conversation ${conversationId} has a turn in progress; retry when it ends`);
        throw error;
      }
      const stored = await get(tenant, conversationId);
      return stored ? { log: stored, created: false } : { log: newConversationLog(tenant, conversationId, now), created: true };
    },
    async commit(log, requestId, expiresAt) {
      const key = conversationKey(log.tenant, log.conversationId);
      await sendS3(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: JSON.stringify(conversationLogSchema.parse(log)),
          ContentType: 'application/json',
          Tagging: CONVERSATION_TAGGING,
        }),
      );
      const index = expiresAt
        ? {
            update: 'SET #turns = :turns, #updated = :updated, gsi1pk = :gpk, gsi1sk = :gsk REMOVE #lease, #until',
            values: { ':gpk': RETENTION_INDEX_PK, ':gsk': `${expiresAt.toISOString()}#${log.tenant}#${log.conversationId}` },
          }
        : { update: 'SET #turns = :turns, #updated = :updated REMOVE #lease, #until, gsi1pk, gsi1sk', values: {} };
      try {
        await send(
          new UpdateCommand({
            TableName: table,
            Key: conversationItemKey(log.tenant, log.conversationId),
            UpdateExpression: index.update,
            ConditionExpression: '#lease = :request',
            ExpressionAttributeNames: { '#lease': 'lease', '#until': 'leaseUntil', '#turns': 'turns', '#updated': 'updatedAt' },
            ExpressionAttributeValues: { ':request': requestId, ':turns': log.turns.length, ':updated': log.updatedAt, ...index.values },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError)
          throw new ConflictError(`The lease on conversation ${log.conversationId} expired and was taken by another request`);
        throw error;
      }
    },
    async abandon(tenant, conversationId, requestId) {
      try {
        await send(
          new UpdateCommand({
            TableName: table,
            Key: conversationItemKey(tenant, conversationId),
            UpdateExpression: 'REMOVE #lease, #until',
            ConditionExpression: '#lease = :request',
            ExpressionAttributeNames: { '#lease': 'lease', '#until': 'leaseUntil' },
            ExpressionAttributeValues: { ':request': requestId },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionFailedError)) throw error;
      }
    },
    get,
    async expiring(now, limit) {
      const output = await send(
        new QueryCommand({
          TableName: table,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk < :now',
          ExpressionAttributeValues: { ':pk': RETENTION_INDEX_PK, ':now': now.toISOString() },
          Limit: limit,
        }),
      );
      return (output.Items ?? []).map((item) => ({
        tenant: String(item.pk).replace(/#gateway#conversations$/, ''),
        conversationId: String(item.sk),
      }));
    },
  };
}

/** {@link RequestRegistry} on the state table; records expire (TTL) a day after they start. */
export function dynamoRequestRegistry(dynamo: DynamoDBDocumentClient, table: string): RequestRegistry {
  const send = mappedSend(dynamo, 'DynamoDB');
  return {
    async start(request, expiresAt) {
      try {
        await send(
          new PutCommand({
            TableName: table,
            Item: {
              ...requestKey(request.tenant, request.requestId),
              model: request.model,
              startedAt: request.startedAt,
              cancelled: false,
              expiresAt: Math.ceil(expiresAt.getTime() / 1000),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError)
          throw new ConflictError(`Request id ${request.requestId} was already used; give each request its own`);
        throw error;
      }
    },
    async cancel(tenant, requestId) {
      try {
        await send(
          new UpdateCommand({
            TableName: table,
            Key: requestKey(tenant, requestId),
            UpdateExpression: 'SET cancelled = :yes',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':yes': true },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError) throw new NotFoundError(`No request ${requestId}`);
        throw error;
      }
    },
    async cancelled(tenant, requestId) {
      const output = await send(
        new GetCommand({ TableName: table, Key: requestKey(tenant, requestId), ConsistentRead: true, ProjectionExpression: 'cancelled' }),
      );
      return output.Item?.cancelled === true;
    },
    async finish(tenant, requestId, outcome) {
      await send(
        new UpdateCommand({
          TableName: table,
          Key: requestKey(tenant, requestId),
          UpdateExpression: 'SET outcome = :outcome',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':outcome': outcome.slice(0, 64) },
        }),
      ).catch((error: unknown) => {
        if (!(error instanceof ConditionFailedError)) throw error;
      });
    },
  };
}

/** {@link SettingsStore} on the state table. */
export function dynamoSettingsStore(dynamo: DynamoDBDocumentClient, table: string): SettingsStore {
  const send = mappedSend(dynamo, 'DynamoDB');
  return {
    async get(tenant) {
      const output = await send(new GetCommand({ TableName: table, Key: settingsKey(tenant) }));
      if (!output.Item) return DEFAULT_GATEWAY_SETTINGS;
      const { pk: _pk, sk: _sk, ...settings } = output.Item;
      const parsed = gatewaySettingsSchema.safeParse(settings);
      if (!parsed.success)
        throw new ConflictError(`The gateway settings of tenant ${tenant} are not valid settings; PUT /gateway/settings replaces them`);
      return parsed.data;
    },
    async put(tenant, settings: GatewaySettings) {
      await send(new PutCommand({ TableName: table, Item: { ...settingsKey(tenant), ...settings } }));
    },
  };
}

const documentsKey = (tenant: string) => ({ pk: `${tenant}#gateway#documents`, sk: 'index' });
const indexObjectKey = (tenant: string, version: number) => `${tenant}/gateway/documents/index-${version}.json`;

/**
 * {@link DocumentStore}: each version of a tenant's index an immutable object, the current version a
 * number in the state table moved by compare-and-swap (so two ingests never lose each other's
 * documents: the second is refused and retries on the new version). The replaced object is deleted;
 * tagged, its non-current version expires a day later.
 */
export function s3DocumentStore(dynamo: DynamoDBDocumentClient, table: string, s3: S3Client, bucket: string): DocumentStore {
  const send = mappedSend(dynamo, 'DynamoDB');
  const sendS3 = mappedSend(s3, 'S3');
  return {
    async current(tenant) {
      const output = await send(new GetCommand({ TableName: table, Key: documentsKey(tenant), ConsistentRead: true }));
      const version = Number(output.Item?.version ?? 0);
      if (!version) return undefined;
      const key = indexObjectKey(tenant, version);
      const text = await getText(sendS3, bucket, key);
      if (text === undefined) throw new ConflictError(`The retrieval index ${key} is missing; ingest the documents again`);
      return { version, index: documentIndexSchema.parse(JSON.parse(text)) };
    },
    async save(index, expected) {
      const next = expected + 1;
      await sendS3(
        new PutObjectCommand({
          Bucket: bucket,
          Key: indexObjectKey(index.tenant, next),
          Body: JSON.stringify(index),
          ContentType: 'application/json',
          Tagging: CONVERSATION_TAGGING,
        }),
      );
      try {
        await send(
          new UpdateCommand({
            TableName: table,
            Key: documentsKey(index.tenant),
            UpdateExpression: 'SET #version = :next',
            ConditionExpression: expected === 0 ? 'attribute_not_exists(#version)' : '#version = :expected',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':next': next, ...(expected === 0 ? {} : { ':expected': expected }) },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError) throw new ConflictError('Another ingest changed the documents meanwhile; retry');
        throw error;
      }
      if (expected > 0)
        await sendS3(new DeleteObjectCommand({ Bucket: bucket, Key: indexObjectKey(index.tenant, expected) })).catch(() => undefined);
      return next;
    },
  };
}

const templatesPk = (tenant: string) => `${tenant}#gateway#templates`;
/** The sort key of the revision item; template names start with a letter, so it never names one. */
const REVISION_SK = '#revision';

const variablesSchema = z.array(z.strictObject({ name: z.string(), required: z.boolean() }));
const templateItemSchema = z.object({
  sk: z.string(),
  version: z.number().int().min(1),
  hash: z.string(),
  description: z.string(),
  variables: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string(),
  template: z.string().optional(),
});

/**
 * {@link TemplateStore} on the state table: one item per template (its definition as JSON text, so it
 * comes back exactly as stored), and one per tenant holding its template revision and count. A change
 * is one transaction: the revision item moved from the revision read (and the count kept under the cap),
 * the template put or deleted if still at the version read, and the outbox entries of its events.
 */
export function dynamoTemplateStore(dynamo: DynamoDBDocumentClient, table: string): TemplateStore {
  const send = mappedSend(dynamo, 'DynamoDB');
  const parse = (tenant: string, item: Record<string, unknown>): TemplateSummary & { template?: StoredTemplate['template'] } => {
    try {
      const row = templateItemSchema.parse(item);
      return {
        name: row.sk,
        description: row.description,
        version: row.version,
        hash: row.hash,
        variables: variablesSchema.parse(JSON.parse(row.variables)),
        updatedAt: row.updatedAt,
        updatedBy: row.updatedBy,
        ...(row.template === undefined ? {} : { template: promptTemplateSchema.parse(JSON.parse(row.template)) }),
      };
    } catch {
      throw new ConflictError(
        `The stored template ${String(item.sk).slice(0, 64)} of tenant ${tenant} is not a valid template; PUT /gateway/templates replaces it`,
      );
    }
  };
  return {
    async get(tenant, name) {
      const output = await send(new GetCommand({ TableName: table, Key: { pk: templatesPk(tenant), sk: name }, ConsistentRead: true }));
      if (!output.Item) return undefined;
      const { name: _name, description: _description, template, ...rest } = parse(tenant, output.Item);
      if (!template)
        throw new ConflictError(`The stored template ${name} of tenant ${tenant} has no definition; PUT /gateway/templates replaces it`);
      return { template, ...rest };
    },
    async list(tenant) {
      const found: TemplateSummary[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const output = await send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND sk > :revision',
            ExpressionAttributeValues: { ':pk': templatesPk(tenant), ':revision': REVISION_SK },
            ProjectionExpression: 'sk, version, #hash, description, variables, updatedAt, updatedBy',
            ExpressionAttributeNames: { '#hash': 'hash' },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of output.Items ?? []) found.push(parse(tenant, item));
        start = output.LastEvaluatedKey;
      } while (start);
      return found;
    },
    async revision(tenant) {
      const output = await send(
        new GetCommand({ TableName: table, Key: { pk: templatesPk(tenant), sk: REVISION_SK }, ConsistentRead: true }),
      );
      return { revision: Number(output.Item?.revision ?? 0), count: Number(output.Item?.count ?? 0) };
    },
    async write(change, maxTemplates) {
      const now = new Date();
      const entries = outboxEntries(change.tenant, change.events, now);
      const delta = change.next ? (change.expectedVersion === 0 ? 1 : 0) : -1;
      const revisionUpdate = {
        Update: {
          TableName: table,
          Key: { pk: templatesPk(change.tenant), sk: REVISION_SK },
          UpdateExpression: 'SET #revision = :next ADD #count :delta',
          ConditionExpression:
            change.revision === 0 ? 'attribute_not_exists(#revision)' : `#revision = :expected${delta > 0 ? ' AND #count < :max' : ''}`,
          ExpressionAttributeNames: { '#revision': 'revision', '#count': 'count' },
          ExpressionAttributeValues: {
            ':next': change.revision + 1,
            ':delta': delta,
            ...(change.revision === 0 ? {} : { ':expected': change.revision }),
            ...(change.revision !== 0 && delta > 0 ? { ':max': maxTemplates } : {}),
          },
        },
      };
      const key = { pk: templatesPk(change.tenant), sk: change.name };
      const versionCondition =
        change.expectedVersion === 0
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: '#version = :version',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':version': change.expectedVersion },
            };
      const templateWrite = change.next
        ? {
            Put: {
              TableName: table,
              Item: {
                ...key,
                version: change.next.version,
                hash: change.next.hash,
                description: change.next.template.description,
                variables: JSON.stringify(change.next.variables),
                template: JSON.stringify(change.next.template),
                updatedAt: change.next.updatedAt,
                updatedBy: change.next.updatedBy,
              },
              ...versionCondition,
            },
          }
        : { Delete: { TableName: table, Key: key, ...versionCondition } };
      try {
        await send(
          new TransactWriteCommand({
            TransactItems: [revisionUpdate, templateWrite, ...entries.map((entry) => outboxPut(table, entry, now))],
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError) {
          if (error.reasons[1] === 'ConditionalCheckFailed')
            throw new TemplateWriteConflictError('version', `Template ${change.name} changed meanwhile`);
          throw new TemplateWriteConflictError('revision', `The templates of ${change.tenant} changed meanwhile`);
        }
        throw error;
      }
      return entries;
    },
  };
}
