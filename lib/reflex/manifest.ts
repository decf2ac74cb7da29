/**
 * The Reflex engine: the component registry, root-cause analysis and case-based recovery on
 * Observation's incidents; every recovery step is a governance proposal, made in process.
 * State-table items by partition-key prefix: <tenant>#reflex#components (one item per component
 * of the current generation, and its head), #reflex#incident (gsi1 by open/closed), #reflex#cases
 * (cases and their markers), #reflex#clusters (each case cluster's record per playbook), #reflex#config
 * (the self-repair settings), #outbox (events saved with the incident they report); a loop waiting at
 * a gate is kept by governance's gate waits (#governance#gate). Proposing reads and writes what governance's
 * proposals function does (settings, policies, proposals, outcomes, the gate, the ledger).
 *
 * The self-repair loop (statemachines/self-repair.asl.json) is started by the incident rule target,
 * one execution per incident; its steps are the `loop-*` tasks (lib/reflex/loop.ts), and
 * governance's `gate-resume` resumes a loop waiting at a gate when its proposal settles.
 */
import { defineEngine, type Need, need, outboxNeeds, SELF_REPAIR_STATE_MACHINE } from '../engines/manifest.ts';
import { runNeeds } from '../execution/manifest.ts';
import { gateWaitNeeds } from '../governance/manifest.ts';
import {
  getCasesRoute,
  getComponentsRoute,
  getConfigRoute,
  getIncidentsRoute,
  putComponentsRoute,
  putConfigRoute,
  reportIncidentRoute,
} from './routes.ts';

const COMPONENTS = '*#reflex#components';
const INCIDENTS = '*#reflex#incident';
const CASES = '*#reflex#cases';
const CLUSTERS = '*#reflex#clusters';
const CONFIG = '*#reflex#config';
const readConfig = need.table('state', ['GetItem'], [CONFIG]);

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

/** Withdrawing the pending proposal of a closed incident (governance's `withdraw` in process): the proposal and its approval written, its gate's task failed. */
const withdrawal: Need[] = [need.table('state', ['GetItem', 'PutItem'], ['*#proposal', '*#approval']), need.taskCallbacks()];

/** A loop's gate step: waiting at governance's gate, the kill switches and the incident read; a closed incident's proposal withdrawn. */
const gate: Need[] = [...gateWaitNeeds, need.table('state', ['GetItem'], ['*#governance', INCIDENTS]), ...withdrawal, ...outboxNeeds];

/** Watching a component: its incident and Observation's series record. */
const watch: Need[] = [need.table('state', ['GetItem'], [INCIDENTS, '*#series'])];

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
      needs: [...diagnose, ...propose, ...outboxNeeds, readConfig],
    },
    config: {
      description:
        "Reads and changes the tenant's self-repair settings (loop on or off, recovery window, calm points, failed playbooks before people are asked)",
      routes: [getConfigRoute, putConfigRoute],
      needs: [need.table('state', ['GetItem', 'PutItem'], [CONFIG])],
    },
    cases: {
      description: 'Lists the case base and the record of a case cluster per playbook',
      routes: [getCasesRoute],
      needs: [need.table('state', ['Query'], [CASES]), need.table('state', ['GetItem'], [CLUSTERS])],
    },
    incident: {
      description:
        "On observation.incident.opened: starts the incident's self-repair loop (or, with the loop off, diagnoses and proposes a playbook from past cases); on .closed: records recovery and stops a loop waiting at the gate",
      rule: {
        pattern: { source: ['autonomy.observation'], 'detail-type': ['observation.incident.opened', 'observation.incident.closed'] },
      },
      timeout: 60,
      needs: [
        ...diagnose,
        ...propose,
        ...outboxNeeds,
        readConfig,
        need.startExecutions(SELF_REPAIR_STATE_MACHINE),
        // A waiting loop of an incident that closed is resumed (its pending proposal withdrawn).
        ...gateWaitNeeds,
        ...withdrawal,
      ],
    },
    'loop-diagnose': {
      description:
        "Self-repair loop: diagnoses the incident and proposes its first playbook (idempotent); the tenant's settings for the loop",
      task: true,
      timeout: 60,
      needs: [...diagnose, ...propose, ...outboxNeeds, readConfig],
    },
    'loop-gate': {
      description: "Self-repair loop (waitForTaskToken): waits for the round's proposal to be decided, resuming at once when it is",
      task: true,
      needs: gate,
    },
    'loop-check': {
      description:
        "Self-repair loop, after the gate and just before acting: the gate's decision, the kill switches, the incident still open, the proposal still approved",
      task: true,
      needs: [need.table('state', ['GetItem'], ['*#governance', '*#proposal', INCIDENTS])],
    },
    'loop-execute': {
      description: "Self-repair loop: runs the round's playbook through the Execution engine in process and opens the recovery window",
      task: true,
      timeout: 60,
      needs: [...watch, ...runNeeds],
    },
    'loop-verify': {
      description: "Self-repair loop: judges the run's effect on the component's series (recovered, not recovered, or look again)",
      task: true,
      needs: watch,
    },
    'loop-record': {
      description: "Self-repair loop: writes the round's outcome to the case base and the ledger; not recovered proposes the next playbook",
      task: true,
      timeout: 60,
      needs: [...diagnose, ...propose, ...outboxNeeds],
    },
    'loop-finish': {
      description: "Self-repair loop, last: the loop's summary on the incident with reflex.loop.completed",
      task: true,
      needs: [need.table('state', ['GetItem', 'PutItem'], [INCIDENTS]), ...outboxNeeds],
    },
  },
});
