/**
 * `npm run redrive -- <queue> [--stage <stage>] [--max <n>]` moves the messages a queue parked in
 * its dead-letter queue back to it (see lib/queues/redrive.ts), and prints how many it moved.
 *
 * `<queue>`: the stage's logical name (`audit`, `observation-ingest`), a full queue name
 * (`autonomy-dev-audit`), its dead-letter queue's name (`audit-dlq`), a queue URL or a queue ARN.
 * Logical names complete to `<service>-<stage>-<name>` (`--service`, default `autonomy`).
 * `--max` moves at most that many; by default, as many as the DLQ held when it started.
 * Endpoint and credentials are the AWS SDK's own (`AWS_ENDPOINT_URL_SQS`, `AWS_PROFILE`,
 * `AWS_REGION`…). For the `local` stage (the default) the endpoint defaults to the local cloud's
 * S3/SQS port (`AUTONOMY_PORT_STORAGE`, 4597), and a loopback endpoint needs no credentials.
 * Exit codes: 0 done (also when nothing was waiting), 1 some messages were refused, 2 usage or no such queue.
 */
import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { defaultPorts } from '../infra/local/ports.ts';
import { SqsRedrive } from '../lib/adapters/aws/queue-redrive.ts';
import { NotFoundError } from '../lib/errors.ts';
import { queueReference, redriveMessages } from '../lib/queues/redrive.ts';

const USAGE = 'usage: npm run redrive -- <queue> [--stage <stage>] [--max <n>]\n  <queue>: audit | observation-ingest | <full name> | <name>-dlq | <queue URL> | <queue ARN>';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    stage: { type: 'string', default: 'local' },
    service: { type: 'string', default: 'autonomy' },
    max: { type: 'string' },
  },
});

const max = values.max === undefined ? undefined : Number(values.max);
const [argument] = positionals;
if (!argument || positionals.length > 1 || (max !== undefined && !(Number.isInteger(max) && max > 0))) {
  console.error(`${USAGE}${max !== undefined && !(Number.isInteger(max) && max > 0) ? '\n--max must be a positive whole number' : ''}`);
  process.exit(2);
}
const stage = values.stage ?? 'local';

/** The client: the SDK's own configuration, with the local cloud's defaults for the local stage. */
function sqsClient(): SQSClient {
  const endpoint = process.env.AWS_ENDPOINT_URL_SQS ?? process.env.AWS_ENDPOINT_URL ?? (stage === 'local' ? `http://127.0.0.1:${defaultPorts().storage}` : undefined);
  const loopback = endpoint !== undefined && /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(endpoint);
  const anyCredentials = ['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI'].some((name) => process.env[name]);
  return new SQSClient({
    endpoint,
    // The local cloud's queue URLs name its port; AWS's name the regional endpoint: either way, send to the endpoint.
    useQueueUrlAsEndpoint: false,
    ...(loopback && !process.env.AWS_REGION && !process.env.AWS_DEFAULT_REGION ? { region: 'us-east-1' } : {}),
    ...(loopback && !anyCredentials ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

const client = sqsClient();
const redrive = new SqsRedrive(client);
try {
  const pair = await redrive.pair(queueReference(argument, { service: values.service ?? 'autonomy', stage }));
  const before = await redrive.depth(pair.deadLetter.url);
  // Messages someone else holds are counted too: they are received once their visibility timeout ends.
  const waiting = before.visible + before.inFlight;
  const limit = max ?? waiting;
  console.log(
    `redrive: ${pair.deadLetter.name} → ${pair.source.name} (maxReceiveCount ${pair.maxReceiveCount}): ${waiting} waiting` +
      (before.inFlight > 0 ? ` (${before.inFlight} hidden by a reader until their visibility timeout ends)` : ''),
  );
  const report = limit > 0 ? await redriveMessages(redrive.port(pair), { limit }) : { moved: 0, failed: [] };
  const after = await redrive.depth(pair.deadLetter.url);
  console.log(`redrive: moved ${report.moved} message(s) back to ${pair.source.name}, ${report.failed.length} refused; ${after.visible + after.inFlight} left in ${pair.deadLetter.name}`);
  for (const failure of report.failed) console.log(`  refused ${failure.id}: ${failure.reason}`);
  process.exitCode = report.failed.length > 0 ? 1 : 0;
} catch (error) {
  if (error instanceof NotFoundError || error instanceof z.ZodError) {
    console.error(`redrive: ${error instanceof z.ZodError ? error.issues.map((issue) => issue.message).join('; ') : error.message}\n${USAGE}`);
    process.exitCode = 2;
  } else {
    console.error(`redrive failed: ${(error as Error).name}: ${(error as Error).message}`);
    process.exitCode = 1;
  }
} finally {
  client.destroy();
}
