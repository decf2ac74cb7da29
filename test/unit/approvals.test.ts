/**
 * Quorum approvals (lib/governance/approvals.ts) on in-memory ports that keep the adapter's
 * contracts (conditional writes, an outbox saved with each write): opening and escalating a gate's
 * approval idempotently, votes toward a quorum with separation of duties, a gate that stopped
 * waiting, two people deciding in the same instant, and the settle step.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ConflictError, DependencyError, ForbiddenError, NotFoundError } from '../../lib/errors.ts';
import { findActuation } from '../../lib/governance/actuations.ts';
import {
  APPROVAL_REJECTED,
  type Approval,
  type ApprovalDecision,
  type ApprovalRequest,
  type ApprovalSubject,
  approvalIdOf,
  approvalRequestSchema,
  approvalSchema,
  approvalView,
  decide,
  openOrEscalate,
  settleApproval,
} from '../../lib/governance/approvals.ts';
import { assessRisk } from '../../lib/governance/risk.ts';
import {
  barrier,
  type MemoryApprovalStore,
  type MemoryOutbox,
  memoryApprovalStore,
  memoryOutbox,
  recordingWorkflow,
} from '../helpers/governance-memory.ts';

const T0 = new Date('2026-12-01T10:00:00.000Z');
const later = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const PROPOSAL = '5b0c8f0e-3c1d-4f57-9a8e-2d6b7c1e4a90';
const APPROVAL = approvalIdOf(PROPOSAL);
const ARN = `arn:aws:states:us-east-1:000000000000:execution:autonomy-test-governance-gate:${APPROVAL}`;

function subject(required = 2): ApprovalSubject {
  const actuation = findActuation('closure', 'terminate');
  assert.ok(actuation);
  return {
    tenant: 'acme',
    proposalId: PROPOSAL,
    action: { engine: 'closure', name: 'terminate', target: 'capsule/legacy-batch', parameters: { drain: true } },
    environment: 'prod',
    risk: 'high',
    assessment: assessRisk({ actuation, environment: 'prod', parameters: {}, dependents: 0, autonomyLevel: 2 }),
    policy: { decision: 'allow', policies: ['base-operator'], errors: [], version: 0, breakGlass: false },
    requestedBy: 'alice',
    reason: 'the batch was replaced by the streaming job',
    required,
  };
}

function request(round: 1 | 2 = 1, taskToken = `token-round-${round}`): ApprovalRequest {
  return approvalRequestSchema.parse({
    taskToken,
    executionArn: ARN,
    tenant: 'acme',
    proposalId: PROPOSAL,
    approvalId: APPROVAL,
    round,
    timeoutSeconds: round === 1 ? 3600 : 600,
  });
}

const vote = (actor: string, decision: 'approve' | 'reject' = 'approve', roles: string[] = ['approver']): ApprovalDecision => ({
  tenant: 'acme',
  approvalId: APPROVAL,
  decision,
  actor,
  roles,
  reason: `${actor} checked the runbook`,
});

let outbox: MemoryOutbox;
let store: MemoryApprovalStore;
let workflow: ReturnType<typeof recordingWorkflow>;
const deps = (now = later(60)) => ({ store, outbox, workflow, now });
const stored = async (): Promise<Approval> => {
  const approval = await store.get('acme', APPROVAL);
  assert.ok(approval, 'the approval is stored');
  return approval;
};
const open = async (required = 2) => (await openOrEscalate(request(1), subject(required), { store, outbox, now: T0 })).approval;
const detailTypes = () => outbox.published.map((event) => event.detailType);

beforeEach(() => {
  outbox = memoryOutbox();
  store = memoryApprovalStore(outbox);
  workflow = recordingWorkflow();
});

describe('approvalIdOf', () => {
  it('derives a stable id that is also a valid Step Functions execution name for any proposal id of 64 characters', () => {
    assert.equal(approvalIdOf(PROPOSAL), approvalIdOf(PROPOSAL));
    assert.match(approvalIdOf('x'.repeat(64)), /^[A-Za-z0-9_-]{1,80}$/);
    assert.notEqual(approvalIdOf('p-1'), approvalIdOf('p-2'));
  });

  it('rejects a request with an upper-case tenant or a round other than 1 and 2, naming the field', () => {
    const parsed = approvalRequestSchema.safeParse({ ...request(), tenant: 'ACME', round: 3 });
    assert.equal(parsed.success, false);
    assert.deepEqual(parsed.error?.issues.map((issue) => issue.path.join('.')).sort(), ['round', 'tenant']);
  });
});

describe('openOrEscalate', () => {
  it('opens round 1 for approvers, pending, with the deadline of the round and one requested event', async () => {
    const result = await openOrEscalate(request(1), subject(2), { store, outbox, now: T0 });
    assert.equal(result.opened, true);
    assert.equal(result.escalated, false);
    const approval = await stored();
    assert.deepEqual(approvalSchema.parse(approval), approval);
    assert.equal(approval.status, 'pending');
    assert.equal(approval.group, 'approver');
    assert.equal(approval.escalated, false);
    assert.equal(approval.round, 1);
    assert.equal(approval.required, 2);
    assert.equal(approval.taskToken, 'token-round-1');
    assert.equal(approval.deadline, later(3600).toISOString());
    assert.deepEqual(approval.votes, []);
    assert.deepEqual(detailTypes(), ['governance.approval.requested']);
    const detail = outbox.published[0]?.detail ?? {};
    assert.equal(detail.group, 'approver');
    assert.equal(detail.required, 2);
    assert.ok(!('taskToken' in detail), 'the task token never leaves the server');
    assert.equal(outbox.waiting.size, 0);
  });

  it('takes only the new task token on a retry of the same round: no second approval, no event', async () => {
    await open();
    const retried = await openOrEscalate(request(1, 'token-round-1-retry'), subject(2), { store, outbox, now: later(5) });
    assert.equal(retried.opened, false);
    assert.equal(retried.escalated, false);
    assert.equal(store.items.size, 1);
    const approval = await stored();
    assert.equal(approval.taskToken, 'token-round-1-retry');
    assert.equal(approval.version, 1);
    assert.equal(approval.requestedAt, T0.toISOString(), 'the request keeps its time');
    assert.deepEqual(detailTypes(), ['governance.approval.requested']);
  });

  it('writes nothing when the same token arrives again', async () => {
    await open();
    const writes = store.writes;
    await openOrEscalate(request(1), subject(2), { store, outbox, now: later(5) });
    assert.equal(store.writes, writes);
    assert.equal((await stored()).version, 0);
  });

  it('escalates in round 2 to admins, pending again, keeping the votes, with requested and escalated events', async () => {
    await open();
    await decide(vote('bob'), deps());
    const result = await openOrEscalate(request(2), subject(2), { store, outbox, now: later(3600) });
    assert.equal(result.escalated, true);
    assert.equal(result.opened, false);
    const approval = await stored();
    assert.equal(approval.status, 'pending');
    assert.equal(approval.round, 2);
    assert.equal(approval.group, 'admin');
    assert.equal(approval.escalated, true);
    assert.equal(approval.taskToken, 'token-round-2');
    assert.equal(approval.deadline, later(3600 + 600).toISOString());
    assert.deepEqual(
      approval.votes.map((entry) => entry.actor),
      ['bob'],
    );
    assert.deepEqual(detailTypes(), [
      'governance.approval.requested',
      'governance.approval.decided',
      'governance.approval.requested',
      'governance.approval.escalated',
    ]);
    assert.equal(outbox.published[2]?.detail.group, 'admin');
    assert.equal(outbox.published[3]?.detail.escalatedAt, later(3600).toISOString());
  });

  it('makes an approval whose decision raced the timeout wait again for admins, without its decision time', async () => {
    await open();
    const approval = await stored();
    await store.put(
      { ...approval, status: 'approved', decidedAt: later(3599).toISOString(), version: approval.version + 1 },
      approval.version,
      [],
    );
    await openOrEscalate(request(2), subject(2), { store, outbox, now: later(3600) });
    const escalated = await stored();
    assert.equal(escalated.status, 'pending');
    assert.equal(escalated.decidedAt, undefined);
  });

  it('opens an escalated approval directly when round 2 comes first', async () => {
    const result = await openOrEscalate(request(2), subject(2), { store, outbox, now: T0 });
    assert.deepEqual([result.opened, result.escalated], [true, true]);
    assert.equal((await stored()).group, 'admin');
    assert.deepEqual(detailTypes(), ['governance.approval.requested', 'governance.approval.escalated']);
  });

  it('changes nothing for a stale round 1 after round 2', async () => {
    await open();
    await openOrEscalate(request(2), subject(2), { store, outbox, now: later(3600) });
    const before = await stored();
    const published = outbox.published.length;
    const result = await openOrEscalate(request(1, 'token-round-1-late'), subject(2), { store, outbox, now: later(3601) });
    assert.deepEqual(await stored(), before);
    assert.deepEqual(result.approval, before);
    assert.deepEqual([result.opened, result.escalated], [false, false]);
    assert.equal(outbox.published.length, published);
  });

  it('refuses an approval id claimed by another execution with a conflict', async () => {
    await open();
    await assert.rejects(
      openOrEscalate({ ...request(1), executionArn: `${ARN}-other` }, subject(2), { store, outbox, now: T0 }),
      ConflictError,
    );
  });
});

describe('decide', () => {
  it('leaves a required-2 approval pending after the first approval (heartbeat sent), and resumes the execution with the approvers after the second', async () => {
    await open(2);
    const first = await decide(vote('bob'), deps(later(60)));
    assert.equal(first.final, false);
    assert.equal(first.approval.status, 'pending');
    assert.deepEqual(workflow.calls, [{ kind: 'heartbeat', token: 'token-round-1' }]);
    assert.equal((await stored()).status, 'pending');

    const second = await decide(vote('carol'), deps(later(120)));
    assert.equal(second.final, true);
    assert.equal(second.vote.actor, 'carol');
    const approval = await stored();
    assert.equal(approval.status, 'approved');
    assert.equal(approval.decidedAt, later(120).toISOString());
    assert.equal(workflow.calls.length, 2);
    const resumed = workflow.calls[1];
    assert.ok(resumed?.kind === 'succeed');
    assert.equal(resumed.token, 'token-round-1');
    const output = resumed.output as { approvalId: string; decision: string; approvers: string[]; votes: unknown[] };
    assert.equal(output.approvalId, APPROVAL);
    assert.equal(output.decision, 'approved');
    assert.deepEqual(output.approvers, ['bob', 'carol']);
    assert.equal(output.votes.length, 2);
    const decided = outbox.published.filter((event) => event.detailType === 'governance.approval.decided').map((event) => event.detail);
    assert.deepEqual(
      decided.map((detail) => [detail.decision, detail.approvals, detail.required, detail.decidedBy]),
      [
        ['pending', 1, 2, 'bob'],
        ['approved', 2, 2, 'carol'],
      ],
    );
    assert.equal(outbox.waiting.size, 0);
  });

  it('fails the execution with ApprovalRejected on any rejection, even after an approval', async () => {
    await open(2);
    await decide(vote('bob'), deps());
    const outcome = await decide(vote('carol', 'reject'), deps(later(90)));
    assert.equal(outcome.final, true);
    assert.equal((await stored()).status, 'rejected');
    const failed = workflow.calls.at(-1);
    assert.ok(failed?.kind === 'fail');
    assert.equal(failed.token, 'token-round-1');
    assert.equal(failed.error, APPROVAL_REJECTED);
    assert.deepEqual(
      (JSON.parse(failed.cause) as { votes: Array<{ actor: string }> }).votes.map((entry) => entry.actor),
      ['bob', 'carol'],
    );
    assert.equal(outbox.published.at(-1)?.detail.decision, 'rejected');
  });

  it('refuses the requester with 403 and records nothing', async () => {
    await open();
    await assert.rejects(
      decide(vote('alice'), deps()),
      (error: unknown) => error instanceof ForbiddenError && /requester/.test(error.message),
    );
    assert.deepEqual((await stored()).votes, []);
    assert.deepEqual(workflow.calls, []);
  });

  it('counts each person once: a second vote by the same person is a 409', async () => {
    await open(2);
    await decide(vote('bob'), deps());
    await assert.rejects(
      decide(vote('bob'), deps()),
      (error: unknown) => error instanceof ConflictError && /already voted/.test(error.message),
    );
    assert.equal((await stored()).votes.length, 1);
    assert.equal(workflow.calls.length, 1);
  });

  it('lets only an admin decide an escalated approval (403 for an approver)', async () => {
    await open(1);
    await openOrEscalate(request(2), subject(1), { store, outbox, now: later(3600) });
    await assert.rejects(
      decide(vote('bob'), deps(later(3700))),
      (error: unknown) => error instanceof ForbiddenError && /escalated to admins/.test(error.message),
    );
    assert.equal(workflow.calls.length, 0);
    const outcome = await decide(vote('dana', 'approve', ['admin']), deps(later(3700)));
    assert.equal(outcome.approval.status, 'approved');
    assert.deepEqual(
      workflow.calls.map((call) => [call.kind, call.token]),
      [['succeed', 'token-round-2']],
    );
  });

  it("answers 404 for an unknown approval and for another tenant's", async () => {
    await open();
    await assert.rejects(decide({ ...vote('bob'), approvalId: 'approval-unknown' }, deps()), NotFoundError);
    await assert.rejects(decide({ ...vote('bob'), tenant: 'globex' }, deps()), NotFoundError);
    assert.deepEqual(workflow.calls, []);
  });

  it('answers 409 on a decided approval and resumes nothing again', async () => {
    await open(1);
    await decide(vote('bob'), deps());
    await assert.rejects(
      decide(vote('carol', 'reject'), deps()),
      (error: unknown) => error instanceof ConflictError && /already approved/.test(error.message),
    );
    assert.equal(workflow.calls.length, 1);
  });

  it('takes the vote back and answers 409 when the gate stopped waiting (GateClosedError on succeed): the event is discarded, not published', async () => {
    await open(2);
    await decide(vote('bob'), deps());
    const published = outbox.published.length;
    workflow.closed = true;
    await assert.rejects(
      decide(vote('carol'), deps(later(4000))),
      (error: unknown) => error instanceof ConflictError && /stopped waiting/.test(error.message),
    );
    const approval = await stored();
    assert.equal(approval.status, 'pending');
    assert.deepEqual(
      approval.votes.map((entry) => entry.actor),
      ['bob'],
    );
    assert.equal(approval.decidedAt, undefined);
    assert.equal(outbox.published.length, published, 'nothing published');
    assert.deepEqual(
      outbox.discarded.map((entry) => [entry.event.detailType, entry.event.detail.decidedBy]),
      [['governance.approval.decided', 'carol']],
    );
    assert.equal(outbox.waiting.size, 0, 'nothing left for the sweep');
  });

  it('takes back a first vote whose heartbeat finds the gate closed', async () => {
    await open(2);
    workflow.closed = true;
    await assert.rejects(decide(vote('bob'), deps()), ConflictError);
    assert.deepEqual((await stored()).votes, []);
    assert.equal(outbox.waiting.size, 0);
  });

  it('takes the vote back and rethrows when Step Functions fails otherwise (a 503, not a 409)', async () => {
    await open(1);
    workflow.failWith = new DependencyError('StepFunctions SendTaskSuccess throttled: ThrottlingException');
    await assert.rejects(decide(vote('bob'), deps()), DependencyError);
    const approval = await stored();
    assert.equal(approval.status, 'pending');
    assert.deepEqual(approval.votes, []);
    workflow.failWith = undefined;
    assert.equal((await decide(vote('bob'), deps())).approval.status, 'approved', 'the same person may vote again');
  });

  it('counts both votes of two people deciding in the same instant and resumes the execution exactly once', async () => {
    await open(2);
    store.beforeGet = barrier(2);
    const outcomes = await Promise.all([decide(vote('bob'), deps()), decide(vote('carol'), deps())]);
    assert.equal(store.conflicts, 1, 'both read the same version; one conditional write lost and was retried');
    const approval = await stored();
    assert.equal(approval.status, 'approved');
    assert.deepEqual(approval.votes.map((entry) => entry.actor).sort(), ['bob', 'carol']);
    assert.equal(workflow.calls.filter((call) => call.kind === 'succeed').length, 1);
    assert.equal(workflow.calls.filter((call) => call.kind === 'heartbeat').length, 1);
    assert.deepEqual(outcomes.map((outcome) => outcome.final).sort(), [false, true]);
    assert.equal(outbox.published.filter((event) => event.detailType === 'governance.approval.decided').length, 2);
  });
});

describe('settleApproval', () => {
  it('writes the final status of the execution, with its time, once', async () => {
    await open();
    const settled = await settleApproval('acme', APPROVAL, 'timed-out', { store, outbox, now: later(7200) });
    assert.equal(settled?.status, 'timed-out');
    const approval = await stored();
    assert.equal(approval.status, 'timed-out');
    assert.equal(approval.decidedAt, later(7200).toISOString());
    const writes = store.writes;
    await settleApproval('acme', APPROVAL, 'timed-out', { store, outbox, now: later(7300) });
    assert.equal(store.writes, writes, 'already settled: nothing written');
  });

  it('overrides what the approval says (an approval refused by a kill switch), keeping the decision time', async () => {
    await open(1);
    await decide(vote('bob'), deps(later(60)));
    await settleApproval('acme', APPROVAL, 'refused', { store, outbox, now: later(90) });
    const approval = await stored();
    assert.equal(approval.status, 'refused');
    assert.equal(approval.decidedAt, later(60).toISOString());
  });

  it('answers undefined for an approval that does not exist', async () => {
    assert.equal(await settleApproval('acme', 'approval-none', 'rejected', { store, outbox, now: T0 }), undefined);
    assert.equal(store.items.size, 0);
  });
});

describe('approvalView', () => {
  it('shows everything but the task token and the write version', async () => {
    const view = approvalView(await open());
    assert.ok(!('taskToken' in view));
    assert.ok(!('version' in view));
    assert.equal(view.approvalId, APPROVAL);
  });
});
