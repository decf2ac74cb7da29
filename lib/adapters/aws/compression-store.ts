/**
 * The Compression engine's state on the state table, one partition per tenant (`<tenant>#compression`):
 * `settings`, `effectiveness` and `run#<compressionId>`; every write conditional on what was read, the
 * events saved with the state they report (the outbox).
 */
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { CompressionRun, CompressionStore, StoredEffectiveness } from '../../compression/engine.ts';
import { NO_EFFECTIVENESS } from '../../compression/engine.ts';
import { storedSettingsSchema } from '../../compression/routes.ts';
import { DEFAULT_COMPRESSION_SETTINGS } from '../../compression/schemas.ts';
import { ConflictError } from '../../errors.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';
import { outboxEntries, outboxPut, writeWithOutbox } from './governance-store.ts';

const pk = (tenant: string) => `${tenant}#compression`;
/** gsi1 partition listing every tenant that reported feedback (Loop 3's schedule). */
export const FEEDBACK_INDEX_PK = 'compression#feedback';
type Item = Record<string, unknown>;

const versioned = (expected: number) =>
  expected === 0
    ? { ConditionExpression: 'attribute_not_exists(pk)' }
    : {
        ConditionExpression: '#version = :expected',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':expected': expected },
      };

const strip = ({ pk: _pk, sk: _sk, gsi1pk: _gpk, gsi1sk: _gsk, ...rest }: Item) => rest;

/** The engine's store on `table`. */
export function dynamoCompressionStore(client: DynamoDBDocumentClient, table: string): CompressionStore {
  const send = mappedSend(client, 'DynamoDB');
  const get = async (tenant: string, sk: string) =>
    (await send(new GetCommand({ TableName: table, Key: { pk: pk(tenant), sk }, ConsistentRead: true }))).Item;
  // A tenant with reports is listed in gsi1 for Loop 3's schedule.
  const effectivenessItem = (tenant: string, next: StoredEffectiveness) => ({
    pk: pk(tenant),
    sk: 'effectiveness',
    ...next,
    ...(next.recent.length > 0 ? { gsi1pk: FEEDBACK_INDEX_PK, gsi1sk: tenant } : {}),
  });
  const effectivenessPut = (tenant: string, next: StoredEffectiveness, expected: number) => ({
    Put: { TableName: table, Item: effectivenessItem(tenant, next), ...versioned(expected) },
  });
  return {
    async settings(tenant) {
      const item = await get(tenant, 'settings');
      // Settings added later take their default in records written before them.
      return item
        ? storedSettingsSchema.parse({ ...DEFAULT_COMPRESSION_SETTINGS, ...strip(item) })
        : { ...DEFAULT_COMPRESSION_SETTINGS, version: 0 };
    },
    async putSettings(tenant, next, expectedVersion, events) {
      return writeWithOutbox(
        send,
        table,
        { pk: pk(tenant), sk: 'settings', ...next },
        expectedVersion === 0 ? undefined : expectedVersion,
        tenant,
        events,
        `The compression settings of ${tenant}`,
      );
    },
    async effectiveness(tenant) {
      const item = await get(tenant, 'effectiveness');
      return item ? ({ ...NO_EFFECTIVENESS, ...strip(item) } as StoredEffectiveness) : { ...NO_EFFECTIVENESS };
    },
    async putRun(run, next, expectedVersion, events) {
      const now = new Date();
      const entries = outboxEntries(run.tenant, events, now);
      try {
        await send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: table,
                  Item: { pk: pk(run.tenant), sk: `run#${run.compressionId}`, ...run },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              effectivenessPut(run.tenant, next, expectedVersion),
              ...entries.map((entry) => outboxPut(table, entry, now)),
            ],
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError)
          throw new ConflictError(`The compression effectiveness of ${run.tenant} was changed concurrently; read it again`);
        throw error;
      }
      return entries;
    },
    async run(tenant, compressionId) {
      const item = await get(tenant, `run#${compressionId}`);
      return item ? (strip(item) as unknown as CompressionRun) : undefined;
    },
    async putFeedback(run, next, expectedVersion) {
      try {
        await send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: table,
                  Item: { pk: pk(run.tenant), sk: `run#${run.compressionId}`, ...run },
                  ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(feedback)',
                },
              },
              effectivenessPut(run.tenant, next, expectedVersion),
            ],
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError)
          throw new ConflictError(
            `Compression ${run.compressionId} has feedback already, or its tenant's effectiveness moved; read it again`,
          );
        throw error;
      }
    },
    async putEffectiveness(tenant, next, expectedVersion, events = []) {
      return writeWithOutbox(
        send,
        table,
        effectivenessItem(tenant, next),
        expectedVersion === 0 ? undefined : expectedVersion,
        tenant,
        events,
        `The compression effectiveness of ${tenant}`,
      );
    },
    async feedbackTenants() {
      const tenants: string[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await send(
          new QueryCommand({
            TableName: table,
            IndexName: 'gsi1',
            KeyConditionExpression: 'gsi1pk = :pk',
            ExpressionAttributeValues: { ':pk': FEEDBACK_INDEX_PK },
            ProjectionExpression: 'gsi1sk',
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        tenants.push(...(page.Items ?? []).map((item) => String(item.gsi1sk)));
        start = page.LastEvaluatedKey;
      } while (start);
      return tenants;
    },
  };
}
