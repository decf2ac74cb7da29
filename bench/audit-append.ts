/**
 * Audit append throughput against the local cloud (DynamoDB Local for entries, fauxqs S3 for
 * payloads): one stream with one writer and with many racing writers (conditional puts, retries
 * on a lost seq), and many streams at once — first through the engine and its AWS adapters
 * in-process, then end to end through POST /audit/record (HTTP API → Lambda worker → same path).
 * Run alone: `node bench/audit-append.ts`. Prints figures; checks each chain verifies.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3PayloadStore } from '../lib/adapters/aws/audit-objects.ts';
import { DynamoLedgerStore } from '../lib/adapters/aws/audit-ledger.ts';
import { DynamoStreamRegistry } from '../lib/adapters/aws/audit-state.ts';
import { type RecordDeps, record } from '../lib/audit/engine.ts';
import { mapLimit } from '../lib/concurrency.ts';
import { verifyStream } from '../lib/audit/verify.ts';
import { startLocalCloud } from '../infra/local/cloud.ts';
import { loadOrCreateIdpKey, signLocalToken } from '../infra/local/idp.ts';
import { freePorts } from '../infra/local/ports.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Scenario {
  name: string;
  streams: number;
  writersPerStream: number;
  entriesPerStream: number;
}

const rate = (count: number, ms: number) => `${Math.round((count / ms) * 1000).toLocaleString('en-US')}/s`;

async function runScenario(
  scenario: Scenario,
  append: (tenant: string, stream: string, n: number) => Promise<void>,
  tenant: string,
): Promise<{ ms: number; total: number }> {
  const total = scenario.streams * scenario.entriesPerStream;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: scenario.streams }, async (_, streamIndex) => {
      const stream = `s${streamIndex}`;
      const jobs = Array.from({ length: scenario.entriesPerStream }, (_, n) => n);
      await mapLimit(jobs, scenario.writersPerStream, (n) => append(tenant, stream, n));
    }),
  );
  return { ms: performance.now() - started, total };
}

export async function benchAuditAppend(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-audit-bench-'));
  const cloud = await startLocalCloud({ root, dataDir, ports: await freePorts(), functionOutput: 'silent', log: () => {} });
  try {
    const base = { region: cloud.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({ ...base, endpoint: cloud.env.AWS_ENDPOINT_URL_DYNAMODB }));
    const s3 = new S3Client({ ...base, endpoint: cloud.env.AWS_ENDPOINT_URL_S3, forcePathStyle: true });
    const ledgerTable = cloud.resources.tables.LedgerTable ?? '';
    const stateTable = cloud.resources.tables.StateTable ?? '';
    const ledger = new DynamoLedgerStore(dynamo, { ledgerTable, stateTable, cacheHeads: true });
    const reader = new DynamoLedgerStore(dynamo, { ledgerTable, stateTable });
    const deps: RecordDeps = {
      ledger,
      payloads: new S3PayloadStore(s3, cloud.resources.buckets.ArtifactsBucket ?? ''),
      registry: new DynamoStreamRegistry(dynamo, stateTable),
    };
    const scenarios: Scenario[] = [
      { name: 'one stream, 1 writer', streams: 1, writersPerStream: 1, entriesPerStream: 400 },
      { name: 'one stream, 8 racing writers', streams: 1, writersPerStream: 8, entriesPerStream: 400 },
      { name: 'one stream, 32 racing writers', streams: 1, writersPerStream: 32, entriesPerStream: 400 },
      { name: '16 streams, 1 writer each', streams: 16, writersPerStream: 1, entriesPerStream: 100 },
      { name: '64 streams, 1 writer each', streams: 64, writersPerStream: 1, entriesPerStream: 50 },
    ];
    const check = async (tenant: string, scenario: Scenario) => {
      for (let index = 0; index < scenario.streams; index += 1) {
        const entries = await reader.read(tenant, `s${index}`, 0);
        if (entries.length !== scenario.entriesPerStream || !verifyStream({ entries, checkpoints: [], keys: { keys: [] } }).intact) {
          throw new Error(`${scenario.name}: stream s${index} did not end as one intact chain`);
        }
      }
    };

    console.log('engine + AWS adapters in-process (conditional PutItem on DynamoDB Local, payload PutObject on fauxqs):');
    for (const [index, scenario] of scenarios.entries()) {
      const tenant = `bench-a${index}`;
      let conflicts = 0;
      const { ms, total } = await runScenario(
        scenario,
        async (t, stream, n) => {
          await record(
            deps,
            { tenant: t, stream, timestamp: new Date().toISOString(), actor: 'bench', correlationId: `c-${n}`, payload: { kind: 'bench', n } },
            {
              maxRetries: 1000,
              sleep: async (ms) => {
                conflicts += 1;
                await new Promise((resolve) => setTimeout(resolve, ms));
              },
            },
          );
        },
        tenant,
      );
      await check(tenant, scenario);
      console.log(`  ${scenario.name.padEnd(32)} ${String(total).padStart(5)} entries  ${rate(total, ms).padStart(9)}  (${(ms / total).toFixed(1)} ms/entry, ${conflicts} lost races retried)`);
    }

    const token = await signLocalToken(await loadOrCreateIdpKey(dataDir), { tenant: 'bench-http', roles: ['operator'] });
    console.log('end to end, POST /audit/record (local HTTP API → Lambda worker, ≤ 4 warm environments per function):');
    const post = async (stream: string, n: number) => {
      const reply = await fetch(`${cloud.apiUrl}/audit/record`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ parameters: { stream, payload: { kind: 'bench', n } } }),
      });
      if (reply.status !== 201) throw new Error(`POST /audit/record answered ${reply.status}: ${await reply.text()}`);
    };
    await post('warm-up', 0);
    for (const scenario of [
      { name: 'one stream, 1 client', streams: 1, writersPerStream: 1, entriesPerStream: 200 },
      { name: 'one stream, 16 clients', streams: 1, writersPerStream: 16, entriesPerStream: 400 },
      { name: '16 streams, 1 client each', streams: 16, writersPerStream: 1, entriesPerStream: 25 },
    ]) {
      const { ms, total } = await runScenario(scenario, (_tenant, stream, n) => post(`${scenario.streams}-${scenario.writersPerStream}-${stream}`, n), 'bench-http');
      console.log(`  ${scenario.name.padEnd(32)} ${String(total).padStart(5)} entries  ${rate(total, ms).padStart(9)}  (${(ms / total).toFixed(1)} ms/entry)`);
    }
  } finally {
    await cloud.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchAuditAppend();
