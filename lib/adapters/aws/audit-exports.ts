/**
 * Exports to S3 on AWS: their objects in the artifacts bucket under `<tenant>/audit-exports/`, and
 * their progress in the state table (`<tenant>#audit#exports` / `<stream>#<exportId>`), saved with a
 * conditional put on `step` so two requests cannot both write an export's next page.
 *
 * Export objects are tagged `autonomy-retention=audit-export`: a lifecycle rule expires them a week
 * after they are written (infra/resources/storage.yml), so the payload copies an export holds do not
 * outlive the tenant's retention window by more than that.
 */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ExportJobStore, ExportObjectStore } from '../../audit/ports.ts';
import { type ExportJob, exportJobSchema } from '../../audit/schemas.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';

/** The tag that puts an export object under the exports lifecycle rule. */
export const EXPORT_TAGGING = 'autonomy-retention=audit-export';

/** The state-table key of an export's record. */
export const exportJobKey = (tenant: string, stream: string, exportId: string) => ({
  pk: `${tenant}#audit#exports`,
  sk: `${stream}#${exportId}`,
});

/** {@link ExportJobStore} on the state table: the record as JSON text, a conditional put on `step`. */
export class DynamoExportJobs implements ExportJobStore {
  readonly #send: DynamoDBDocumentClient['send'];
  readonly #table: string;

  constructor(client: DynamoDBDocumentClient, table: string) {
    this.#send = mappedSend(client, 'DynamoDB');
    this.#table = table;
  }

  /** @throws ZodError when the stored record is not an export record (it is only ever written by `put`). */
  async get(tenant: string, stream: string, exportId: string): Promise<ExportJob | undefined> {
    const { Item } = await this.#send(
      new GetCommand({ TableName: this.#table, Key: exportJobKey(tenant, stream, exportId), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : exportJobSchema.parse(JSON.parse(String(Item.job)));
  }

  async put(job: ExportJob, expectedStep: number | undefined): Promise<boolean> {
    try {
      await this.#send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...exportJobKey(job.tenant, job.stream, job.exportId), step: job.step, status: job.status, job: JSON.stringify(job) },
          ...(expectedStep === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'step = :expected', ExpressionAttributeValues: { ':expected': expectedStep } }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionFailedError) return false;
      throw error;
    }
  }
}

/** {@link ExportObjectStore} on S3. */
export class S3ExportObjects implements ExportObjectStore {
  readonly #send: S3Client['send'];
  readonly #bucket: string;

  constructor(client: S3Client, bucket: string) {
    this.#send = mappedSend(client, 'S3');
    this.#bucket = bucket;
  }

  async put(key: string, body: string, contentType: string): Promise<void> {
    await this.#send(
      new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: body, ContentType: contentType, Tagging: EXPORT_TAGGING }),
    );
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const object = await this.#send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      return (await object.Body?.transformToString('utf-8')) ?? '';
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }
}
