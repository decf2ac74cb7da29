/**
 * /governance/approvals: list approvals (GET) and vote on one (POST). The voter is the caller's
 * identity from its credentials; the requester can never vote on their own request; while a kill
 * switch is on, no gate resumes (423).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { approvalStore, governanceOutbox, governanceStore, workflowCallbacks } from '../../lib/adapters/aws/governance-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { approvalView, decide } from '../../lib/governance/approvals.ts';
import { decideApprovalRoute, listApprovalsRoute } from '../../lib/governance/routes.ts';
import { assertActuationAllowed } from '../../lib/governance/settings.ts';
import { metrics } from '../../lib/observability.ts';

export const handler = engineHandler(
  engineDeps(),
  route(listApprovalsRoute, async (params, ctx) => ({ result: { approvals: (await approvalStore().list(ctx.tenant, params.status, params.limit)).map(approvalView) } })),
  route(decideApprovalRoute, async (params, ctx) => {
    const store = governanceStore();
    const [settings, global] = await Promise.all([store.settings(ctx.tenant), store.globalKillSwitch()]);
    assertActuationAllowed(settings, global);
    const actor = ctx.principal?.subject ?? 'unknown';
    const outcome = await decide(
      { tenant: ctx.tenant, approvalId: params.approvalId, decision: params.decision, actor, roles: ctx.principal?.roles ?? [], reason: params.reason },
      { store: approvalStore(), outbox: governanceOutbox(), workflow: workflowCallbacks(), now: ctx.now() },
    );
    if (outcome.final) metrics.addMetric('ApprovalsDecided', MetricUnit.Count, 1);
    const approvals = outcome.approval.votes.filter((vote) => vote.decision === 'approve').length;
    ctx.log(`approval ${outcome.approval.approvalId}: ${actor} voted ${params.decision} (${approvals}/${outcome.approval.required}); ${outcome.approval.status}`);
    return { result: approvalView(outcome.approval) };
  }),
);
