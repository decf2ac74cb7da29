/**
 * The governed lifecycle of capsules: an author with a registered Ed25519 key submits a signed
 * bundle → the automated review (lib/capsules/review.ts) → a reviewer's approval through the
 * governance gate (a `capsules:publish` proposal, always routed to people) → published, an
 * immutable semver version in the stage's marketplace → installed by a tenant (its guardrails
 * become the capsule's layer of the tenant's Cedar policy set, its per-run budget recorded) →
 * uninstalled; the owner may deprecate a version. Each step is written with its event (an outbox)
 * and recorded in the ledger of the tenant it concerns before it is published.
 *
 * A refused bundle is refused with the exact reason (the failed check, its status, the fields) and
 * nothing is stored or published: the refusal's review record goes to the author's ledger only.
 *
 * Plain data over injected ports (lib/capsules/ports.ts), no AWS here.
 */
import semver from 'semver';
import type { Principal } from '../auth/principal.ts';
import { ConflictError, type DomainError, ForbiddenError, NotFoundError, PayloadTooLargeError, ValidationError } from '../errors.ts';
import { busEvent } from '../events/publisher.ts';
import type { CedarSchema } from '../governance/cedar-schema.ts';
import type { ProposalInput } from '../governance/model.ts';
import type { PublishOutcome } from '../governance/policy-sets.ts';
import type { PolicyLayers } from '../governance/profiles.ts';
import type { GovernanceStore, LedgerRef, OutboxEntry, OutboxPort, Proposal, ProposalOutcome, Proposer } from '../governance/proposals.ts';
import { proposerOf } from '../governance/proposer.ts';
import { BUNDLE_FIELD, BundleRefusedError, keyIdOf, parsePublicKey, sha256Of, type VerifiedCapsule, verifyBundle } from './bundle.ts';
import type { BundleObjects, CapsuleName, CapsuleStore, StoredAuthorKey } from './ports.ts';
import { type ReviewOutcome, reviewBundle, type ToolCatalog } from './review.ts';
import type { RunRecord } from './runs.ts';
import type { AuthorKey, BundleSignature, CapsuleVersion, Install, ReviewRecord, VersionStatus } from './schemas.ts';

/** What every lifecycle step needs. */
export interface MarketplaceDeps {
  store: CapsuleStore;
  outbox: OutboxPort;
  now: Date;
}

/** Records written entries in the ledger, then publishes them; the first entry's ledger location. */
async function deliver(outbox: OutboxPort, entries: OutboxEntry[]): Promise<LedgerRef | undefined> {
  let first: LedgerRef | undefined;
  for (const entry of entries) {
    const at = await outbox.record(entry);
    first ??= at;
  }
  await outbox.deliver(entries);
  return first;
}

const actorOf = (principal: Principal) => principal.subject;

// Author keys.

/** `PUT /capsules/authors`: a key to register, or one to revoke. */
export interface AuthorKeyChange {
  subject: string;
  publicKey?: string;
  revokeKeyId?: string;
}

/**
 * Registers an author's Ed25519 public key in the tenant (its id: SHA-256 of the key's DER), or
 * revokes one; registering an active key again changes nothing. Only the tenant's admins do this
 * (the route's permission), so a key binds an author by an act separate from their own credentials.
 * @throws ValidationError naming the field (neither or both of publicKey and revokeKeyId; not an Ed25519 PEM key).
 * @throws NotFoundError when the key to revoke is not the author's; ConflictError when it is revoked already.
 */
export async function changeAuthorKey(
  tenant: string,
  change: AuthorKeyChange,
  principal: Principal,
  deps: MarketplaceDeps,
): Promise<{ key: AuthorKey; ledger?: LedgerRef }> {
  if ((change.publicKey === undefined) === (change.revokeKeyId === undefined))
    throw new ValidationError([{ path: 'body.parameters', message: 'give either publicKey (register) or revokeKeyId (revoke)' }]);
  const at = deps.now.toISOString();
  const existing = await deps.store.authorKeys(tenant, change.subject);
  const event = (key: AuthorKey, kind: 'registered' | 'revoked') =>
    busEvent('capsules.author-key.changed', {
      tenant,
      subject: key.subject,
      keyId: key.keyId,
      change: kind,
      changedBy: actorOf(principal),
      changedAt: at,
    });
  if (change.publicKey !== undefined) {
    let keyId: string;
    try {
      keyId = keyIdOf(parsePublicKey(change.publicKey));
    } catch (error) {
      throw new ValidationError([
        { path: 'body.parameters.publicKey', message: (error as Error).message.replace(/^body\.parameters\.publicKey: /, '') },
      ]);
    }
    const known = existing.find((key) => key.keyId === keyId);
    if (known?.status === 'active') return { key: strip(known) };
    if (known)
      throw new ConflictError(`Key ${keyId.slice(0, 12)}… of ${change.subject} was revoked; a revoked key is never registered again`);
    const key: StoredAuthorKey = {
      tenant,
      subject: change.subject,
      keyId,
      publicKey: change.publicKey,
      status: 'active',
      registeredBy: actorOf(principal),
      registeredAt: at,
    };
    const entries = await deps.store.putAuthorKey(key, 'absent', [event(key, 'registered')]);
    return { key: strip(key), ledger: await deliver(deps.outbox, entries) };
  }
  const known = existing.find((key) => key.keyId === change.revokeKeyId);
  if (!known) throw new NotFoundError(`${change.subject} has no key ${String(change.revokeKeyId).slice(0, 12)}…`);
  if (known.status === 'revoked') throw new ConflictError(`Key ${known.keyId.slice(0, 12)}… of ${change.subject} is revoked already`);
  const revoked: StoredAuthorKey = { ...known, status: 'revoked', revokedAt: at };
  const entries = await deps.store.putAuthorKey(revoked, 'active', [event(revoked, 'revoked')]);
  return { key: strip(revoked), ledger: await deliver(deps.outbox, entries) };
}

function strip({ tenant: _tenant, ...key }: StoredAuthorKey): AuthorKey {
  return key;
}

// Submission and review.

/** What submitting needs besides the state: the catalogs the review checks against and the governance path. */
export interface SubmitDeps extends MarketplaceDeps {
  objects: BundleObjects;
  tools: ToolCatalog;
  /** The stage's model names (undefined: not checked). */
  models?: readonly string[];
  cedarSchema: CedarSchema;
  /** Governance's `propose` with its dependencies (in process, as Reflex proposes). */
  propose: (input: ProposalInput, proposer: Proposer) => Promise<ProposalOutcome>;
  newId: () => string;
}

/** The reply to a submission that passed the review: the version waiting for its reviewers. */
export interface SubmitOutcome {
  version: CapsuleVersion;
  /** The review record's ledger entry. */
  ledger?: LedgerRef;
}

/** The key of a bundle's bytes in the artifacts bucket: under the owning tenant, by content hash. */
export function bundleKey(tenant: string, sha256: string): string {
  return `${tenant}/capsules/bundles/${sha256}.json`;
}

/** Why proposing asks for people whatever the risk. */
export const REVIEW_ESCALATION = "a capsule version is published only with a reviewer's approval";

/** The base64 text of a bundle as bytes. @throws ValidationError naming the bundle when it is not base64. */
export function bundleBytes(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, ''))
    throw new ValidationError([
      { path: BUNDLE_FIELD, message: 'is not base64 (the bundle’s bytes, as `npm run capsule -- sign` writes them)' },
    ]);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** The error a refused review answers with: its status, its reason, its fields. */
function refusalError(verdict: Extract<ReviewOutcome, { outcome: 'refused' }>): DomainError {
  const reason = `Refused by the automated review (${verdict.check}): ${verdict.reason}`;
  if (verdict.status === 400) return new ValidationError(verdict.issues);
  if (verdict.status === 403) return new ForbiddenError(reason);
  if (verdict.status === 409) return new ConflictError(reason);
  return new PayloadTooLargeError(reason);
}

/**
 * Submits a signed bundle: the automated review, then (passed) the bundle stored by content hash,
 * the version recorded `in-review` with its review record, and a `capsules:publish` proposal that
 * waits for the tenant's reviewers. A refusal stores and publishes nothing but its review record
 * (`capsules.review.completed`, outcome refused, in the author's ledger) and is thrown.
 *
 * @throws ValidationError (400 naming the field: signature missing or wrong, content changed after
 *   signing, malformed bundle or manifest), ForbiddenError (403: tools beyond the author's rights, a
 *   name of another tenant, the tenant's policies refusing the proposal), ConflictError (409: the
 *   version exists), PayloadTooLargeError (413: oversize), LockedError (423: a kill switch is on).
 */
export async function submitCapsule(
  tenant: string,
  input: { bundle: string; signature?: BundleSignature },
  principal: Principal,
  deps: SubmitDeps,
): Promise<SubmitOutcome> {
  const bytes = bundleBytes(input.bundle);
  const submissionId = deps.newId();
  const author = actorOf(principal);
  const keys = await deps.store.authorKeys(tenant, author);
  const verdict = await reviewBundle(bytes, input.signature, {
    tenant,
    author,
    roles: principal.roles,
    keys: keys.map((key) => ({ author: key.subject, keyId: key.keyId, publicKey: key.publicKey, status: key.status })),
    tools: deps.tools,
    ...(deps.models ? { models: deps.models } : {}),
    cedarSchema: deps.cedarSchema,
    lookup: async (name) => {
      const record = await deps.store.name(name);
      return record && { ownerTenant: record.ownerTenant, versions: new Map(Object.entries(record.versions)) };
    },
  });
  const at = deps.now.toISOString();
  const review: ReviewRecord = { submissionId, outcome: verdict.outcome, checks: verdict.checks, reviewedAt: at };
  const reviewed = (fields: {
    name: string | null;
    version: string | null;
    bundleSha256: string | null;
    reason: string | null;
    status: number | null;
  }) =>
    busEvent('capsules.review.completed', {
      tenant,
      submissionId,
      outcome: verdict.outcome,
      name: fields.name,
      capsuleVersion: fields.version,
      bundleSha256: fields.bundleSha256,
      bundleBytes: bytes.length,
      author,
      keyId: input.signature?.keyId ?? null,
      checks: verdict.checks,
      reason: fields.reason,
      status: fields.status,
      reviewedAt: at,
    });

  if (verdict.outcome === 'refused') {
    const fields = {
      name: verdict.name,
      version: verdict.version,
      bundleSha256: verdict.bundleSha256,
      reason: verdict.reason,
      status: verdict.status,
    };
    const entries = await deps.store.putRefusal({ tenant, review, author, ...fields, reason: verdict.reason, status: verdict.status }, [
      reviewed(fields),
    ]);
    await deliver(deps.outbox, entries);
    throw refusalError(verdict);
  }

  const { bundle } = verdict;
  const { manifest } = bundle;
  const key = bundleKey(tenant, bundle.sha256);
  // Content-addressed: the same bytes always land on the same key, so a retry rewrites what is there.
  await deps.objects.put(key, bundle.bytes);
  const current = await deps.store.name(manifest.name);
  const previous =
    current?.versions[manifest.version] === 'rejected' ? await deps.store.version(manifest.name, manifest.version) : undefined;
  const version: CapsuleVersion = {
    name: manifest.name,
    version: manifest.version,
    status: 'in-review',
    ownerTenant: tenant,
    author,
    keyId: bundle.keyId,
    signature: bundle.signature.signature,
    description: manifest.description,
    bundleSha256: bundle.sha256,
    bundleBytes: bundle.bytes.length,
    bundleKey: key,
    tools: manifest.tools,
    models: manifest.gateway?.models ?? [],
    budget: manifest.budget,
    guardrails: manifest.guardrails !== undefined,
    review,
    reasons: [],
    submittedAt: at,
    revision: (previous?.revision ?? -1) + 1,
  };
  const name = nameWith(current, manifest.name, tenant, manifest.description, manifest.version, 'in-review');
  const fields = { name: manifest.name, version: manifest.version, bundleSha256: bundle.sha256, reason: null, status: null };
  let entries: OutboxEntry[];
  try {
    entries = await deps.store.writeVersion({
      name,
      nameRevision: current?.revision,
      version,
      versionRevision: previous?.revision,
      eventTenant: tenant,
      events: [reviewed(fields)],
    });
  } catch (error) {
    if (error instanceof ConflictError)
      throw new ConflictError(
        `${manifest.name} ${manifest.version} was submitted meanwhile; read GET /capsules/catalog and submit a new version`,
      );
    throw error;
  }
  const ledger = await deliver(deps.outbox, entries);

  let proposed: ProposalOutcome;
  try {
    proposed = await deps.propose(
      {
        engine: 'capsules',
        action: 'publish',
        target: `capsule/${manifest.name}@${manifest.version}`,
        environment: 'prod',
        parameters: { name: manifest.name, version: manifest.version, bundleSha256: bundle.sha256 },
        reason: `Publish capsule ${manifest.name} ${manifest.version}: ${manifest.description}`.slice(0, 2000),
        evidence: {
          review: verdict.checks.map((check) => `${check.check}: ${check.detail}`),
          tools: manifest.tools,
          models: manifest.gateway?.models ?? [],
          budget: manifest.budget,
          guardrails: manifest.guardrails?.policies ?? null,
          capabilities: manifest.code?.capabilities ?? [],
        },
        escalate: REVIEW_ESCALATION,
      },
      proposerOf(principal),
    );
  } catch (error) {
    // No gate waits: the version is rejected with why, so its number may be submitted again.
    await reject(version, name, null, 'refused', [`proposing failed: ${(error as Error).message}`.slice(0, 2000)], deps);
    throw error;
  }
  const { proposal } = proposed;
  const waiting: CapsuleVersion = {
    ...version,
    proposalId: proposal.proposalId,
    ...(proposal.approvalId ? { approvalId: proposal.approvalId } : {}),
    revision: version.revision + 1,
  };
  const submitted = await deps.store.writeVersion({
    name: { ...name, revision: name.revision + 1 },
    nameRevision: name.revision,
    version: waiting,
    versionRevision: version.revision,
    proposal: { tenant, proposalId: proposal.proposalId },
    eventTenant: tenant,
    events: [
      busEvent('capsules.version.submitted', {
        tenant,
        name: manifest.name,
        capsuleVersion: manifest.version,
        bundleSha256: bundle.sha256,
        author,
        keyId: bundle.keyId,
        proposalId: proposal.proposalId,
        approvalId: proposal.approvalId ?? null,
        submittedAt: at,
      }),
    ],
  });
  await deliver(deps.outbox, submitted);
  // A proposal approved at once (no reviewer needed: never with the escalation, kept for safety) publishes now.
  if (proposal.status !== 'pending')
    return { version: (await settleVersion(waiting, proposal, deps)) ?? waiting, ...(ledger ? { ledger } : {}) };
  return { version: waiting, ...(ledger ? { ledger } : {}) };
}

/** A name record with one version's status changed (a new name claimed by `tenant`). */
function nameWith(
  current: CapsuleName | undefined,
  name: string,
  tenant: string,
  description: string,
  version: string,
  status: VersionStatus,
): CapsuleName {
  const versions = { ...(current?.versions ?? {}), [version]: status };
  const published = Object.entries(versions)
    .filter(([, state]) => state === 'published')
    .map(([number]) => number)
    .sort(semver.rcompare);
  return {
    name,
    ownerTenant: current?.ownerTenant ?? tenant,
    description: status === 'published' || !current ? description : current.description,
    latestVersion: published[0] ?? null,
    versions,
    revision: (current?.revision ?? -1) + 1,
  };
}

/** Writes a version's rejection with its event. */
async function reject(
  version: CapsuleVersion,
  name: CapsuleName,
  proposalId: string | null,
  status: 'rejected' | 'timed-out' | 'refused',
  reasons: string[],
  deps: MarketplaceDeps,
): Promise<CapsuleVersion> {
  const at = deps.now.toISOString();
  const next: CapsuleVersion = { ...version, status: 'rejected', reasons: reasons.slice(-50), revision: version.revision + 1 };
  const entries = await deps.store.writeVersion({
    name: { ...nameWith(name, name.name, name.ownerTenant, version.description, version.version, 'rejected'), revision: name.revision + 1 },
    nameRevision: name.revision,
    version: next,
    versionRevision: version.revision,
    eventTenant: version.ownerTenant,
    events: [
      busEvent('capsules.version.rejected', {
        tenant: version.ownerTenant,
        name: version.name,
        capsuleVersion: version.version,
        bundleSha256: version.bundleSha256,
        proposalId,
        proposalStatus: status,
        reasons: reasons.slice(-50).map((reason) => reason.slice(0, 2000)),
        rejectedAt: at,
      }),
    ],
  });
  await deliver(deps.outbox, entries);
  return next;
}

// Publication, when governance settles the proposal.

/** What settling a publication needs: the proposals, and governance's outcome report. */
export interface SettleDeps extends MarketplaceDeps {
  proposals: Pick<GovernanceStore, 'proposal'>;
  /** Reports `executed` on the approved proposal (lib/governance/proposals.ts `reportOutcome`). */
  reportOutcome: (
    tenant: string,
    input: { proposalId: string; outcome: 'executed' | 'failed'; detail: string },
    actor: string,
  ) => Promise<unknown>;
}

/** The engine's actor in the ledger and in governance. */
export const CAPSULES_ACTOR = 'engine:capsules';

/** Publishes or rejects a version in review by its proposal's state; undefined when the proposal still waits. */
async function settleVersion(version: CapsuleVersion, proposal: Proposal, deps: MarketplaceDeps): Promise<CapsuleVersion | undefined> {
  const name = await deps.store.name(version.name);
  if (!name) throw new ConflictError(`capsule ${version.name} has no name record`);
  if (proposal.status === 'pending') return undefined;
  if (proposal.status === 'approved' || proposal.status === 'executed') {
    const at = deps.now.toISOString();
    const published: CapsuleVersion = { ...version, status: 'published', publishedAt: at, revision: version.revision + 1 };
    const entries = await deps.store.writeVersion({
      name: {
        ...nameWith(name, name.name, name.ownerTenant, version.description, version.version, 'published'),
        revision: name.revision + 1,
      },
      nameRevision: name.revision,
      version: published,
      versionRevision: version.revision,
      eventTenant: version.ownerTenant,
      events: [
        busEvent('capsules.version.published', {
          tenant: version.ownerTenant,
          name: version.name,
          capsuleVersion: version.version,
          bundleSha256: version.bundleSha256,
          author: version.author,
          proposalId: proposal.proposalId,
          publishedAt: at,
        }),
      ],
    });
    await deliver(deps.outbox, entries);
    return published;
  }
  const status = proposal.status === 'failed' ? 'refused' : proposal.status;
  return reject(version, name, proposal.proposalId, status, proposal.reasons, deps);
}

/**
 * On `governance.proposal.settled`: publishes the version a `capsules:publish` proposal approved
 * (and reports it executed), or rejects it with the proposal's reasons. Idempotent: a version no
 * longer in review, or a proposal that is not a capsule's, changes nothing.
 * @returns what happened.
 */
export async function settlePublication(
  tenant: string,
  proposalId: string,
  deps: SettleDeps,
): Promise<'none' | 'pending' | 'settled-already' | VersionStatus> {
  const ref = await deps.store.proposalVersion(tenant, proposalId);
  if (!ref) return 'none';
  const [proposal, version] = await Promise.all([deps.proposals.proposal(tenant, proposalId), deps.store.version(ref.name, ref.version)]);
  if (!proposal || !version || version.proposalId !== proposalId) return 'none';
  if (version.status !== 'in-review') return 'settled-already';
  const settled = await settleVersion(version, proposal, deps);
  if (!settled) return 'pending';
  if (settled.status === 'published' && proposal.status === 'approved')
    await deps.reportOutcome(
      tenant,
      { proposalId, outcome: 'executed', detail: `published ${version.name} ${version.version}` },
      CAPSULES_ACTOR,
    );
  return settled.status;
}

// Deprecation.

/**
 * Deprecates a published version of the tenant's own capsule: installs keep it, new installs are refused.
 * @throws NotFoundError when the tenant owns no such version; ConflictError when it is not published.
 */
export async function deprecateVersion(
  tenant: string,
  input: { name: string; version: string; reason: string },
  principal: Principal,
  deps: MarketplaceDeps,
): Promise<{ version: CapsuleVersion; ledger?: LedgerRef }> {
  const [name, version] = await Promise.all([deps.store.name(input.name), deps.store.version(input.name, input.version)]);
  if (!name || !version || version.ownerTenant !== tenant)
    throw new NotFoundError(`Tenant ${tenant} has no capsule ${input.name} ${input.version}`);
  if (version.status !== 'published')
    throw new ConflictError(`${input.name} ${input.version} is ${version.status}; only a published version can be deprecated`);
  const at = deps.now.toISOString();
  const next: CapsuleVersion = {
    ...version,
    status: 'deprecated',
    deprecatedAt: at,
    reasons: [...version.reasons, input.reason].slice(-50),
    revision: version.revision + 1,
  };
  const entries = await deps.store.writeVersion({
    name: { ...nameWith(name, name.name, name.ownerTenant, name.description, version.version, 'deprecated'), revision: name.revision + 1 },
    nameRevision: name.revision,
    version: next,
    versionRevision: version.revision,
    eventTenant: tenant,
    events: [
      busEvent('capsules.version.deprecated', {
        tenant,
        name: input.name,
        capsuleVersion: input.version,
        reason: input.reason,
        deprecatedBy: actorOf(principal),
        deprecatedAt: at,
      }),
    ],
  });
  return { version: next, ledger: await deliver(deps.outbox, entries) };
}

// Installs.

/** The tenant's policy sets, as installing changes them. */
export interface TenantPolicies {
  /** The tenant's current version and its layers. */
  current(tenant: string): Promise<{ policyVersion: number; layers: PolicyLayers }>;
  /** Publishes `layers` as the tenant's next version, unless `basedOn` is no longer current (ConflictError). */
  publish(tenant: string, layers: PolicyLayers, by: { actor: string; basedOn: number }): Promise<PublishOutcome>;
}

/** What installing needs. */
export interface InstallDeps extends MarketplaceDeps {
  objects: BundleObjects;
  policies: TenantPolicies;
}

/** Attempts at moving the tenant's policy set when another change lands between read and publish. */
const POLICY_ATTEMPTS = 4;

/** Puts the capsule's layer into (text) or out of (undefined) the tenant's policy set; the version now in force. */
async function applyLayer(tenant: string, capsule: string, text: string | undefined, actor: string, deps: InstallDeps): Promise<number> {
  for (let attempt = 1; ; attempt += 1) {
    const { policyVersion, layers } = await deps.policies.current(tenant);
    const capsules = { ...(layers.capsules ?? {}) };
    if (text === undefined) delete capsules[capsule];
    else capsules[capsule] = text;
    if ((layers.capsules?.[capsule] ?? undefined) === text) return policyVersion;
    const { capsules: _old, ...rest } = layers;
    const next: PolicyLayers = Object.keys(capsules).length > 0 ? { ...rest, capsules } : rest;
    try {
      return (await deps.policies.publish(tenant, next, { actor, basedOn: policyVersion })).policyVersion;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= POLICY_ATTEMPTS) throw error;
    }
  }
}

/**
 * Installs a published version in the tenant (or moves the tenant to it): the bundle read back and
 * verified again (its hash, its author's signature), its guardrails made the capsule's layer of the
 * tenant's Cedar policy set (a new policy version, validated against the stage's schema; none when
 * it brings none), its per-run budget recorded with the install and its event.
 * @throws NotFoundError when no such version is published; ConflictError when it is deprecated, already
 *   installed at that version, or its stored bundle does not verify; ValidationError when its guardrails
 *   no longer validate against the stage's schema.
 */
export async function installCapsule(
  tenant: string,
  input: { name: string; version: string },
  principal: Principal,
  deps: InstallDeps,
): Promise<{ install: Install; ledger?: LedgerRef }> {
  const version = await deps.store.version(input.name, input.version);
  if (!version || (version.status !== 'published' && version.status !== 'deprecated'))
    throw new NotFoundError(`No published capsule ${input.name} ${input.version} (GET /capsules/catalog)`);
  if (version.status === 'deprecated')
    throw new ConflictError(
      `${input.name} ${input.version} is deprecated (${version.reasons.at(-1) ?? 'no reason'}); install another version`,
    );
  const existing = await deps.store.install(tenant, input.name);
  if (existing?.status === 'installed' && existing.version === input.version)
    throw new ConflictError(`${input.name} ${input.version} is installed already`);
  const bytes = await deps.objects.get(version.bundleKey);
  if (!bytes || sha256Of(bytes) !== version.bundleSha256)
    throw new ConflictError(
      `The stored bundle of ${input.name} ${input.version} is missing or does not match its SHA-256; it is not installed`,
    );
  const key = (await deps.store.authorKeys(version.ownerTenant, version.author)).find((candidate) => candidate.keyId === version.keyId);
  let bundle: VerifiedCapsule;
  try {
    bundle = verifyBundle(
      bytes,
      { alg: 'Ed25519', keyId: version.keyId, bundleSha256: version.bundleSha256, signature: version.signature },
      key && { author: key.subject, keyId: key.keyId, publicKey: key.publicKey },
    );
  } catch (error) {
    if (!(error instanceof BundleRefusedError)) throw error;
    throw new ConflictError(
      `The stored bundle of ${input.name} ${input.version} no longer verifies (${error.message.slice(0, 300)}); it is not installed`,
    );
  }
  const actor = actorOf(principal);
  const policyVersion = await applyLayer(tenant, input.name, bundle.manifest.guardrails?.policies, actor, deps);
  const at = deps.now.toISOString();
  const install: Install = {
    tenant,
    name: input.name,
    version: input.version,
    ownerTenant: version.ownerTenant,
    bundleSha256: version.bundleSha256,
    tools: bundle.manifest.tools,
    budget: bundle.manifest.budget,
    policyVersion,
    status: 'installed',
    installedBy: actor,
    installedAt: at,
    revision: (existing?.revision ?? -1) + 1,
  };
  const entries = await deps.store.putInstall(install, existing?.revision, [
    busEvent('capsules.capsule.installed', {
      tenant,
      name: input.name,
      capsuleVersion: input.version,
      previousVersion: existing?.status === 'installed' ? existing.version : null,
      bundleSha256: version.bundleSha256,
      ownerTenant: version.ownerTenant,
      policyVersion,
      budget: bundle.manifest.budget,
      installedBy: actor,
      installedAt: at,
    }),
  ]);
  return { install, ledger: await deliver(deps.outbox, entries) };
}

/**
 * Uninstalls a capsule from the tenant: its layer leaves the tenant's policy set, its budget is no longer reserved.
 * @throws NotFoundError when the tenant has it not installed.
 */
export async function uninstallCapsule(
  tenant: string,
  name: string,
  principal: Principal,
  deps: InstallDeps,
): Promise<{ install: Install; ledger?: LedgerRef }> {
  const existing = await deps.store.install(tenant, name);
  if (existing?.status !== 'installed') throw new NotFoundError(`Capsule ${name} is not installed in tenant ${tenant}`);
  const actor = actorOf(principal);
  const policyVersion = await applyLayer(tenant, name, undefined, actor, deps);
  const at = deps.now.toISOString();
  const install: Install = { ...existing, status: 'uninstalled', policyVersion, uninstalledAt: at, revision: existing.revision + 1 };
  const entries = await deps.store.putInstall(install, existing.revision, [
    busEvent('capsules.capsule.uninstalled', {
      tenant,
      name,
      capsuleVersion: existing.version,
      policyVersion,
      uninstalledBy: actor,
      uninstalledAt: at,
    }),
  ]);
  return { install, ledger: await deliver(deps.outbox, entries) };
}

// The catalog.

/** Whether `tenant` may see a version: published and deprecated ones are public, the rest only to their owner. */
function visible(tenant: string, ownerTenant: string, status: VersionStatus): boolean {
  return status === 'published' || status === 'deprecated' || ownerTenant === tenant;
}

/** A name as a search shows it to `tenant`; undefined when it has no version the tenant may see. */
export function summaryFor(tenant: string, name: CapsuleName) {
  const versions = Object.entries(name.versions)
    .filter(([, status]) => visible(tenant, name.ownerTenant, status))
    .sort(([a], [b]) => semver.rcompare(a, b))
    .map(([version, status]) => ({ version, status }));
  if (versions.length === 0) return undefined;
  return { name: name.name, ownerTenant: name.ownerTenant, description: name.description, latestVersion: name.latestVersion, versions };
}

/**
 * `GET /capsules/catalog`: with `name` and `version`, that version with its review record; with
 * `name`, the capsule and its versions; else a search of names and descriptions (every word of `q`).
 * Versions in review or rejected are shown to their owner only. With `records`, each capsule shows
 * its success record (runs, completed, success rate, outcomes).
 * @throws NotFoundError when `name` (and `version`) names nothing the tenant may see.
 */
export async function readCatalog(
  tenant: string,
  query: { name?: string; version?: string; q?: string; limit: number },
  store: Pick<CapsuleStore, 'name' | 'names' | 'version'>,
  records?: (name: string) => Promise<RunRecord>,
): Promise<{ capsules: (CatalogSummary & { record?: RunRecord })[]; version?: CapsuleVersion }> {
  const found = await readSummaries(tenant, query, store);
  if (!records) return found;
  // Each capsule's success record: the outcomes of every run of it, counted as runs end.
  const capsules = await Promise.all(found.capsules.map(async (summary) => ({ ...summary, record: await records(summary.name) })));
  return { ...found, capsules };
}

type CatalogSummary = NonNullable<ReturnType<typeof summaryFor>>;

async function readSummaries(
  tenant: string,
  query: { name?: string; version?: string; q?: string; limit: number },
  store: Pick<CapsuleStore, 'name' | 'names' | 'version'>,
): Promise<{ capsules: CatalogSummary[]; version?: CapsuleVersion }> {
  if (query.version !== undefined && query.name === undefined)
    throw new ValidationError([{ path: 'query.name', message: 'name a capsule to read one of its versions' }]);
  if (query.name !== undefined) {
    const name = await store.name(query.name);
    const summary = name && summaryFor(tenant, name);
    if (!summary) throw new NotFoundError(`No capsule ${query.name} (GET /capsules/catalog to search)`);
    if (query.version === undefined) return { capsules: [summary] };
    const version = await store.version(query.name, query.version);
    if (!version || !visible(tenant, version.ownerTenant, version.status))
      throw new NotFoundError(`No capsule ${query.name} ${query.version}`);
    // The record of who may see what: only the owner sees the proposal's ids.
    const shown = version.ownerTenant === tenant ? version : stripOwnerFields(version);
    return { capsules: [summary], version: shown };
  }
  const words = (query.q ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const found: NonNullable<ReturnType<typeof summaryFor>>[] = [];
  let after: string | undefined;
  // Names are read a page at a time until `limit` match (a bounded number of pages).
  for (let page = 0; page < 20 && found.length < query.limit; page += 1) {
    const names = await store.names(100, after);
    for (const name of names) {
      const text = `${name.name} ${name.description}`.toLowerCase();
      const summary = words.every((word) => text.includes(word)) ? summaryFor(tenant, name) : undefined;
      if (summary && found.length < query.limit) found.push(summary);
    }
    if (names.length < 100) break;
    after = names.at(-1)?.name;
  }
  return { capsules: found };
}

function stripOwnerFields({ proposalId: _proposalId, approvalId: _approvalId, ...version }: CapsuleVersion): CapsuleVersion {
  return version;
}
