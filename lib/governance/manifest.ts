/**
 * The governance engine: proposals (risk, Cedar policy, autonomy level, route), the gate's tasks
 * (quorum approvals with escalation, L3 validation, settling), the kill switch, autonomy levels,
 * configuration and the approvals page.
 * State-table items by partition-key prefix: <tenant>#governance (settings; `system`: the global
 * kill switch), #governance#policies, #governance#outcomes, #governance#gate (state machines waiting at
 * a gate: task tokens, lib/governance/gate-wait.ts), #proposal, #approval, #outbox (events
 * saved with the state they report; gsi1 `outbox` for the sweep). Each decision's event is recorded
 * in the ledger by the function that made it (the audit appender's dedupe makes the bus copy a no-op).
 */
import { defineEngine, type Need, need, outboxNeeds } from '../engines/manifest.ts';
import { getPoliciesRoute, putPoliciesRoute, simulatePoliciesRoute } from './policy-routes.ts';
import {
  decideApprovalRoute,
  getAutonomyRoute,
  getConfigRoute,
  getConstitutionRoute,
  getKillSwitchRoute,
  getProposalsRoute,
  listApprovalsRoute,
  proposeRoute,
  putConstitutionRoute,
  ratifyConstitutionRoute,
  reportOutcomeRoute,
  setAutonomyRoute,
  setConfigRoute,
  setKillSwitchRoute,
  withdrawProposalRoute,
} from './routes.ts';
import { uiRoute } from './ui-route.ts';

const SETTINGS = '*#governance';
const POLICIES = '*#governance#policies';
const OUTCOMES = '*#governance#outcomes';
const PROPOSALS = '*#proposal';
const APPROVALS = '*#approval';
/** The Reflex engine's component registry: the blast radius of a proposal's target. */
const COMPONENTS = '*#reflex#components';

const readSettings = need.table('state', ['GetItem'], [SETTINGS, POLICIES]);
/** State machines waiting at a gate for a proposal (lib/governance/gate-wait.ts): their task tokens by tenant and proposal. */
const GATE_WAITS = '*#governance#gate';

/**
 * What a state machine's gate step needs (lib/governance/gate-wait.ts awaitSettlement): its wait
 * kept under the proposal, the proposal read, the task resumed at once when it is settled already.
 */
export const gateWaitNeeds: Need[] = [
  need.table('state', ['GetItem', 'PutItem', 'DeleteItem'], [GATE_WAITS]),
  need.table('state', ['GetItem'], [PROPOSALS]),
  need.taskCallbacks(),
];
const byStatus = need.index('state', 'gsi1', ['Query']);

export const governanceEngine = defineEngine({
  name: 'governance',
  description: 'The governed path of every actuation: risk, Cedar policy, autonomy levels, quorum approval gates, kill switch',
  actions: {
    proposals: {
      description:
        'Proposes an actuation (risk, policy, route; a gate starts when people or L3 validation decide), reads proposals, takes outcomes, withdraws pending ones (their approval refused, their gate task failed)',
      routes: [proposeRoute, getProposalsRoute, reportOutcomeRoute, withdrawProposalRoute],
      timeout: 29,
      needs: [
        readSettings,
        need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], [PROPOSALS, OUTCOMES]),
        need.table('state', ['GetItem', 'Query'], [COMPONENTS]),
        byStatus,
        need.startGate(),
        // Withdrawing: the approval refused, the gate's waiting task failed (never resumed).
        need.table('state', ['GetItem', 'PutItem'], [APPROVALS]),
        need.taskFailure(),
        ...outboxNeeds,
      ],
    },
    'request-approval': {
      description: "Opens a proposal's approval (round 1, approvers) or escalates it (round 2, admins) for a waiting gate (waitForTaskToken)",
      task: true,
      needs: [readSettings, need.table('state', ['GetItem'], [PROPOSALS]), need.table('state', ['GetItem', 'PutItem'], [APPROVALS]), ...outboxNeeds],
    },
    validate: {
      description: "L3 validation of a proposal: declared bounds, the tenant's policies, open proposals on the target, change freezes, dry run",
      task: true,
      needs: [readSettings, need.table('state', ['GetItem'], [PROPOSALS]), byStatus],
    },
    settle: {
      description: 'Ends a proposal and its approval in the state its gate ended in; an approval meets a kill switch closed',
      task: true,
      needs: [readSettings, need.table('state', ['GetItem', 'PutItem'], [PROPOSALS, APPROVALS]), ...outboxNeeds],
    },
    approvals: {
      description: 'Lists approvals and takes votes (approver role; escalated ones: admins); the quorum resumes the waiting execution',
      routes: [listApprovalsRoute, decideApprovalRoute],
      needs: [readSettings, need.table('state', ['GetItem', 'PutItem'], [APPROVALS]), byStatus, need.taskCallbacks(), ...outboxNeeds],
    },
    autonomy: {
      description: "Reads and sets the tenant's autonomy level (admin)",
      routes: [getAutonomyRoute, setAutonomyRoute],
      needs: [need.table('state', ['GetItem', 'PutItem'], [SETTINGS]), ...outboxNeeds],
    },
    killswitch: {
      description: "Reads and sets the tenant's kill switch, and the system operator's global one (admin)",
      routes: [getKillSwitchRoute, setKillSwitchRoute],
      needs: [need.table('state', ['GetItem', 'PutItem'], [SETTINGS]), ...outboxNeeds],
    },
    config: {
      description: 'Reads and sets quorum per risk level, gate timeouts, change freezes and the constitution quorum (admin)',
      routes: [getConfigRoute, setConfigRoute],
      needs: [need.table('state', ['GetItem', 'PutItem'], [SETTINGS]), ...outboxNeeds],
    },
    policies: {
      description: "Reads the tenant's Cedar policy set and publishes a new version (admin): validated against the stage's schema, stored, made current, its hash in the ledger",
      routes: [getPoliciesRoute, putPoliciesRoute],
      needs: [need.table('state', ['GetItem', 'PutItem'], [SETTINGS, POLICIES]), ...outboxNeeds],
    },
    simulate: {
      description: "Replays the tenant's recorded proposal decisions from the ledger against a candidate policy set (admin); stores nothing",
      routes: [simulatePoliciesRoute],
      timeout: 29,
      needs: [need.table('ledger', ['Query']), need.objects('artifacts', ['GetObject'], ['*/audit/payloads/*'])],
    },
    constitution: {
      description: "Publishes the tenant's constitution (S3, SHA-256 in the ledger; actuation locks) and takes the admins' ratifications",
      routes: [getConstitutionRoute, putConstitutionRoute, ratifyConstitutionRoute],
      needs: [need.table('state', ['GetItem', 'PutItem'], [SETTINGS]), need.objects('artifacts', ['GetObject', 'PutObject'], ['*/governance/constitution/*']), need.listObjects('artifacts', ['*/governance/constitution/*']), ...outboxNeeds],
    },
    'gate-resume': {
      description:
        'On governance.proposal.settled: sends the task token back to whichever state machine waits at a gate for that proposal (self-repair loops, KAMACHIQ plan reviews, migration runs)',
      rule: {
        pattern: {
          source: ['autonomy.governance'],
          'detail-type': ['governance.proposal.settled'],
          // A gate waits for a proposal to leave `pending`; executed and failed come after approved.
          detail: { status: ['approved', 'rejected', 'timed-out', 'refused'] },
        },
      },
      needs: [need.table('state', ['GetItem', 'DeleteItem'], [GATE_WAITS]), need.taskCallbacks()],
    },
    'outbox-sweep': {
      description: 'Publishes governance events a crashed or refused publish left in the outbox',
      schedule: { param: 'outboxSweepSchedule' },
      needs: [need.index('state', 'gsi1', ['Query']), ...outboxNeeds],
    },
    ui: {
      description: 'The approvals page: pending approvals with their risk, policy decision and evidence; approve or reject with a reason',
      routes: [uiRoute],
      memorySize: 256,
      // Static files: it touches no data (the page calls the approvals API with the caller's credentials).
      needs: [],
    },
  },
});
