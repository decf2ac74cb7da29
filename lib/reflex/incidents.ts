/**
 * The Reflex loop on an Observation incident: diagnose (root-cause ranking over the components
 * with open incidents, lib/reflex/rca.ts), choose a playbook from past cases (lib/reflex/cases.ts),
 * and propose it to governance in process (`propose()`, principal `engine:reflex`), with the
 * diagnosis and the case match as evidence. Each step is saved with the incident together with
 * its event (an outbox: `reflex.incident.diagnosed`, `reflex.playbook.chosen`), recorded in the
 * tenant's ledger and published.
 *
 * Outcomes come back two ways: `observation.incident.closed` after an executed proposal is a
 * recovery; `PUT /reflex/incidents` (the executing engine or a person) reports `recovered` or
 * `not-recovered`. Every outcome becomes a case, so the case base learns; a playbook that did not
 * recover makes Reflex propose the next one, and people are asked after
 * {@link CASE_DEFAULTS.maxFailedPlaybooks} failures.
 *
 * Idempotent under at-least-once delivery: an incident is created once (conditional write), and
 * the proposal of round r of an incident has an id derived from (tenant, incident, r), so a
 * retried event finds the proposal it made instead of making a second one. The two events may come
 * in either order: a close heard before the incident's record exists is kept and applied when the
 * record is made (made closed, nothing proposed).
 */
import { createHash } from 'node:crypto';
import { ConflictError, ForbiddenError, LockedError, NotFoundError } from '../errors.ts';
import type { BusEvent } from '../events/publisher.ts';
import { busEvent } from '../events/publisher.ts';
import type { ProposalInput } from '../governance/model.ts';
import { type OutboxEntry, type OutboxPort, type Proposal, type ProposalDeps, type Proposer, propose } from '../governance/proposals.ts';
import { CASE_DEFAULTS, type ClusterStats, choosePlaybook, clusterOf, metricName, signatureOf } from './cases.ts';
import { type CauseCandidate, deviations, type Point, rankCauses } from './rca.ts';
import { ComponentIndex, findCycles, type RegistryStore } from './registry.ts';
import {
  type Attempt,
  type Case,
  type CaseMatch,
  type ClosedMarker,
  type Component,
  type Diagnosis,
  type Incident,
  type IncidentClosed,
  type IncidentOpened,
  incidentIdOf,
  MAX_EVIDENCE_IDS,
  type Playbook,
  playbooks,
  type RecoveryEvidence,
  type RecoveryOutcome,
} from './schemas.ts';

/** Open incidents considered by one diagnosis (the tenant's newest). */
export const MAX_OPEN_INCIDENTS = 100;
/** Recent points of a series read for deviations and shapes. */
export const SERIES_POINTS = 128;
/** Recent cases read for the nearest-case evidence and neighbouring clusters. */
export const RECENT_CASES = 200;
/** Seconds a close heard before the incident's record is kept for it (beyond any redelivery of the opened event). */
export const CLOSED_MARKER_TTL_SECONDS = 7 * 86_400;

/** Reflex's service principal: what governance and Cedar see as the proposer. */
export function reflexProposer(tenant: string): Proposer {
  return { kind: 'engine', id: 'engine:reflex', tenant, roles: [] };
}

/** Incidents as Reflex keeps them; each write is conditional and carries its events. */
export interface IncidentStore {
  incident(tenant: string, incidentId: string): Promise<Incident | undefined>;
  /** @throws ConflictError when the stored incident is not at `expectedVersion` (`undefined`: absent). */
  putIncident(next: Incident, expectedVersion: number | undefined, events: BusEvent[]): Promise<OutboxEntry[]>;
  /** The tenant's open incidents (newest first), or closed ones; at most `limit`. */
  incidents(tenant: string, query: { open: boolean; limit: number }): Promise<Incident[]>;
  /** The close kept for an incident that had no record when it closed. */
  closedMarker(tenant: string, incidentId: string): Promise<ClosedMarker | undefined>;
  /** Keeps a close for the incident's record to come; a marker kept already stays as it is (conditional write). */
  putClosedMarker(marker: ClosedMarker): Promise<void>;
}

/** The case base: recent cases and each cluster's record per playbook. */
export interface CaseStore {
  /** The tenant's newest cases, newest first. */
  cases(tenant: string, limit: number): Promise<Case[]>;
  clusterStats(tenant: string, cluster: string): Promise<ClusterStats>;
  /** Stores a case and counts its outcome in its cluster's record, once per `caseId`. */
  addCase(tenant: string, entry: Case): Promise<void>;
}

/** Recent points of Observation's series. */
export interface SeriesPoints {
  /** The last points of each series that exists, oldest first. */
  recent(tenant: string, series: readonly string[]): Promise<Map<string, Point[]>>;
}

/** What the loop needs. */
export interface ReflexDeps {
  registry: Pick<RegistryStore, 'registry'>;
  incidents: IncidentStore;
  cases: CaseStore;
  series: SeriesPoints;
  /** Records entries in the ledger and publishes them (governance's outbox port). */
  outbox: OutboxPort;
  /** Governance's proposal path; Reflex supplies each proposal's id. */
  governance: ProposalDeps;
  now: Date;
}

/**
 * The id of round `round`'s proposal for an incident: a UUID-shaped digest of (tenant, incident,
 * round), so a retried event cannot propose twice.
 */
export function proposalIdOf(tenant: string, incidentId: string, round: number): string {
  const hex = createHash('sha256').update(`reflex\u0000${tenant}\u0000${incidentId}\u0000${round}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((Number.parseInt(hex.slice(16, 17), 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

async function save(
  deps: Pick<ReflexDeps, 'incidents' | 'outbox'>,
  next: Incident,
  expected: number | undefined,
  events: BusEvent[],
): Promise<Incident> {
  const entries = await deps.incidents.putIncident(next, expected, events);
  for (const entry of entries) await deps.outbox.record(entry);
  await deps.outbox.deliver(entries);
  return next;
}

const emptyDiagnosis = (): Diagnosis => ({
  causes: [],
  candidates: 0,
  weights: { upstream: 0.5, onset: 0.3, correlation: 0.2 },
  cycles: [],
});

function diagnosedEvent(incident: Incident, at: string): BusEvent {
  return busEvent('reflex.incident.diagnosed', {
    tenant: incident.tenant,
    incidentId: incident.incidentId,
    series: incident.series,
    ...(incident.component ? { component: incident.component } : {}),
    diagnosis: incident.diagnosis ?? emptyDiagnosis(),
    diagnosedAt: at,
  });
}

function chosenEvent(
  incident: Incident,
  match: CaseMatch,
  attempt: { round: number; target: string; playbook: Playbook | null; escalated: boolean },
  proposal: Partial<Pick<Attempt, 'proposalId' | 'route' | 'proposalStatus'>> & { refused?: string },
  at: string,
): BusEvent {
  return busEvent('reflex.playbook.chosen', {
    tenant: incident.tenant,
    incidentId: incident.incidentId,
    round: attempt.round,
    target: attempt.target,
    playbook: attempt.playbook,
    escalated: attempt.escalated,
    signature: match.signature,
    match: { cluster: match.cluster, posteriors: match.posteriors, confidence: match.confidence, reasons: match.reasons },
    ...(proposal.proposalId ? { proposalId: proposal.proposalId } : {}),
    ...(proposal.route ? { route: proposal.route } : {}),
    ...(proposal.proposalStatus ? { proposalStatus: proposal.proposalStatus } : {}),
    ...(proposal.refused ? { refused: proposal.refused.slice(0, 1000) } : {}),
    chosenAt: at,
  });
}

/** `reflex.recovery.verified`: an attempt's outcome with its evidence. */
function verifiedEvent(
  incident: Incident,
  attempt: Attempt,
  outcome: RecoveryOutcome,
  report: { actor: string; evidence: RecoveryEvidence; detail: string },
  at: string,
): BusEvent {
  return busEvent('reflex.recovery.verified', {
    tenant: incident.tenant,
    incidentId: incident.incidentId,
    round: attempt.round,
    target: attempt.target,
    playbook: attempt.playbook,
    ...(attempt.proposalId ? { proposalId: attempt.proposalId } : {}),
    outcome,
    actor: report.actor,
    evidence: { ...report.evidence, reasons: report.evidence.reasons.map((reason) => reason.slice(0, 1000)).slice(0, 20) },
    detail: report.detail.slice(0, 2000),
    verifiedAt: at,
  });
}

/** A diagnosis, the case match for its most probable cause, and that component. */
interface Diagnosed {
  component: Component;
  target: Component;
  diagnosis: Diagnosis;
  match: CaseMatch;
}

const playbooksOf = (component: Component): Playbook[] => playbooks.filter((playbook) => component.bindings[playbook] !== undefined);

/**
 * Diagnoses `incident` among the tenant's open incidents and matches the most probable cause's
 * signature against the case base. Undefined when its series describes no registered component.
 */
async function diagnose(incident: Incident, deps: ReflexDeps): Promise<Diagnosed | undefined> {
  const registry = await deps.registry.registry(incident.tenant);
  const index = new ComponentIndex(registry.components);
  const component = index.ofSeries(incident.series);
  if (!component) return undefined;

  const open = (await deps.incidents.incidents(incident.tenant, { open: true, limit: MAX_OPEN_INCIDENTS })).filter(
    (other) => other.incidentId !== incident.incidentId,
  );
  const byComponent = new Map<string, Incident[]>();
  for (const entry of [incident, ...open]) {
    const owner = index.ofSeries(entry.series);
    if (!owner) continue;
    byComponent.set(owner.id, [...(byComponent.get(owner.id) ?? []), entry]);
  }
  const seriesOf = new Map(
    [...byComponent].map(([id, entries]) => {
      const own = index.get(id)?.series ?? [];
      return [id, [...new Set([...entries.map((entry) => entry.series), ...own])].slice(0, 3)];
    }),
  );
  const points = await deps.series.recent(incident.tenant, [...new Set([...seriesOf.values()].flat())]);
  const onsets = new Map([...byComponent].map(([id, entries]) => [id, Math.min(...entries.map((entry) => Date.parse(entry.startedAt)))]));
  const candidates: CauseCandidate[] = [...byComponent.keys()].map((id) => {
    const onset = onsets.get(id) ?? Date.parse(incident.startedAt);
    return {
      component: id,
      onset,
      series: (seriesOf.get(id) ?? [])
        .map((name) => ({ series: name, deviations: deviations(points.get(name) ?? [], onset) }))
        .filter((entry) => entry.deviations.length > 0),
    };
  });
  const ranking = rankCauses(index, candidates);
  const top = ranking.causes[0];
  const target = (top && index.get(top.component)) ?? component;
  const involved = new Set(byComponent.keys());
  const diagnosis: Diagnosis = {
    causes: ranking.causes.slice(0, 5),
    candidates: candidates.length,
    weights: ranking.weights,
    cycles: findCycles(registry.components)
      .filter((cycle) => cycle.some((id) => involved.has(id)))
      .slice(0, 10)
      .map((cycle) => cycle.slice(0, MAX_EVIDENCE_IDS)),
  };

  // The signature describes the cause: its kind, the metrics of its incidents (and of this one), the shape of its first incident.
  const targetIncidents = byComponent.get(target.id) ?? [incident];
  const first = [...targetIncidents].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt))[0] ?? incident;
  const metrics = [...targetIncidents.map((entry) => metricName(entry.series, target.id)), metricName(incident.series, component.id)];
  const signature = signatureOf({ kind: target.kind, metrics, points: points.get(first.series) ?? [], onset: Date.parse(first.startedAt) });
  const match = await matchCase(incident, target, signature, [], top?.confidence ?? 0, 1, deps);
  return { component, target, diagnosis, match };
}

async function matchCase(
  incident: Incident,
  target: Component,
  signature: CaseMatch['signature'],
  tried: Playbook[],
  causeConfidence: number,
  round: number,
  deps: Pick<ReflexDeps, 'cases'>,
  maxFailedPlaybooks?: number,
): Promise<CaseMatch> {
  const [stats, cases] = await Promise.all([
    deps.cases.clusterStats(incident.tenant, clusterOf(signature)),
    deps.cases.cases(incident.tenant, RECENT_CASES),
  ]);
  return choosePlaybook({
    signature: { kind: signature.kind, metrics: signature.metrics, direction: signature.direction, shape: signature.shape },
    available: playbooksOf(target),
    tried,
    stats,
    cases,
    causeConfidence,
    seed: `${incident.tenant}/${incident.incidentId}/${round}`,
    ...(maxFailedPlaybooks !== undefined ? { maxFailedPlaybooks } : {}),
  });
}

/**
 * Proposes round `round`'s playbook (the incident's current match) for `target`, or asks people
 * with nothing to propose when no playbook is left; saves the attempt with `reflex.playbook.chosen`.
 */
async function act(incident: Incident, target: Component, match: CaseMatch, round: number, deps: ReflexDeps): Promise<Incident> {
  const at = deps.now.toISOString();
  const binding = match.playbook ? target.bindings[match.playbook] : undefined;
  if (!match.playbook || !binding) {
    const reasons = [
      ...incident.reasons,
      `round ${round}: no playbook to propose for ${target.id}; people are asked (${match.reasons.join('; ')})`.slice(0, 2000),
    ].slice(-20);
    const next: Incident = { ...incident, match, state: 'escalated', reasons, updatedAt: at, version: incident.version + 1 };
    return save(deps, next, incident.version, [
      chosenEvent(next, match, { round, target: target.id, playbook: null, escalated: true }, {}, at),
    ]);
  }

  const proposalId = proposalIdOf(incident.tenant, incident.incidentId, round);
  const cause = incident.diagnosis?.causes[0];
  const input: ProposalInput = {
    engine: 'reflex',
    action: match.playbook,
    target: target.id,
    environment: target.environment,
    parameters: { ...binding.parameters },
    reason:
      `Incident ${incident.incidentId} on ${incident.series}: ${target.id} is the most probable cause (confidence ${cause?.confidence ?? 0}); ${match.playbook} chosen from past cases (posterior mean ${match.confidence}, round ${round})`.slice(
        0,
        2000,
      ),
    evidence: {
      incidentId: incident.incidentId,
      series: incident.series,
      round,
      binding,
      diagnosis: {
        causes: (incident.diagnosis?.causes ?? []).slice(0, 3),
        candidates: incident.diagnosis?.candidates ?? 0,
        cycles: incident.diagnosis?.cycles ?? [],
      },
      caseMatch: {
        signature: match.signature,
        cluster: match.cluster,
        nearest: match.nearest,
        posteriors: match.posteriors,
        reasons: match.reasons,
      },
    },
    ...(match.escalate
      ? {
          escalate: match.reasons
            .filter((reason) => reason.startsWith('escalate:'))
            .join('; ')
            .slice(0, 300),
        }
      : {}),
  };

  let proposal: Proposal | undefined;
  let refused: string | undefined;
  try {
    proposal = (await propose(input, reflexProposer(incident.tenant), { ...deps.governance, now: deps.now, newId: () => proposalId }))
      .proposal;
  } catch (error) {
    if (error instanceof LockedError || error instanceof ForbiddenError) refused = error.message;
    else if (error instanceof ConflictError) {
      // A retried event: this round was proposed already.
      proposal = await deps.governance.store.proposal(incident.tenant, proposalId);
      if (!proposal) throw error;
    } else throw error;
  }
  const attempt: Attempt = {
    round,
    playbook: match.playbook,
    target: target.id,
    binding,
    proposalId,
    ...(proposal ? { route: proposal.route, proposalStatus: proposal.status } : { proposalStatus: 'refused' }),
    escalated: match.escalate,
    reason: (refused ? `refused by governance: ${refused}` : input.reason).slice(0, 2000),
    at,
  };
  const next: Incident = {
    ...incident,
    match,
    state: refused ? 'refused' : match.escalate ? 'escalated' : 'proposed',
    attempts: [...incident.attempts, attempt].slice(-20),
    updatedAt: at,
    version: incident.version + 1,
  };
  const event = chosenEvent(
    next,
    match,
    { round, target: target.id, playbook: match.playbook, escalated: match.escalate },
    { proposalId, ...(proposal ? { route: proposal.route, proposalStatus: proposal.status } : {}), ...(refused ? { refused } : {}) },
    at,
  );
  return save(deps, next, incident.version, [event]);
}

/**
 * Handles `observation.incident.opened`: stores the incident with its diagnosis and case match
 * (`reflex.incident.diagnosed`), then proposes the chosen playbook to governance
 * (`reflex.playbook.chosen`). A repeated event changes nothing once the incident has its first attempt.
 * When Observation's close came first (a marker kept by {@link onIncidentClosed}), the incident is
 * made closed and nothing is diagnosed or proposed.
 * @throws ConflictError when another writer changed the incident meanwhile (the event is retried).
 * @example
 * const incident = await onIncidentOpened({ tenant: 'acme', series: 'db.latency', start: '2026-12-01T10:00:00Z' }, deps);
 * incident.attempts[0]?.proposalId // the governance proposal
 */
export async function onIncidentOpened(event: IncidentOpened, deps: ReflexDeps): Promise<Incident> {
  const incidentId = incidentIdOf(event.series, event.start);
  const [existing, marker] = await Promise.all([
    deps.incidents.incident(event.tenant, incidentId),
    deps.incidents.closedMarker(event.tenant, incidentId),
  ]);
  // A record made by an earlier try that stopped before it read the close kept for it.
  if (existing?.open && marker) return closeIncident(existing, marker, deps);
  if (existing && existing.state !== 'diagnosed') return existing;
  const likelihood = typeof event.likelihood === 'number' ? event.likelihood : event.likelihood?.likelihood;
  const at = deps.now.toISOString();
  let incident: Incident = existing ?? {
    tenant: event.tenant,
    incidentId,
    series: event.series,
    open: true,
    state: 'diagnosed',
    startedAt: new Date(event.start).toISOString(),
    ...(event.peak ? { peak: { timestamp: event.peak.timestamp, value: event.peak.value } } : {}),
    ...(likelihood !== undefined ? { likelihood } : {}),
    attempts: [],
    reasons: [],
    createdAt: at,
    updatedAt: at,
    version: 0,
  };
  if (!existing && marker) {
    // Observation closed the incident before Reflex heard it open: nothing is left to diagnose or repair.
    const closed: Incident = {
      ...incident,
      open: false,
      state: 'closed',
      closedAt: marker.closedAt,
      reasons: [
        `Observation closed the incident${marker.reason ? ` (${marker.reason})` : ''} at ${marker.closedAt}, before Reflex diagnosed it; nothing to repair`,
      ],
    };
    return save(deps, closed, undefined, []);
  }
  const diagnosed = await diagnose(incident, deps);
  if (!diagnosed) {
    if (existing) return existing;
    const unassigned: Incident = {
      ...incident,
      state: 'unassigned',
      diagnosis: emptyDiagnosis(),
      reasons: [`series ${event.series} describes no registered component (PUT /reflex/components)`],
    };
    return closeIfMarked(await save(deps, unassigned, undefined, [diagnosedEvent(unassigned, at)]), deps);
  }
  if (!existing) {
    incident = { ...incident, component: diagnosed.component.id, diagnosis: diagnosed.diagnosis, match: diagnosed.match };
    incident = await save(deps, incident, undefined, [diagnosedEvent(incident, at)]);
    const closed = await closeIfMarked(incident, deps);
    if (!closed.open) return closed;
  }
  // A retried event after the diagnosis was saved keeps the saved diagnosis and match (its proposal id is the same).
  return act(incident, diagnosed.target, incident.match ?? diagnosed.match, 1, deps);
}

/**
 * The record just made, closed when a close was kept for it meanwhile: the close wrote its marker
 * before or after this record was made, and reads the record again after writing it, so one of
 * the two always sees the other.
 */
async function closeIfMarked(incident: Incident, deps: ReflexDeps): Promise<Incident> {
  const marker = await deps.incidents.closedMarker(incident.tenant, incident.incidentId);
  return marker ? closeIncident(incident, marker, deps) : incident;
}

/**
 * Handles `observation.incident.closed`: the incident is closed; after a proposal that was executed
 * it recovered (a case is written, so the playbook's record grows), otherwise it closed on its own.
 * A close heard before the incident's record exists is kept (a marker with a TTL), and the record is
 * made closed when the opened event (or the loop's diagnose step) comes: no order of the two events
 * leaves the incident open. A repeated event changes nothing.
 * @returns the incident, or undefined when Reflex has no record of it yet (its close is kept for it).
 * @throws ConflictError when another writer changed the incident meanwhile (the event is retried).
 * @example
 * const incident = await onIncidentClosed({ tenant: 'acme', series: 'db.latency', start: '2026-12-01T10:00:00Z', end: '2026-12-01T10:20:00Z' }, deps);
 * incident?.open // false
 */
export async function onIncidentClosed(event: IncidentClosed, deps: ReflexDeps): Promise<Incident | undefined> {
  const incidentId = incidentIdOf(event.series, event.start);
  const incident = await deps.incidents.incident(event.tenant, incidentId);
  const close = { closedAt: event.end ?? deps.now.toISOString(), ...(event.reason ? { reason: event.reason } : {}) };
  if (incident) return closeIncident(incident, close, deps);
  await deps.incidents.putClosedMarker({
    tenant: event.tenant,
    incidentId,
    ...close,
    expiresAt: Math.floor(deps.now.getTime() / 1000) + CLOSED_MARKER_TTL_SECONDS,
  });
  // Read again after the marker is written: a record made meanwhile may have missed the marker.
  const made = await deps.incidents.incident(event.tenant, incidentId);
  return made && closeIncident(made, close, deps);
}

/** Closes an open incident as Observation reported (a recovery after an executed proposal); a closed one is returned as it is. */
async function closeIncident(incident: Incident, close: Pick<ClosedMarker, 'closedAt' | 'reason'>, deps: ReflexDeps): Promise<Incident> {
  if (!incident.open) return incident;
  const at = deps.now.toISOString();
  const last = incident.attempts.at(-1);
  let next: Incident = {
    ...incident,
    open: false,
    closedAt: close.closedAt,
    updatedAt: at,
    version: incident.version + 1,
  };
  if (last && !last.outcome && last.proposalId) {
    const proposal = await deps.governance.store.proposal(incident.tenant, last.proposalId);
    if (proposal?.status === 'executed') {
      await learnFrom(incident, last, 'recovered', deps);
      next = { ...next, state: 'recovered', attempts: [...incident.attempts.slice(0, -1), { ...last, outcome: 'recovered' }] };
      const evidence: RecoveryEvidence = {
        method: 'incident-closed',
        trackerOpen: false,
        reasons: [
          `Observation closed the incident${close.reason ? ` (${close.reason})` : ''} after proposal ${last.proposalId} was executed`,
        ],
      };
      return save(deps, next, incident.version, [
        verifiedEvent(incident, last, 'recovered', { actor: 'system:reflex', evidence, detail: `closed at ${next.closedAt}` }, at),
      ]);
    }
  }
  next = { ...next, state: incident.state === 'recovered' ? 'recovered' : 'closed' };
  return save(deps, next, incident.version, []);
}

/** Writes the case of an attempt (idempotent per incident and round). */
async function learnFrom(
  incident: Incident,
  attempt: Attempt,
  outcome: 'recovered' | 'not-recovered',
  deps: Pick<ReflexDeps, 'cases' | 'now'>,
): Promise<void> {
  if (!incident.match || !incident.component) return;
  await deps.cases.addCase(incident.tenant, {
    caseId: `${incident.incidentId}#${attempt.round}`,
    incidentId: incident.incidentId,
    component: attempt.target,
    signature: incident.match.signature,
    cluster: clusterOf(incident.match.signature),
    playbook: attempt.playbook,
    outcome,
    at: deps.now.toISOString(),
  });
}

/** Who reports an outcome, with what evidence, and the tenant's escalation threshold. */
export interface OutcomeReport {
  /** Defaults to `system:reflex`. */
  actor?: string;
  /** Defaults to `{ method: 'reported' }` with no reasons. */
  evidence?: RecoveryEvidence;
  /** Failed playbooks after which people are asked (the tenant's self-repair setting; default {@link CASE_DEFAULTS.maxFailedPlaybooks}). */
  maxFailedPlaybooks?: number;
}

/**
 * `PUT /reflex/incidents` and the self-repair loop's record step: the outcome of the incident's
 * latest playbook. Written to the case base and, with its evidence, to the ledger
 * (`reflex.recovery.verified`, saved with the incident); `not-recovered` proposes the next playbook
 * (the same target, the failed ones excluded), asking people after `maxFailedPlaybooks` failures or
 * when none is left. Reporting the same outcome again changes nothing.
 * @throws NotFoundError when there is no such incident; ConflictError when no playbook was proposed or another outcome was reported.
 */
export async function reportIncidentOutcome(
  tenant: string,
  input: { incidentId: string; outcome: RecoveryOutcome; detail: string },
  deps: ReflexDeps,
  report: OutcomeReport = {},
): Promise<Incident> {
  const incident = await deps.incidents.incident(tenant, input.incidentId);
  if (!incident) throw new NotFoundError(`Incident ${input.incidentId} not found`);
  const last = incident.attempts.at(-1);
  if (!last || !incident.match) throw new ConflictError(`Incident ${input.incidentId} has no proposed playbook to report on`);
  if (last.outcome === input.outcome) return incident;
  if (last.outcome) throw new ConflictError(`Round ${last.round} of incident ${input.incidentId} was reported ${last.outcome} already`);
  await learnFrom(incident, last, input.outcome, deps);
  const at = deps.now.toISOString();
  const detail = input.detail ? `: ${input.detail}` : '';
  const reported: Incident = {
    ...incident,
    state: input.outcome === 'recovered' ? 'recovered' : incident.state,
    attempts: [...incident.attempts.slice(0, -1), { ...last, outcome: input.outcome }],
    reasons: [...incident.reasons, `round ${last.round} (${last.playbook}) ${input.outcome}${detail}`.slice(0, 2000)].slice(-20),
    updatedAt: at,
    version: incident.version + 1,
  };
  const evidence: RecoveryEvidence = report.evidence ?? { method: 'reported', reasons: [] };
  const saved = await save(deps, reported, incident.version, [
    verifiedEvent(incident, last, input.outcome, { actor: report.actor ?? 'system:reflex', evidence, detail: input.detail }, at),
  ]);
  if (input.outcome === 'recovered') return saved;

  const registry = await deps.registry.registry(tenant);
  const target = new ComponentIndex(registry.components).get(last.target);
  if (!target) {
    const next: Incident = {
      ...saved,
      state: 'escalated',
      reasons: [...saved.reasons, `${last.target} is no longer registered; people are asked`].slice(-20),
      updatedAt: at,
      version: saved.version + 1,
    };
    return save(deps, next, saved.version, []);
  }
  const tried = saved.attempts
    .filter((attempt) => attempt.target === target.id && attempt.outcome === 'not-recovered')
    .map((attempt) => attempt.playbook);
  const round = last.round + 1;
  const match = await matchCase(
    saved,
    target,
    (saved.match ?? incident.match).signature,
    tried,
    saved.diagnosis?.causes[0]?.confidence ?? 0,
    round,
    deps,
    report.maxFailedPlaybooks,
  );
  return act(saved, target, match, round, deps);
}
