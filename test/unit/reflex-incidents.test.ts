/**
 * The Reflex loop (lib/reflex/incidents.ts) on in-memory ports with governance's real propose():
 * an incident diagnosed among the open ones and its cause's playbook proposed (blast radius from the
 * registry), every step's event catalogued and recorded, repeated events idempotent, refusals kept,
 * outcomes learned, the next playbook after a failure and people after repeated failures.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { catalogEntry } from '../../events/catalog.ts';
import { ConflictError } from '../../lib/errors.ts';
import type { PolicyDecision } from '../../lib/governance/model.ts';
import { propose, reportOutcome } from '../../lib/governance/proposals.ts';
import { defaultSettings } from '../../lib/governance/settings.ts';
import type { ClusterStats } from '../../lib/reflex/cases.ts';
import {
  type CaseStore,
  CLOSED_MARKER_TTL_SECONDS,
  type IncidentStore,
  onIncidentClosed,
  onIncidentOpened,
  proposalIdOf,
  type ReflexDeps,
  reflexProposer,
  reportIncidentOutcome,
} from '../../lib/reflex/incidents.ts';
import type { Point } from '../../lib/reflex/rca.ts';
import { componentGraph, type RegistryStore } from '../../lib/reflex/registry.ts';
import {
  type Case,
  type ClosedMarker,
  type Component,
  componentSchema,
  type Incident,
  type IncidentOpened,
  incidentClosedSchema,
  incidentIdOf,
  incidentOpenedSchema,
  type Registry,
} from '../../lib/reflex/schemas.ts';
import {
  fixedPolicy,
  type MemoryGovernanceStore,
  type MemoryOutbox,
  memoryGovernanceStore,
  memoryOutbox,
  recordingGate,
} from '../helpers/governance-memory.ts';

const samplesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'events', 'samples');
const MINUTE = 60_000;
const T0 = Date.parse('2026-12-01T10:00:00Z');
const NOW = new Date(T0 + 50 * MINUTE);
const ALLOW: PolicyDecision = { decision: 'allow', policies: ['base/engines-actuate'], errors: [], version: 0, breakGlass: false };
const lambdaArn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;

const components: Component[] = [
  {
    id: 'db.orders',
    kind: 'database',
    environment: 'dev',
    series: ['db.orders.latency'],
    bindings: {
      restart: { kind: 'webhook', resource: 'https://ops.example/db/restart', parameters: {} },
      'fail-over': { kind: 'webhook', resource: 'https://ops.example/db/fail-over', parameters: { region: 'eu-west-1' } },
      throttle: { kind: 'lambda-concurrency', resource: lambdaArn('orders-writer'), parameters: { concurrency: 5 } },
      quarantine: { kind: 'lambda-concurrency', resource: lambdaArn('orders-writer'), parameters: { concurrency: 0 } },
    },
  },
  {
    id: 'api.checkout',
    kind: 'lambda',
    environment: 'dev',
    dependsOn: ['db.orders'],
    series: ['api.checkout.errors'],
    bindings: { restart: { kind: 'webhook', resource: 'https://ops.example/api' } },
  },
  { id: 'web.shop', kind: 'service', environment: 'dev', dependsOn: ['api.checkout'], series: ['web.shop.latency'] },
].map((component) => componentSchema.parse(component));

/** 60 minutely points around 100, stepping up by `height` from `onsetStep`. */
function stepSeries(onsetStep: number, height: number, seed: number): Point[] {
  let state = seed;
  return Array.from({ length: 60 }, (_, step): Point => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return [T0 + step * MINUTE, 100 + (state / 2 ** 31 - 0.5) + (step >= onsetStep ? height : 0)];
  });
}

const startOf = (step: number) => new Date(T0 + step * MINUTE).toISOString();
/** An `observation.incident.opened` detail as Observation publishes it (lib/reflex reads what it needs). */
const opened = (series: string, onsetStep: number, tenant = 'acme'): IncidentOpened => ({
  tenant,
  series,
  detector: 'robust',
  start: startOf(onsetStep),
  peak: { timestamp: startOf(onsetStep), value: 250, score: 9 },
  likelihood: { likelihood: 0.99999, logLikelihood: 0.5 },
});
const DB = incidentIdOf('db.orders.latency', startOf(40));
const API = incidentIdOf('api.checkout.errors', startOf(41));
const DB2 = incidentIdOf('db.orders.latency', startOf(45));

function memoryIncidents(
  outbox: MemoryOutbox,
): IncidentStore & { items: Map<string, Incident>; markers: Map<string, ClosedMarker>; writes: number } {
  const items = new Map<string, Incident>();
  const markers = new Map<string, ClosedMarker>();
  const store = {
    items,
    markers,
    writes: 0,
    async incident(tenant: string, id: string) {
      const item = items.get(`${tenant}/${id}`);
      return item && structuredClone(item);
    },
    async putIncident(next: Incident, expected: number | undefined, events: Parameters<IncidentStore['putIncident']>[2]) {
      if (items.get(`${next.tenant}/${next.incidentId}`)?.version !== expected)
        throw new ConflictError(`Incident ${next.incidentId} changed`);
      store.writes += 1;
      items.set(`${next.tenant}/${next.incidentId}`, structuredClone(next));
      return outbox.save(next.tenant, events);
    },
    async incidents(tenant: string, query: { open: boolean; limit: number }) {
      return [...items.values()]
        .filter((item) => item.tenant === tenant && item.open === query.open)
        .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
        .slice(0, query.limit)
        .map((item) => structuredClone(item));
    },
    async closedMarker(tenant: string, id: string) {
      const marker = markers.get(`${tenant}/${id}`);
      return marker && structuredClone(marker);
    },
    async putClosedMarker(marker: ClosedMarker) {
      const key = `${marker.tenant}/${marker.incidentId}`;
      if (!markers.has(key)) markers.set(key, structuredClone(marker));
    },
  };
  return store;
}

function memoryCases(): CaseStore & { list: Case[]; stats: Map<string, ClusterStats> } {
  const list: Case[] = [];
  const stats = new Map<string, ClusterStats>();
  return {
    list,
    stats,
    async cases(_tenant, limit) {
      return structuredClone(list.slice(-limit).reverse());
    },
    async clusterStats(_tenant, cluster) {
      return structuredClone(stats.get(cluster) ?? {});
    },
    async addCase(_tenant, entry) {
      if (list.some((existing) => existing.caseId === entry.caseId)) return;
      list.push(structuredClone(entry));
      const current = stats.get(entry.cluster) ?? {};
      const record = current[entry.playbook] ?? { successes: 0, failures: 0 };
      stats.set(entry.cluster, {
        ...current,
        [entry.playbook]:
          entry.outcome === 'recovered' ? { ...record, successes: record.successes + 1 } : { ...record, failures: record.failures + 1 },
      });
    },
  };
}

let outbox: MemoryOutbox;
let governance: MemoryGovernanceStore;
let gate: ReturnType<typeof recordingGate>;
let incidents: ReturnType<typeof memoryIncidents>;
let cases: ReturnType<typeof memoryCases>;
let registry: Registry;
let deps: ReflexDeps;

beforeEach(() => {
  outbox = memoryOutbox();
  governance = memoryGovernanceStore(outbox);
  gate = recordingGate();
  incidents = memoryIncidents(outbox);
  cases = memoryCases();
  registry = { tenant: 'acme', generation: 1, components };
  const registryStore: Pick<RegistryStore, 'registry'> = {
    registry: async (tenant) => structuredClone(tenant === 'acme' ? registry : { tenant, generation: 0, components: [] }),
  };
  const points = new Map<string, Point[]>([
    ['db.orders.latency', stepSeries(40, 30, 1)],
    ['api.checkout.errors', stepSeries(41, 20, 2)],
    ['web.shop.latency', stepSeries(42, 25, 3)],
  ]);
  deps = {
    registry: registryStore,
    incidents,
    cases,
    series: {
      recent: async (_tenant, names) => new Map(names.flatMap((name) => (points.has(name) ? [[name, points.get(name) as Point[]]] : []))),
    },
    outbox,
    governance: {
      store: governance,
      policy: fixedPolicy(ALLOW),
      components: componentGraph(registryStore),
      gate,
      outbox,
      now: NOW,
      newId: () => 'unused',
    },
    now: NOW,
  };
});

const published = (detailType: string) => outbox.published.filter((event) => event.detailType === detailType).map((event) => event.detail);

describe('reflex on observation.incident.opened', () => {
  it('diagnoses the upstream cause among the open incidents and proposes its playbook with the evidence, blast radius from the registry', async () => {
    await onIncidentOpened(opened('db.orders.latency', 40), deps);
    const incident = await onIncidentOpened(opened('api.checkout.errors', 41), deps);
    assert.equal(incident.component, 'api.checkout');
    assert.deepEqual(
      incident.diagnosis?.causes.map((cause) => cause.component),
      ['db.orders', 'api.checkout'],
    );
    assert.ok((incident.diagnosis?.causes[0]?.confidence ?? 0) > 0.5);
    assert.equal(incident.state, 'proposed');
    const [attempt] = incident.attempts;
    assert.equal(attempt?.target, 'db.orders');
    assert.equal(attempt?.proposalId, proposalIdOf('acme', API, 1));
    assert.deepEqual(attempt?.binding, components[0]?.bindings[attempt?.playbook ?? 'restart']);
    assert.deepEqual(incident.match?.signature, {
      kind: 'database',
      metrics: ['errors', 'latency'],
      direction: 'up',
      shape: 'level-shift',
    });

    const proposal = await governance.proposal('acme', attempt?.proposalId ?? '');
    assert.ok(proposal, 'the proposal exists in governance');
    assert.equal(proposal.engine, 'reflex');
    assert.equal(proposal.action, attempt?.playbook);
    assert.equal(proposal.target, 'db.orders');
    assert.equal(proposal.requestedBy, 'engine:reflex');
    assert.deepEqual(proposal.parameters, attempt?.binding.parameters);
    assert.equal((proposal.evidence as { incidentId: string }).incidentId, API);
    const blast = proposal.assessment.factors.find((factor) => factor.name === 'blast-radius');
    assert.equal(blast?.value, 2, 'api.checkout and web.shop depend on db.orders');
    assert.equal(blast?.contribution, 0.08);

    // Each step's event is catalogued (the memory outbox validates), recorded in the ledger and published.
    assert.deepEqual(
      published('reflex.incident.diagnosed').map((detail) => detail.incidentId),
      [DB, API],
    );
    const chosen = published('reflex.playbook.chosen').at(-1);
    assert.equal(chosen?.proposalId, attempt?.proposalId);
    assert.equal(chosen?.target, 'db.orders');
    assert.ok(
      outbox.recorded.some((entry) => entry.event.detailType === 'reflex.playbook.chosen' && entry.event.detail.incidentId === API),
    );
    assert.equal(outbox.waiting.size, 0);
  });

  it('changes nothing when the same event comes again', async () => {
    const first = await onIncidentOpened(opened('db.orders.latency', 40), deps);
    const events = outbox.published.length;
    const proposals = governance.items.size;
    const again = await onIncidentOpened(opened('db.orders.latency', 40), deps);
    assert.deepEqual(again, first);
    assert.equal(outbox.published.length, events);
    assert.equal(governance.items.size, proposals);
  });

  it('finishes a half-done incident with the proposal it already made (a crash between proposing and saving)', async () => {
    // The proposal of round 1 exists, the incident is saved as diagnosed without its attempt.
    const input = {
      engine: 'reflex',
      action: 'restart',
      target: 'db.orders',
      environment: 'dev' as const,
      parameters: {},
      reason: 'earlier try',
    };
    await propose(input, reflexProposer('acme'), { ...deps.governance, newId: () => proposalIdOf('acme', DB, 1) });
    const diagnosed = await onIncidentOpened(opened('db.orders.latency', 40), {
      ...deps,
      governance: { ...deps.governance, gate },
    });
    assert.equal(governance.items.size, 1, 'no second proposal');
    assert.equal(diagnosed.attempts[0]?.proposalId, proposalIdOf('acme', DB, 1));
    // And an incident stored as diagnosed (no attempt) is proposed on the retry.
    const stored = incidents.items.get(`acme/${DB}`) as Incident;
    incidents.items.set(`acme/${DB}`, { ...stored, state: 'diagnosed', attempts: [] });
    const retried = await onIncidentOpened(opened('db.orders.latency', 40), deps);
    assert.equal(retried.attempts.length, 1);
    assert.equal(governance.items.size, 1);
  });

  it('keeps an incident whose series describes no component as unassigned, with its diagnosed event and no proposal', async () => {
    const incident = await onIncidentOpened(opened('batch.cpu', 40), deps);
    assert.equal(incident.state, 'unassigned');
    assert.match(incident.reasons[0] ?? '', /describes no registered component/);
    assert.equal(governance.items.size, 0);
    const [diagnosed] = published('reflex.incident.diagnosed');
    assert.equal(diagnosed?.component, undefined);
  });

  it('records a refusal by governance (kill switch) on the incident and in the chosen event', async () => {
    governance.settingsOf.set('acme', {
      ...defaultSettings('acme'),
      killSwitch: { enabled: true, reason: 'maintenance', by: 'root', at: NOW.toISOString() },
      version: 1,
    });
    const incident = await onIncidentOpened(opened('db.orders.latency', 40), deps);
    assert.equal(incident.state, 'refused');
    assert.equal(incident.attempts[0]?.proposalStatus, 'refused');
    assert.match(String(published('reflex.playbook.chosen')[0]?.refused), /maintenance|kill switch/i);
    assert.equal((await governance.proposal('acme', proposalIdOf('acme', DB, 1)))?.status, 'refused');
  });
});

describe('reflex outcomes', () => {
  it('learns from a failed playbook, proposes the next, and asks people after three failures, then when none is left', async () => {
    let incident = await onIncidentOpened(opened('db.orders.latency', 40), deps);
    const tried = [incident.attempts[0]?.playbook];
    for (let round = 2; round <= 4; round += 1) {
      incident = await reportIncidentOutcome('acme', { incidentId: DB, outcome: 'not-recovered', detail: 'latency still high' }, deps);
      const attempt = incident.attempts.at(-1);
      assert.equal(attempt?.round, round);
      assert.ok(!tried.includes(attempt?.playbook), `round ${round} tries a new playbook, not ${tried.join(', ')}`);
      tried.push(attempt?.playbook);
      const proposal = await governance.proposal('acme', attempt?.proposalId ?? '');
      if (round < 4) assert.equal(proposal?.route, 'autonomous');
      else {
        assert.equal(incident.state, 'escalated');
        assert.equal(attempt?.escalated, true);
        assert.equal(proposal?.route, 'human-approval', 'escalated to people through governance');
        assert.match(proposal?.assessment.reason ?? '', /Escalated to people by the proposer: escalate: 3 playbooks failed/);
        assert.equal(gate.started.at(-1)?.input.route, 'human-approval');
      }
    }
    assert.equal(cases.list.length, 3);
    const cluster = cases.list[0]?.cluster ?? '';
    const record = cases.stats.get(cluster) ?? {};
    assert.equal(
      Object.values(record).reduce((sum, entry) => sum + (entry?.failures ?? 0), 0),
      3,
    );
    // The fourth fails too: nothing is left to propose, people are asked without a playbook.
    incident = await reportIncidentOutcome('acme', { incidentId: DB, outcome: 'not-recovered', detail: '' }, deps);
    assert.equal(incident.state, 'escalated');
    assert.equal(incident.attempts.length, 4);
    assert.equal(published('reflex.playbook.chosen').at(-1)?.playbook, null);
  });

  it('counts a repeated report once, and refuses another outcome for the same round (409)', async () => {
    await onIncidentOpened(opened('db.orders.latency', 40), deps);
    const first = await reportIncidentOutcome('acme', { incidentId: DB, outcome: 'recovered', detail: 'fine' }, deps);
    const again = await reportIncidentOutcome('acme', { incidentId: DB, outcome: 'recovered', detail: 'fine' }, deps);
    assert.equal(first.state, 'recovered');
    assert.deepEqual(again, first);
    assert.equal(cases.list.length, 1);
    await assert.rejects(reportIncidentOutcome('acme', { incidentId: DB, outcome: 'not-recovered', detail: '' }, deps), ConflictError);
  });

  it('learns a recovery when the incident closes after its proposal was executed, and nothing when it closes on its own', async () => {
    const incident = await onIncidentOpened(opened('db.orders.latency', 40), deps);
    const proposalId = incident.attempts[0]?.proposalId ?? '';
    await reportOutcome('acme', { proposalId, outcome: 'executed', detail: 'failed over' }, 'engine:execution', deps.governance);
    const closed = await onIncidentClosed(
      { tenant: 'acme', series: 'db.orders.latency', start: startOf(40), end: NOW.toISOString(), reason: 'recovered' },
      deps,
    );
    assert.equal(closed?.state, 'recovered');
    assert.equal(closed?.open, false);
    assert.equal(closed?.attempts[0]?.outcome, 'recovered');
    assert.deepEqual(
      cases.list.map((entry) => [entry.playbook, entry.outcome]),
      [[incident.attempts[0]?.playbook, 'recovered']],
    );

    const other = await onIncidentOpened(opened('db.orders.latency', 45), deps);
    assert.equal(other.incidentId, DB2);
    assert.equal(other.attempts.length, 1);
    const quiet = await onIncidentClosed({ tenant: 'acme', series: 'db.orders.latency', start: startOf(45) }, deps);
    assert.equal(quiet?.state, 'closed');
    assert.equal(cases.list.length, 1);
    assert.equal(await onIncidentClosed({ tenant: 'acme', series: 'x', start: startOf(1) }, deps), undefined);
  });
});

describe('reflex on incident events in either order', () => {
  const closeOf = (onsetStep: number, end = NOW.toISOString()) => ({
    tenant: 'acme',
    series: 'db.orders.latency',
    start: startOf(onsetStep),
    end,
    reason: 'recovered',
  });

  it('keeps a close heard before the incident, and makes the incident closed with nothing proposed when it opens; repeats change nothing', async () => {
    assert.equal(await onIncidentClosed(closeOf(40), deps), undefined);
    assert.equal(await onIncidentClosed(closeOf(40, startOf(49)), deps), undefined);
    assert.deepEqual(
      [...incidents.markers.values()],
      [
        {
          tenant: 'acme',
          incidentId: DB,
          closedAt: NOW.toISOString(),
          reason: 'recovered',
          expiresAt: Math.floor(NOW.getTime() / 1000) + CLOSED_MARKER_TTL_SECONDS,
        },
      ],
    );
    assert.equal(incidents.items.size, 0);

    const incident = await onIncidentOpened(opened('db.orders.latency', 40), deps);
    assert.deepEqual([incident.open, incident.state, incident.closedAt, incident.attempts.length], [false, 'closed', NOW.toISOString(), 0]);
    assert.match(incident.reasons[0] ?? '', /before Reflex diagnosed it/);
    assert.equal(await governance.proposal('acme', proposalIdOf('acme', DB, 1)), undefined);
    assert.equal(outbox.published.length, 0);

    const writes = incidents.writes;
    assert.deepEqual(await onIncidentOpened(opened('db.orders.latency', 40), deps), incident);
    assert.deepEqual(await onIncidentClosed(closeOf(40), deps), incident);
    assert.equal(incidents.writes, writes);
    assert.deepEqual(await incidents.incidents('acme', { open: true, limit: 10 }), []);
  });

  it('closes the incident when its record is made after the close looked for it (the close reads again after keeping its marker)', async () => {
    const made = await onIncidentOpened(opened('db.orders.latency', 40), deps);
    assert.equal(made.open, true);
    // The close looked before the record existed: only its marker write and second read remain.
    const read = incidents.incident.bind(incidents);
    let first = true;
    incidents.incident = async (tenant, id) => {
      if (first) {
        first = false;
        return undefined;
      }
      return read(tenant, id);
    };
    const closed = await onIncidentClosed(closeOf(40), deps);
    assert.deepEqual([closed?.open, closed?.state], [false, 'closed']);
    assert.equal(incidents.markers.size, 1);
  });

  it('closes a record made after the close kept its marker but before the opening step read it (its second read finds it)', async () => {
    // The opening step read no marker, then the close kept one (finding no record), then the record was made.
    const read = incidents.closedMarker.bind(incidents);
    let first = true;
    incidents.closedMarker = async (tenant, id) => {
      if (first) {
        first = false;
        await onIncidentClosed(closeOf(40), deps);
        return undefined;
      }
      return read(tenant, id);
    };
    const incident = await onIncidentOpened(opened('db.orders.latency', 40), deps);
    assert.deepEqual([incident.open, incident.state, incident.attempts.length], [false, 'closed', 0]);
    assert.ok(incident.diagnosis, 'the diagnosis made before the close was seen stays');
    assert.equal(await governance.proposal('acme', proposalIdOf('acme', DB, 1)), undefined);
  });

  it('closes an open record a crashed opening step left behind when the opened event comes again after the close', async () => {
    const marker = incidents.putClosedMarker.bind(incidents);
    // The close kept its marker after the record was made but its second read failed (a crash): the record stays open.
    const left = await onIncidentOpened(opened('db.orders.latency', 40), deps);
    await marker({ tenant: 'acme', incidentId: DB, closedAt: NOW.toISOString(), expiresAt: 1 });
    assert.equal(left.open, true);
    const again = await onIncidentOpened(opened('db.orders.latency', 40), deps);
    assert.deepEqual([again.open, again.state], [false, 'closed']);
    assert.deepEqual(await onIncidentOpened(opened('db.orders.latency', 40), deps), again);
  });

  it('closes an open incident as before when the close comes after it, and a repeated close changes nothing', async () => {
    await onIncidentOpened(opened('db.orders.latency', 40), deps);
    const closed = await onIncidentClosed(closeOf(40), deps);
    assert.deepEqual([closed?.open, closed?.state, closed?.closedAt], [false, 'closed', NOW.toISOString()]);
    const writes = incidents.writes;
    assert.deepEqual(await onIncidentClosed(closeOf(40), deps), closed);
    assert.deepEqual(await onIncidentOpened(opened('db.orders.latency', 40), deps), closed);
    assert.equal(incidents.writes, writes);
    assert.equal(incidents.markers.size, 0);
  });
});

describe("reflex's reading of Observation's incident events", () => {
  const samples = (detailType: string) =>
    readdirSync(path.join(samplesDir, detailType))
      .filter((file) => file.endsWith('.json'))
      .map((file) => JSON.parse(readFileSync(path.join(samplesDir, detailType, file), 'utf8')).detail as Record<string, unknown>);

  it('reads every catalogued sample of observation.incident.opened and .closed, and names the same incident from both', () => {
    const opened = samples('observation.incident.opened');
    const closed = samples('observation.incident.closed');
    assert.ok(opened.length > 0 && closed.length > 0);
    for (const detail of opened) {
      assert.ok(catalogEntry('observation.incident.opened').schema.safeParse(detail).success, 'a valid catalog sample');
      const read = incidentOpenedSchema.parse(detail);
      assert.equal(incidentIdOf(read.series, read.start), `${detail.series}@${new Date(String(detail.start)).toISOString()}`);
    }
    for (const detail of closed) {
      const read = incidentClosedSchema.parse(detail);
      assert.equal(incidentIdOf(read.series, read.start), `${detail.series}@${new Date(String(detail.start)).toISOString()}`);
    }
  });
});
