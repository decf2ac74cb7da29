/**
 * The Reflex engine: the component registry, root-cause analysis and case-based recovery on
 * Observation's incidents; every recovery step is a governance proposal, made in process.
 * State-table items by partition-key prefix: <tenant>#reflex#components (one item per component
 * of the current generation, and its head), #reflex#incident (gsi1 by open/closed), #reflex#cases
 * (cases and their markers), #reflex#clusters (each case cluster's record per playbook), #outbox
 * (events saved with the incident they report). Proposing reads and writes what governance's
 * proposals function does (settings, policies, proposals, outcomes, the gate, the ledger).
 */
import { defineEngine, type Need, need } from '../engines/manifest.ts';
import { getCasesRoute, getComponentsRoute, getIncidentsRoute, putComponentsRoute, reportIncidentRoute } from './routes.ts';

const COMPONENTS = '*#reflex#components';
const INCIDENTS = '*#reflex#incident';
const CASES = '*#reflex#cases';
const CLUSTERS = '*#reflex#clusters';

/** Writing an incident with its outbox entries (one transaction), publishing them, recording them in the ledger. */
const outbox: Need[] = [
  need.table('state', ['PutItem', 'DeleteItem'], ['*#outbox']),
  need.publish(),
  need.table('ledger', ['PutItem', 'Query']),
  need.table('state', ['PutItem'], ['*#audit#dedupe#*', '*#audit#streams']),
  need.objects('artifacts', ['PutObject', 'PutObjectTagging'], ['*/audit/payloads/*']),
];

/** `propose()` in process: what governance's proposals function needs (lib/governance/manifest.ts). */
const propose: Need[] = [
  need.table('state', ['GetItem'], ['*#governance', '*#governance#policies']),
  need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']),
  need.startGate(),
];

/** Diagnosing and choosing: the registry, incidents, Observation's series, the case base. */
const diagnose: Need[] = [
  need.table('state', ['GetItem', 'Query'], [COMPONENTS]),
  need.table('state', ['GetItem', 'PutItem'], [INCIDENTS]),
  need.index('state', 'gsi1', ['Query']),
  need.table('state', ['BatchGetItem'], ['*#series']),
  need.table('state', ['Query', 'PutItem'], [CASES]),
  need.table('state', ['GetItem', 'UpdateItem'], [CLUSTERS]),
];

export const reflexEngine = defineEngine({
  name: 'reflex',
  description: 'Self-repair: component registry, root-cause analysis and case-based recovery on incidents, each step a governance proposal',
  actions: {
    components: {
      description: "Reads and replaces the tenant's component registry (kinds, dependencies, series, executor bindings)",
      routes: [getComponentsRoute, putComponentsRoute],
      timeout: 29,
      needs: [need.table('state', ['GetItem', 'Query', 'PutItem', 'DeleteItem'], [COMPONENTS])],
    },
    incidents: {
      description:
        "Lists incidents with their diagnosis and attempts, and takes the outcome of an incident's playbook (learns; proposes the next or escalates)",
      routes: [getIncidentsRoute, reportIncidentRoute],
      timeout: 29,
      needs: [...diagnose, ...propose, ...outbox],
    },
    cases: {
      description: 'Lists the case base and the record of a case cluster per playbook',
      routes: [getCasesRoute],
      needs: [need.table('state', ['Query'], [CASES]), need.table('state', ['GetItem'], [CLUSTERS])],
    },
    incident: {
      description:
        'On observation.incident.opened: diagnoses, chooses a playbook from past cases and proposes it to governance; on .closed: records recovery',
      rule: {
        pattern: { source: ['autonomy.observation'], 'detail-type': ['observation.incident.opened', 'observation.incident.closed'] },
      },
      timeout: 60,
      needs: [...diagnose, ...propose, ...outbox],
    },
  },
});
