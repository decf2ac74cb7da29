/**
 * The capsule lifecycle (lib/capsules/marketplace.ts) over in-memory ports, with governance's real
 * proposal path (risk, Cedar, the gate started) and real policy publishing: submit → review →
 * proposal → published on approval (or rejected) → installed with its guardrails as the tenant's
 * capsule layer → uninstalled; deprecation; a refusal stores nothing; every step's event in order.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { allRoutes } from '../../lib/api/routes.ts';
import type { Principal } from '../../lib/auth/principal.ts';
import {
  changeAuthorKey,
  deprecateVersion,
  type InstallDeps,
  installCapsule,
  readCatalog,
  type SettleDeps,
  type SubmitDeps,
  settlePublication,
  submitCapsule,
  uninstallCapsule,
} from '../../lib/capsules/marketplace.ts';
import { toolCatalog } from '../../lib/capsules/review.ts';
import { engines } from '../../lib/engines/index.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../lib/errors.ts';
import { actuationIds } from '../../lib/governance/actuations.ts';
import { cedarSchema, routeActionId } from '../../lib/governance/cedar-schema.ts';
import { PolicyEngine } from '../../lib/governance/policy.ts';
import { publishPolicies, type StoredPolicySet } from '../../lib/governance/policy-sets.ts';
import { propose, reportOutcome, transition } from '../../lib/governance/proposals.ts';
import { routeTools } from '../../lib/mcp/tools.ts';
import { authorKeyPair, sampleManifest, signedBundle } from '../helpers/capsules.ts';
import { memoryCapsuleStore, memoryObjects } from '../helpers/capsules-memory.ts';
import { memoryGovernanceStore, memoryOutbox, recordingGate, staticGraph } from '../helpers/governance-memory.ts';

const schema = cedarSchema({ actuations: actuationIds(), routes: allRoutes.map((route) => routeActionId(route.method, route.path)) });
const engine = new PolicyEngine(schema);
const tools = toolCatalog(routeTools(engines));
const now = new Date('2026-12-01T09:30:00Z');

const alice: Principal = { tenant: 'acme', subject: 'alice', roles: ['operator'], via: 'jwt' };
const root: Principal = { tenant: 'acme', subject: 'root', roles: ['admin'], via: 'jwt' };
const ops: Principal = { tenant: 'globex', subject: 'ops', roles: ['admin'], via: 'jwt' };

function world() {
  const outbox = memoryOutbox();
  const store = memoryCapsuleStore(outbox);
  const objects = memoryObjects();
  const governance = memoryGovernanceStore(outbox);
  const gate = recordingGate();
  const versions = new Map<string, StoredPolicySet>();
  const base = { store, outbox, now };
  const submit: SubmitDeps = {
    ...base,
    objects,
    tools,
    models: ['standin-a'],
    cedarSchema: schema,
    newId: randomUUID,
    propose: (input, proposer) =>
      propose(input, proposer, {
        store: governance,
        policy: {
          evaluateActuation: async (tenant, version, request) =>
            engine.evaluateActuation(versions.get(`${tenant}#${version}`)?.layers, version, request),
        },
        components: staticGraph(),
        gate,
        outbox,
        now,
        newId: randomUUID,
      }),
  };
  const settle: SettleDeps = {
    ...base,
    proposals: governance,
    reportOutcome: (tenant, input, actor) => reportOutcome(tenant, input, actor, { store: governance, outbox, now }),
  };
  const install: InstallDeps = {
    ...base,
    objects,
    policies: {
      async current(tenant) {
        const { policyVersion } = await governance.settings(tenant);
        return { policyVersion, layers: versions.get(`${tenant}#${policyVersion}`)?.layers ?? {} };
      },
      publish: (tenant, layers, by) =>
        publishPolicies(
          tenant,
          layers,
          { actor: by.actor, breakGlass: false, basedOn: by.basedOn },
          {
            store: governance,
            outbox,
            schema,
            now,
            policies: {
              put: async (stored) => {
                if (versions.has(`${stored.tenant}#${stored.policyVersion}`)) throw new ConflictError('exists');
                versions.set(`${stored.tenant}#${stored.policyVersion}`, structuredClone(stored));
              },
            },
          },
        ),
    },
  };
  return { outbox, store, objects, governance, gate, versions, submit, settle, install };
}

const bundleOf = (signed: ReturnType<typeof signedBundle>) => ({
  bundle: Buffer.from(signed.bytes).toString('base64'),
  signature: signed.signature,
});

async function registered(w: ReturnType<typeof world>) {
  const key = authorKeyPair();
  await changeAuthorKey('acme', { subject: 'alice', publicKey: key.publicKey }, root, w.submit);
  return key;
}

describe('the capsule lifecycle', () => {
  it('goes submitted → in review at the gate → published on approval → installed → uninstalled, each step an event in order', async () => {
    const w = world();
    const key = await registered(w);
    const { version } = await submitCapsule('acme', bundleOf(signedBundle(key)), alice, w.submit);
    assert.equal(version.status, 'in-review');
    assert.equal(w.gate.started.length, 1, 'the gate waits for people');
    assert.equal(w.gate.started[0]?.input.route, 'human-approval');
    const proposal = await w.governance.proposal('acme', version.proposalId ?? '');
    assert.deepEqual([proposal?.engine, proposal?.action, proposal?.requestedBy], ['capsules', 'publish', 'alice']);
    assert.equal(await settlePublication('acme', version.proposalId ?? '', w.settle), 'pending');

    await transition(
      'acme',
      version.proposalId ?? '',
      'approved',
      { reasons: ['approved by bob'], actor: 'bob', from: ['pending'] },
      { store: w.governance, outbox: w.outbox, now },
    );
    assert.equal(await settlePublication('acme', version.proposalId ?? '', w.settle), 'published');
    assert.equal(
      await settlePublication('acme', version.proposalId ?? '', w.settle),
      'settled-already',
      'a redelivered event changes nothing',
    );
    assert.equal((await w.governance.proposal('acme', version.proposalId ?? ''))?.status, 'executed');
    const catalog = await readCatalog('globex', { name: 'incident-summary', version: '1.0.0', limit: 10 }, w.store);
    assert.equal(catalog.version?.status, 'published');
    assert.equal(catalog.capsules[0]?.latestVersion, '1.0.0');

    const { install } = await installCapsule('globex', { name: 'incident-summary', version: '1.0.0' }, ops, w.install);
    assert.equal(install.policyVersion, 1);
    const layer = w.versions.get('globex#1')?.layers.capsules?.['incident-summary'];
    assert.match(layer ?? '', /no-config-changes/);
    const capsule = { kind: 'capsule' as const, id: 'incident-summary', tenant: 'globex', roles: [] };
    assert.equal(
      engine.evaluateRoute(w.versions.get('globex#1')?.layers, 1, {
        principal: capsule,
        tenant: 'globex',
        method: 'PUT',
        path: '/observation/config',
      }).decision,
      'deny',
    );
    await assert.rejects(installCapsule('globex', { name: 'incident-summary', version: '1.0.0' }, ops, w.install), ConflictError);

    const removed = await uninstallCapsule('globex', 'incident-summary', ops, w.install);
    assert.equal(removed.install.status, 'uninstalled');
    assert.equal(w.versions.get(`globex#${removed.install.policyVersion}`)?.layers.capsules, undefined);

    assert.deepEqual(
      w.outbox.published.map((event) => `${event.detail.tenant} ${event.detailType}`).filter((line) => line.includes('capsules.')),
      [
        'acme capsules.author-key.changed',
        'acme capsules.review.completed',
        'acme capsules.version.submitted',
        'acme capsules.version.published',
        'globex capsules.capsule.installed',
        'globex capsules.capsule.uninstalled',
      ],
    );
    assert.equal(w.outbox.waiting.size, 0, 'every event was delivered');
    const capsuleSteps = (events: { detailType: string }[]) =>
      events.map((event) => event.detailType).filter((type) => type.startsWith('capsules.'));
    assert.deepEqual(
      capsuleSteps(w.outbox.recorded.map((entry) => entry.event)),
      capsuleSteps(w.outbox.published),
      'each recorded in the ledger before it was published',
    );
  });

  it('rejects a version whose proposal is rejected, and lets its number be submitted again', async () => {
    const w = world();
    const key = await registered(w);
    const { version } = await submitCapsule('acme', bundleOf(signedBundle(key)), alice, w.submit);
    await transition(
      'acme',
      version.proposalId ?? '',
      'rejected',
      { reasons: ['the prompt asks for data it does not need'], actor: 'bob', from: ['pending'] },
      { store: w.governance, outbox: w.outbox, now },
    );
    assert.equal(await settlePublication('acme', version.proposalId ?? '', w.settle), 'rejected');
    assert.ok((await w.store.version('incident-summary', '1.0.0'))?.reasons.includes('the prompt asks for data it does not need'));
    await assert.rejects(installCapsule('globex', { name: 'incident-summary', version: '1.0.0' }, ops, w.install), NotFoundError);
    await assert.rejects(
      readCatalog('globex', { name: 'incident-summary', limit: 10 }, w.store),
      NotFoundError,
      'a rejected version is its owner’s only',
    );
    const again = await submitCapsule('acme', bundleOf(signedBundle(key)), alice, w.submit);
    assert.equal(again.version.status, 'in-review');
  });

  it('refuses a bad bundle with its reason and stores, claims and proposes nothing', async () => {
    const w = world();
    const key = await registered(w);
    const { bytes } = signedBundle(key);
    const error = await submitCapsule('acme', { bundle: Buffer.from(bytes).toString('base64') }, alice, w.submit).then(
      () => assert.fail('accepted'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof ValidationError);
    assert.equal(error.issues[0]?.path, 'body.parameters.signature');
    assert.deepEqual([w.objects.objects.size, w.store.namesOf.size, w.store.versionsOf.size, w.gate.started.length], [0, 0, 0, 0]);
    assert.equal(w.store.refusals.length, 1);
    const refused = w.outbox.published.at(-1);
    assert.deepEqual([refused?.detailType, refused?.detail.outcome, refused?.detail.status], ['capsules.review.completed', 'refused', 400]);
  });

  it("keeps names to their owner: another tenant's version of it is refused (403), the owner deprecates, others cannot", async () => {
    const w = world();
    const key = await registered(w);
    const { version } = await submitCapsule('acme', bundleOf(signedBundle(key)), alice, w.submit);
    await transition(
      'acme',
      version.proposalId ?? '',
      'approved',
      { reasons: ['ok'], actor: 'bob', from: ['pending'] },
      { store: w.governance, outbox: w.outbox, now },
    );
    await settlePublication('acme', version.proposalId ?? '', w.settle);
    const globexKey = authorKeyPair();
    await changeAuthorKey('globex', { subject: 'eve', publicKey: globexKey.publicKey }, ops, w.submit);
    const eve: Principal = { tenant: 'globex', subject: 'eve', roles: ['operator'], via: 'jwt' };
    await assert.rejects(
      submitCapsule('globex', bundleOf(signedBundle(globexKey, sampleManifest({ version: '2.0.0' }))), eve, w.submit),
      ForbiddenError,
    );
    await assert.rejects(
      deprecateVersion('globex', { name: 'incident-summary', version: '1.0.0', reason: 'x' }, ops, w.submit),
      NotFoundError,
    );
    const { version: deprecated } = await deprecateVersion(
      'acme',
      { name: 'incident-summary', version: '1.0.0', reason: 'superseded' },
      root,
      w.submit,
    );
    assert.equal(deprecated.status, 'deprecated');
    assert.equal((await w.store.name('incident-summary'))?.latestVersion, null);
    await assert.rejects(installCapsule('globex', { name: 'incident-summary', version: '1.0.0' }, ops, w.install), /deprecated/);
  });

  it('registers an author key once, revokes it, and never registers it again', async () => {
    const w = world();
    const key = authorKeyPair();
    const first = await changeAuthorKey('acme', { subject: 'alice', publicKey: key.publicKey }, root, w.submit);
    const again = await changeAuthorKey('acme', { subject: 'alice', publicKey: key.publicKey }, root, w.submit);
    assert.deepEqual(again.key, first.key);
    await changeAuthorKey('acme', { subject: 'alice', revokeKeyId: key.keyId }, root, w.submit);
    await assert.rejects(changeAuthorKey('acme', { subject: 'alice', publicKey: key.publicKey }, root, w.submit), ConflictError);
    await assert.rejects(changeAuthorKey('acme', { subject: 'alice', publicKey: 'not a key' }, root, w.submit), ValidationError);
    const { bytes, signature } = signedBundle(key);
    await assert.rejects(
      submitCapsule('acme', { bundle: Buffer.from(bytes).toString('base64'), signature }, alice, w.submit),
      (error: unknown) => error instanceof ValidationError && /not an active registered key/.test(error.message),
    );
  });
});
