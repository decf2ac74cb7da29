/**
 * /governance/approvals: list approvals (GET) and decide one (POST). The decider is the caller's
 * identity from its credentials; the requester can never decide their own request.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { dynamoApprovalStore } from '../../lib/adapters/aws/approval-store.ts';
import { dynamoClient, eventBridgeClient, sfnClient } from '../../lib/adapters/aws/clients.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { eventBridgePublisher } from '../../lib/adapters/aws/event-publisher.ts';
import { sfnWorkflowCallbacks } from '../../lib/adapters/aws/workflow-callbacks.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { config } from '../../lib/config.ts';
import { busEvent } from '../../lib/events/publisher.ts';
import { type Approval, decide } from '../../lib/governance/approvals.ts';
import { decideApprovalRoute, listApprovalsRoute } from '../../lib/governance/routes.ts';
import { metrics } from '../../lib/observability.ts';

const cfg = config();
const store = dynamoApprovalStore(dynamoClient(), cfg.STATE_TABLE);
const workflow = sfnWorkflowCallbacks(sfnClient());
const publisher = eventBridgePublisher(eventBridgeClient(), { busName: cfg.EVENT_BUS_NAME });

const view = ({ taskToken: _token, ...approval }: Approval) => approval;

export const handler = engineHandler(
  engineDeps(),
  route(listApprovalsRoute, async (params, ctx) => ({ result: { approvals: (await store.list(ctx.tenant, params.status, params.limit)).map(view) } })),
  route(decideApprovalRoute, async (params, ctx) => {
    const now = ctx.now();
    const actor = ctx.principal?.subject ?? 'unknown';
    const approval = await decide({ tenant: ctx.tenant, approvalId: params.approvalId, decision: params.decision, actor, reason: params.reason }, { store, workflow, now });
    await publisher.publish([
      busEvent('governance.approval.decided', {
        tenant: approval.tenant,
        approvalId: approval.approvalId,
        decision: approval.status === 'approved' ? 'approved' : 'rejected',
        decidedBy: actor,
        decidedAt: now.toISOString(),
      }),
    ]);
    metrics.addMetric('ApprovalsDecided', MetricUnit.Count, 1);
    ctx.log(`approval ${approval.approvalId} ${approval.status} by ${actor}; execution resumed`);
    return { result: view(approval) };
  }),
);
