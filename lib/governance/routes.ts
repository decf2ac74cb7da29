/** Routes of the governance engine: the people's side of approval gates. */
import { z } from 'zod';
import { actionNameSchema, engineNameSchema, tenantSchema } from '../../events/ids.ts';
import { defineRoute } from '../api/route.ts';
import { riskSchema } from './approvals.ts';

/** An approval as shown to people: everything but the task token. */
export const approvalViewSchema = z.object({
  tenant: tenantSchema,
  approvalId: z.string(),
  status: z.enum(['pending', 'approved', 'rejected']),
  executionArn: z.string(),
  action: z.object({ engine: engineNameSchema, name: actionNameSchema, target: z.string(), parameters: z.record(z.string(), z.unknown()) }),
  risk: riskSchema,
  requestedBy: z.string(),
  reason: z.string(),
  requestedAt: z.string(),
  decidedBy: z.string().optional(),
  decidedAt: z.string().optional(),
  decisionReason: z.string().optional(),
});

/** GET /governance/approvals: the tenant's approvals in one status, oldest first. */
export const listApprovalsRoute = defineRoute({
  engine: 'governance',
  action: 'approvals',
  method: 'GET',
  permission: 'governance:read',
  summary: 'List approvals by status (pending by default), oldest first',
  parameters: z.object({
    status: z.enum(['pending', 'approved', 'rejected']).default('pending'),
    limit: z.coerce.number().int().min(1).max(100).default(50),
  }),
  result: z.object({ approvals: z.array(approvalViewSchema) }),
});

/** POST /governance/approvals: approve or reject; the decider is the caller, never the requester. */
export const decideApprovalRoute = defineRoute({
  engine: 'governance',
  action: 'approvals',
  method: 'POST',
  permission: 'governance:approve',
  summary: 'Approve or reject a pending approval; the waiting execution resumes',
  parameters: z.object({
    approvalId: z.string().min(1).max(128),
    decision: z.enum(['approve', 'reject']),
    reason: z.string().max(2000).default(''),
  }),
  result: approvalViewSchema,
});
