/**
 * Ingest-to-event latency through the local cloud:
 *   node bench/observation-latency.ts [--spikes 50]
 *
 * Boots a local cloud (stage `local`), warms one series up, then posts ~50 spikes over HTTP, each
 * after a batch of normal points. Per spike it measures
 * - POST round trip: `POST /observation/ingest` until the reply; the anomaly event has been
 *   accepted by the bus (PutEvents) before the engine replies, so this bounds ingest → bus;
 * - ingest → rule target: until the event, delivered by the audit rule (bus → SQS → auditAppend →
 *   DynamoDB), is an entry of the tenant's ledger stream `events.observation`: the query that first
 *   returns the entry stops the clock (its payload, read after, tells an anomaly from other events).
 *   Polled every 5 ms, so figures carry up to 5 ms of poll lag plus one query.
 * Before the cloud boots it also measures the engine alone (lib/observation/ingest.ts on the
 * in-memory store, which JSON round-trips every record as the DynamoDB adapter does): points/s per
 * core in batches of 100, and the stored record size per series (detector state + 512 recent points).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startLocalCloud } from '../infra/local/cloud.ts';
import { loadOrCreateIdpKey, signLocalToken } from '../infra/local/idp.ts';
import { freePorts } from '../infra/local/ports.ts';
import { S3PayloadStore } from '../lib/adapters/aws/audit-objects.ts';
import { DynamoLedgerStore } from '../lib/adapters/aws/audit-ledger.ts';
import { validatingPublisher } from '../lib/events/publisher.ts';
import { ingest } from '../lib/observation/ingest.ts';
import { memorySeriesStore } from '../lib/observation/memory-store.ts';
import { configureSeries } from '../lib/observation/series.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MINUTE = 60_000;

function percentile(sorted: readonly number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/** The engine without the cloud: ingest throughput and stored bytes per series, per detector. */
export async function benchObservationEngine(): Promise<void> {
  console.log('# Observation engine in process (in-memory store, batches of 100 points, one core)\n');
  console.log('| detector | points/s | stored record bytes per series |');
  console.log('|---|---|---|');
  for (const [detector, config] of [
    ['robust', {}],
    ['seasonal', { seasonLength: 24 }],
    ['ewma', {}],
  ] as const) {
    const store = memorySeriesStore();
    const deps = {
      store,
      publisher: validatingPublisher({ putEvents: async (entries) => entries.map((_, i) => ({ eventId: String(i) })) }),
      now: () => new Date(),
    };
    await configureSeries('bench', { series: 's', detector, config }, 'bench', deps);
    const batch = (b: number) =>
      Array.from({ length: 100 }, (_, k) => {
        const i = b * 100 + k;
        return {
          series: 's',
          timestamp: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
          value: 100 + 20 * Math.sin((2 * Math.PI * i) / 24) + ((i * 7919) % 11) - 5,
        };
      });
    const batches = Array.from({ length: 200 }, (_, b) => batch(b));
    const started = performance.now();
    for (const points of batches) await ingest('bench', points, deps);
    const seconds = (performance.now() - started) / 1000;
    const bytes = Buffer.byteLength([...store.items.values()][0] ?? '');
    console.log(`| ${detector} | ${Math.round(20_000 / seconds).toLocaleString('en-US')} | ${bytes.toLocaleString('en-US')} |`);
  }
  console.log('');
}

/** Runs the latency bench and prints its figures. */
export async function benchObservationLatency(spikes = 50): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-obs-bench-'));
  // The cloud packages the stage itself: its root template alone would lack the engines' nested stacks.
  const cloud = await startLocalCloud({ root, dataDir, ports: await freePorts(), stage: 'local', functionOutput: 'silent', log: () => {} });
  try {
    Object.assign(process.env, cloud.env);
    const { tables, buckets } = cloud.resources;
    const ledger = new DynamoLedgerStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), { ledgerTable: tables.LedgerTable ?? '', stateTable: tables.StateTable ?? '' });
    const payloads = new S3PayloadStore(new S3Client({ forcePathStyle: true }), buckets.ArtifactsBucket ?? '');
    const tenant = `bench-${Date.now().toString(36)}`;
    const token = await signLocalToken(await loadOrCreateIdpKey(dataDir), { tenant, roles: ['operator'] });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const call = async (method: string, route: string, parameters: unknown) => {
      const reply = await fetch(`${cloud.apiUrl}${route}`, { method, headers, body: JSON.stringify({ parameters }) });
      const body = (await reply.json()) as { result?: { anomalies?: unknown[] } };
      if (reply.status !== 200) throw new Error(`${method} ${route}: ${reply.status} ${JSON.stringify(body)}`);
      return body;
    };
    // The tenant's observation events in the ledger, read from seq `next` on: entries seen so far
    // are not read again, and anomalies are counted by their payload's detail-type.
    let next = 0;
    let anomalies = 0;
    const waitFor = async (count: number, deadlineMs: number) => {
      const deadline = performance.now() + deadlineMs;
      while (performance.now() < deadline) {
        const entries = await ledger.read(tenant, 'events.observation', next);
        const seenAt = performance.now();
        for (const entry of entries) {
          next = entry.seq + 1;
          const payload = await payloads.get(tenant, entry.payloadHash);
          if (payload?.detailType === 'observation.anomaly.detected') anomalies += 1;
        }
        if (anomalies >= count) return seenAt;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      throw new Error(`no anomaly event #${count} in the ledger within ${deadlineMs} ms`);
    };

    const series = 'bench.latency';
    const t0 = Date.UTC(2026, 0, 1);
    let minute = 0;
    const normal = (count: number) =>
      Array.from({ length: count }, () => {
        minute += 1;
        return { series, timestamp: new Date(t0 + minute * MINUTE).toISOString(), value: 100 + (minute % 5) - 2 };
      });
    // Warm-up: the detector's window, and every function on the path (ingest, bus, audit append).
    await call('POST', '/observation/ingest', { points: normal(64) });
    let expected = 0;
    for (let i = 0; i < 3; i += 1) {
      minute += 1;
      await call('POST', '/observation/ingest', { point: { series, timestamp: new Date(t0 + minute * MINUTE).toISOString(), value: 900 } });
      expected += 1;
      await waitFor(expected, 10_000);
      await call('POST', '/observation/ingest', { points: normal(5) });
    }

    const roundTrips: number[] = [];
    const delivered: number[] = [];
    for (let i = 0; i < spikes; i += 1) {
      await call('POST', '/observation/ingest', { points: normal(5) });
      minute += 1;
      const started = performance.now();
      const reply = await call('POST', '/observation/ingest', {
        point: { series, timestamp: new Date(t0 + minute * MINUTE).toISOString(), value: 900 },
      });
      roundTrips.push(performance.now() - started);
      if (reply.result?.anomalies?.length !== 1) throw new Error(`spike ${i} was not flagged`);
      expected += 1;
      delivered.push((await waitFor(expected, 10_000)) - started);
    }
    const show = (label: string, values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      console.log(
        `${label}: p50 ${percentile(sorted, 50).toFixed(0)} ms, p95 ${percentile(sorted, 95).toFixed(0)} ms, max ${(sorted.at(-1) as number).toFixed(0)} ms (n = ${values.length})`,
      );
    };
    console.log(`# Observation ingest-to-event latency (local cloud, ${spikes} spikes, target < 1 s)\n`);
    show('spike POST → reply (event accepted by the bus)', roundTrips);
    show('spike POST → event at a rule target (ledger entry)', delivered);
  } finally {
    await cloud.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { spikes: { type: 'string', default: '50' } } });
  await benchObservationEngine();
  await benchObservationLatency(Number(values.spikes));
}
