import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictError, ForbiddenError, NotFoundError } from '../../lib/errors.ts';
import {
  APPROVAL_REJECTED,
  type Approval,
  type ApprovalStore,
  approvalRequestSchema,
  decide,
  openApproval,
  type WorkflowCallbacks,
} from '../../lib/governance/approvals.ts';

const request = approvalRequestSchema.parse({
  taskToken: 'token-1',
  executionArn: 'arn:aws:states:us-east-1:000000000000:execution:gate:1',
  tenant: 'acme',
  action: { engine: 'reflex', name: 'restart', target: 'endpoint/chat' },
  risk: 'high',
  requestedBy: 'alice',
});

function memoryStore(): ApprovalStore & { items: Map<string, Approval> } {
  const items = new Map<string, Approval>();
  return {
    items,
    async create(approval) {
      if (items.has(approval.approvalId)) throw new ConflictError('exists');
      items.set(approval.approvalId, approval);
    },
    async get(_tenant, id) {
      const item = items.get(id);
      return item && item.tenant === _tenant ? item : undefined;
    },
    async decidePending(next) {
      if (items.get(next.approvalId)?.status !== 'pending') throw new ConflictError('decided');
      items.set(next.approvalId, next);
    },
    async list(tenant, status, limit) {
      return [...items.values()].filter((item) => item.tenant === tenant && item.status === status).slice(0, limit);
    },
  };
}

function recordingWorkflow(): WorkflowCallbacks & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    async succeed(token, output) {
      calls.push(['succeed', token, output]);
    },
    async fail(token, error, cause) {
      calls.push(['fail', token, error, cause]);
    },
  };
}

describe('approvals', () => {
  it('resumes the execution with the decision when another person approves', async () => {
    const store = memoryStore();
    const workflow = recordingWorkflow();
    await store.create(openApproval(request, 'a1', new Date('2026-01-01T00:00:00Z')));
    const decided = await decide({ tenant: 'acme', approvalId: 'a1', decision: 'approve', actor: 'bob', reason: 'ok' }, { store, workflow, now: new Date() });
    assert.equal(decided.status, 'approved');
    assert.deepEqual(workflow.calls[0]?.slice(0, 2), ['succeed', 'token-1']);
  });

  it('fails the task with ApprovalRejected when rejected', async () => {
    const store = memoryStore();
    const workflow = recordingWorkflow();
    await store.create(openApproval(request, 'a2', new Date()));
    await decide({ tenant: 'acme', approvalId: 'a2', decision: 'reject', actor: 'bob', reason: 'no' }, { store, workflow, now: new Date() });
    assert.deepEqual(workflow.calls[0]?.slice(0, 3), ['fail', 'token-1', APPROVAL_REJECTED]);
  });

  it('forbids the requester from deciding their own request', async () => {
    const store = memoryStore();
    await store.create(openApproval(request, 'a3', new Date()));
    await assert.rejects(
      decide({ tenant: 'acme', approvalId: 'a3', decision: 'approve', actor: 'alice', reason: '' }, { store, workflow: recordingWorkflow(), now: new Date() }),
      ForbiddenError,
    );
  });

  it('refuses a second decision with a conflict and resumes nothing', async () => {
    const store = memoryStore();
    const workflow = recordingWorkflow();
    await store.create(openApproval(request, 'a4', new Date()));
    await decide({ tenant: 'acme', approvalId: 'a4', decision: 'approve', actor: 'bob', reason: '' }, { store, workflow, now: new Date() });
    await assert.rejects(decide({ tenant: 'acme', approvalId: 'a4', decision: 'reject', actor: 'carol', reason: '' }, { store, workflow, now: new Date() }), ConflictError);
    assert.equal(workflow.calls.length, 1);
  });

  it('answers not found for another tenant\'s approval', async () => {
    const store = memoryStore();
    await store.create(openApproval(request, 'a5', new Date()));
    await assert.rejects(decide({ tenant: 'other', approvalId: 'a5', decision: 'approve', actor: 'bob', reason: '' }, { store, workflow: recordingWorkflow(), now: new Date() }), NotFoundError);
  });

  it('rejects a request with an upper-case tenant, naming the field', () => {
    const parsed = approvalRequestSchema.safeParse({ ...request, tenant: 'ACME' });
    assert.equal(parsed.success, false);
    assert.deepEqual(parsed.error?.issues.map((issue) => issue.path.join('.')), ['tenant']);
  });
});
