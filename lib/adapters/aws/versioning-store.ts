/**
 * The Versioning engine's state on the state table, large bodies in the artifacts bucket:
 *
 *   pk                              sk                       what
 *   <tenant>#versioning#artifacts   <artifact>               the head: kind, latest version, seq
 *   <tenant>#versioning#versions    <artifact>#<version>     a version: `data` (the record as JSON text,
 *                                                            body and golden set left out), `body` and
 *                                                            `golden` (JSON text), `seq`, `rev`
 *   <tenant>/versioning/bodies/<sha256>.json (S3)            a body above INLINE_BODY_BYTES (32 KiB),
 *                                                            by the hash of its canonical JSON
 *
 * A tag is one transaction: the head (conditional on the seq read), the version (which must not
 * exist) and the outbox entries. A large body is written to S3 first: content-addressed, so a retry
 * writes the same object and a tag that loses its race leaves at most an object no version names.
 * Listing reads the versions without their `body` and `golden` attributes (a projection).
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError, DependencyError } from '../../errors.ts';
import type { ArtifactHead, VersioningStore } from '../../versioning/ports.ts';
import { artifactKindSchema, type VersionRecord, versionRecordSchema } from '../../versioning/schemas.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';
import { outboxEntries, outboxPut } from './governance-store.ts';

const headKey = (tenant: string, artifact: string) => ({ pk: `${tenant}#versioning#artifacts`, sk: artifact });
const versionKey = (tenant: string, artifact: string, version: string) => ({
  pk: `${tenant}#versioning#versions`,
  sk: `${artifact}#${version}`,
});
/** Most pages one listing reads (1 MB each). */
const MAX_PAGES = 20;

function itemOf(record: VersionRecord): Record<string, unknown> {
  const { body, golden, ...rest } = record;
  return {
    ...versionKey(record.tenant, record.artifact, record.version),
    seq: record.seq,
    rev: record.rev,
    data: JSON.stringify(rest),
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    ...(golden !== undefined ? { golden: JSON.stringify(golden) } : {}),
  };
}

function recordOf(item: Record<string, unknown>): VersionRecord {
  const rest = JSON.parse(String(item.data)) as Record<string, unknown>;
  return versionRecordSchema.parse({
    ...rest,
    ...(typeof item.body === 'string' ? { body: JSON.parse(item.body) } : {}),
    ...(typeof item.golden === 'string' ? { golden: JSON.parse(item.golden) } : {}),
  });
}

/**
 * Versioning's store on the state table and the artifacts bucket.
 * @example const store = dynamoVersioningStore(dynamoClient(), s3Client(), config().STATE_TABLE, config().ARTIFACTS_BUCKET);
 */
export function dynamoVersioningStore(client: DynamoDBDocumentClient, s3: S3Client, table: string, bucket: string): VersioningStore {
  const send = mappedSend(client, 'DynamoDB');
  const sendS3 = mappedSend(s3, 'S3');
  return {
    async head(tenant, artifact): Promise<ArtifactHead | undefined> {
      const output = await send(new GetCommand({ TableName: table, Key: headKey(tenant, artifact), ConsistentRead: true }));
      const item = output.Item;
      if (!item) return undefined;
      return { artifact, kind: artifactKindSchema.parse(item.kind), latest: String(item.latest), seq: Number(item.seq) };
    },
    async version(tenant, artifact, version) {
      const output = await send(new GetCommand({ TableName: table, Key: versionKey(tenant, artifact, version), ConsistentRead: true }));
      return output.Item ? recordOf(output.Item) : undefined;
    },
    async versions(tenant, artifact, limit) {
      const records: VersionRecord[] = [];
      let start: Record<string, unknown> | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const output = await send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: { ':pk': `${tenant}#versioning#versions`, ':prefix': `${artifact}#` },
            ProjectionExpression: '#data',
            ExpressionAttributeNames: { '#data': 'data' },
            ConsistentRead: true,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        // Artifact names hold no `#`, so the prefix `<artifact>#` matches this artifact's versions only.
        for (const item of output.Items ?? []) records.push(recordOf(item));
        start = output.LastEvaluatedKey;
        if (!start) break;
      }
      return records.sort((a, b) => a.seq - b.seq).slice(-limit);
    },
    async body(record) {
      if (record.bodyRef.at === 'inline') return record.body;
      const object = await sendS3(new GetObjectCommand({ Bucket: bucket, Key: record.bodyRef.key }));
      const text = object.Body ? await object.Body.transformToString('utf8') : '';
      try {
        return JSON.parse(text);
      } catch {
        throw new DependencyError(`The body of ${record.artifact}@${record.version} (${record.bodyRef.key}) is unreadable`);
      }
    },
    async putBody(tenant, hash, json) {
      const key = `${tenant}/versioning/bodies/${hash}.json`;
      await sendS3(new PutObjectCommand({ Bucket: bucket, Key: key, Body: json, ContentType: 'application/json' }));
      return key;
    },
    async tag(record, expectedSeq, events) {
      const now = new Date();
      const entries = outboxEntries(record.tenant, events, now);
      const headCondition =
        expectedSeq === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: '#seq = :expected',
              ExpressionAttributeNames: { '#seq': 'seq' },
              ExpressionAttributeValues: { ':expected': expectedSeq },
            };
      try {
        await send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: table,
                  Item: { ...headKey(record.tenant, record.artifact), kind: record.kind, latest: record.version, seq: record.seq },
                  ...headCondition,
                },
              },
              { Put: { TableName: table, Item: itemOf(record), ConditionExpression: 'attribute_not_exists(pk)' } },
              ...entries.map((entry) => outboxPut(table, entry, now)),
            ],
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError)
          throw new ConflictError(`${record.artifact} was tagged concurrently (or ${record.version} exists); read it again`);
        throw error;
      }
      return entries;
    },
    async update(record, expectedRev, events) {
      const now = new Date();
      const entries = outboxEntries(record.tenant, events, now);
      const put = {
        TableName: table,
        Item: itemOf(record),
        ConditionExpression: '#rev = :expected',
        ExpressionAttributeNames: { '#rev': 'rev' },
        ExpressionAttributeValues: { ':expected': expectedRev },
      };
      try {
        if (entries.length === 0) await send(new PutCommand(put));
        else
          await send(new TransactWriteCommand({ TransactItems: [{ Put: put }, ...entries.map((entry) => outboxPut(table, entry, now))] }));
      } catch (error) {
        if (error instanceof ConditionFailedError)
          throw new ConflictError(`${record.artifact}@${record.version} was changed concurrently; read it again`);
        throw error;
      }
      return entries;
    },
  };
}
