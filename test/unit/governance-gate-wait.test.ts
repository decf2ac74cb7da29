/**
 * Waiting at a governance gate with a task token (lib/governance/gate-wait.ts) on in-memory ports:
 * the wait kept before the proposal is read, the token sent back at once for a settled proposal (or
 * when the owner stops waiting), kept while pending and sent on the settled event, a missing
 * proposal failing the task, a task that stopped waiting left alone, one owner per proposal.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ConflictError, type ValidationError } from '../../lib/errors.ts';
import {
  awaitSettlement,
  GATE_WAIT_GRACE_SECONDS,
  type GateWaitDeps,
  type GateWaitRequest,
  gateWaitOf,
  MAX_GATE_OUTPUT_BYTES,
  PROPOSAL_NOT_FOUND,
  resumeSettled,
  settlementOf,
  wake,
} from '../../lib/governance/gate-wait.ts';
import type { ProposalInput } from '../../lib/governance/model.ts';
import { type Proposer, propose, transition } from '../../lib/governance/proposals.ts';
import {
  fixedPolicy,
  type MemoryGovernanceStore,
  type MemoryOutbox,
  memoryGateWaits,
  memoryGovernanceStore,
  memoryOutbox,
  recordingGate,
  recordingWorkflow,
  staticGraph,
} from '../helpers/governance-memory.ts';

const T0 = new Date('2026-12-01T10:00:00.000Z');
const alice: Proposer = { kind: 'user', id: 'alice', tenant: 'acme', roles: ['operator'] };
// A termination in prod always waits for people.
const HUMAN: ProposalInput = {
  engine: 'closure',
  action: 'terminate',
  target: 'capsule/legacy',
  environment: 'prod',
  parameters: {},
  reason: 'retired',
};

let outbox: MemoryOutbox;
let store: MemoryGovernanceStore;
let waits: ReturnType<typeof memoryGateWaits>;
let workflow: ReturnType<typeof recordingWorkflow>;
let deps: GateWaitDeps;

beforeEach(() => {
  outbox = memoryOutbox();
  store = memoryGovernanceStore(outbox);
  waits = memoryGateWaits();
  workflow = recordingWorkflow();
  deps = { waits, proposals: store, callbacks: workflow, now: T0 };
});

async function pending(proposalId: string): Promise<string> {
  const deps = { store, policy: fixedPolicy({ decision: 'allow', policies: ['p'], errors: [], version: 0, breakGlass: false }) };
  const { proposal } = await propose(HUMAN, alice, {
    ...deps,
    components: staticGraph(),
    gate: recordingGate(),
    outbox,
    now: T0,
    newId: () => proposalId,
  });
  assert.equal(proposal.status, 'pending');
  return proposalId;
}

const settle = (proposalId: string, to: 'approved' | 'rejected') =>
  transition('acme', proposalId, to, { reasons: [`${to} by bob`], actor: 'bob', from: ['pending'] }, { store, outbox, now: T0 });

const request = (proposalId: string, extra: Partial<GateWaitRequest> = {}): GateWaitRequest => ({
  tenant: 'acme',
  proposalId,
  taskToken: `token-${proposalId}`,
  owner: 'reflex:self-repair',
  output: { state: { next: 'check', round: 1 } },
  timeoutSeconds: 900,
  ...extra,
});

describe('governance gate waits: rules', () => {
  it('expire the machine’s timeout and a day after the step; refuse an owner not <engine>:<machine> and an output over the bound, naming the field', () => {
    const wait = gateWaitOf(request('p-1'), T0);
    assert.equal(wait.expiresAt, T0.getTime() / 1000 + 900 + GATE_WAIT_GRACE_SECONDS);
    assert.throws(
      () => gateWaitOf(request('p-1', { owner: 'Reflex' }), T0),
      (error: ValidationError) => error.issues[0]?.path === 'owner',
    );
    const big = { blob: 'x'.repeat(MAX_GATE_OUTPUT_BYTES) };
    assert.throws(
      () => gateWaitOf(request('p-1', { output: big }), T0),
      (error: ValidationError) => error.issues[0]?.path === 'output',
    );
  });

  it('send the owner’s output for every state but pending, and fail the task when the proposal does not exist', () => {
    const wait = { tenant: 'acme', proposalId: 'p-1', output: { next: 'level' } };
    for (const state of ['approved', 'rejected', 'timed-out', 'refused', 'executed', 'failed'] as const)
      assert.deepEqual(settlementOf(wait, state), { kind: 'succeed', output: { next: 'level' } }, state);
    assert.equal(settlementOf(wait, 'pending'), undefined);
    assert.equal(settlementOf(wait, undefined)?.kind, 'fail');
    assert.equal((settlementOf(wait, undefined) as { error: string }).error, PROPOSAL_NOT_FOUND);
  });
});

describe('governance gate waits', () => {
  it('resume at once, with the owner’s output, a task whose proposal is settled already, and drop the wait', async () => {
    const id = await pending('p-1');
    await settle(id, 'approved');
    assert.equal(await awaitSettlement(request(id), deps), 'resumed');
    assert.deepEqual(workflow.calls, [{ kind: 'succeed', token: 'token-p-1', output: { state: { next: 'check', round: 1 } } }]);
    assert.equal(waits.items.size, 0);
    assert.equal(await resumeSettled({ tenant: 'acme', proposalId: id, status: 'approved' }, deps), 'none');
  });

  it('keep a pending proposal’s task waiting, then resume it once on the settled event; a later event finds none', async () => {
    const id = await pending('p-2');
    assert.equal(await awaitSettlement(request(id), deps), 'waiting');
    assert.equal(workflow.calls.length, 0);
    assert.equal(await resumeSettled({ tenant: 'acme', proposalId: id, status: 'pending' }, deps), 'waiting');
    assert.equal(await resumeSettled({ tenant: 'acme', proposalId: 'other', status: 'approved' }, deps), 'none');
    await settle(id, 'rejected');
    assert.equal(await resumeSettled({ tenant: 'acme', proposalId: id, status: 'rejected' }, deps), 'resumed');
    assert.deepEqual(
      workflow.calls.map((call) => [call.kind, call.token]),
      [['succeed', 'token-p-2']],
    );
    assert.equal(await resumeSettled({ tenant: 'acme', proposalId: id, status: 'rejected' }, deps), 'none');
  });

  it('fail the task with ProposalNotFound when the proposal does not exist', async () => {
    assert.equal(await awaitSettlement(request('missing'), deps), 'resumed');
    assert.deepEqual(
      workflow.calls.map((call) => [call.kind, call.kind === 'fail' ? call.error : '']),
      [['fail', PROPOSAL_NOT_FOUND]],
    );
  });

  it('resume at once when the owner stops waiting (asked only while the proposal is pending), and wake only the owner’s wait', async () => {
    const id = await pending('p-3');
    let asked = 0;
    const stop = async () => {
      asked += 1;
      return true;
    };
    assert.equal(await awaitSettlement(request(id), deps, stop), 'resumed');
    assert.equal(asked, 1);
    const other = await pending('p-4');
    assert.equal(await awaitSettlement(request(other, { owner: 'migration:run' }), deps, async () => false), 'waiting');
    assert.equal(await wake('acme', other, 'reflex:self-repair', deps), 'none');
    assert.equal(await wake('acme', other, 'migration:run', deps), 'resumed');
    assert.deepEqual(
      workflow.calls.map((call) => call.token),
      ['token-p-3', 'token-p-4'],
    );
    const settledId = await pending('p-5');
    await settle(settledId, 'approved');
    await awaitSettlement(request(settledId), deps, async () => {
      asked += 1;
      return false;
    });
    assert.equal(asked, 1, 'a settled proposal needs no owner check');
  });

  it('leave a task that stopped waiting alone (gone) and drop its wait; keep a newer token when an older one is sent', async () => {
    const id = await pending('p-6');
    assert.equal(await awaitSettlement(request(id), deps), 'waiting');
    workflow.closed = true;
    assert.equal(await resumeSettled({ tenant: 'acme', proposalId: id, status: 'approved' }, deps), 'gone');
    assert.equal(waits.items.size, 0);
    workflow.closed = false;
    await awaitSettlement(request(id, { taskToken: 'old' }), deps);
    const old = await waits.get('acme', id);
    await awaitSettlement(request(id, { taskToken: 'new' }), deps);
    await waits.remove('acme', id, old?.taskToken ?? '');
    assert.equal((await waits.get('acme', id))?.taskToken, 'new');
  });

  it('refuse a second owner for the same proposal (409), and let the same owner register again (a retried step)', async () => {
    const id = await pending('p-7');
    await awaitSettlement(request(id), deps);
    await assert.rejects(awaitSettlement(request(id, { owner: 'capsules:plan' }), deps), ConflictError);
    assert.equal(await awaitSettlement(request(id, { taskToken: 'retry' }), deps), 'waiting');
  });
});
