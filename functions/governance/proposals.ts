/**
 * /governance/proposals: propose an actuation (POST), read proposals (GET), report the outcome of
 * an approved one (PUT), withdraw a pending one (DELETE). The proposer is the caller's identity from
 * its credentials.
 */
import { governanceOutbox, governanceStore, proposalDeps, withdrawDeps } from '../../lib/adapters/aws/governance-deps.ts';
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { NotFoundError } from '../../lib/errors.ts';
import { propose, type Proposal, reportOutcome, withdraw } from '../../lib/governance/proposals.ts';
import { proposerOf } from '../../lib/governance/proposer.ts';
import { getProposalsRoute, proposeRoute, reportOutcomeRoute, withdrawProposalRoute } from '../../lib/governance/routes.ts';

const view = ({ version: _version, ...proposal }: Proposal) => proposal;

export const handler = engineHandler(
  engineDeps(),
  route(proposeRoute, async (params, ctx) => {
    if (!ctx.principal) throw new NotFoundError('no caller');
    const { proposal, statusCode } = await propose(params, proposerOf(ctx.principal), proposalDeps(ctx.now()));
    ctx.log(`proposal ${proposal.proposalId}: ${proposal.assessment.level} risk (${proposal.assessment.score}), route ${proposal.route}, ${proposal.status}`);
    return {
      status: statusCode === 202 ? 'pending' : 'success',
      statusCode,
      result: view(proposal),
      // The reply links to the ledger entry of the decision.
      ...(proposal.ledger ? { ledger: proposal.ledger } : {}),
    };
  }),
  route(getProposalsRoute, async (params, ctx) => {
    if (params.proposalId) {
      const proposal = await governanceStore().proposal(ctx.tenant, params.proposalId);
      if (!proposal) throw new NotFoundError(`Proposal ${params.proposalId} not found`);
      return { result: { proposals: [view(proposal)] } };
    }
    return { result: { proposals: (await governanceStore().proposals(ctx.tenant, params.status, params.limit)).map(view) } };
  }),
  route(reportOutcomeRoute, async (params, ctx) => {
    const actor = ctx.principal?.subject ?? 'unknown';
    const proposal = await reportOutcome(ctx.tenant, params, actor, { store: governanceStore(), outbox: governanceOutbox(), now: ctx.now() });
    return { result: view(proposal) };
  }),
  route(withdrawProposalRoute, async (params, ctx) => {
    if (!ctx.principal) throw new NotFoundError('no caller');
    const { subject: actor, roles } = ctx.principal;
    const proposal = await withdraw(ctx.tenant, params.proposalId, { actor, roles: [...roles], reason: params.reason }, withdrawDeps(ctx.now()));
    ctx.log(`proposal ${proposal.proposalId} withdrawn by ${actor}`);
    return { result: view(proposal) };
  }),
);
