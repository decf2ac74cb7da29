/** Routes of the governance engine: the people's side of approval gates. */
import { z } from 'zod';
import { MAX_TEXT_LENGTH, MAX_TIMESTAMP_LENGTH } from '../../events/common.ts';
import { actionNameSchema, actorSchema, engineNameSchema, tenantSchema } from '../../events/ids.ts';
import { defineRoute } from '../api/route.ts';
import { approvalRequestSchema, riskSchema } from './approvals.ts';

const timestamp = z.iso.datetime().max(MAX_TIMESTAMP_LENGTH);

/** An approval as shown to people: everything but the task token (bounds as the gate's request, lib/governance/approvals.ts). */
export const approvalViewSchema = z.object({
  tenant: tenantSchema,
  approvalId: z.string().max(128),
  status: z.enum(['pending', 'approved', 'rejected']),
  executionArn: approvalRequestSchema.shape.executionArn,
  action: z.object({
    engine: engineNameSchema,
    name: actionNameSchema,
    target: approvalRequestSchema.shape.action.shape.target,
    parameters: z.record(z.string().max(128), z.unknown()),
  }),
  risk: riskSchema,
  requestedBy: actorSchema,
  reason: z.string().max(MAX_TEXT_LENGTH),
  requestedAt: timestamp,
  decidedBy: actorSchema.optional(),
  decidedAt: timestamp.optional(),
  decisionReason: z.string().max(MAX_TEXT_LENGTH).optional(),
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
  result: z.object({ approvals: z.array(approvalViewSchema).max(100).describe('At most `limit`') }),
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
    reason: z.string().max(MAX_TEXT_LENGTH).default(''),
  }),
  result: approvalViewSchema,
});
