/**
 * Withdrawing a pending proposal (lib/governance/proposals.ts `withdraw`) on in-memory ports: its
 * proposer or an admin only, pending ones only; the proposal is refused with the withdrawal's
 * reason, its approval refused, and the gate task waiting on the approval fails with
 * `ProposalWithdrawn` (a gate that stopped waiting is fine).
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ConflictError, DependencyError, ForbiddenError, NotFoundError } from '../../lib/errors.ts';
import { approvalIdOf, approvalRequestSchema, openOrEscalate } from '../../lib/governance/approvals.ts';
import type { PolicyDecision, ProposalInput } from '../../lib/governance/model.ts';
import { approvalSubjectOf, isWithdrawn, PROPOSAL_WITHDRAWN, type ProposalDeps, type Proposer, propose, type WithdrawDeps, withdraw } from '../../lib/governance/proposals.ts';
import {
  fixedPolicy,
  type MemoryApprovalStore,
  type MemoryGovernanceStore,
  type MemoryOutbox,
  memoryApprovalStore,
  memoryGovernanceStore,
  memoryOutbox,
  recordingGate,
  recordingWorkflow,
  staticGraph,
} from '../helpers/governance-memory.ts';

const T0 = new Date('2026-12-01T10:00:00.000Z');
const ALLOW: PolicyDecision = { decision: 'allow', policies: ['base-operator'], errors: [], version: 0, breakGlass: false };
const alice: Proposer = { kind: 'user', id: 'alice', tenant: 'acme', roles: ['operator'] };
// A termination in prod always waits for people; scaling passes L3 validation (no approval).
const HUMAN: ProposalInput = { engine: 'closure', action: 'terminate', target: 'capsule/legacy-batch', environment: 'prod', parameters: {}, reason: 'retired' };
const L3: ProposalInput = { engine: 'replication', action: 'scale', target: 'endpoint/embed', environment: 'dev', parameters: { replicas: 4 }, reason: 'load' };

let outbox: MemoryOutbox;
let store: MemoryGovernanceStore;
let approvals: MemoryApprovalStore;
let workflow: ReturnType<typeof recordingWorkflow>;
let proposing: ProposalDeps;
let deps: WithdrawDeps;

beforeEach(() => {
  outbox = memoryOutbox();
  store = memoryGovernanceStore(outbox);
  approvals = memoryApprovalStore(outbox);
  workflow = recordingWorkflow();
  let ids = 0;
  proposing = {
    store,
    policy: fixedPolicy(ALLOW),
    components: staticGraph(),
    gate: recordingGate(),
    outbox,
    now: T0,
    newId: () => {
      ids += 1;
      return `p-${ids}`;
    },
  };
  deps = { store, outbox, approvals, approvalOutbox: outbox, workflow, now: new Date(T0.getTime() + 60_000) };
});

/** Proposes a prod termination and opens its approval as the gate's request task would (token `tk-1`). */
async function pendingWithApproval(): Promise<string> {
  const { proposal } = await propose(HUMAN, alice, proposing);
  const request = approvalRequestSchema.parse({
    taskToken: 'tk-1',
    executionArn: 'arn:aws:states:eu-west-1:1:execution:gate:x',
    tenant: 'acme',
    proposalId: proposal.proposalId,
    approvalId: approvalIdOf(proposal.proposalId),
    round: 1,
    timeoutSeconds: 3600,
  });
  const subject = approvalSubjectOf(proposal, 1);

  await openOrEscalate(request, subject, { store: approvals, outbox, now: T0 });
  return proposal.proposalId;
}

describe('withdraw', () => {
  it('by its proposer: the proposal is refused with the reason, its approval refused, the waiting gate task failed with ProposalWithdrawn', async () => {
    const id = await pendingWithApproval();
    const withdrawn = await withdraw('acme', id, { actor: 'alice', reason: 'not needed any more' }, deps);
    assert.equal(withdrawn.status, 'refused');
    assert.equal(withdrawn.reasons.at(-1), 'withdrawn by alice: not needed any more');
    assert.ok(isWithdrawn(withdrawn));
    assert.equal((await store.proposal('acme', id))?.status, 'refused');
    assert.equal((await approvals.get('acme', approvalIdOf(id)))?.status, 'refused');
    assert.deepEqual(workflow.calls, [{ kind: 'fail', token: 'tk-1', error: PROPOSAL_WITHDRAWN, cause: 'withdrawn by alice: not needed any more' }]);
    const settled = outbox.published.filter((event) => event.detailType === 'governance.proposal.settled').at(-1)?.detail;
    assert.deepEqual([settled?.status, settled?.actor], ['refused', 'alice']);
  });

  it('by an admin who did not propose it', async () => {
    const id = await pendingWithApproval();
    const withdrawn = await withdraw('acme', id, { actor: 'bob', roles: ['admin'], reason: 'duplicate' }, deps);
    assert.equal(withdrawn.reasons.at(-1), 'withdrawn by bob: duplicate');
    assert.equal(workflow.calls.length, 1);
  });

  it('refuses anyone else (403) and changes nothing', async () => {
    const id = await pendingWithApproval();
    await assert.rejects(withdraw('acme', id, { actor: 'mallory', roles: ['operator', 'approver'], reason: 'mine now' }, deps), ForbiddenError);
    assert.equal((await store.proposal('acme', id))?.status, 'pending');
    assert.equal((await approvals.get('acme', approvalIdOf(id)))?.status, 'pending');
    assert.deepEqual(workflow.calls, []);
  });

  it('answers 409 for a proposal that is not pending (a second withdrawal too) and 404 for an unknown one or another tenant', async () => {
    const id = await pendingWithApproval();
    await withdraw('acme', id, { actor: 'alice', reason: 'first' }, deps);
    await assert.rejects(withdraw('acme', id, { actor: 'alice', reason: 'again' }, deps), ConflictError);
    const { proposal } = await propose({ ...HUMAN, engine: 'reflex', action: 'restart', target: 'endpoint/chat', environment: 'dev' }, alice, proposing);
    assert.equal(proposal.status, 'approved');
    await assert.rejects(withdraw('acme', proposal.proposalId, { actor: 'alice', reason: 'late' }, deps), ConflictError);
    await assert.rejects(withdraw('acme', 'p-99', { actor: 'alice', reason: 'x' }, deps), NotFoundError);
    await assert.rejects(withdraw('globex', id, { actor: 'alice', reason: 'x' }, deps), NotFoundError);
    assert.equal(workflow.calls.length, 1);
  });

  it('tolerates a gate that stopped waiting (GateClosedError), but not another failure of Step Functions', async () => {
    const id = await pendingWithApproval();
    workflow.closed = true;
    const withdrawn = await withdraw('acme', id, { actor: 'alice', reason: 'gate gone' }, deps);
    assert.equal(withdrawn.status, 'refused');
    assert.equal((await approvals.get('acme', approvalIdOf(id)))?.status, 'refused');
    const other = await pendingWithApproval();
    workflow.closed = false;
    workflow.failWith = new DependencyError('StepFunctions: throttled');
    await assert.rejects(withdraw('acme', other, { actor: 'alice', reason: 'x' }, deps), DependencyError);
  });

  it('just refuses an L3-route proposal (no approval, no task token)', async () => {
    const { proposal } = await propose(L3, alice, proposing);
    assert.deepEqual([proposal.status, proposal.route, proposal.approvalId], ['pending', 'l3-validation', undefined]);
    const withdrawn = await withdraw('acme', proposal.proposalId, { actor: 'alice', reason: 'load passed' }, deps);
    assert.equal(withdrawn.status, 'refused');
    assert.deepEqual(workflow.calls, []);
  });
});
