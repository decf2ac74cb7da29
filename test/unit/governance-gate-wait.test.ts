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
  gateDecision,
  gateWaitOf,
  MAX_GATE_OUTPUT_BYTES,
  PROPOSAL_NOT_FOUND,
  resumeSettled,
  wake,
} from '../../lib/governance/gate-wait.ts';
import { type Proposer, propose, transition } from '../../lib/governance/proposals.ts';
import type { MemoryGovernanceStore, MemoryOutbox } from '../helpers/governance-memory.ts';
import {
  fixedPolicy,
  memoryGateWaits,
  memoryGovernanceStore,
  memoryOutbox,
  recordingGate,
  recordingWorkflow,
  staticGraph,
} from '../helpers/governance-memory.ts';

const T0 = new Date('2026-12-01T10:00:00.000Z');
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

/** A proposal waiting for people (a termination in prod always does), optionally settled. */
async function proposal(id: string, settle?: 'approved' | 'rejected'): Promise<string> {
  const policy = fixedPolicy({ decision: 'allow', policies: ['p'], errors: [], version: 0, breakGlass: false });
  const input = {
    engine: 'closure',
    action: 'terminate',
    target: 'capsule/x',
    environment: 'prod',
    parameters: {},
    reason: 'retired',
  } as const;
  const proposer: Proposer = { kind: 'user', id: 'alice', tenant: 'acme', roles: ['operator'] };
  await propose(input, proposer, { store, policy, components: staticGraph(), gate: recordingGate(), outbox, now: T0, newId: () => id });
  if (settle)
    await transition('acme', id, settle, { reasons: [`${settle} by bob`], actor: 'bob', from: ['pending'] }, { store, outbox, now: T0 });
  return id;
}

const request = (proposalId: string, extra: Partial<GateWaitRequest> = {}): GateWaitRequest => ({
  tenant: 'acme',
  proposalId,
  taskToken: `token-${proposalId}`,
  owner: 'reflex:self-repair',
  output: { state: { next: 'check' } },
  timeoutSeconds: 900,
  ...extra,
});
const sent = () => workflow.calls.map((call) => [call.kind, call.token, call.kind === 'fail' ? call.error : '']);

describe('governance gate waits', () => {
  it('expire the machine’s timeout and a day after the step; refuse an owner not <engine>:<machine> and an output over the bound, naming the field', () => {
    assert.equal(gateWaitOf(request('p-1'), T0).expiresAt, T0.getTime() / 1000 + 900 + GATE_WAIT_GRACE_SECONDS);
    const field = (path: string) => (error: ValidationError) => error.issues[0]?.path === path;
    assert.throws(() => gateWaitOf(request('p-1', { owner: 'Reflex' }), T0), field('owner'));
    assert.throws(() => gateWaitOf(request('p-1', { output: { blob: 'x'.repeat(MAX_GATE_OUTPUT_BYTES) } }), T0), field('output'));
  });

  it('read the decision: approved (also executed or failed), pending, or why not', () => {
    const of = (status: 'approved' | 'executed' | 'failed' | 'pending' | 'rejected' | 'timed-out' | 'refused') =>
      gateDecision({ proposalId: 'p-1', status, reasons: ['by ann'] });
    assert.deepEqual(
      ['approved', 'executed', 'failed', 'pending'].map((status) => of(status as 'approved').decision),
      ['approved', 'approved', 'approved', 'pending'],
    );
    assert.deepEqual(of('rejected'), { decision: 'rejected', reason: 'proposal p-1 was rejected: by ann' });
    assert.deepEqual(
      [of('timed-out').decision, of('refused').decision, gateDecision(undefined).decision],
      ['timed-out', 'refused', 'missing'],
    );
  });

  it('resume at once, with the owner’s output, a task whose proposal is settled already, and drop the wait', async () => {
    const id = await proposal('p-1', 'approved');
    assert.equal(await awaitSettlement(request(id), deps, async () => assert.fail('a settled proposal needs no owner check')), 'resumed');
    assert.deepEqual(workflow.calls, [{ kind: 'succeed', token: 'token-p-1', output: { state: { next: 'check' } } }]);
    assert.equal(await resumeSettled({ tenant: 'acme', proposalId: id, status: 'approved' }, deps), 'none');
  });

  it('keep a pending proposal’s task waiting, then resume it once on the settled event', async () => {
    const id = await proposal('p-2');
    assert.equal(await awaitSettlement(request(id), deps, async () => false), 'waiting');
    assert.equal(await resumeSettled({ tenant: 'acme', proposalId: id, status: 'pending' }, deps), 'waiting');
    assert.equal(await resumeSettled({ tenant: 'acme', proposalId: 'other', status: 'rejected' }, deps), 'none');
    assert.equal(await resumeSettled({ tenant: 'acme', proposalId: id, status: 'rejected' }, deps), 'resumed');
    assert.equal(await resumeSettled({ tenant: 'acme', proposalId: id, status: 'rejected' }, deps), 'none');
    assert.deepEqual(sent(), [['succeed', 'token-p-2', '']]);
  });

  it('fail the task with ProposalNotFound when the proposal does not exist', async () => {
    assert.equal(await awaitSettlement(request('missing'), deps), 'resumed');
    assert.deepEqual(sent(), [['fail', 'token-missing', PROPOSAL_NOT_FOUND]]);
  });

  it('resume at once when the owner stops waiting, and wake only the owner’s wait', async () => {
    assert.equal(await awaitSettlement(request(await proposal('p-3')), deps, async () => true), 'resumed');
    const other = await proposal('p-4');
    assert.equal(await awaitSettlement(request(other, { owner: 'migration:run' }), deps), 'waiting');
    assert.equal(await wake('acme', other, 'reflex:self-repair', deps), 'none');
    assert.equal(await wake('acme', other, 'migration:run', deps), 'resumed');
    assert.deepEqual(sent(), [
      ['succeed', 'token-p-3', ''],
      ['succeed', 'token-p-4', ''],
    ]);
  });

  it('leave a task that stopped waiting alone (gone), drop its wait, and keep a newer token when an older one is sent', async () => {
    const id = await proposal('p-6');
    await awaitSettlement(request(id), deps);
    workflow.closed = true;
    assert.equal(await resumeSettled({ tenant: 'acme', proposalId: id, status: 'approved' }, deps), 'gone');
    assert.equal(waits.items.size, 0);
    await awaitSettlement(request(id, { taskToken: 'new' }), deps);
    await waits.remove('acme', id, 'old');
    assert.equal((await waits.get('acme', id))?.taskToken, 'new');
  });

  it('refuse a second owner for the same proposal (409), and let the same owner register again (a retried step)', async () => {
    const id = await proposal('p-7');
    await awaitSettlement(request(id), deps);
    await assert.rejects(awaitSettlement(request(id, { owner: 'capsules:plan' }), deps), ConflictError);
    assert.equal(await awaitSettlement(request(id, { taskToken: 'retry' }), deps), 'waiting');
  });
});
