/**
 * A tenant's Cedar policy sets: publishing a new version (validated, stored immutably, then made
 * current in the tenant's settings with its event), reading the current one, and replaying the
 * decisions the ledger recorded against a candidate before anyone applies it.
 *
 * Versions are immutable: version N+1 is stored first (a conditional put), then the settings'
 * `policyVersion` moves to it (a conditional write with the `governance.policy.published` event,
 * recorded in the ledger). A publish that dies between the two leaves an unreferenced version;
 * the next publish skips its number.
 */
import { z } from 'zod';
import { loadPayloads } from '../audit/engine.ts';
import type { LedgerStore, PayloadStore } from '../audit/ports.ts';
import { ConflictError, ValidationError } from '../errors.ts';
import { busEvent } from '../events/publisher.ts';
import type { CedarSchema } from './cedar-schema.ts';
import {
  type PolicyEngine,
  type PolicyValidationError,
  policyDocumentHash,
  policyValidationIssues,
  type RecordedDecision,
  recordedDecisionSchema,
  validatePolicies,
} from './policy.ts';
import { MAX_POLICIES_PER_SET, MAX_SIMULATED_DECISIONS } from './policy-routes.ts';
import type { PolicyLayers } from './profiles.ts';
import type { GovernanceStore } from './proposals.ts';
import { type SettingsDeps, updateSettings } from './settings.ts';

/** The ledger stream governance events are recorded in (per tenant). */
export const GOVERNANCE_EVENTS_STREAM = 'events.governance';

/** Distinct version numbers a publish tries when numbers are taken (a concurrent or an interrupted publish). */
const PUBLISH_ATTEMPTS = 5;
/** Ledger entries read per page when looking back for recorded decisions. */
const LEDGER_PAGE = 250;
/** Ledger entries read at most per replayed decision asked for (other governance events sit between them). */
const SCAN_PER_DECISION = 20;
/** Stop reading the ledger when less than this is left of the function's time: answer with what was found. */
const TIME_RESERVE_MS = 5_000;

/**
 * What decides while a tenant's settings name a version that is not stored (it was deleted by
 * hand): nothing but break-glass, so an admin can publish a new set. Fail closed.
 */
export const LOCKDOWN_LAYERS: PolicyLayers = { team: '@id("policy-set-missing")\nforbid (principal, action, resource);\n' };

/** A stored policy set version (immutable). */
export interface StoredPolicySet {
  tenant: string;
  policyVersion: number;
  layers: PolicyLayers;
  /** {@link policyDocumentHash} of `layers`. */
  hash: string;
  author: string;
  at: string;
}

/** Policy set versions (lib/adapters/aws/governance-deps.ts: `policyVersions()`). */
export interface PolicySetStore {
  /** The layers of a version; undefined for version 0 (the base profile alone) and for a version not stored. */
  layers(tenant: string, version: number): Promise<PolicyLayers | undefined>;
  /** @throws ConflictError when the version exists. */
  put(stored: StoredPolicySet): Promise<void>;
}

/** What publishing needs. */
export interface PublishDeps extends SettingsDeps {
  policies: Pick<PolicySetStore, 'put'>;
  /** The stage's Cedar schema (`policyEngine().schema`). */
  schema: CedarSchema;
}

/** A published version. */
export interface PublishOutcome {
  policyVersion: number;
  previousVersion: number;
  hash: string;
  policyIds: string[];
  breakGlass: boolean;
}

/** Cedar's validation errors as a 400, each under `body.parameters.policies.<layer>`. */
function invalid(errors: readonly PolicyValidationError[]): ValidationError {
  return new ValidationError(policyValidationIssues(errors).map((issue) => ({ ...issue, path: `body.parameters.policies.${issue.path}` })));
}

/**
 * Validates `layers` against `schema` and returns the document's policy ids.
 * @throws ValidationError quoting Cedar's messages (line and column in the layer), or naming a document over {@link MAX_POLICIES_PER_SET} policies.
 */
export function checkPolicies(layers: PolicyLayers, schema: CedarSchema): string[] {
  const validation = validatePolicies(layers, schema);
  if (!validation.ok) throw invalid(validation.errors);
  if (validation.policyIds.length > MAX_POLICIES_PER_SET)
    throw new ValidationError([
      {
        path: 'body.parameters.policies',
        message: `a policy set holds at most ${MAX_POLICIES_PER_SET} policies (base profile included); got ${validation.policyIds.length}`,
      },
    ]);
  return validation.policyIds;
}

/**
 * Publishes a new version of a tenant's policy set: validates it against the stage's schema
 * (nothing is stored when it is invalid), stores it as the next free version, and makes it current
 * with a `governance.policy.published` event (hash, policy ids, actor, break-glass) recorded in
 * the ledger.
 *
 * `by.basedOn`: the version the new document was derived from (a read-modify-write such as a
 * capsule's install): the publish is refused unless that version is still current, so no change
 * made meanwhile is lost.
 *
 * @throws ValidationError (400) quoting Cedar's messages.
 * @throws ConflictError (409) when another version was made current meanwhile (publish again on top of it), or `by.basedOn` is no longer current.
 * @example
 * const outcome = await publishPolicies('acme', { team: '@id("no-prod-restarts") forbid (…);' }, { actor: 'root', breakGlass: false }, deps);
 */
export async function publishPolicies(
  tenant: string,
  layers: PolicyLayers,
  by: { actor: string; breakGlass: boolean; basedOn?: number },
  deps: PublishDeps,
): Promise<PublishOutcome> {
  const policyIds = checkPolicies(layers, deps.schema);
  const hash = policyDocumentHash(layers);
  const at = deps.now.toISOString();
  const current = await deps.store.settings(tenant);
  const moved = (version: number) =>
    new ConflictError(
      `Policy set v${version} of ${tenant} was published meanwhile (this change was made on v${by.basedOn}); read it (GET /governance/policies) and publish again`,
    );
  if (by.basedOn !== undefined && current.policyVersion !== by.basedOn) throw moved(current.policyVersion);
  let policyVersion = current.policyVersion + 1;
  for (let attempt = 1; ; attempt += 1, policyVersion += 1) {
    try {
      await deps.policies.put({ tenant, policyVersion, layers, hash, author: by.actor, at });
      break;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= PUBLISH_ATTEMPTS) throw error;
    }
  }
  const { before } = await updateSettings(
    tenant,
    (settings) => {
      if (by.basedOn !== undefined && settings.policyVersion !== by.basedOn) throw moved(settings.policyVersion);
      if (settings.policyVersion >= policyVersion)
        throw new ConflictError(
          `Policy set v${settings.policyVersion} of ${tenant} was published meanwhile; read it (GET /governance/policies) and publish again`,
        );
      return {
        next: { ...settings, policyVersion },
        events: [
          busEvent('governance.policy.published', {
            tenant,
            policyVersion,
            hash,
            policyIds,
            actor: by.actor,
            breakGlass: by.breakGlass,
            publishedAt: at,
          }),
        ],
      };
    },
    deps,
  );
  return { policyVersion, previousVersion: before.policyVersion, hash, policyIds, breakGlass: by.breakGlass };
}

/** The tenant's current policy set, as `GET /governance/policies` shows it. */
export interface CurrentPolicies {
  policyVersion: number;
  hash: string;
  layers: PolicyLayers;
  policyIds: string[];
  /** Why the stored set does not validate (any more) against the stage's schema; it then denies all but break-glass. */
  issues?: { path: string; message: string }[];
}

/**
 * The tenant's current policy set, with its ids; `issues` when it no longer validates against the
 * stage's schema (a route or actuation it names was removed) or is not stored.
 */
export async function currentPolicies(
  tenant: string,
  deps: { store: Pick<GovernanceStore, 'settings'>; policies: Pick<PolicySetStore, 'layers'>; schema: CedarSchema },
): Promise<CurrentPolicies> {
  const { policyVersion } = await deps.store.settings(tenant);
  const stored = await deps.policies.layers(tenant, policyVersion);
  const layers = stored ?? {};
  const missing = policyVersion > 0 && stored === undefined;
  const validation = validatePolicies(layers, deps.schema);
  const issues = [
    ...(missing
      ? [
          {
            path: 'policies',
            message: `policy set v${policyVersion} is not stored: everything but break-glass is denied until a new version is published`,
          },
        ]
      : []),
    ...(validation.ok ? [] : policyValidationIssues(validation.errors)),
  ].slice(0, 101);
  return {
    policyVersion,
    hash: policyDocumentHash(layers),
    layers,
    policyIds: validation.ok ? validation.policyIds.slice(0, MAX_POLICIES_PER_SET) : [],
    ...(issues.length > 0 ? { issues } : {}),
  };
}

/** Where recorded decisions are read from: the tenant's ledger stream of governance events, and their payloads. */
export interface DecisionLedger {
  ledger: Pick<LedgerStore, 'latest' | 'read'>;
  payloads: PayloadStore;
  /** Milliseconds left to answer in (the function's remaining time); reading stops early when it runs short. */
  remainingMs?: () => number;
}

/** The recorded decisions found, newest first. */
export interface RecordedDecisions {
  decisions: RecordedDecision[];
  /** Recorded decisions that cannot be replayed, with why. */
  skipped: { id: string; reason: string }[];
  /** Ledger entries read. */
  scanned: number;
  /** True when reading stopped (time or scan budget) before `limit` decisions or the start of the stream. */
  truncated: boolean;
}

/** A `governance.proposal.evaluated` event as the audit appender stores it (lib/audit/engine.ts, `busEventRecord`). */
const evaluatedPayloadSchema = z.object({
  detailType: z.literal('governance.proposal.evaluated'),
  detail: z.object({
    proposalId: z.string().min(1).max(256),
    status: z.string(),
    reasons: z.array(z.string()),
    policy: z.unknown(),
    policyRequest: z.unknown(),
  }),
});

function issuesText(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`)
    .join('; ')
    .slice(0, 1000);
}

/**
 * The tenant's newest `limit` proposal decisions from the ledger (`governance.proposal.evaluated`
 * in stream `events.governance`), newest first, read back page by page. A proposal refused before
 * policy was asked (kill switch, constitution) is listed in `skipped`: there is no decision to replay.
 */
export async function recordedDecisions(tenant: string, limit: number, deps: DecisionLedger): Promise<RecordedDecisions> {
  const found: RecordedDecisions = { decisions: [], skipped: [], scanned: 0, truncated: false };
  const head = await deps.ledger.latest(tenant, GOVERNANCE_EVENTS_STREAM);
  const budget = Math.min(limit * SCAN_PER_DECISION, MAX_SIMULATED_DECISIONS * SCAN_PER_DECISION);
  let to = head === undefined ? 0 : head.seq + 1;
  const enough = () => found.decisions.length + found.skipped.length >= limit;
  while (to > 0 && !enough()) {
    if (found.scanned >= budget || (deps.remainingMs?.() ?? Number.POSITIVE_INFINITY) < TIME_RESERVE_MS) {
      found.truncated = true;
      break;
    }
    const from = Math.max(0, to - LEDGER_PAGE);
    const entries = await deps.ledger.read(tenant, GOVERNANCE_EVENTS_STREAM, from, to);
    const payloads = await loadPayloads(deps.payloads, tenant, entries);
    found.scanned += entries.length;
    for (const entry of [...entries].reverse()) {
      if (enough()) break;
      const payload = payloads.get(entry.payloadHash);
      if (payload === undefined || payload === 'expired' || payload.detailType !== 'governance.proposal.evaluated') continue;
      const event = evaluatedPayloadSchema.safeParse(payload);
      if (!event.success) {
        found.skipped.push({ id: `seq ${entry.seq}`, reason: issuesText(event.error) });
        continue;
      }
      const { proposalId, status, reasons, policy, policyRequest } = event.data.detail;
      if (status === 'refused' && !reasons.some((reason) => reason.startsWith('Cedar:'))) {
        found.skipped.push({
          id: proposalId,
          reason: `refused before policy was asked: ${reasons[0] ?? 'no reason recorded'}`.slice(0, 1000),
        });
        continue;
      }
      const decision = recordedDecisionSchema.safeParse({ id: proposalId, kind: 'actuation', request: policyRequest, decision: policy });
      if (decision.success) found.decisions.push(decision.data);
      else found.skipped.push({ id: proposalId, reason: issuesText(decision.error) });
    }
    to = from;
  }
  return found;
}

/** What a candidate set would change among the recorded decisions, as `POST /governance/policies/simulate` answers. */
export interface PolicySimulation {
  evaluated: number;
  changed: { proposalId: string; before: 'allow' | 'deny'; after: 'allow' | 'deny'; policiesBefore: string[]; policiesAfter: string[] }[];
  skipped: { proposalId: string; reason: string }[];
  scanned: number;
  truncated: boolean;
}

/**
 * Replays the tenant's newest `limit` recorded proposal decisions against `candidate`. Pure apart
 * from reading the ledger: nothing is stored.
 *
 * @throws ValidationError (400) quoting Cedar when the candidate is not a valid policy set (checked before the ledger is read).
 */
export async function simulatePolicies(
  tenant: string,
  candidate: PolicyLayers,
  limit: number,
  deps: DecisionLedger & { engine: Pick<PolicyEngine, 'simulate' | 'schema'> },
): Promise<PolicySimulation> {
  checkPolicies(candidate, deps.engine.schema);
  const recorded = await recordedDecisions(tenant, Math.min(limit, MAX_SIMULATED_DECISIONS), deps);
  const result = deps.engine.simulate(candidate, recorded.decisions);
  return {
    evaluated: result.evaluated,
    changed: result.changed.map(({ id, ...change }) => ({ proposalId: id, ...change })),
    skipped: [...recorded.skipped, ...result.skipped]
      .slice(0, MAX_SIMULATED_DECISIONS)
      .map(({ id, reason }) => ({ proposalId: id, reason })),
    scanned: recorded.scanned,
    truncated: recorded.truncated,
  };
}
