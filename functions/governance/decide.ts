/**
 * Direct invoke: approve or reject a pending approval, resuming the waiting execution.
 * (The HTTP route with the `approver` role arrives with the engine API and RBAC.)
 */
import { dynamoApprovalStore } from '../../lib/adapters/aws/approval-store.ts';
import { dynamoClient, eventBridgeClient, sfnClient } from '../../lib/adapters/aws/clients.ts';
import { eventBridgePublisher } from '../../lib/adapters/aws/event-publisher.ts';
import { sfnWorkflowCallbacks } from '../../lib/adapters/aws/workflow-callbacks.ts';
import { config } from '../../lib/config.ts';
import { approvalDecisionSchema, decide } from '../../lib/governance/approvals.ts';
import { taskHandler } from '../../lib/step-task.ts';

const cfg = config();
const store = dynamoApprovalStore(dynamoClient(), cfg.STATE_TABLE);
const workflow = sfnWorkflowCallbacks(sfnClient());
const publisher = eventBridgePublisher(eventBridgeClient(), { busName: cfg.EVENT_BUS_NAME });

export const handler = taskHandler(approvalDecisionSchema, async (decision) => {
  const approval = await decide(decision, { store, workflow, now: new Date() });
  await publisher.publish([{
    source: 'autonomy.governance',
    detailType: 'governance.approval.decided',
    detail: { version: '1', tenant: approval.tenant, approvalId: approval.approvalId, decision: approval.status, decidedBy: approval.decidedBy },
  }]);
  return { approvalId: approval.approvalId, status: approval.status, decidedBy: approval.decidedBy, decidedAt: approval.decidedAt };
});
