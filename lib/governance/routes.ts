/** Routes of the governance engine: proposals, approvals, autonomy, the kill switch, configuration. */
import { z } from 'zod';
import { MAX_TEXT_LENGTH } from '../../events/common.ts';
import { defineRoute } from '../api/route.ts';
import { approvalSchema, approvalStatusSchema } from './approvals.ts';
import { autonomyLevelSchema, proposalInputSchema, proposalStateSchema } from './model.ts';
import { proposalSchema } from './proposals.ts';
import { constitutionStateSchema, governanceConfigSchema, killSwitchSchema } from './settings.ts';

/** An approval as shown to people: everything but the task token and the write version. */
export const approvalViewSchema = approvalSchema.omit({ taskToken: true, version: true });

/** A proposal as shown: everything but the write version. */
export const proposalViewSchema = proposalSchema.omit({ version: true });

/** POST /governance/proposals: one governed path for every actuation. */
export const proposeRoute = defineRoute({
  engine: 'governance',
  action: 'proposals',
  method: 'POST',
  permission: 'governance:write',
  summary: 'Propose an actuation: risk, Cedar policy and autonomy level decide the route (200 autonomous, 202 pending at a gate; 403 refused by policy, 423 kill switch)',
  parameters: proposalInputSchema,
  result: proposalViewSchema,
});

/** GET /governance/proposals: one proposal by id, or the newest in a state. */
export const getProposalsRoute = defineRoute({
  engine: 'governance',
  action: 'proposals',
  method: 'GET',
  permission: 'governance:read',
  summary: "A proposal's state (proposalId), or the tenant's newest proposals in one state",
  parameters: z.object({
    proposalId: z.string().min(1).max(64).optional(),
    status: proposalStateSchema.default('pending'),
    limit: z.coerce.number().int().min(1).max(100).default(50),
  }),
  result: z.object({ proposals: z.array(proposalViewSchema).max(100) }),
});

/** PUT /governance/proposals: the executing engine reports what happened to an approved proposal. */
export const reportOutcomeRoute = defineRoute({
  engine: 'governance',
  action: 'proposals',
  method: 'PUT',
  permission: 'governance:write',
  summary: 'Report the outcome of an approved proposal (executed or failed); it feeds the failure rate of later assessments',
  parameters: z.object({
    proposalId: z.string().min(1).max(64),
    outcome: z.enum(['executed', 'failed']),
    detail: z.string().max(1000).default(''),
  }),
  result: proposalViewSchema,
});

/** DELETE /governance/proposals: the proposer (or an admin) withdraws a pending proposal; it is refused and its gate ends. */
export const withdrawProposalRoute = defineRoute({
  engine: 'governance',
  action: 'proposals',
  method: 'DELETE',
  permission: 'governance:write',
  summary: 'Withdraw a pending proposal (its proposer or an admin): refused with the reason, its approval refused, its gate ended (403 someone else, 409 not pending)',
  parameters: z.object({
    proposalId: z.string().min(1).max(64),
    reason: z.string().min(1).max(1000),
  }),
  result: proposalViewSchema,
});

/** GET /governance/approvals: the tenant's approvals in one status (pending oldest first, others newest first). */
export const listApprovalsRoute = defineRoute({
  engine: 'governance',
  action: 'approvals',
  method: 'GET',
  permission: 'governance:read',
  summary: 'List approvals by status (pending by default, oldest first; decided ones newest first)',
  parameters: z.object({
    status: approvalStatusSchema.default('pending'),
    limit: z.coerce.number().int().min(1).max(100).default(50),
  }),
  result: z.object({ approvals: z.array(approvalViewSchema).max(100).describe('At most `limit`') }),
});

/** POST /governance/approvals: one vote; the decider is the caller, never the requester. */
export const decideApprovalRoute = defineRoute({
  engine: 'governance',
  action: 'approvals',
  method: 'POST',
  permission: 'governance:approve',
  summary: 'Approve or reject a pending approval with a reason; the quorum resumes the waiting execution, one rejection fails it',
  parameters: z.object({
    approvalId: z.string().min(1).max(80),
    decision: z.enum(['approve', 'reject']),
    reason: z.string().min(1).max(MAX_TEXT_LENGTH),
  }),
  result: approvalViewSchema,
});

/** PUT /governance/autonomy (admin). */
export const setAutonomyRoute = defineRoute({
  engine: 'governance',
  action: 'autonomy',
  method: 'PUT',
  permission: 'governance:admin',
  summary: "Set the tenant's autonomy level: 1 supervised, 2 semi-autonomous, 3 autonomous, 4 fully autonomous within policy",
  parameters: z.object({ level: autonomyLevelSchema }),
  result: z.object({ level: autonomyLevelSchema, previous: autonomyLevelSchema }),
});

/** GET /governance/autonomy. */
export const getAutonomyRoute = defineRoute({
  engine: 'governance',
  action: 'autonomy',
  method: 'GET',
  permission: 'governance:read',
  summary: "The tenant's autonomy level",
  parameters: z.object({}),
  result: z.object({ level: autonomyLevelSchema }),
});

/** PUT /governance/killswitch (admin; the `system` operator's switch is global). */
export const setKillSwitchRoute = defineRoute({
  engine: 'governance',
  action: 'killswitch',
  method: 'PUT',
  permission: 'governance:admin',
  summary: "Turn the tenant's kill switch on or off (423 on every actuation path while on); the system operator's switch is global",
  parameters: z.object({ enabled: z.boolean(), reason: z.string().min(1).max(2000), scope: z.enum(['tenant', 'global']).default('tenant') }),
  result: z.object({ scope: z.enum(['tenant', 'global']), killSwitch: killSwitchSchema }),
});

/** GET /governance/killswitch. */
export const getKillSwitchRoute = defineRoute({
  engine: 'governance',
  action: 'killswitch',
  method: 'GET',
  permission: 'governance:read',
  summary: "The tenant's and the global kill switch",
  parameters: z.object({}),
  result: z.object({ tenant: killSwitchSchema.optional(), global: killSwitchSchema.optional() }),
});

/** PUT /governance/config (admin). */
export const setConfigRoute = defineRoute({
  engine: 'governance',
  action: 'config',
  method: 'PUT',
  permission: 'governance:admin',
  summary: 'Set quorum per risk level, gate timeouts, change freezes and the constitution quorum (fields left out keep their value)',
  parameters: governanceConfigSchema.partial().extend({ minApprovals: governanceConfigSchema.shape.minApprovals.partial().optional() }),
  result: governanceConfigSchema,
});

/** GET /governance/config. */
export const getConfigRoute = defineRoute({
  engine: 'governance',
  action: 'config',
  method: 'GET',
  permission: 'governance:read',
  summary: "The tenant's governance configuration and constitution state",
  parameters: z.object({}),
  result: z.object({ config: governanceConfigSchema, autonomyLevel: autonomyLevelSchema, policyVersion: z.number().int(), constitution: constitutionStateSchema.optional() }),
});

/** PUT /governance/constitution (admin): a new version; actuation waits until admins ratify it. */
export const putConstitutionRoute = defineRoute({
  engine: 'governance',
  action: 'constitution',
  method: 'PUT',
  permission: 'governance:admin',
  summary: 'Publish a new constitution (principles and limits, text); its SHA-256 goes to the ledger and actuation answers 423 until a quorum of other admins ratifies it',
  parameters: z.object({ text: z.string().min(1).max(100_000) }),
  result: constitutionStateSchema,
});

/** POST /governance/constitution (admin): ratify the waiting version. */
export const ratifyConstitutionRoute = defineRoute({
  engine: 'governance',
  action: 'constitution',
  method: 'POST',
  permission: 'governance:admin',
  summary: 'Ratify the waiting constitution version (an admin other than its author, once each); the quorum resumes actuation',
  parameters: z.object({ version: z.number().int().min(1), decision: z.literal('ratify') }),
  result: constitutionStateSchema,
});

/** GET /governance/constitution: the current version, its state and text. */
export const getConstitutionRoute = defineRoute({
  engine: 'governance',
  action: 'constitution',
  method: 'GET',
  permission: 'governance:read',
  summary: "The tenant's constitution: version, hash, ratification and text",
  parameters: z.object({}),
  result: z.object({ constitution: constitutionStateSchema.optional(), text: z.string().max(100_000).optional() }),
});
