/** GET /health: readiness of the state table, the artifacts bucket and the event bus (not enveloped). */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeEventBusCommand } from '@aws-sdk/client-eventbridge';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { dynamoClient, eventBridgeClient, s3Client } from '../../lib/adapters/aws/clients.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { config } from '../../lib/config.ts';
import { checkHealth } from '../../lib/platform/health.ts';
import { healthRoute } from '../../lib/platform/routes.ts';

const cfg = config();
const checks = [
  { name: 'stateTable', probe: () => dynamoClient().send(new DescribeTableCommand({ TableName: cfg.STATE_TABLE })) },
  { name: 'artifactsBucket', probe: () => s3Client().send(new HeadBucketCommand({ Bucket: cfg.ARTIFACTS_BUCKET })) },
  { name: 'eventBus', probe: () => eventBridgeClient().send(new DescribeEventBusCommand({ Name: cfg.EVENT_BUS_NAME })) },
];

export const handler = engineHandler(
  engineDeps(),
  route(healthRoute, async () => {
    const report = await checkHealth(checks, { stage: cfg.STAGE, version: cfg.SERVICE_VERSION });
    return { statusCode: report.status === 'ok' ? 200 : 503, result: { ...report }, raw: { contentType: 'application/json', body: JSON.stringify(report) } };
  }),
);
