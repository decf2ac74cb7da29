/**
 * Proposals (lib/governance/proposals.ts), the one governed path of every actuation, on in-memory
 * ports: the three routes, every refusal (kill switches, an unratified constitution, Cedar, an
 * unknown actuation, a gate that cannot start) recorded before it is thrown, state transitions, and
 * reported outcomes feeding the failure rate of the next assessment.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ConflictError, DependencyError, ForbiddenError, LockedError, NotFoundError, ValidationError } from '../../lib/errors.ts';
import { approvalIdOf } from '../../lib/governance/approvals.ts';
import type { PolicyDecision, ProposalInput } from '../../lib/governance/model.ts';
import { type ProposalDeps, type Proposer, propose, reportOutcome, transition } from '../../lib/governance/proposals.ts';
import { defaultSettings, type TenantSettings } from '../../lib/governance/settings.ts';
import {
  fixedPolicy,
  type MemoryGovernanceStore,
  type MemoryOutbox,
  memoryGovernanceStore,
  memoryOutbox,
  recordingGate,
  staticGraph,
} from '../helpers/governance-memory.ts';

const T0 = new Date('2026-12-01T10:00:00.000Z');
const ALLOW: PolicyDecision = { decision: 'allow', policies: ['base-operator'], errors: [], version: 0, breakGlass: false };
const operator: Proposer = { kind: 'user', id: 'alice', tenant: 'acme', roles: ['operator'] };

const input = (overrides: Partial<ProposalInput> = {}): ProposalInput => ({
  engine: 'reflex',
  action: 'restart',
  target: 'endpoint/chat',
  environment: 'dev',
  parameters: {},
  reason: 'p99 latency 4x baseline',
  ...overrides,
});
// At the default autonomy level (2): a restart in dev is low risk (autonomous), scaling always passes
// L3 validation, a termination always waits for people.
const AUTONOMOUS = input();
const L3 = input({ engine: 'replication', action: 'scale', target: 'endpoint/embed', parameters: { replicas: 4 } });
const HUMAN = input({ engine: 'closure', action: 'terminate', target: 'capsule/legacy-batch', environment: 'prod' });

let outbox: MemoryOutbox;
let store: MemoryGovernanceStore;
let policy: ReturnType<typeof fixedPolicy>;
let gate: ReturnType<typeof recordingGate>;
let ids: number;
let deps: ProposalDeps;

beforeEach(() => {
  outbox = memoryOutbox();
  store = memoryGovernanceStore(outbox);
  policy = fixedPolicy(ALLOW);
  gate = recordingGate();
  ids = 0;
  deps = {
    store,
    policy,
    components: staticGraph({ 'endpoint/chat': ['ui/web', 'api/public'] }),
    gate,
    outbox,
    now: T0,
    newId: () => {
      ids += 1;
      return `p-${ids}`;
    },
  };
});

const setSettings = (change: Partial<TenantSettings>, tenant = 'acme') =>
  store.settingsOf.set(tenant, { ...defaultSettings(tenant), ...change, version: 1 });
const storedProposal = async (id: string) => {
  const proposal = await store.proposal('acme', id);
  assert.ok(proposal, `proposal ${id} is stored`);
  return proposal;
};
const evaluated = () =>
  outbox.published.filter((event) => event.detailType === 'governance.proposal.evaluated').map((event) => event.detail);

describe('propose: routes', () => {
  it('approves a low-risk actuation autonomously (200), records the evaluation in the ledger and publishes it', async () => {
    const outcome = await propose(AUTONOMOUS, operator, deps);
    assert.equal(outcome.statusCode, 200);
    assert.equal(outcome.proposal.status, 'approved');
    assert.equal(outcome.proposal.route, 'autonomous');
    assert.equal(outcome.proposal.approvalId, undefined);
    assert.deepEqual(outcome.proposal.ledger, { tenant: 'acme', stream: 'governance', seq: 0 });
    assert.deepEqual(await storedProposal('p-1'), outcome.proposal);
    assert.deepEqual(
      evaluated().map((detail) => [detail.proposalId, detail.status, detail.route]),
      [['p-1', 'approved', 'autonomous']],
    );
    assert.equal(outbox.recorded.length, 1);
    assert.equal(outbox.waiting.size, 0);
    assert.deepEqual(gate.started, []);
  });

  it('scores the blast radius from the component graph and asks Cedar with the proposer, the operation and the risk', async () => {
    const outcome = await propose(AUTONOMOUS, operator, deps);
    const radius = outcome.proposal.assessment.factors.find((factor) => factor.name === 'blast-radius');
    assert.deepEqual([radius?.value, radius?.contribution], [2, 0.08]);
    assert.equal(policy.asked.length, 1);
    const asked = policy.asked[0];
    assert.equal(asked?.tenant, 'acme');
    assert.equal(asked?.policyVersion, 0);
    assert.deepEqual(asked?.request.principal, operator);
    assert.equal(asked?.request.operation, 'repair');
    assert.equal(asked?.request.blastRadius, 2);
    assert.equal(asked?.request.riskScore, outcome.proposal.assessment.score);
    assert.deepEqual(outcome.proposal.policy, ALLOW);
  });

  it('sends an always-human actuation to people (202): the gate is named after the approval and carries the timeouts', async () => {
    setSettings({ config: { ...defaultSettings('acme').config, approvalTimeoutSeconds: 3600, escalationTimeoutSeconds: 600 } });
    const outcome = await propose(HUMAN, operator, deps);
    assert.equal(outcome.statusCode, 202);
    const proposal = outcome.proposal;
    assert.equal(proposal.status, 'pending');
    assert.equal(proposal.route, 'human-approval');
    assert.equal(proposal.approvalId, approvalIdOf('p-1'));
    assert.deepEqual(gate.started, [
      {
        name: approvalIdOf('p-1'),
        input: {
          tenant: 'acme',
          proposalId: 'p-1',
          approvalId: approvalIdOf('p-1'),
          route: 'human-approval',
          gate: { timeoutSeconds: 3600, escalationSeconds: 600 },
          validation: null,
          error: null,
          approval: null,
        },
      },
    ]);
    assert.match(proposal.executionArn ?? '', new RegExp(`:${approvalIdOf('p-1')}$`));
    assert.deepEqual(await storedProposal('p-1'), proposal, 'the stored proposal carries the execution ARN');
    assert.deepEqual(
      evaluated().map((detail) => [detail.status, detail.route]),
      [['pending', 'human-approval']],
    );
  });

  it('sends an L3-boundary actuation to validation (202): the gate is named validation-<id> and no approval is named', async () => {
    const outcome = await propose(L3, operator, deps);
    assert.equal(outcome.statusCode, 202);
    assert.equal(outcome.proposal.route, 'l3-validation');
    assert.equal(outcome.proposal.approvalId, undefined);
    assert.deepEqual(
      gate.started.map((start) => [start.name, start.input.route]),
      [['validation-p-1', 'l3-validation']],
    );
    assert.ok(outcome.proposal.executionArn);
  });
});

describe('propose: refusals are recorded, then thrown', () => {
  it('refuses with 423 while the tenant kill switch is on, storing the proposal as refused without asking Cedar', async () => {
    setSettings({ killSwitch: { enabled: true, reason: 'incident 42', by: 'root', at: T0.toISOString() } });
    await assert.rejects(
      propose(AUTONOMOUS, operator, deps),
      (error: unknown) =>
        error instanceof LockedError && /kill switch of tenant acme/.test(error.message) && /p-1 refused/.test(error.message),
    );
    const proposal = await storedProposal('p-1');
    assert.equal(proposal.status, 'refused');
    assert.match(proposal.reasons[0] ?? '', /incident 42/);
    assert.deepEqual(policy.asked, []);
    assert.deepEqual(gate.started, []);
    assert.deepEqual(
      evaluated().map((detail) => detail.status),
      ['refused'],
    );
  });

  it('refuses with 423 while the global kill switch is on', async () => {
    setSettings({ killSwitch: { enabled: true, reason: 'region outage', by: 'system-operator', at: T0.toISOString() } }, 'system');
    await assert.rejects(
      propose(AUTONOMOUS, operator, deps),
      (error: unknown) => error instanceof LockedError && /global kill switch/.test(error.message),
    );
    assert.equal((await storedProposal('p-1')).status, 'refused');
  });

  it('refuses with 423 while a changed constitution waits for ratification', async () => {
    setSettings({
      constitution: {
        version: 2,
        hash: 'b'.repeat(64),
        key: 'acme/constitution/v2.md',
        author: 'root',
        at: T0.toISOString(),
        ratifiedBy: [],
        ratified: false,
        previousHash: 'a'.repeat(64),
      },
    });
    await assert.rejects(
      propose(AUTONOMOUS, operator, deps),
      (error: unknown) => error instanceof LockedError && /Constitution v2 .* waits for ratification/.test(error.message),
    );
    const proposal = await storedProposal('p-1');
    assert.equal(proposal.status, 'refused');
    assert.equal(proposal.constitutionHash, 'a'.repeat(64), 'judged under the last ratified constitution');
  });

  it('refuses with 403 naming the forbidding policies when Cedar denies, and stores the decision', async () => {
    policy.decision = { decision: 'deny', policies: ['no-restarts-on-friday', 'freeze-chat'], errors: [], version: 3, breakGlass: false };
    await assert.rejects(
      propose(AUTONOMOUS, operator, deps),
      (error: unknown) =>
        error instanceof ForbiddenError &&
        /forbidden by no-restarts-on-friday, freeze-chat/.test(error.message) &&
        /policy set v3/.test(error.message),
    );
    const proposal = await storedProposal('p-1');
    assert.equal(proposal.status, 'refused');
    assert.deepEqual(proposal.policy.policies, ['no-restarts-on-friday', 'freeze-chat']);
    assert.deepEqual(proposal.reasons, ['Cedar: forbidden by no-restarts-on-friday, freeze-chat']);
    assert.deepEqual(gate.started, []);
  });

  it('refuses with 403 when no policy permits the actuation', async () => {
    policy.decision = { decision: 'deny', policies: [], errors: [], version: 1, breakGlass: false };
    await assert.rejects(
      propose(HUMAN, operator, deps),
      (error: unknown) => error instanceof ForbiddenError && /no policy permits it/.test(error.message),
    );
    assert.deepEqual(gate.started, [], 'no gate waits for a refused proposal');
  });

  it('refuses an engine action that is not a governed actuation with a 400 naming the action, storing nothing', async () => {
    await assert.rejects(propose(input({ engine: 'reflex', action: 'reboot-universe' }), operator, deps), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(
        error.issues.map((issue) => issue.path),
        ['body.parameters.action'],
      );
      assert.match(error.message, /reflex:reboot-universe is not a governed actuation/);
      return true;
    });
    assert.equal(store.items.size, 0);
    assert.equal(outbox.published.length, 0);
  });

  it('refuses a proposal whose gate cannot start and rethrows the error: no proposal looks as if a gate waited', async () => {
    gate.failWith = new DependencyError('StepFunctions StartExecution throttled: ThrottlingException');
    await assert.rejects(propose(HUMAN, operator, deps), DependencyError);
    const proposal = await storedProposal('p-1');
    assert.equal(proposal.status, 'refused');
    assert.equal(proposal.executionArn, undefined);
    assert.match(proposal.reasons.at(-1) ?? '', /gate could not be started/);
    assert.deepEqual(
      outbox.published.map((event) => [event.detailType, event.detail.status]),
      [
        ['governance.proposal.evaluated', 'pending'],
        ['governance.proposal.settled', 'refused'],
      ],
    );
  });
});

describe('transition', () => {
  it('moves a proposal from an allowed state with its reasons and a settled event, and is a no-op when it is there already', async () => {
    await propose(HUMAN, operator, deps);
    const later = { ...deps, now: new Date(T0.getTime() + 60_000) };
    const moved = await transition(
      'acme',
      'p-1',
      'approved',
      { reasons: ['quorum of 2'], actor: 'system:governance-gate', from: ['pending'] },
      later,
    );
    assert.equal(moved.status, 'approved');
    assert.equal(moved.updatedAt, later.now.toISOString());
    assert.equal(moved.reasons.at(-1), 'quorum of 2');
    const published = outbox.published.length;
    assert.deepEqual(await transition('acme', 'p-1', 'approved', { reasons: ['again'], actor: 'x', from: ['pending'] }, later), moved);
    assert.equal(outbox.published.length, published);
    assert.equal(outbox.published.at(-1)?.detailType, 'governance.proposal.settled');
  });

  it('answers 409 for a move from another state and 404 for an unknown proposal', async () => {
    await propose(AUTONOMOUS, operator, deps);
    await assert.rejects(transition('acme', 'p-1', 'rejected', { reasons: [], actor: 'x', from: ['pending'] }, deps), ConflictError);
    await assert.rejects(transition('acme', 'p-9', 'rejected', { reasons: [], actor: 'x', from: ['pending'] }, deps), NotFoundError);
    await assert.rejects(transition('globex', 'p-1', 'rejected', { reasons: [], actor: 'x', from: ['pending'] }, deps), NotFoundError);
  });
});

describe('reportOutcome', () => {
  const STAGING = input({ environment: 'staging' });
  const failureRate = (proposal: { assessment: { factors: Array<{ name: string; value: unknown; contribution: number }> } }) =>
    proposal.assessment.factors.find((factor) => factor.name === 'failure-rate');

  it('records executed and failed outcomes, and the failure rate raises the next assessment (here: low to medium, autonomous to L3)', async () => {
    const first = await propose(STAGING, operator, deps);
    assert.deepEqual([failureRate(first.proposal)?.value, failureRate(first.proposal)?.contribution], ['no history', 0]);
    assert.equal(first.proposal.route, 'autonomous');
    const failed = await reportOutcome(
      'acme',
      { proposalId: 'p-1', outcome: 'failed', detail: 'restart timed out' },
      'engine:reflex',
      deps,
    );
    assert.equal(failed.status, 'failed');
    assert.equal(failed.reasons.at(-1), 'restart timed out');

    const second = await propose(STAGING, operator, deps);
    assert.deepEqual([failureRate(second.proposal)?.value, failureRate(second.proposal)?.contribution], [1, 0.2]);
    assert.equal(second.proposal.assessment.score, Math.round((first.proposal.assessment.score + 0.2) * 1000) / 1000);
    assert.equal(second.proposal.assessment.level, 'medium');
    assert.equal(second.proposal.route, 'l3-validation');
  });

  it('mixes executed and failed outcomes into the rate, for that action on that target only', async () => {
    await propose(STAGING, operator, deps);
    await reportOutcome('acme', { proposalId: 'p-1', outcome: 'executed', detail: '' }, 'engine:reflex', deps);
    await propose(STAGING, operator, deps);
    await reportOutcome('acme', { proposalId: 'p-2', outcome: 'failed', detail: 'crash loop' }, 'engine:reflex', deps);
    const third = await propose(STAGING, operator, deps);
    assert.deepEqual([failureRate(third.proposal)?.value, failureRate(third.proposal)?.contribution], [0.5, 0.1]);
    const elsewhere = await propose(input({ environment: 'staging', target: 'endpoint/other' }), operator, deps);
    assert.equal(failureRate(elsewhere.proposal)?.value, 'no history');
  });

  it('takes an outcome only for an approved proposal (409 while it waits at its gate)', async () => {
    await propose(HUMAN, operator, deps);
    await assert.rejects(
      reportOutcome('acme', { proposalId: 'p-1', outcome: 'executed', detail: '' }, 'engine:closure', deps),
      ConflictError,
    );
    assert.equal(store.history.size, 0);
  });
});
