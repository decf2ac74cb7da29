/**
 * L3 validation (lib/governance/validation.ts): declared bounds, the policy at the time of the
 * change, no other open proposal on the same target, and change-freeze windows per environment.
 * Each failed check is one reason; any failure rejects.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findActuation } from '../../lib/governance/actuations.ts';
import type { Environment, PolicyDecision, ProposalInput } from '../../lib/governance/model.ts';
import { type Proposal, type Proposer, policyRequestOf } from '../../lib/governance/proposals.ts';
import { assessRisk } from '../../lib/governance/risk.ts';
import { DEFAULT_CONFIG, freezeWindowSchema, type GovernanceConfig } from '../../lib/governance/settings.ts';
import { type ValidationContext, validateProposal } from '../../lib/governance/validation.ts';

const T0 = new Date('2026-12-01T10:00:00.000Z');
const ALLOW: PolicyDecision = { decision: 'allow', policies: ['base-operator'], errors: [], version: 2, breakGlass: false };
const proposer: Proposer = { kind: 'engine', id: 'engine:replication', tenant: 'acme', roles: ['operator'] };

function proposal(id: string, overrides: Partial<ProposalInput> = {}): Proposal {
  const input: ProposalInput = {
    engine: 'replication',
    action: 'scale',
    target: 'endpoint/embed',
    environment: 'prod',
    parameters: { replicas: 4 },
    reason: 'queue depth over target for 15 min',
    ...overrides,
  };
  const actuation = findActuation(input.engine, input.action);
  assert.ok(actuation, `${input.engine}:${input.action} is an actuation`);
  const assessment = assessRisk({
    actuation,
    environment: input.environment,
    parameters: input.parameters,
    dependents: 0,
    autonomyLevel: 2,
  });
  return {
    tenant: 'acme',
    proposalId: id,
    status: 'pending',
    engine: input.engine,
    action: input.action,
    target: input.target,
    environment: input.environment,
    parameters: input.parameters,
    reason: input.reason,
    requestedBy: proposer.id,
    route: assessment.route,
    assessment,
    policy: ALLOW,
    policyRequest: policyRequestOf(input, proposer, actuation, assessment, 0),
    constitutionHash: '',
    reasons: [],
    createdAt: T0.toISOString(),
    updatedAt: T0.toISOString(),
    version: 0,
  };
}

const context = (overrides: Partial<ValidationContext> = {}): ValidationContext => ({
  config: DEFAULT_CONFIG,
  policy: ALLOW,
  open: [],
  now: T0,
  ...overrides,
});
const frozen = (environments: Environment[], from = '2026-12-01T08:00:00.000Z', to = '2026-12-01T18:00:00.000Z'): GovernanceConfig => ({
  ...DEFAULT_CONFIG,
  freezeWindows: [freezeWindowSchema.parse({ from, to, environments, reason: 'end-of-year change freeze' })],
});

describe('validateProposal', () => {
  it('passes a proposal within its bounds, permitted, alone on its target and outside any freeze, saying what it checked', () => {
    const verdict = validateProposal(proposal('p-1'), context());
    assert.deepEqual(verdict.failures, []);
    assert.equal(verdict.passed, true);
    assert.ok(verdict.notes.some((note) => note === 'bounds: 1 declared bound(s) hold'));
    assert.ok(verdict.notes.some((note) => note.startsWith('policy: permitted by base-operator (v2)')));
    assert.ok(verdict.notes.some((note) => note.startsWith('dry run: offered by replication:scale')));
  });

  it('fails a parameter outside its declared bounds, naming the parameter and the bound', () => {
    const verdict = validateProposal(proposal('p-1', { parameters: { replicas: 80 } }), context());
    assert.equal(verdict.passed, false);
    assert.deepEqual(verdict.failures, ['bounds: parameters.replicas must be at most 50 (got 80)']);
  });

  it('fails an actuation that is not in the catalog (any more)', () => {
    const unknown = { ...proposal('p-1'), action: 'teleport' };
    assert.deepEqual(validateProposal(unknown, context()).failures, ['replication:teleport is not a governed actuation']);
  });

  it('fails when another open proposal targets the same component, and ignores the proposal itself and other targets', () => {
    const self = proposal('p-1');
    const other = { ...proposal('p-2', { engine: 'reflex', action: 'restart', parameters: {} }), status: 'approved' as const };
    const elsewhere = proposal('p-3', { target: 'endpoint/chat' });
    const verdict = validateProposal(self, context({ open: [self, other, elsewhere] }));
    assert.equal(verdict.passed, false);
    assert.deepEqual(verdict.failures, ['conflict: proposal p-2 (reflex:restart, approved) is open on endpoint/embed']);
    assert.equal(validateProposal(self, context({ open: [self, elsewhere] })).passed, true);
  });

  it('fails during a change freeze of its environment, naming the window', () => {
    const verdict = validateProposal(proposal('p-1'), context({ config: frozen(['prod', 'staging']) }));
    assert.equal(verdict.passed, false);
    assert.deepEqual(verdict.failures, ['freeze: prod is frozen until 2026-12-01T18:00:00.000Z (end-of-year change freeze)']);
  });

  it('passes a freeze of another environment, and the same freeze before it starts or once it ended', () => {
    assert.equal(validateProposal(proposal('p-1', { environment: 'dev' }), context({ config: frozen(['prod', 'staging']) })).passed, true);
    assert.equal(
      validateProposal(proposal('p-1'), context({ config: frozen(['prod']), now: new Date('2026-12-01T07:59:59.999Z') })).passed,
      true,
    );
    assert.equal(
      validateProposal(proposal('p-1'), context({ config: frozen(['prod']), now: new Date('2026-12-01T18:00:00.000Z') })).passed,
      true,
      'the end is excluded',
    );
    assert.equal(
      validateProposal(proposal('p-1'), context({ config: frozen(['prod']), now: new Date('2026-12-01T08:00:00.000Z') })).passed,
      false,
      'the start is included',
    );
  });

  it('fails when the policies deny it at the time of the change, naming the forbidding policies or saying none permits it', () => {
    const forbid = validateProposal(
      proposal('p-1'),
      context({ policy: { decision: 'deny', policies: ['freeze-embed'], errors: [], version: 3, breakGlass: false } }),
    );
    assert.deepEqual(forbid.failures, ['policy: forbidden by freeze-embed (policy set v3)']);
    const none = validateProposal(
      proposal('p-1'),
      context({ policy: { decision: 'deny', policies: [], errors: [], version: 3, breakGlass: false } }),
    );
    assert.deepEqual(none.failures, ['policy: no policy permits it any more (policy set v3)']);
  });

  it('lists every failed check, one reason each', () => {
    const verdict = validateProposal(
      proposal('p-1', { parameters: { replicas: 0 } }),
      context({
        config: frozen(['prod']),
        open: [proposal('p-2')],
        policy: { decision: 'deny', policies: [], errors: [], version: 1, breakGlass: false },
      }),
    );
    assert.deepEqual(
      verdict.failures.map((failure) => failure.split(':')[0]),
      ['bounds', 'policy', 'conflict', 'freeze'],
    );
  });
});
