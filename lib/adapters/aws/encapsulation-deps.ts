/**
 * The Encapsulation engine's ports in a deployed function, built once per container: analyses in the
 * artifacts bucket (`<tenant>/encapsulation/analyses/<id>.json`) with the latest one's pointer on the
 * state table (`<tenant>#encapsulation` / `latest`, written with its events: an outbox), each artifact's
 * current exposure on the state table (`exposure#<artifact>`, conditional on its revision), the Reflex registry, the ledger's recent entries with their payloads, governance's
 * proposal path and the Versioning engine.
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { loadPayloads } from '../../audit/engine.ts';
import { config } from '../../config.ts';
import type { EncapsulationDeps, EncapsulationStore } from '../../encapsulation/engine.ts';
import { analysisSchema, exposureSchema } from '../../encapsulation/schemas.ts';
import type { TraceEntry } from '../../encapsulation/traces.ts';
import { DependencyError } from '../../errors.ts';
import { propose } from '../../governance/proposals.ts';
import { auditLedger, auditPayloads } from './audit-deps.ts';
import { getText } from './audit-objects.ts';
import { dynamoClient, s3Client } from './clients.ts';
import { mappedSend } from './errors.ts';
import { governanceOutbox, proposalDeps } from './governance-deps.ts';
import { writeWithOutbox } from './governance-store.ts';
import { dynamoRegistryStore } from './reflex-store.ts';
import { versioningDeps } from './versioning-deps.ts';

const pk = (tenant: string) => `${tenant}#encapsulation`;
const analysisKey = (tenant: string, analysisId: string) => `${tenant}/encapsulation/analyses/${analysisId}.json`;

let store: EncapsulationStore | undefined;

/** Analyses and exposures. */
export function encapsulationStore(): EncapsulationStore {
  if (store) return store;
  const table = config().STATE_TABLE;
  const bucket = config().ARTIFACTS_BUCKET;
  const send = mappedSend(dynamoClient(), 'DynamoDB');
  const s3 = mappedSend(s3Client(), 'S3');
  store = {
    async latest(tenant) {
      const item = (await send(new GetCommand({ TableName: table, Key: { pk: pk(tenant), sk: 'latest' }, ConsistentRead: true }))).Item;
      if (!item) return undefined;
      const text = await getText(s3, bucket, String(item.key));
      if (text === undefined) throw new DependencyError(`The analysis ${String(item.analysisId)} is missing from the artifacts bucket`);
      return analysisSchema.parse(JSON.parse(text));
    },
    async analysis(tenant, analysisId) {
      const text = await getText(s3, bucket, analysisKey(tenant, analysisId));
      return text === undefined ? undefined : analysisSchema.parse(JSON.parse(text));
    },
    async exposure(tenant, artifact) {
      const item = (
        await send(new GetCommand({ TableName: table, Key: { pk: pk(tenant), sk: `exposure#${artifact}` }, ConsistentRead: true }))
      ).Item;
      if (!item) return undefined;
      return { exposure: exposureSchema.parse(item.exposure), rev: Number(item.version) };
    },
    async saveAnalysis(tenant, analysis, events) {
      const key = analysisKey(tenant, analysis.analysisId);
      await s3(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(analysis), ContentType: 'application/json' }));
      // Each analysis replaces the pointer: the latest wins, so no version condition.
      const current = (await send(new GetCommand({ TableName: table, Key: { pk: pk(tenant), sk: 'latest' }, ConsistentRead: true }))).Item;
      const version = typeof current?.version === 'number' ? current.version : undefined;
      return writeWithOutbox(
        send,
        table,
        { pk: pk(tenant), sk: 'latest', analysisId: analysis.analysisId, key, at: analysis.at, version: (version ?? 0) + 1 },
        version,
        tenant,
        events,
        `The latest analysis of ${tenant}`,
      );
    },
    async putExposure(tenant, exposure, expectedRev, events) {
      // Kept under `exposure` so its semver `version` does not meet the item's revision.
      return writeWithOutbox(
        send,
        table,
        { pk: pk(tenant), sk: `exposure#${exposure.artifact}`, version: (expectedRev ?? 0) + 1, exposure },
        expectedRev,
        tenant,
        events,
        `The exposure of ${exposure.artifact}`,
      );
    },
  };
  return store;
}

/** The newest `limit` entries of each stream with their payloads (entries whose payload expired are left out). */
async function recentTraces(tenant: string, streams: readonly string[], limit: number): Promise<TraceEntry[]> {
  const ledger = auditLedger();
  const out: TraceEntry[] = [];
  for (const stream of streams) {
    const last = await ledger.latest(tenant, stream);
    if (!last) continue;
    const entries = await ledger.read(tenant, stream, Math.max(0, last.seq + 1 - limit), last.seq + 1);
    const payloads = await loadPayloads(auditPayloads(), tenant, entries);
    for (const entry of entries) {
      const payload = payloads.get(entry.payloadHash);
      if (payload && payload !== 'expired')
        out.push({ stream, seq: entry.seq, timestamp: entry.timestamp, correlationId: entry.correlationId, payload });
    }
  }
  return out;
}

/** What the actions need, at `now`. */
export function encapsulationDeps(now: Date): EncapsulationDeps {
  const registry = dynamoRegistryStore(dynamoClient(), config().STATE_TABLE);
  return {
    store: encapsulationStore(),
    components: async (tenant) =>
      (await registry.registry(tenant)).components.map((c) => ({ id: c.id, kind: c.kind, dependsOn: c.dependsOn })),
    traces: recentTraces,
    outbox: governanceOutbox(),
    propose: (input, proposer, proposalId) => propose(input, proposer, { ...proposalDeps(now), newId: () => proposalId }),
    proposal: (tenant, proposalId) => proposalDeps(now).store.proposal(tenant, proposalId),
    versioning: versioningDeps(now),
    now: () => now,
    newId: randomUUID,
  };
}
