/**
 * The Capsules engine's state on the state table and its bundles in the artifacts bucket:
 *   <tenant>#capsules#authors    / <subject>#<keyId>  authors' Ed25519 keys
 *   <tenant>#capsules#proposals  / <proposalId>       the version a publish proposal publishes
 *   <tenant>#capsules#refusals   / <at>#<id>          refused submissions' review records
 *   <tenant>#capsules#installs   / <name>             the tenant's installs
 *   system#capsules#names        / <name>             the marketplace's names: owner, versions' statuses
 *   system#capsules#versions     / <name>#<version>   each version (immutable once published)
 *   S3 <owner tenant>/capsules/bundles/<sha256>.json  each bundle's exact bytes
 * Every write that reports a step is one transaction with its outbox entries, conditional on the
 * revision read. SDK failures map through lib/adapters/aws/errors.ts.
 */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { BundleObjects, CapsuleName, CapsuleStore, StoredAuthorKey } from '../../capsules/ports.ts';
import {
  type AuthorKey,
  authorKeyViewSchema,
  capsuleVersionSchema,
  type Install,
  installSchema,
  versionStatusSchema,
} from '../../capsules/schemas.ts';
import { ConflictError } from '../../errors.ts';
import type { BusEvent } from '../../events/publisher.ts';
import type { OutboxEntry } from '../../governance/proposals.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';
import { outboxEntries, outboxPut } from './governance-store.ts';

type Item = Record<string, unknown>;

const NAMES_PK = 'system#capsules#names';
const VERSIONS_PK = 'system#capsules#versions';
const authorsPk = (tenant: string) => `${tenant}#capsules#authors`;
const installsPk = (tenant: string) => `${tenant}#capsules#installs`;
const proposalsPk = (tenant: string) => `${tenant}#capsules#proposals`;
const refusalsPk = (tenant: string) => `${tenant}#capsules#refusals`;
/** Queries read at most this many items per page. */
const PAGE = 100;

const nameSchema = z.object({
  name: z.string(),
  ownerTenant: z.string(),
  description: z.string(),
  latestVersion: z.string().nullable(),
  versions: z.record(z.string(), versionStatusSchema),
  revision: z.number().int().min(0),
});

function strip(item: Item): Item {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest;
}

function condition(revision: number | undefined, field = 'revision') {
  return revision === undefined
    ? { ConditionExpression: 'attribute_not_exists(pk)' }
    : {
        ConditionExpression: '#revision = :revision',
        ExpressionAttributeNames: { '#revision': field },
        ExpressionAttributeValues: { ':revision': revision },
      };
}

/** {@link CapsuleStore} on the state table. */
export function dynamoCapsuleStore(client: DynamoDBDocumentClient, table: string): CapsuleStore {
  const send = mappedSend(client, 'DynamoDB');

  /** One transaction: the items (each with its condition) and the outbox entries of `events`. */
  async function transact(
    puts: Array<{
      Item: Item;
      ConditionExpression?: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues?: Item;
    }>,
    tenant: string,
    events: readonly BusEvent[],
    what: string,
  ): Promise<OutboxEntry[]> {
    const now = new Date();
    const entries = outboxEntries(tenant, events, now);
    try {
      await send(
        new TransactWriteCommand({
          TransactItems: [
            ...puts.map((put) => ({ Put: { TableName: table, ...put } })),
            ...entries.map((entry) => outboxPut(table, entry, now)),
          ],
        }),
      );
    } catch (error) {
      if (error instanceof ConditionFailedError) throw new ConflictError(`${what} was changed concurrently; read it again`);
      throw error;
    }
    return entries;
  }

  async function queryAll(pk: string, prefix?: string): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const output = await send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: prefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pk, ...(prefix === undefined ? {} : { ':prefix': prefix }) },
          Limit: PAGE,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(output.Items ?? []));
      start = output.LastEvaluatedKey;
    } while (start && items.length < 10 * PAGE);
    return items;
  }

  return {
    async authorKeys(tenant, subject) {
      const items = await queryAll(authorsPk(tenant), subject === undefined ? undefined : `${subject}#`);
      return items
        .map((item): StoredAuthorKey => ({ tenant, ...(authorKeyViewSchema.parse(strip(item)) as AuthorKey) }))
        .filter((key) => subject === undefined || key.subject === subject);
    },
    putAuthorKey(key, expected, events) {
      const { tenant, ...stored } = key;
      const cond =
        expected === 'absent'
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: '#status = :active',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':active': 'active' },
            };
      return transact(
        [{ Item: { ...stored, pk: authorsPk(tenant), sk: `${key.subject}#${key.keyId}` }, ...cond }],
        tenant,
        events,
        `Key ${key.keyId.slice(0, 12)}… of ${key.subject}`,
      );
    },
    async name(name) {
      const output = await send(new GetCommand({ TableName: table, Key: { pk: NAMES_PK, sk: name }, ConsistentRead: true }));
      return output.Item ? (nameSchema.parse(strip(output.Item)) as CapsuleName) : undefined;
    },
    async names(limit, after) {
      const output = await send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': NAMES_PK },
          Limit: limit,
          ...(after ? { ExclusiveStartKey: { pk: NAMES_PK, sk: after } } : {}),
        }),
      );
      return (output.Items ?? []).map((item) => nameSchema.parse(strip(item)) as CapsuleName);
    },
    async version(name, version) {
      const output = await send(
        new GetCommand({ TableName: table, Key: { pk: VERSIONS_PK, sk: `${name}#${version}` }, ConsistentRead: true }),
      );
      return output.Item ? capsuleVersionSchema.parse(strip(output.Item)) : undefined;
    },
    writeVersion(write) {
      const puts = [
        { Item: { ...write.name, pk: NAMES_PK, sk: write.name.name }, ...condition(write.nameRevision) },
        {
          Item: { ...write.version, pk: VERSIONS_PK, sk: `${write.version.name}#${write.version.version}` },
          ...condition(write.versionRevision),
        },
        ...(write.proposal
          ? [
              {
                Item: {
                  pk: proposalsPk(write.proposal.tenant),
                  sk: write.proposal.proposalId,
                  name: write.version.name,
                  version: write.version.version,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            ]
          : []),
      ];
      return transact(puts, write.eventTenant, write.events, `Capsule ${write.version.name} ${write.version.version}`);
    },
    async proposalVersion(tenant, proposalId) {
      const output = await send(
        new GetCommand({ TableName: table, Key: { pk: proposalsPk(tenant), sk: proposalId }, ConsistentRead: true }),
      );
      if (!output.Item) return undefined;
      return { name: String(output.Item.name), version: String(output.Item.version) };
    },
    putRefusal(refusal, events) {
      const item = { ...refusal, pk: refusalsPk(refusal.tenant), sk: `${refusal.review.reviewedAt}#${refusal.review.submissionId}` };
      return transact(
        [{ Item: item, ConditionExpression: 'attribute_not_exists(pk)' }],
        refusal.tenant,
        events,
        `Submission ${refusal.review.submissionId}`,
      );
    },
    async installs(tenant) {
      return (await queryAll(installsPk(tenant))).map((item) => installSchema.parse(strip(item)));
    },
    async install(tenant, name) {
      const output = await send(new GetCommand({ TableName: table, Key: { pk: installsPk(tenant), sk: name }, ConsistentRead: true }));
      return output.Item ? installSchema.parse(strip(output.Item)) : undefined;
    },
    putInstall(next: Install, expectedRevision, events) {
      return transact(
        [{ Item: { ...next, pk: installsPk(next.tenant), sk: next.name }, ...condition(expectedRevision) }],
        next.tenant,
        events,
        `The install of ${next.name}`,
      );
    },
  };
}

/** {@link BundleObjects} in the artifacts bucket. */
export function s3BundleObjects(client: S3Client, bucket: string): BundleObjects {
  const send = mappedSend(client, 'S3');
  return {
    async put(key, bytes) {
      await send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: 'application/json' }));
    },
    async get(key) {
      try {
        const object = await send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return object.Body ? await object.Body.transformToByteArray() : new Uint8Array();
      } catch (error) {
        if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
  };
}
