/**
 * Budget reservation latency under contention: the gateway's reserve (budget read + conditional
 * UpdateItem on the tenant's window counter) then settle (one conditional UpdateItem) through the
 * real adapter (lib/adapters/aws/gateway-budgets.ts), against DynamoDB Local (the local cloud's
 * database, started alone with a table keyed like the stage's state table), all on ONE tenant's
 * counter item, so every write contends for the same item:
 *   - 1 caller: `--ops` reserve+settle pairs one after the other;
 *   - 50 callers (`--callers`): each runs `--per-caller` pairs one after the other, all at once;
 *   - the same 50 callers spread over 50 tenants (50 counter items): what is contention on the
 *     one item, and what is the emulator's own limit (DynamoDB Local serialises writes table-wide);
 *   - the model's in-flight slot (acquire + release) the same two ways, mark above the callers.
 * Prints p50/p95 per pair (and of reserve and settle alone), throughput, and the 50-caller/1-caller
 * ratios. The budget is large enough that nothing is refused: what is measured is the cost of
 * contention on the item, not refusals. Loopback only; nothing leaves the machine.
 *   npm run bench:gateway-budgets [-- --ops 300 --callers 50 --per-caller 10]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startDynamoDbLocal } from '../infra/local/dynamodb.ts';
import { freePorts } from '../infra/local/ports.ts';
import { dynamoInflightLimiter } from '../lib/adapters/aws/gateway-backpressure.ts';
import { dynamoBudgetStore } from '../lib/adapters/aws/gateway-budgets.ts';
import { parseUsd, tokenPrices } from '../lib/gateway/budgets.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TABLE = 'bench-gateway-state';

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

interface Figures {
  p50: number;
  p95: number;
}
const figures = (samples: readonly number[]): Figures => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
};
const ms = (value: number) => value.toFixed(2).padStart(7);

/** Runs `callers` loops of `perCaller` timed operations at once; returns each operation's parts in ms and the wall time. */
async function run(
  callers: number,
  perCaller: number,
  operation: () => Promise<number[]>,
): Promise<{ parts: number[][]; seconds: number }> {
  const parts: number[][] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let i = 0; i < perCaller; i += 1) parts.push(await operation());
    }),
  );
  return { parts, seconds: (performance.now() - started) / 1000 };
}

/** Runs the bench and prints its figures; returns the p50 and p95 ratios (50 callers over 1) of reserve+settle. */
export async function benchGatewayBudgets(
  options: { ops?: number; callers?: number; perCaller?: number } = {},
): Promise<{ p50Ratio: number; p95Ratio: number }> {
  const ops = options.ops ?? 300;
  const callers = options.callers ?? 50;
  const perCaller = options.perCaller ?? 10;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-budgets-bench-'));
  const dynamo = await startDynamoDbLocal({
    port: (await freePorts()).dynamodb,
    dataDir: path.join(dataDir, 'dynamodb'),
    cacheDir: path.join(root, '.local', 'cache'),
  });
  const base = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    // The state table's keys and index (infra/resources/storage.yml: StateTable).
    await base.send(
      new CreateTableCommand({
        TableName: TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: ['pk', 'sk', 'gsi1pk', 'gsi1sk'].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'gsi1',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
    const client = DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
    const store = dynamoBudgetStore(client, TABLE);
    const limiter = dynamoInflightLimiter(client, TABLE);
    const prices = tokenPrices({ name: 'bench-model', priceInputPer1k: 0.00015, priceOutputPer1k: 0.0006 });
    const tenant = 'bench-budgets';
    await store.putBudget(tenant, { tokens: 1e12, costPicoUsd: parseUsd(1e6), window: 'day' }, 'bench');
    let n = 0;
    const spread = Array.from({ length: callers }, (_, i) => `bench-budgets-${i}`);
    for (const other of spread) await store.putBudget(other, { tokens: 1e12, costPicoUsd: parseUsd(1e6), window: 'day' }, 'bench');
    const pairOf = (who: () => string) => async (): Promise<number[]> => {
      const t0 = performance.now();
      const reservation = await store.reserve({ tenant: who(), requestId: `r-${n++}`, prices, inputTokens: 500, maxTokens: 256 });
      const t1 = performance.now();
      await store.settle(reservation, { inputTokens: 500, outputTokens: 100 });
      const t2 = performance.now();
      return [t2 - t0, t1 - t0, t2 - t1];
    };
    const pair = pairOf(() => tenant);
    let next = 0;
    const spreadPair = pairOf(() => spread[next++ % spread.length] ?? tenant);
    const slot = async (): Promise<number[]> => {
      const t0 = performance.now();
      await limiter.release(await limiter.acquire('bench-model', 10_000));
      return [performance.now() - t0];
    };

    await run(1, 30, pair); // warm the JVM and the connections
    await run(callers, 2, pair);
    const single = await run(1, ops, pair);
    const many = await run(callers, perCaller, pair);
    const apart = await run(callers, perCaller, spreadPair);
    const slotSingle = await run(1, ops, slot);
    const slotMany = await run(callers, perCaller, slot);
    const usage = await store.usage(tenant);
    if (usage.reserved.tokens !== 0) throw new Error(`the bench left ${usage.reserved.tokens} tokens reserved`);

    const column = (result: { parts: number[][] }, index: number) => figures(result.parts.map((p) => p[index] ?? Number.NaN));
    const row = (label: string, result: { parts: number[][]; seconds: number }, index = 0) => {
      const f = column(result, index);
      console.log(
        `${label.padEnd(52)} ${ms(f.p50)} ${ms(f.p95)} ${String(result.parts.length).padStart(6)} ${(result.parts.length / result.seconds).toFixed(0).padStart(7)}`,
      );
    };
    console.log(
      `machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, node ${process.version}; DynamoDB Local on loopback, one counter item`,
    );
    console.log(`${''.padEnd(52)}  p50 ms  p95 ms    ops   ops/s`);
    row('reserve + settle, 1 caller', single);
    row(`reserve + settle, ${callers} callers`, many);
    row('  reserve alone, 1 caller', single, 1);
    row(`  reserve alone, ${callers} callers`, many, 1);
    row('  settle alone, 1 caller', single, 2);
    row(`  settle alone, ${callers} callers`, many, 2);
    row(`reserve + settle, ${callers} callers on ${callers} tenants`, apart);
    row('in-flight slot acquire + release, 1 caller', slotSingle);
    row(`in-flight slot acquire + release, ${callers} callers`, slotMany);
    const one = column(single, 0);
    const fifty = column(many, 0);
    const ratios = { p50Ratio: fifty.p50 / one.p50, p95Ratio: fifty.p95 / one.p95 };
    console.log(
      `reserve + settle, ${callers} callers / 1 caller: p50 × ${ratios.p50Ratio.toFixed(1)}, p95 × ${ratios.p95Ratio.toFixed(1)}; throughput × ${(many.parts.length / many.seconds / (single.parts.length / single.seconds)).toFixed(1)}`,
    );
    return ratios;
  } finally {
    base.destroy();
    await dynamo.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { ops: { type: 'string' }, callers: { type: 'string' }, 'per-caller': { type: 'string' } } });
  await benchGatewayBudgets({
    ...(values.ops ? { ops: Number(values.ops) } : {}),
    ...(values.callers ? { callers: Number(values.callers) } : {}),
    ...(values['per-caller'] ? { perCaller: Number(values['per-caller']) } : {}),
  });
}
