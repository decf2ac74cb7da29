/**
 * Bus events as the audit ledger recorded them: the rule target integration tests observe events
 * at. The AuditRule sends every `autonomy.*` event through the audit queue to auditAppend, which
 * appends it once per event id to stream `events.<engine>` of `detail.tenant` (`system` when it
 * names none), the event as the payload (lib/audit/engine.ts, `busEventRecord`).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { S3PayloadStore } from '../../lib/adapters/aws/audit-objects.ts';
import { DynamoLedgerStore } from '../../lib/adapters/aws/audit-ledger.ts';
import { testCloud, tokenFor } from './local-cloud.ts';

/** The payload auditAppend stores for a bus event, as far as tests read it. */
const eventPayloadSchema = z.object({
  eventId: z.string(),
  source: z.string(),
  detailType: z.string(),
  time: z.string(),
  detail: z.record(z.string(), z.unknown()),
});

/** One bus event recorded in the ledger: its payload, and the seq of its entry in `events.<engine>`. */
export type RecordedEvent = z.infer<typeof eventPayloadSchema> & { seq: number };

const exportEntryLineSchema = z.object({ type: z.literal('entry'), entry: z.object({ seq: z.number() }), payload: eventPayloadSchema });

let stores: ReturnType<typeof adminStores> | undefined;

function adminStores() {
  const { tables, buckets } = testCloud().resources;
  return {
    ledger: new DynamoLedgerStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), {
      ledgerTable: tables.LedgerTable ?? '',
      stateTable: tables.StateTable ?? '',
    }),
    payloads: new S3PayloadStore(new S3Client({ forcePathStyle: true }), buckets.ArtifactsBucket ?? ''),
  };
}

/**
 * The events of `tenant` from `engine` (stream `events.<engine>`, seq `fromSeq` on), read straight
 * from the ledger table and the payload objects with admin access: the way to read the `system`
 * tenant, which no credential may name.
 */
export async function ledgerEvents(tenant: string, engine: string, fromSeq = 0): Promise<RecordedEvent[]> {
  stores ??= adminStores();
  const { ledger, payloads } = stores;
  const entries = await ledger.read(tenant, `events.${engine}`, fromSeq);
  // The payload is stored before its entry, so an entry read here always has one.
  return Promise.all(
    entries.map(async (entry) => ({ seq: entry.seq, ...eventPayloadSchema.parse(await payloads.get(tenant, entry.payloadHash)) })),
  );
}

/**
 * The events of `tenant` from `engine` as the tenant reads them: `GET /audit/export?stream=events.<engine>`
 * with a viewer's token; none while the stream does not exist yet.
 * @throws Error naming the status when the export is refused.
 */
export async function exportedEvents(tenant: string, engine: string): Promise<RecordedEvent[]> {
  const token = await tokenFor({ tenant, roles: ['viewer'] });
  const reply = await fetch(`${testCloud().apiUrl}/audit/export?stream=events.${engine}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await reply.text();
  if (reply.status !== 200) throw new Error(`GET /audit/export?stream=events.${engine} as ${tenant}: ${reply.status} ${text}`);
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      const parsed = exportEntryLineSchema.safeParse(JSON.parse(line));
      return parsed.success ? [{ seq: parsed.data.entry.seq, ...parsed.data.payload }] : [];
    });
}
