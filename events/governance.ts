/** Events of the Governance engine (`autonomy.governance`): approval gates. */
import { z } from 'zod';
import { defineEvent, detailSchema, isoTimestampSchema, MAX_TEXT_LENGTH } from './common.ts';
import { actionNameSchema, actorSchema, engineNameSchema } from './ids.ts';

/** An approval id (a UUID in practice; 128 characters at most, as POST /governance/approvals takes it). */
const approvalIdSchema = z.string().min(1).max(128);

/** A Step Functions execution ARN (at most 2048 characters, AWS's own bound). */
const executionArnSchema = z.string().min(1).max(2048);

/**
 * The parameters of a gated action: JSON values as the requesting engine gave them. Bounded by
 * the 256 KB event limit and by the requesting engine's own schema, not here: the catalog cannot
 * know every engine's parameters (test/unit/schema-bounds.test.ts allows this one).
 */
const actionParametersSchema = z.record(z.string().min(1).max(128), z.unknown());

/** Risk class of a gated action (mirrors `riskSchema` in lib/governance/approvals.ts). */
export const riskClassSchema = z.enum(['low', 'medium', 'high']);

/** The action waiting behind a gate. */
export const gatedActionSchema = z.strictObject({
  engine: engineNameSchema,
  name: actionNameSchema,
  target: z.string().min(1).max(1024),
  parameters: actionParametersSchema,
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
    approvalId: approvalIdSchema,
    executionArn: executionArnSchema,
    action: gatedActionSchema,
    risk: riskClassSchema,
    requestedBy: actorSchema,
    reason: z.string().max(MAX_TEXT_LENGTH),
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
    approvalId: approvalIdSchema,
    decision: z.enum(['approved', 'rejected']),
    decidedBy: actorSchema,
    decidedAt: isoTimestampSchema,
  }),
});
/** The detail of `governance.approval.decided`. */
export type ApprovalDecided = z.infer<typeof approvalDecided.schema>;
