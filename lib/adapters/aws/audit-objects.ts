/**
 * The Audit engine's objects in the artifacts bucket, every key starting with the tenant:
 *   <tenant>/audit/payloads/<payloadHash>.json                      payloads, content-addressed
 *   <tenant>/audit/checkpoints/<stream>/<treeSize, 16 digits>.json  signed checkpoints
 * Checkpoint keys are zero-padded, so listing a prefix returns them in tree-size order.
 *
 * Payloads are tagged `autonomy-retention=audit-payload`: the bucket is versioned, and its
 * lifecycle rule expires non-current versions of tagged objects, so a payload retention deletes
 * does not live on as an old version. SDK failures map through lib/adapters/aws/errors.ts
 * (throttling such as SlowDown, and faults: DependencyError); a missing object is `undefined`.
 */
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { checkpointKey } from '../../audit/checkpoint.ts';
import { unreadablePayload } from '../../audit/engine.ts';
import { mapLimit } from '../../concurrency.ts';
import type { CheckpointStore, PayloadStore } from '../../audit/ports.ts';
import type { Checkpoint, Payload } from '../../audit/schemas.ts';
import { mappedSend } from './errors.ts';

type Send = S3Client['send'];

/** The object key of a payload. */
export const payloadKey = (tenant: string, payloadHash: string) => `${tenant}/audit/payloads/${payloadHash}.json`;

/** The tag that puts an object under the payload lifecycle rule (see infra/resources/storage.yml). */
export const PAYLOAD_TAGGING = 'autonomy-retention=audit-payload';

/** An object as text; undefined when there is none. */
export async function getText(send: Send, bucket: string, key: string): Promise<string | undefined> {
  try {
    const object = await send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await object.Body?.transformToString('utf-8')) ?? '';
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** {@link PayloadStore} on S3. */
export class S3PayloadStore implements PayloadStore {
  readonly #send: Send;
  readonly #bucket: string;

  constructor(client: S3Client, bucket: string) {
    this.#send = mappedSend(client, 'S3');
    this.#bucket = bucket;
  }

  async put(tenant: string, payloadHash: string, payload: Payload): Promise<void> {
    await this.#send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: payloadKey(tenant, payloadHash),
        Body: JSON.stringify(payload),
        ContentType: 'application/json',
        Tagging: PAYLOAD_TAGGING,
      }),
    );
  }

  /** The payload; a stored object that is not a JSON object comes back as `unreadablePayload`, so it fails its hash. */
  async get(tenant: string, payloadHash: string): Promise<Payload | undefined> {
    const text = await getText(this.#send, this.#bucket, payloadKey(tenant, payloadHash));
    if (text === undefined) return undefined;
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Payload;
    } catch {}
    return unreadablePayload(text);
  }

  async delete(tenant: string, payloadHash: string): Promise<void> {
    await this.#send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: payloadKey(tenant, payloadHash) }));
  }
}

/** {@link CheckpointStore} on S3, at `checkpointKey(tenant, stream, treeSize)`. */
export class S3CheckpointStore implements CheckpointStore {
  readonly #send: Send;
  readonly #bucket: string;

  constructor(client: S3Client, bucket: string) {
    this.#send = mappedSend(client, 'S3');
    this.#bucket = bucket;
  }

  async put(checkpoint: Checkpoint): Promise<void> {
    await this.#send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: checkpointKey(checkpoint.tenant, checkpoint.stream, checkpoint.treeSize),
        Body: JSON.stringify(checkpoint),
        ContentType: 'application/json',
      }),
    );
  }

  async #keys(tenant: string, stream: string): Promise<string[]> {
    const prefix = `${tenant}/audit/checkpoints/${stream}/`;
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.#send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined && /\/\d{16}\.json$/.test(object.Key)) keys.push(object.Key);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys.sort();
  }

  /**
   * Reads one checkpoint object as stored. One that is not JSON becomes an unsigned placeholder
   * at its tree size, so verification reports it rather than failing to read it.
   */
  async #read(tenant: string, stream: string, key: string): Promise<Checkpoint | undefined> {
    const text = await getText(this.#send, this.#bucket, key);
    if (text === undefined) return undefined;
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Checkpoint;
    } catch {}
    const treeSize = Number(key.slice(key.lastIndexOf('/') + 1, -'.json'.length));
    return { tenant, stream, treeSize, rootHash: '', timestamp: '', previousCheckpointHash: null, keyId: '', signature: '' };
  }

  /** One key listed by its exact name: a signer checks its head is stored without listing every checkpoint. */
  async has(tenant: string, stream: string, treeSize: number): Promise<boolean> {
    const key = checkpointKey(tenant, stream, treeSize);
    const page = await this.#send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: key, MaxKeys: 1 }));
    return (page.Contents ?? []).some((object) => object.Key === key);
  }

  async latest(tenant: string, stream: string): Promise<Checkpoint | undefined> {
    const last = (await this.#keys(tenant, stream)).at(-1);
    return last === undefined ? undefined : this.#read(tenant, stream, last);
  }

  async list(tenant: string, stream: string): Promise<Checkpoint[]> {
    const keys = await this.#keys(tenant, stream);
    const checkpoints = await mapLimit(keys, 16, (key) => this.#read(tenant, stream, key));
    return checkpoints.filter((checkpoint): checkpoint is Checkpoint => checkpoint !== undefined);
  }
}
