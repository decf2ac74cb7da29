/** Events of the Governance engine (`autonomy.governance`): approval gates. */
import { z } from 'zod';
import { defineEvent, detailSchema, isoTimestampSchema } from './common.ts';
import { actionNameSchema, engineNameSchema } from './ids.ts';

/** Risk class of a gated action (mirrors `riskSchema` in lib/governance/approvals.ts). */
export const riskClassSchema = z.enum(['low', 'medium', 'high']);

/** The action waiting behind a gate. */
export const gatedActionSchema = z.strictObject({
  engine: engineNameSchema,
  name: actionNameSchema,
  target: z.string().min(1),
  parameters: z.record(z.string(), z.unknown()),
});

/**
 * `governance.approval.requested` v1: a medium- or high-risk action waits for a person. Never carries
 * the task token (the strict schema rejects it).
 */
export const approvalRequested = defineEvent({
  source: 'autonomy.governance',
  detailType: 'governance.approval.requested',
  version: '1',
  description: 'An action waits at an approval gate until a person other than the requester decides.',
  schema: detailSchema('1', {
    approvalId: z.string().min(1),
    executionArn: z.string().min(1),
    action: gatedActionSchema,
    risk: riskClassSchema,
    requestedBy: z.string().min(1),
    reason: z.string().max(2000),
    requestedAt: isoTimestampSchema,
  }),
});
/** The detail of `governance.approval.requested`. */
export type ApprovalRequested = z.infer<typeof approvalRequested.schema>;

/** `governance.approval.decided` v1: a person approved or rejected; the waiting execution resumes. */
export const approvalDecided = defineEvent({
  source: 'autonomy.governance',
  detailType: 'governance.approval.decided',
  version: '1',
  description: 'A person approved or rejected a pending approval; the waiting execution resumes or fails.',
  schema: detailSchema('1', {
    approvalId: z.string().min(1),
    decision: z.enum(['approved', 'rejected']),
    decidedBy: z.string().min(1),
    decidedAt: isoTimestampSchema,
  }),
});
/** The detail of `governance.approval.decided`. */
export type ApprovalDecided = z.infer<typeof approvalDecided.schema>;
