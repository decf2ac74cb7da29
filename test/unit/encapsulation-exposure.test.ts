/**
 * Exposure of a module's interface (lib/encapsulation/engine.ts `exposeInterface`) on governance's and
 * Versioning's in-memory ports with the real proposal path: nothing is tagged while the L3 proposal
 * is pending (202, the same call later finishes it), the tag follows approval, a rejected proposal is
 * recorded and never tagged, a failed tag is recorded and retried, a Cedar refusal leaves no pending exposure.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { canonicalJson, sha256Hex } from '../../lib/audit/digest.ts';
import { analyse, type EncapsulationDeps, type EncapsulationStore, exposeInterface } from '../../lib/encapsulation/engine.ts';
import type { Analysis, Exposure } from '../../lib/encapsulation/schemas.ts';
import { ConflictError, DependencyError, ForbiddenError } from '../../lib/errors.ts';
import type { PolicyDecision } from '../../lib/governance/model.ts';
import { type Proposal, type Proposer, propose } from '../../lib/governance/proposals.ts';
import {
  fixedPolicy,
  type MemoryGovernanceStore,
  type MemoryOutbox,
  memoryGovernanceStore,
  memoryOutbox,
  recordingGate,
  staticGraph,
} from '../helpers/governance-memory.ts';
import { type MemoryVersioningStore, memoryVersioningStore } from '../helpers/versioning-memory.ts';

const NOW = new Date('2026-12-02T10:00:00Z');
const ALLOW: PolicyDecision = { decision: 'allow', policies: ['base-operator'], errors: [], version: 0, breakGlass: false };
const alice: Proposer = { kind: 'user', id: 'alice', tenant: 'acme', roles: ['operator'] };

/** The engine's store in memory, with its contracts: the exposure write conditional on its revision. */
function memoryEncapsulationStore(
  outbox: MemoryOutbox,
): EncapsulationStore & { exposures: Map<string, { exposure: Exposure; rev: number }> } {
  const analyses = new Map<string, Analysis>();
  const latest = new Map<string, string>();
  const exposures = new Map<string, { exposure: Exposure; rev: number }>();
  return {
    exposures,
    async latest(tenant) {
      const id = latest.get(tenant);
      return id ? structuredClone(analyses.get(`${tenant}/${id}`)) : undefined;
    },
    async analysis(tenant, analysisId) {
      return structuredClone(analyses.get(`${tenant}/${analysisId}`));
    },
    async saveAnalysis(tenant, analysis, events) {
      analyses.set(`${tenant}/${analysis.analysisId}`, structuredClone(analysis));
      latest.set(tenant, analysis.analysisId);
      return outbox.save(tenant, events);
    },
    async exposure(tenant, artifact) {
      return structuredClone(exposures.get(`${tenant}/${artifact}`));
    },
    async putExposure(tenant, exposure, expectedRev, events) {
      const key = `${tenant}/${exposure.artifact}`;
      if (exposures.get(key)?.rev !== expectedRev) throw new ConflictError(`The exposure of ${exposure.artifact} was changed concurrently`);
      exposures.set(key, { exposure: structuredClone(exposure), rev: (expectedRev ?? 0) + 1 });
      return outbox.save(tenant, events);
    },
  };
}

describe('exposeInterface', () => {
  let outbox: MemoryOutbox;
  let governance: MemoryGovernanceStore;
  let versions: MemoryVersioningStore;
  let store: ReturnType<typeof memoryEncapsulationStore>;
  let gate: ReturnType<typeof recordingGate>;
  let policy: ReturnType<typeof fixedPolicy>;
  let deps: EncapsulationDeps;
  let ids: number;

  beforeEach(async () => {
    outbox = memoryOutbox();
    governance = memoryGovernanceStore(outbox);
    versions = memoryVersioningStore(outbox);
    store = memoryEncapsulationStore(outbox);
    gate = recordingGate();
    policy = fixedPolicy(ALLOW);
    ids = 0;
    const proposalDeps = { store: governance, policy, components: staticGraph(), gate, outbox };
    deps = {
      store,
      components: async () => [],
      traces: async () => [],
      outbox,
      propose: (input, proposer, proposalId) => propose(input, proposer, { ...proposalDeps, now: NOW, newId: () => proposalId }),
      proposal: (tenant, proposalId) => governance.proposal(tenant, proposalId),
      versioning: { store: versions, outbox, governance: proposalDeps, now: () => NOW },
      now: () => NOW,
      newId: () => `id-${++ids}`,
    };
    await analyse(
      'acme',
      {
        graph: {
          // Two triangles joined by web → orders: the orders module's entry point is orders.
          components: ['web', 'auth', 'ui', 'orders', 'stock', 'price'].map((id) => ({ id, kind: 'service', dependsOn: [] })),
          edges: [
            ['web', 'auth'],
            ['auth', 'ui'],
            ['ui', 'web'],
            ['orders', 'stock'],
            ['stock', 'price'],
            ['price', 'orders'],
            ['web', 'orders'],
          ].map(([from, to]) => ({ from: from as string, to: to as string, calls: 5 })),
        },
        samples: [
          { component: 'orders', operation: 'create', request: { sku: 'a-1', qty: 2 } },
          { component: 'orders', operation: 'create', request: { sku: 'b-2', qty: 1 } },
        ],
        streams: ['traces'],
        limit: 10,
        seed: 1,
      },
      'alice',
      deps,
    );
  });

  const moduleWithEntry = async () => {
    const analysis = await store.latest('acme');
    const module = analysis?.modules.find((m) => m.entryPoints.length > 0);
    assert.ok(module, 'the analysis has a module with an entry point');
    return module;
  };
  const decide = async (proposalId: string, status: Proposal['status'], reasons: string[] = []) => {
    const proposal = await governance.proposal('acme', proposalId);
    assert.ok(proposal);
    await governance.putProposal({ ...proposal, status, reasons, version: proposal.version + 1 }, proposal.version, []);
  };
  const published = (type: string) => outbox.published.filter((e) => e.detailType === type);

  it('answers 202 with the pending L3 proposal and tags nothing; the same call tags once it is approved', async () => {
    const module = await moduleWithEntry();
    const first = await exposeInterface('acme', { module: module.id, environment: 'staging' }, alice, deps);
    assert.equal(first.statusCode, 202);
    assert.equal(first.exposure.status, 'pending');
    assert.equal(first.exposure.proposal.route, 'l3-validation');
    assert.equal(first.exposure.version, undefined);
    assert.equal(versions.records.size, 0, 'nothing tagged before validation');
    assert.equal(gate.started.length, 1);

    const again = await exposeInterface('acme', { module: module.id, environment: 'staging' }, alice, deps);
    assert.equal(again.statusCode, 202);
    assert.equal(again.exposure.proposal.proposalId, first.exposure.proposal.proposalId, 'no second proposal');
    assert.equal(gate.started.length, 1);

    await decide(first.exposure.proposal.proposalId, 'approved');
    const done = await exposeInterface('acme', { module: module.id, environment: 'staging' }, alice, deps);
    assert.equal(done.statusCode, 201);
    assert.equal(done.exposure.status, 'exposed');
    assert.equal(done.exposure.version, '1.0.0');
    assert.deepEqual((done.exposure.openapi?.info as Record<string, unknown> | undefined)?.version, '1.0.0');
    assert.equal(done.exposure.hash, sha256Hex(canonicalJson(module.interfaceSchema)));
    assert.equal([...versions.records.values()][0]?.hash, done.exposure.hash, 'the validated interface is what was tagged');
    assert.equal(published('encapsulation.interface.exposed').length, 1);
    await assert.rejects(exposeInterface('acme', { module: module.id, environment: 'staging' }, alice, deps), ConflictError);
  });

  it('waits for the gate within gateWaitMs and tags in the same call when validation approves meanwhile', async () => {
    const module = await moduleWithEntry();
    let slept = 0;
    deps.gateWaitMs = 5_000;
    deps.sleep = async () => {
      slept += 1;
      await decide([...store.exposures.values()][0]?.exposure.proposal.proposalId ?? '', 'approved');
    };
    const outcome = await exposeInterface('acme', { module: module.name, environment: 'staging' }, alice, deps);
    assert.equal(slept, 1);
    assert.equal(outcome.statusCode, 201);
    assert.equal(outcome.exposure.proposal.status, 'approved');
    assert.equal(versions.records.size, 1);
  });

  it('records a rejected proposal with its reasons and never tags it; the next call files a new proposal', async () => {
    const module = await moduleWithEntry();
    const first = await exposeInterface('acme', { module: module.id, environment: 'staging' }, alice, deps);
    await decide(first.exposure.proposal.proposalId, 'rejected', ['L3 validation: no policy permits it']);
    const settled = await exposeInterface('acme', { module: module.id, environment: 'staging' }, alice, deps);
    assert.equal(settled.statusCode, 200);
    assert.equal(settled.exposure.status, 'rejected');
    assert.deepEqual(settled.exposure.reasons, ['L3 validation: no policy permits it']);
    assert.equal(versions.records.size, 0);
    const failed = published('encapsulation.exposure.failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.detail.status, 'rejected');
    const retry = await exposeInterface('acme', { module: module.id, environment: 'staging' }, alice, deps);
    assert.equal(retry.statusCode, 202);
    assert.notEqual(retry.exposure.proposal.proposalId, first.exposure.proposal.proposalId);
  });

  it('records a failed tag after approval (reply and ledger event) and the next call retries it', async () => {
    const module = await moduleWithEntry();
    const first = await exposeInterface('acme', { module: module.id, environment: 'staging' }, alice, deps);
    await decide(first.exposure.proposal.proposalId, 'approved');
    const tag = versions.tag;
    versions.tag = async () => {
      throw new DependencyError('DynamoDB is unavailable');
    };
    const failed = await exposeInterface('acme', { module: module.id, environment: 'staging' }, alice, deps);
    assert.equal(failed.statusCode, 200);
    assert.equal(failed.exposure.status, 'tag-failed');
    assert.match(failed.exposure.reasons?.[0] ?? '', /DynamoDB is unavailable/);
    assert.equal(store.exposures.get(`acme/${first.exposure.artifact}`)?.exposure.status, 'tag-failed');
    assert.equal(published('encapsulation.exposure.failed').length, 1);
    versions.tag = tag;
    const retried = await exposeInterface('acme', { module: module.id, environment: 'staging' }, alice, deps);
    assert.equal(retried.statusCode, 201);
    assert.equal(retried.exposure.proposal.proposalId, first.exposure.proposal.proposalId);
    assert.equal(retried.exposure.reasons, undefined);
    assert.equal(versions.records.size, 1);
  });

  it('records a Cedar refusal as rejected and throws it, so the artifact has no pending exposure', async () => {
    const module = await moduleWithEntry();
    policy.decision = { ...ALLOW, decision: 'deny', policies: [] };
    await assert.rejects(exposeInterface('acme', { module: module.id, environment: 'staging' }, alice, deps), ForbiddenError);
    const stored = [...store.exposures.values()][0]?.exposure;
    assert.equal(stored?.status, 'rejected');
    assert.equal(stored?.proposal.status, 'refused');
    assert.equal(versions.records.size, 0);
    assert.equal(gate.started.length, 0);
  });
});
