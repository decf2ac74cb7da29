/** Step Functions task (`.waitForTaskToken`): opens an approval and announces it on the bus. */
import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { dynamoApprovalStore } from '../../lib/adapters/aws/approval-store.ts';
import { dynamoClient, eventBridgeClient } from '../../lib/adapters/aws/clients.ts';
import { eventBridgePublisher } from '../../lib/adapters/aws/event-publisher.ts';
import { config } from '../../lib/config.ts';
import { busEvent } from '../../lib/events/publisher.ts';
import { approvalRequestSchema, openApproval } from '../../lib/governance/approvals.ts';
import { metrics } from '../../lib/observability.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

const cfg = config();
const store = dynamoApprovalStore(dynamoClient(), cfg.STATE_TABLE);
const publisher = eventBridgePublisher(eventBridgeClient(), { busName: cfg.EVENT_BUS_NAME });

export const handler = taskHandler(approvalRequestSchema, async (request) => {
  const approval = openApproval(request, randomUUID(), new Date());
  await store.create(approval);
  await publisher.publish([
    busEvent('governance.approval.requested', {
      tenant: approval.tenant,
      approvalId: approval.approvalId,
      executionArn: approval.executionArn,
      action: approval.action,
      risk: approval.risk,
      requestedBy: approval.requestedBy,
      reason: approval.reason,
      requestedAt: approval.requestedAt,
    }),
  ]);
  // With ApprovalsDecided, the approval backlog the stage's alarm watches.
  metrics.addMetric('ApprovalsRequested', MetricUnit.Count, 1);
  return { approvalId: approval.approvalId };
});
