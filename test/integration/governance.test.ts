/**
 * The governed path on the local cloud: proposals routed autonomous, through L3 validation (passed
 * and failed) and through human quorum gates (approved, rejected, timed out → escalated → failed
 * closed; withdrawn by its proposer), self-approval refused, the kill switch, a Cedar forbid refusing an otherwise autonomous
 * action, and every decision in the ledger, verified.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { Role } from '../../lib/auth/roles.ts';
import { ledgerEvents } from '../helpers/ledger-events.ts';
import { api, eventually, freshTenant, testCloud, tokenFor } from '../helpers/local-cloud.ts';

const sfn = new SFNClient({});

async function as(tenant: string, subject: string, roles: Role[], method: string, path: string, body?: unknown) {
  const token = await tokenFor({ tenant, subject, roles });
  return api(method, path, { auth: 'none', headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { body }) });
}

const propose = (tenant: string, parameters: Record<string, unknown>, subject = 'alice') =>
  as(tenant, subject, ['operator'], 'POST', '/governance/proposals', { parameters: { reason: 'latency above SLO', parameters: {}, ...parameters } });

const proposal = async (tenant: string, proposalId: string) => (await as(tenant, 'viewer', ['viewer'], 'GET', `/governance/proposals?proposalId=${proposalId}`)).body.result.proposals[0];

/** Waits until the proposal leaves `pending`. */
const settled = (tenant: string, proposalId: string, timeoutMs = 30_000) =>
  eventually(`proposal ${proposalId} to settle`, async () => {
    const current = await proposal(tenant, proposalId);
    return current.status === 'pending' ? undefined : current;
  }, timeoutMs, 250);

async function executionStatus(arn: string): Promise<string> {
  return eventually('the gate execution to end', async () => {
    const output = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    return output.status === 'RUNNING' ? undefined : `${output.status}${output.error ? ` ${output.error}` : ''}`;
  }, 30_000, 250);
}

async function pendingApproval(tenant: string, approvalId: string) {
  return eventually('the approval to open', async () => {
    const listed = await as(tenant, 'viewer', ['viewer'], 'GET', '/governance/approvals');
    return listed.body.result.approvals.find((entry: { approvalId: string }) => entry.approvalId === approvalId);
  }, 20_000, 200);
}

/** The tenant's governance events of one detail-type in the ledger (each recorded by the function that decided). */
const recorded = (tenant: string, detailType: string, atLeast = 1) =>
  eventually(`${detailType} in the ledger`, async () => {
    const events = (await ledgerEvents(tenant, 'governance')).filter((event) => event.detailType === detailType);
    return events.length >= atLeast ? events : undefined;
  }, 20_000, 250);

const setConfig = (tenant: string, config: Record<string, unknown>) => as(tenant, 'root', ['admin'], 'PUT', '/governance/config', { parameters: config });

describe('governance on the local cloud', { timeout: 240_000 }, () => {
  it('runs a low-risk repair autonomously (200) and records the decision in the ledger', async () => {
    const tenant = freshTenant('gov');
    const reply = await propose(tenant, { engine: 'reflex', action: 'restart', target: 'endpoint/chat', environment: 'dev' });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.status, 'success');
    const result = reply.body.result;
    assert.equal(result.route, 'autonomous');
    assert.equal(result.status, 'approved');
    assert.ok(result.assessment.score < 0.4 && result.assessment.factors.length === 6);
    assert.equal(result.policy.decision, 'allow');
    assert.ok(result.ledger, 'the decision is in the ledger');
    assert.deepEqual(reply.body.provenance[0].ledger, result.ledger);
    const events = await recorded(tenant, 'governance.proposal.evaluated');
    assert.ok(events.some((event) => event.detail.proposalId === result.proposalId));
    // The executing engine reports back.
    const done = await as(tenant, 'engine:reflex', ['operator'], 'PUT', '/governance/proposals', { parameters: { proposalId: result.proposalId, outcome: 'executed', detail: 'restarted in 4 s' } });
    assert.equal(done.status, 200);
    assert.equal(done.body.result.status, 'executed');
  });

  it('sends a medium-risk change through L3 validation: passed, and failed on its bounds with each reason', async () => {
    const tenant = freshTenant('gov');
    const passed = await propose(tenant, { engine: 'replication', action: 'scale', target: 'endpoint/embed', environment: 'staging', parameters: { replicas: 4 } });
    assert.equal(passed.status, 202, JSON.stringify(passed.body));
    assert.equal(passed.body.result.route, 'l3-validation');
    assert.equal((await settled(tenant, passed.body.result.proposalId)).status, 'approved');
    assert.match(await executionStatus(passed.body.result.executionArn), /^SUCCEEDED/);

    const failed = await propose(tenant, { engine: 'replication', action: 'scale', target: 'endpoint/rank', environment: 'staging', parameters: { replicas: 500 } });
    assert.equal(failed.status, 202);
    const rejected = await settled(tenant, failed.body.result.proposalId);
    assert.equal(rejected.status, 'rejected');
    assert.ok(rejected.reasons.some((reason: string) => /bounds: parameters\.replicas must be at most/.test(reason)), rejected.reasons.join('; '));
    assert.match(await executionStatus(failed.body.result.executionArn), /^FAILED ProposalRejected/);
  });

  it('waits for a quorum of two approvers other than the requester, then resumes the gate', async () => {
    const tenant = freshTenant('gov');
    const reply = await propose(tenant, { engine: 'closure', action: 'terminate', target: 'agent/old', environment: 'prod' });
    assert.equal(reply.status, 202, JSON.stringify(reply.body));
    const { approvalId, executionArn, route } = reply.body.result;
    assert.equal(route, 'human-approval');
    assert.ok(executionArn.endsWith(`:${approvalId}`), 'the execution is named after the approval');
    const approval = await pendingApproval(tenant, approvalId);
    assert.equal(approval.required, 2);
    assert.equal(approval.taskToken, undefined, 'the task token never leaves the server');

    const self = await as(tenant, 'alice', ['approver'], 'POST', '/governance/approvals', { parameters: { approvalId, decision: 'approve', reason: 'mine' } });
    assert.equal(self.status, 403, 'the requester never approves');
    const first = await as(tenant, 'bob', ['approver'], 'POST', '/governance/approvals', { parameters: { approvalId, decision: 'approve', reason: 'checked the dependents' } });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.result.status, 'pending');
    const twice = await as(tenant, 'bob', ['approver'], 'POST', '/governance/approvals', { parameters: { approvalId, decision: 'approve', reason: 'again' } });
    assert.equal(twice.status, 409, 'each approver counts once');
    const foreign = await as(`${tenant}-x`, 'carol', ['approver'], 'POST', '/governance/approvals', { parameters: { approvalId, decision: 'approve', reason: 'not mine' } });
    assert.equal(foreign.status, 404);
    const noReason = await as(tenant, 'carol', ['approver'], 'POST', '/governance/approvals', { parameters: { approvalId, decision: 'approve', reason: '' } });
    assert.equal(noReason.status, 400, 'every decision has a reason');
    const second = await as(tenant, 'carol', ['approver'], 'POST', '/governance/approvals', { parameters: { approvalId, decision: 'approve', reason: 'agreed' } });
    assert.equal(second.status, 200);
    assert.equal(second.body.result.status, 'approved');
    assert.match(await executionStatus(executionArn), /^SUCCEEDED/);
    assert.equal((await settled(tenant, reply.body.result.proposalId)).status, 'approved');
    const late = await as(tenant, 'dave', ['approver'], 'POST', '/governance/approvals', { parameters: { approvalId, decision: 'reject', reason: 'too late' } });
    assert.equal(late.status, 409, 'a finished approval is a 409, never a 500');
  });

  it('counts two approvers deciding in the same instant once each and resumes once', async () => {
    const tenant = freshTenant('gov');
    const reply = await propose(tenant, { engine: 'closure', action: 'terminate', target: 'agent/race', environment: 'prod' });
    const { approvalId, executionArn } = reply.body.result;
    await pendingApproval(tenant, approvalId);
    const votes = await Promise.all(
      ['bob', 'carol'].map((subject) => as(tenant, subject, ['approver'], 'POST', '/governance/approvals', { parameters: { approvalId, decision: 'approve', reason: `${subject} agrees` } })),
    );
    assert.deepEqual(votes.map((vote) => vote.status), [200, 200], JSON.stringify(votes.map((vote) => vote.body)));
    assert.match(await executionStatus(executionArn), /^SUCCEEDED/);
    const [decided] = (await as(tenant, 'viewer', ['viewer'], 'GET', '/governance/approvals?status=approved')).body.result.approvals;
    assert.deepEqual(decided.votes.map((vote: { actor: string }) => vote.actor).sort(), ['bob', 'carol']);
  });

  it('fails the gate on a rejection', async () => {
    const tenant = freshTenant('gov');
    const reply = await propose(tenant, { engine: 'closure', action: 'terminate', target: 'agent/keep', environment: 'prod' });
    const { approvalId, executionArn, proposalId } = reply.body.result;
    await pendingApproval(tenant, approvalId);
    const no = await as(tenant, 'bob', ['approver'], 'POST', '/governance/approvals', { parameters: { approvalId, decision: 'reject', reason: 'still serving traffic' } });
    assert.equal(no.status, 200);
    assert.equal(no.body.result.status, 'rejected');
    assert.match(await executionStatus(executionArn), /^FAILED ProposalRejected/);
    assert.equal((await settled(tenant, proposalId)).status, 'rejected');
  });

  it('withdraws a waiting proposal (its proposer; someone else 403): refused, its approval refused, the gate FAILED ProposalWithdrawn', async () => {
    const tenant = freshTenant('gov');
    const reply = await propose(tenant, { engine: 'closure', action: 'terminate', target: 'agent/withdrawn', environment: 'prod' });
    const { approvalId, executionArn, proposalId } = reply.body.result;
    await pendingApproval(tenant, approvalId);
    const path = `/governance/proposals?proposalId=${proposalId}&reason=${encodeURIComponent('not needed any more')}`;
    const other = await as(tenant, 'bob', ['operator'], 'DELETE', path);
    assert.equal(other.status, 403, JSON.stringify(other.body));
    const withdrawn = await as(tenant, 'alice', ['operator'], 'DELETE', path);
    assert.equal(withdrawn.status, 200, JSON.stringify(withdrawn.body));
    assert.equal(withdrawn.body.result.status, 'refused');
    assert.match(await executionStatus(executionArn), /^FAILED ProposalWithdrawn/);
    const after = await proposal(tenant, proposalId);
    assert.deepEqual([after.status, after.reasons.at(-1)], ['refused', 'withdrawn by alice: not needed any more']);
    const refused = await as(tenant, 'viewer', ['viewer'], 'GET', '/governance/approvals?status=refused');
    assert.deepEqual(
      refused.body.result.approvals.map((entry: { approvalId: string; status: string }) => [entry.approvalId, entry.status]),
      [[approvalId, 'refused']],
    );
    assert.equal((await as(tenant, 'alice', ['operator'], 'DELETE', path)).status, 409, 'a second withdrawal');
  });

  it('escalates a gate nobody decided to admins, then fails closed; a late vote is a 409', async () => {
    const tenant = freshTenant('gov');
    assert.equal((await setConfig(tenant, { approvalTimeoutSeconds: 2, escalationTimeoutSeconds: 2 })).status, 200);
    const reply = await propose(tenant, { engine: 'closure', action: 'terminate', target: 'agent/idle', environment: 'prod' });
    const { approvalId, executionArn, proposalId } = reply.body.result;
    const escalated = await eventually('the escalation', async () => {
      const approval = await pendingApproval(tenant, approvalId);
      return approval.escalated ? approval : undefined;
    }, 20_000, 250);
    assert.equal(escalated.group, 'admin');
    const approverVote = await as(tenant, 'bob', ['approver'], 'POST', '/governance/approvals', { parameters: { approvalId, decision: 'approve', reason: 'late' } });
    assert.equal(approverVote.status, 403, 'an escalated approval needs an admin');
    assert.match(await executionStatus(executionArn), /^FAILED ApprovalTimedOut/);
    const final = await settled(tenant, proposalId);
    assert.equal(final.status, 'timed-out');
    const [timedOut] = (await as(tenant, 'viewer', ['viewer'], 'GET', '/governance/approvals?status=timed-out')).body.result.approvals;
    assert.equal(timedOut.approvalId, approvalId, 'the approval ends in the state its execution ended in');
    const afterwards = await as(tenant, 'root', ['admin'], 'POST', '/governance/approvals', { parameters: { approvalId, decision: 'approve', reason: 'too late' } });
    assert.equal(afterwards.status, 409);
    const escalations = await recorded(tenant, 'governance.approval.escalated');
    assert.ok(escalations.some((event) => event.detail.approvalId === approvalId));
  });

  it('refuses every actuation with 423 while the kill switch is on, and resumes after', async () => {
    const tenant = freshTenant('gov');
    const on = await as(tenant, 'root', ['admin'], 'PUT', '/governance/killswitch', { parameters: { enabled: true, reason: 'incident 42' } });
    assert.equal(on.status, 200, JSON.stringify(on.body));
    const refused = await propose(tenant, { engine: 'reflex', action: 'restart', target: 'endpoint/chat', environment: 'dev' });
    assert.equal(refused.status, 423);
    assert.match(refused.body.message, /kill switch.*incident 42/);
    const observation = await as(tenant, 'alice', ['operator'], 'GET', '/governance/killswitch');
    assert.equal(observation.status, 200, 'reads go on');
    assert.equal(observation.body.result.tenant.enabled, true);
    await as(tenant, 'root', ['admin'], 'PUT', '/governance/killswitch', { parameters: { enabled: false, reason: 'incident over' } });
    const again = await propose(tenant, { engine: 'reflex', action: 'restart', target: 'endpoint/chat', environment: 'dev' });
    assert.equal(again.status, 200);
    const changes = await recorded(tenant, 'governance.killswitch.changed', 2);
    assert.deepEqual(changes.map((event) => event.detail.enabled).sort(), [false, true]);
  });

  it('fails a waiting gate closed when the kill switch goes on before the quorum', async () => {
    const tenant = freshTenant('gov');
    assert.equal((await setConfig(tenant, { minApprovals: { high: 1 } })).status, 200);
    const reply = await propose(tenant, { engine: 'closure', action: 'terminate', target: 'agent/switch', environment: 'prod' });
    const { approvalId, proposalId } = reply.body.result;
    await pendingApproval(tenant, approvalId);
    await as(tenant, 'root', ['admin'], 'PUT', '/governance/killswitch', { parameters: { enabled: true, reason: 'freeze everything' } });
    const vote = await as(tenant, 'bob', ['approver'], 'POST', '/governance/approvals', { parameters: { approvalId, decision: 'approve', reason: 'ok' } });
    assert.equal(vote.status, 423, 'no gate resumes while the switch is on');
    await as(tenant, 'root', ['admin'], 'PUT', '/governance/killswitch', { parameters: { enabled: false, reason: 'over' } });
    const resumed = await as(tenant, 'bob', ['approver'], 'POST', '/governance/approvals', { parameters: { approvalId, decision: 'approve', reason: 'ok now' } });
    assert.equal(resumed.status, 200);
    assert.equal((await settled(tenant, proposalId)).status, 'approved');
  });

  it('routes by autonomy level: level 1 sends even a low-risk repair to people', async () => {
    const tenant = freshTenant('gov');
    const set = await as(tenant, 'root', ['admin'], 'PUT', '/governance/autonomy', { parameters: { level: 1 } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body.result, { level: 1, previous: 2 });
    const notAdmin = await as(tenant, 'alice', ['operator'], 'PUT', '/governance/autonomy', { parameters: { level: 4 } });
    assert.equal(notAdmin.status, 403);
    const reply = await propose(tenant, { engine: 'reflex', action: 'restart', target: 'endpoint/chat', environment: 'dev' });
    assert.equal(reply.status, 202);
    assert.equal(reply.body.result.route, 'human-approval');
    const changes = await recorded(tenant, 'governance.autonomy.changed');
    assert.equal(changes[0]?.detail.to, 1);
  });

  it('refuses a bad proposal with a 400 naming the field, and an unknown actuation', async () => {
    const tenant = freshTenant('gov');
    const bad = await propose(tenant, { engine: 'reflex', action: 'restart', target: '', environment: 'moon' });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.issues.map((issue: { path: string }) => issue.path).sort(), ['body.parameters.environment', 'body.parameters.target']);
    const unknown = await propose(tenant, { engine: 'reflex', action: 'explode', target: 'x', environment: 'dev' });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /not a governed actuation/);
  });

  it('keeps the gate in the Step Functions console readable: the name is the approval id, the input says what waits', async () => {
    const tenant = freshTenant('gov');
    const reply = await propose(tenant, { engine: 'closure', action: 'terminate', target: 'agent/console', environment: 'prod' });
    const output = await sfn.send(new DescribeExecutionCommand({ executionArn: reply.body.result.executionArn }));
    assert.equal(output.name, reply.body.result.approvalId);
    const input = JSON.parse(output.input ?? '{}');
    assert.deepEqual([input.tenant, input.proposalId, input.route], [tenant, reply.body.result.proposalId, 'human-approval']);
    assert.ok(testCloud().resources.stateMachines.GovernanceGateStateMachine);
  });

  it('locks actuation on a changed constitution until another admin ratifies it, and judges proposals under its hash', async () => {
    const tenant = freshTenant('gov');
    const text = '# Constitution\n\nNever terminate a serving endpoint without two approvers.\n';
    const published = await as(tenant, 'root', ['admin'], 'PUT', '/governance/constitution', { parameters: { text } });
    assert.equal(published.status, 202, JSON.stringify(published.body));
    const { version, hash } = published.body.result;
    assert.equal(hash, createHash('sha256').update(text).digest('hex'));
    const locked = await propose(tenant, { engine: 'reflex', action: 'restart', target: 'endpoint/chat', environment: 'dev' });
    assert.equal(locked.status, 423);
    assert.match(locked.body.message, /waits for ratification/);
    const byAuthor = await as(tenant, 'root', ['admin'], 'POST', '/governance/constitution', { parameters: { version, decision: 'ratify' } });
    assert.equal(byAuthor.status, 403, 'the author never ratifies');
    const byOperator = await as(tenant, 'alice', ['operator'], 'POST', '/governance/constitution', { parameters: { version, decision: 'ratify' } });
    assert.equal(byOperator.status, 403);
    const ratified = await as(tenant, 'second-admin', ['admin'], 'POST', '/governance/constitution', { parameters: { version, decision: 'ratify' } });
    assert.equal(ratified.status, 200, JSON.stringify(ratified.body));
    assert.equal(ratified.body.result.ratified, true);
    const read = await as(tenant, 'viewer', ['viewer'], 'GET', '/governance/constitution');
    assert.equal(read.body.result.text, text);
    const judged = await propose(tenant, { engine: 'reflex', action: 'restart', target: 'endpoint/chat', environment: 'dev' });
    assert.equal(judged.status, 200);
    assert.equal(judged.body.result.constitutionHash, hash);
    const changes = await recorded(tenant, 'governance.constitution.changed', 2);
    assert.deepEqual(changes.map((event) => event.detail.state).sort(), ['proposed', 'ratified']);
  });

  it("keeps every governance decision in the tenant's ledger, and the ledger verifies", async () => {
    const tenant = freshTenant('gov');
    await as(tenant, 'root', ['admin'], 'PUT', '/governance/autonomy', { parameters: { level: 3 } });
    const auto = await propose(tenant, { engine: 'reflex', action: 'restart', target: 'endpoint/chat', environment: 'dev' });
    const gated = await propose(tenant, { engine: 'closure', action: 'terminate', target: 'agent/old', environment: 'prod' });
    await pendingApproval(tenant, gated.body.result.approvalId);
    await as(tenant, 'bob', ['approver'], 'POST', '/governance/approvals', { parameters: { approvalId: gated.body.result.approvalId, decision: 'reject', reason: 'no' } });
    await settled(tenant, gated.body.result.proposalId);
    const events = await recorded(tenant, 'governance.proposal.settled');
    assert.ok(events.some((event) => event.detail.proposalId === gated.body.result.proposalId && event.detail.status === 'rejected'));
    const all = await ledgerEvents(tenant, 'governance');
    const types = new Set(all.map((event) => event.detailType));
    for (const type of ['governance.autonomy.changed', 'governance.proposal.evaluated', 'governance.approval.requested', 'governance.approval.decided', 'governance.proposal.settled']) {
      assert.ok(types.has(type), `${type} in the ledger`);
    }
    const evaluated = all.filter((event) => event.detailType === 'governance.proposal.evaluated').map((event) => event.detail.proposalId);
    assert.equal(evaluated.filter((id) => id === auto.body.result.proposalId).length, 1, 'recorded once, though published and appended from the bus too');
    const verify = await as(tenant, 'viewer', ['viewer'], 'GET', '/audit/verify?stream=events.governance');
    assert.equal(verify.status, 200, JSON.stringify(verify.body));
    assert.equal(verify.body.result.intact, true);
  });
});
