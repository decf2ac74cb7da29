/**
 * The Versioning engine's operations on its ports: tagging a version of an artifact (diffed against the
 * latest one, the bump derived, a requested version checked against it, the golden set checked, a
 * breaking version proposed to governance for people's approval, the tag saved with a
 * `versioning.version.tagged` event recorded in the tenant's ledger with the body's hash), listing
 * versions, the compatibility matrix, recording a test-suite result, and {@link promotable}, which the
 * Promotion engine calls in process.
 *
 * A breaking version's proposal id is a digest of (tenant, artifact, version), so a retried tag
 * cannot propose twice. Two tags racing for the same artifact: one saves, the other gets a 409.
 */
import { createHash } from 'node:crypto';
import semver from 'semver';
import type { LedgerLocation } from '../api/route.ts';
import { canonicalJson, sha256Hex } from '../audit/digest.ts';
import { ConflictError, ForbiddenError, LockedError, NotFoundError, ValidationError } from '../errors.ts';
import { type BusEvent, busEvent } from '../events/publisher.ts';
import { type OutboxEntry, type Proposal, type Proposer, propose } from '../governance/proposals.ts';
import { ArtifactBodyError, checkBody, diffArtifact } from './artifact-diff.ts';
import { checkGolden, GoldenSchemaError } from './golden.ts';
import type { VersioningDeps } from './ports.ts';
import {
  type Approval,
  type ArtifactKind,
  type Compatibility,
  type GateInput,
  INLINE_BODY_BYTES,
  MAX_CHANGES,
  MAX_LISTED_VERSIONS,
  type Promotability,
  type TagInput,
  type VersionBump,
  type VersionRecord,
  type VersionView,
} from './schemas.ts';

/** The first version of an artifact when none is requested. */
export const FIRST_VERSION = '1.0.0';

/** Versioning's service principal: what governance and Cedar see as the proposer. */
export function versioningProposer(tenant: string): Proposer {
  return { kind: 'engine', id: 'engine:versioning', tenant, roles: [] };
}

/** A UUID-shaped digest of (tenant, artifact, version): the id of a breaking version's proposal. */
export function versioningProposalId(tenant: string, artifact: string, version: string): string {
  const hex = createHash('sha256').update(`versioning\u0000proposal\u0000${tenant}\u0000${artifact}\u0000${version}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((Number.parseInt(hex.slice(16, 17), 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The version a tag gets: `requested` when given and allowed, else the latest bumped by `bump`.
 * A requested version must be greater than the latest, and its release part (major.minor.patch) at
 * least the derived one (so `2.0.0-rc.1` may follow `1.4.0` for a major bump, `1.5.0` may not).
 * @throws ValidationError naming `version` when the requested version is too small.
 * @example deriveVersion('1.4.2', 'minor') // '1.5.0'
 */
export function deriveVersion(latest: string | undefined, bump: VersionBump, requested?: string): string {
  if (latest === undefined) return requested ?? FIRST_VERSION;
  const derived = semver.inc(latest, bump === 'initial' ? 'patch' : bump);
  if (!derived) throw new ValidationError([{ path: 'version', message: `the latest version ${latest} is not semver` }]);
  if (requested === undefined) return derived;
  if (!semver.gt(requested, latest))
    throw new ValidationError([{ path: 'version', message: `must be greater than the latest version ${latest}` }]);
  const release = `${semver.major(requested)}.${semver.minor(requested)}.${semver.patch(requested)}`;
  if (semver.lt(release, derived))
    throw new ValidationError([{ path: 'version', message: `the changes since ${latest} call for a ${bump} bump: at least ${derived}` }]);
  return requested;
}

/**
 * Whether a version may be promoted: its regression gate passed (a golden set, a test-suite result,
 * or both, each passing; none recorded is a no) and, when it is breaking, its governance approval given.
 * @example promotabilityOf(record) // { promotable: false, reasons: ['breaking version waits for approval (proposal …)'] }
 */
export function promotabilityOf(record: Pick<VersionRecord, 'gate' | 'breaking' | 'approval'>): Promotability {
  const reasons: string[] = [];
  const { golden, suite } = record.gate;
  if (!golden && !suite)
    reasons.push('no regression result: tag it with a golden set or record a test-suite result (POST /versioning/gate)');
  if (golden && !golden.passed)
    reasons.push(
      `golden set failed: ${golden.failures.length} of ${golden.total} examples do not validate (first: #${golden.failures[0]?.index ?? '?'})`,
    );
  if (suite && !suite.passed) reasons.push(`test suite ${suite.suite} failed: ${suite.failed} of ${suite.total} failed`);
  if (record.breaking) {
    const approval = record.approval;
    if (!approval) reasons.push('breaking version has no governance approval');
    else if (approval.status === 'pending') reasons.push(`breaking version waits for approval (proposal ${approval.proposalId})`);
    else if (approval.status !== 'approved' && approval.status !== 'executed')
      reasons.push(`breaking version was not approved: proposal ${approval.proposalId} ${approval.status}`);
  }
  return { promotable: reasons.length === 0, reasons };
}

/**
 * The compatibility matrix of versions given oldest first: a consumer pinned to X accepts producer Y
 * when no breaking version lies between them (in `(min(X, Y), max(X, Y)]`), so every consumer accepts
 * its own version and compatibility stops at each breaking version, in both directions.
 * @example compatibilityOf('a', [v1, v2minor, v3major]).consumers[0] // { consumer: '1.0.0', accepts: ['1.0.0', '1.1.0'] }
 */
export function compatibilityOf(artifact: string, versions: readonly Pick<VersionRecord, 'version' | 'breaking'>[]): Compatibility {
  // epoch[i]: how many breaking versions up to and including i; equal epochs mean no break between.
  const epochs: number[] = [];
  let epoch = 0;
  versions.forEach((v, i) => {
    if (i > 0 && v.breaking) epoch += 1;
    epochs.push(epoch);
  });
  const matrix = versions.map((_, i) => versions.map((__, j) => epochs[i] === epochs[j]));
  return {
    artifact,
    versions: versions.map((v) => v.version),
    consumers: versions.map((v, i) => ({ consumer: v.version, accepts: versions.filter((_, j) => matrix[i]?.[j]).map((w) => w.version) })),
    matrix,
  };
}

function viewOf(record: VersionRecord): VersionView {
  const { tenant: _t, body: _b, golden, rev: _r, ...rest } = record;
  return { ...rest, goldenCount: golden?.length ?? 0, promotability: promotabilityOf(record) };
}

async function deliver(deps: Pick<VersioningDeps, 'outbox'>, entries: OutboxEntry[]): Promise<LedgerLocation | undefined> {
  let ledger: LedgerLocation | undefined;
  for (const entry of entries) ledger = (await deps.outbox.record(entry)) ?? ledger;
  await deps.outbox.deliver(entries);
  return ledger;
}

function taggedEvent(record: VersionRecord): BusEvent {
  return busEvent('versioning.version.tagged', {
    tenant: record.tenant,
    artifact: record.artifact,
    kind: record.kind,
    artifactVersion: record.version,
    ...(record.previous ? { previousVersion: record.previous } : {}),
    bump: record.bump,
    breaking: record.breaking,
    hash: record.hash,
    bytes: record.bytes,
    changes: record.changes.length + record.changesOmitted,
    breakingChanges: record.changes.filter((c) => c.breaking).length,
    ...(record.gate.golden ? { golden: { passed: record.gate.golden.passed, total: record.gate.golden.total } } : {}),
    ...(record.approval ? { approval: record.approval } : {}),
    taggedBy: record.taggedBy,
    taggedAt: record.taggedAt,
  });
}

function updatedEvent(record: VersionRecord, what: 'gate' | 'approval', actor: string): BusEvent {
  const promotability = promotabilityOf(record);
  return busEvent('versioning.version.updated', {
    tenant: record.tenant,
    artifact: record.artifact,
    artifactVersion: record.version,
    hash: record.hash,
    what,
    ...(record.gate.suite
      ? {
          suite: {
            suite: record.gate.suite.suite,
            passed: record.gate.suite.passed,
            total: record.gate.suite.total,
            failed: record.gate.suite.failed,
          },
        }
      : {}),
    ...(record.approval ? { approval: record.approval } : {}),
    promotable: promotability.promotable,
    updatedBy: actor,
  });
}

/** What a tag returns. */
export interface TagOutcome {
  record: VersionRecord;
  view: VersionView;
  proposal?: Proposal;
  ledger?: LedgerLocation;
}

/**
 * Tags a new version of an artifact (see the module comment). Nothing is written when the request
 * is refused (every check comes before the first write).
 * @throws ValidationError naming `body` (not what its kind needs, or a schema ajv cannot compile),
 *   `kind` (not the artifact's kind) or `version` (not greater than the latest, or smaller than the changes call for).
 * @throws ConflictError when the body equals the latest version's, or another tag won the race.
 */
export async function tagVersion(tenant: string, input: TagInput, actor: string, deps: VersioningDeps): Promise<TagOutcome> {
  const started = performance.now();
  try {
    checkBody(input.kind, input.body);
  } catch (error) {
    if (error instanceof ArtifactBodyError) throw new ValidationError([{ path: 'body', message: error.message }]);
    throw error;
  }
  const json = canonicalJson(input.body);
  const hash = sha256Hex(json);
  const bytes = Buffer.byteLength(json);
  const head = await deps.store.head(tenant, input.artifact);
  if (head && head.kind !== input.kind)
    throw new ValidationError([{ path: 'kind', message: `${input.artifact} is a ${head.kind} artifact` }]);
  const latest = head ? await deps.store.version(tenant, input.artifact, head.latest) : undefined;
  if (head && !latest) throw new ConflictError(`The latest version of ${input.artifact} is being written; try again`);
  if (latest?.hash === hash)
    throw new ConflictError(`The body is identical to version ${latest.version} of ${input.artifact}: nothing to tag`);
  let diff: ReturnType<typeof diffArtifact> = { bump: 'patch', breaking: false, changes: [] };
  if (latest) {
    try {
      diff = diffArtifact(input.kind, await deps.store.body(latest), input.body);
    } catch (error) {
      if (error instanceof ArtifactBodyError) throw new ValidationError([{ path: 'body', message: error.message }]);
      throw error;
    }
  }
  const bump: VersionBump = latest ? diff.bump : 'initial';
  const version = deriveVersion(latest?.version, bump, input.version);
  const golden = input.kind === 'schema' ? (input.golden ?? latest?.golden) : undefined;
  let goldenGate: VersionRecord['gate']['golden'];
  if (golden) {
    try {
      goldenGate = checkGolden(input.body, golden, input.golden ? 'request' : 'previous');
    } catch (error) {
      if (error instanceof GoldenSchemaError) throw new ValidationError([{ path: 'body', message: error.message }]);
      throw error;
    }
  }
  const now = deps.now();
  let approval: Approval | undefined;
  let proposal: Proposal | undefined;
  if (diff.breaking) {
    const proposalId = versioningProposalId(tenant, input.artifact, version);
    const breaking = diff.changes.filter((c) => c.breaking);
    try {
      ({ proposal } = await propose(
        {
          engine: 'versioning',
          action: 'publish',
          target: `${input.artifact}@${version}`.slice(0, 1024),
          environment: 'staging',
          parameters: { bump: 'major' },
          reason: `Version ${version} of ${input.artifact} breaks consumers of ${latest?.version}: ${breaking
            .slice(0, 5)
            .map((c) => `${c.kind} at ${c.path || '/'}`)
            .join(', ')}${breaking.length > 5 ? `, and ${breaking.length - 5} more` : ''}`.slice(0, 2000),
          evidence: { previous: latest?.version, hash, breakingChanges: breaking.slice(0, 20) },
          escalate: 'a breaking version needs people to approve it before promotion',
        },
        versioningProposer(tenant),
        { ...deps.governance, now, newId: () => proposalId },
      ));
    } catch (error) {
      if (error instanceof ConflictError) proposal = await deps.governance.store.proposal(tenant, proposalId);
      else if (!(error instanceof LockedError || error instanceof ForbiddenError)) throw error;
    }
    approval = proposal
      ? { proposalId: proposal.proposalId, status: proposal.status, route: proposal.route }
      : { proposalId, status: 'refused' };
  }
  const inline = bytes <= INLINE_BODY_BYTES;
  const record: VersionRecord = {
    tenant,
    artifact: input.artifact,
    kind: input.kind,
    version,
    seq: (head?.seq ?? 0) + 1,
    ...(latest ? { previous: latest.version } : {}),
    bump,
    breaking: diff.breaking,
    changes: diff.changes.slice(0, MAX_CHANGES),
    changesOmitted: Math.max(0, diff.changes.length - MAX_CHANGES),
    hash,
    bytes,
    ...(inline ? { body: input.body } : {}),
    bodyRef: inline ? { at: 'inline' } : { at: 's3', key: await deps.store.putBody(tenant, hash, json) },
    ...(golden ? { golden: [...golden] } : {}),
    gate: goldenGate ? { golden: goldenGate } : {},
    ...(approval ? { approval } : {}),
    ...(input.note ? { note: input.note } : {}),
    taggedAt: now.toISOString(),
    taggedBy: actor.slice(0, 256),
    tagMs: 0,
    rev: 1,
  };
  record.tagMs = Math.round((performance.now() - started) * 1000) / 1000;
  const entries = await deps.store.tag(record, head?.seq, [taggedEvent(record)]);
  const ledger = await deliver(deps, entries);
  return { record, view: viewOf(record), ...(proposal ? { proposal } : {}), ...(ledger ? { ledger } : {}) };
}

async function recordOf(tenant: string, artifact: string, version: string, deps: Pick<VersioningDeps, 'store'>): Promise<VersionRecord> {
  const record = await deps.store.version(tenant, artifact, version);
  if (!record) throw new NotFoundError(`${artifact} has no version ${version}`);
  return record;
}

/**
 * An artifact's versions, oldest first (the newest {@link MAX_LISTED_VERSIONS}), each with its bump,
 * changes, gate, approval (as last recorded) and promotability.
 * @throws NotFoundError when the artifact has no version.
 */
export async function listVersions(
  tenant: string,
  artifact: string,
  deps: Pick<VersioningDeps, 'store'>,
): Promise<{ artifact: string; kind: ArtifactKind; latest: string; versions: VersionView[] }> {
  const head = await deps.store.head(tenant, artifact);
  if (!head) throw new NotFoundError(`${artifact} has no versions`);
  const records = await deps.store.versions(tenant, artifact, MAX_LISTED_VERSIONS);
  return { artifact, kind: head.kind, latest: head.latest, versions: records.map(viewOf) };
}

/**
 * The compatibility matrix of an artifact's versions (the newest {@link MAX_LISTED_VERSIONS}).
 * @throws NotFoundError when the artifact has no version.
 */
export async function artifactCompatibility(tenant: string, artifact: string, deps: Pick<VersioningDeps, 'store'>): Promise<Compatibility> {
  const head = await deps.store.head(tenant, artifact);
  if (!head) throw new NotFoundError(`${artifact} has no versions`);
  return compatibilityOf(artifact, await deps.store.versions(tenant, artifact, MAX_LISTED_VERSIONS));
}

/**
 * Records a test-suite result on a version (replacing an earlier one), in the ledger.
 * @throws NotFoundError when the version does not exist; ValidationError naming `failed` when more failed than ran.
 */
export async function recordGate(
  tenant: string,
  input: GateInput,
  actor: string,
  deps: VersioningDeps,
): Promise<{ view: VersionView; ledger?: LedgerLocation }> {
  if (input.failed > input.total) throw new ValidationError([{ path: 'failed', message: 'cannot exceed total' }]);
  const record = await recordOf(tenant, input.artifact, input.version, deps);
  const next: VersionRecord = {
    ...record,
    gate: {
      ...record.gate,
      suite: {
        suite: input.suite,
        passed: input.failed === 0 && input.total > 0,
        total: input.total,
        failed: input.failed,
        ...(input.reportUrl ? { reportUrl: input.reportUrl } : {}),
        recordedAt: deps.now().toISOString(),
        recordedBy: actor.slice(0, 256),
      },
    },
    rev: record.rev + 1,
  };
  const ledger = await deliver(deps, await deps.store.update(next, record.rev, [updatedEvent(next, 'gate', actor)]));
  return { view: viewOf(next), ...(ledger ? { ledger } : {}) };
}

/** What {@link promotable} answers. */
export interface PromotableAnswer extends Promotability {
  artifact: string;
  version: string;
  breaking: boolean;
  hash: string;
}

/**
 * Whether a version may be promoted, for the Promotion engine (in process) and `GET /versioning/promotable`.
 * A breaking version's approval is read from its governance proposal; when the proposal was decided
 * since, the decision is recorded on the version (and in the ledger) before answering.
 * @throws NotFoundError when the version does not exist.
 * @example const { promotable: ok, reasons } = await promotable('acme', 'tools/weather.input', '2.0.0', versioningDeps(now));
 */
export async function promotable(tenant: string, artifact: string, version: string, deps: VersioningDeps): Promise<PromotableAnswer> {
  let record = await recordOf(tenant, artifact, version, deps);
  if (record.approval?.status === 'pending') {
    const proposal = await deps.governance.store.proposal(tenant, record.approval.proposalId);
    if (proposal && proposal.status !== 'pending') {
      const next: VersionRecord = {
        ...record,
        approval: { ...record.approval, status: proposal.status, decidedAt: proposal.updatedAt },
        rev: record.rev + 1,
      };
      try {
        await deliver(deps, await deps.store.update(next, record.rev, [updatedEvent(next, 'approval', 'engine:versioning')]));
        record = next;
      } catch (error) {
        // Another reader recorded it first: read what was recorded.
        if (!(error instanceof ConflictError)) throw error;
        record = await recordOf(tenant, artifact, version, deps);
      }
    }
  }
  return { artifact, version, breaking: record.breaking, hash: record.hash, ...promotabilityOf(record) };
}
