/**
 * L3 validation, the gate's automatic check for medium-risk proposals and the `l3` boundary:
 * parameters within the actuation's declared bounds, the tenant's policies (asked again, at the
 * time of the change), pre-conditions (no other open proposal on the same target, no change
 * freeze on the environment) and a dry run where the executor offers one. Each failure is a
 * reason; any failure rejects the proposal.
 */
import { checkBounds, findActuation } from './actuations.ts';
import type { PolicyDecision } from './model.ts';
import type { Proposal } from './proposals.ts';
import type { GovernanceConfig } from './settings.ts';

/** The verdict of L3 validation. */
export interface ValidationVerdict {
  passed: boolean;
  /** Why it failed: one line per failed check. */
  failures: string[];
  /** What was checked, or could not be (one line each). */
  notes: string[];
}

/** What validation looks at besides the proposal. */
export interface ValidationContext {
  config: GovernanceConfig;
  policy: PolicyDecision;
  /** The tenant's other open proposals (pending or approved, not yet executed). */
  open: readonly Proposal[];
  now: Date;
}

/**
 * Validates a proposal at L3.
 * @example validateProposal(proposal, { config, policy, open: [], now: new Date() }).passed
 */
export function validateProposal(proposal: Proposal, context: ValidationContext): ValidationVerdict {
  const failures: string[] = [];
  const notes: string[] = [];
  const actuation = findActuation(proposal.engine, proposal.action);
  if (!actuation) failures.push(`${proposal.engine}:${proposal.action} is not a governed actuation`);
  else {
    const issues = checkBounds(actuation, proposal.parameters);
    for (const issue of issues) failures.push(`bounds: ${issue.path} ${issue.message}`);
    if (issues.length === 0) notes.push(`bounds: ${Object.keys(actuation.bounds ?? {}).length} declared bound(s) hold`);
    notes.push(actuation.dryRun ? `dry run: offered by ${proposal.engine}:${proposal.action}, no executor is registered on this stage yet` : 'dry run: not offered by this actuation');
  }
  if (context.policy.decision === 'deny') {
    failures.push(`policy: ${context.policy.policies.length > 0 ? `forbidden by ${context.policy.policies.join(', ')}` : 'no policy permits it any more'} (policy set v${context.policy.version})`);
  } else notes.push(`policy: permitted by ${context.policy.policies.join(', ') || 'the base profile'} (v${context.policy.version})`);
  const conflicting = context.open.filter((other) => other.proposalId !== proposal.proposalId && other.target === proposal.target);
  for (const other of conflicting) failures.push(`conflict: proposal ${other.proposalId} (${other.engine}:${other.action}, ${other.status}) is open on ${proposal.target}`);
  const now = context.now.getTime();
  for (const window of context.config.freezeWindows) {
    if (Date.parse(window.from) <= now && now < Date.parse(window.to) && window.environments.includes(proposal.environment)) {
      failures.push(`freeze: ${proposal.environment} is frozen until ${window.to} (${window.reason})`);
    }
  }
  return { passed: failures.length === 0, failures, notes };
}
