/**
 * The Capsules engine: signed, reviewed, installable agent jobs with a governed lifecycle
 * (lib/capsules/marketplace.ts). State-table items by partition-key prefix: <tenant>#capsules#authors
 * (authors' Ed25519 keys), #capsules#proposals (the version each publish proposal publishes),
 * #capsules#refusals (refused submissions' review records), #capsules#installs (the tenant's
 * installs); the marketplace, shared by every tenant: system#capsules#names (each name, its owner and
 * its versions' statuses) and system#capsules#versions (each version, immutable once published).
 * Runs: <tenant>#capsules#runs (each run and its steps), system#capsules#records (each capsule's
 * run outcome counts). KAMACHIQ plans: <tenant>#capsules#plans (each plan, its nodes, a
 * cancellation as items of their own), run by statemachines/capsule-plan.asl.json; its review
 * gate proposes `capsules:plan` in process and waits at governance's gate (#governance#gate).
 * Objects: <owner tenant>/capsules/bundles/<sha256>.json (the bundles' exact bytes). Ledger stream
 * events.capsules of the tenant each step concerns. Submitting proposes `capsules:publish` in process
 * (what governance's proposals function reads and writes); installing publishes the tenant's
 * policy set in process (what governance's policies function does).
 */
import { CAPSULE_PLAN_STATE_MACHINE, defineEngine, type Need, need, outboxNeeds } from '../engines/manifest.ts';
import { gateWaitNeeds } from '../governance/manifest.ts';
import {
  cancelPlanRoute,
  catalogRoute,
  deprecateRoute,
  getAuthorsRoute,
  getPlansRoute,
  installRoute,
  listInstallsRoute,
  listRunsRoute,
  putAuthorRoute,
  startRunRoute,
  submitPlanRoute,
  submitRoute,
  uninstallRoute,
} from './routes.ts';

const AUTHORS = '*#capsules#authors';
const PROPOSALS = '*#capsules#proposals';
const REFUSALS = '*#capsules#refusals';
const INSTALLS = '*#capsules#installs';
const NAMES = 'system#capsules#names';
const VERSIONS = 'system#capsules#versions';
const BUNDLES = '*/capsules/bundles/*';
const RUNS = '*#capsules#runs';
const RECORDS = 'system#capsules#records';
const PLANS = '*#capsules#plans';

/** One capsule run in process (what the runs function needs to run one). */
const runNeeds: Need[] = [
  need.table('state', ['GetItem', 'Query', 'PutItem'], [RUNS]),
  need.table('state', ['GetItem', 'UpdateItem'], [RECORDS]),
  need.table('state', ['GetItem'], [INSTALLS, VERSIONS]),
  need.table('state', ['Query'], [AUTHORS]),
  need.objects('artifacts', ['GetObject'], [BUNDLES]),
  need.listObjects('artifacts', [BUNDLES]),
  // The run's own API key, minted at its start and revoked at its end.
  need.table('state', ['PutItem', 'GetItem', 'UpdateItem'], ['*#apikey']),
  // The guardrails: the tenant's settings and policy set, read in process.
  need.table('state', ['GetItem'], ['*#governance', '*#governance#policies']),
  // Each tool call through the MCP path: the route's function invoked, the call in the ledger.
  need.invokeRoutes(),
  need.table('ledger', ['PutItem', 'Query']),
  need.table('state', ['PutItem'], ['*#audit#streams']),
  need.objects('artifacts', ['PutObject', 'PutObjectTagging'], ['*/audit/payloads/*']),
  ...outboxNeeds,
];
/** A plan's items read and written with their outbox entries. */
const planItems: Need[] = [need.table('state', ['GetItem', 'Query', 'PutItem'], [PLANS]), ...outboxNeeds];

/** Writing a version and its name in one transaction with the outbox (and the proposal it waits for). */
const writeVersions: Need[] = [need.table('state', ['GetItem', 'PutItem'], [NAMES, VERSIONS]), ...outboxNeeds];

/** `propose()` in process: what governance's proposals function needs (lib/governance/manifest.ts). */
const propose: Need[] = [
  need.table('state', ['GetItem'], ['*#governance', '*#governance#policies']),
  need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']),
  // The blast radius: the target's dependents in the Reflex registry (a capsule has none).
  need.table('state', ['GetItem', 'Query'], ['*#reflex#components']),
  need.startGate(),
];

export const capsulesEngine = defineEngine({
  name: 'capsules',
  description:
    'Capsules: signed, reviewed, installable agent jobs, each published through the governance gate and installed with its guardrails',
  actions: {
    authors: {
      description: "Reads the tenant's author keys and registers or revokes one (admin)",
      routes: [getAuthorsRoute, putAuthorRoute],
      needs: [need.table('state', ['Query', 'PutItem'], [AUTHORS]), ...outboxNeeds],
    },
    submissions: {
      description:
        'Takes a signed bundle: the automated review, the bundle stored by content hash, the version in review and its capsules:publish proposal; a refusal is recorded and stores nothing',
      routes: [submitRoute],
      memorySize: 1024,
      timeout: 29,
      needs: [
        need.table('state', ['Query'], [AUTHORS]),
        need.table('state', ['PutItem'], [PROPOSALS, REFUSALS]),
        ...writeVersions,
        need.objects('artifacts', ['PutObject'], [BUNDLES]),
        ...propose,
      ],
    },
    catalog: {
      description:
        'Searches the marketplace, lists a capsule’s versions, reads one version with its review record; each capsule with its success record',
      routes: [catalogRoute],
      // Each capsule's success record (its run outcome counts).
      needs: [need.table('state', ['GetItem', 'Query'], [NAMES, VERSIONS]), need.table('state', ['GetItem'], [RECORDS])],
    },
    installs: {
      description:
        "Installs a published version (its guardrails as the capsule's layer of the tenant's policy set, its budget recorded), uninstalls, lists the tenant's installs",
      routes: [installRoute, uninstallRoute, listInstallsRoute],
      memorySize: 1024,
      timeout: 29,
      needs: [
        need.table('state', ['GetItem'], [VERSIONS]),
        need.table('state', ['Query'], [AUTHORS]),
        need.objects('artifacts', ['GetObject'], [BUNDLES]),
        // Without ListBucket, S3 answers 403 instead of 404 for a bundle that is gone.
        need.listObjects('artifacts', [BUNDLES]),
        need.table('state', ['GetItem', 'Query', 'PutItem'], [INSTALLS]),
        // Publishing the tenant's policy set (governance's publishPolicies in process).
        need.table('state', ['GetItem', 'PutItem'], ['*#governance', '*#governance#policies']),
        ...outboxNeeds,
      ],
    },
    runs: {
      description:
        "Runs an installed capsule to its end: its code in the sandbox (or one gateway chat) calling only its declared tools through the MCP tools/call path with a key minted for the run, within its guardrails and per-run budget; lists the tenant's runs",
      routes: [startRunRoute, listRunsRoute],
      memorySize: 1024,
      // A run waits for its tools (a gateway chat may take seconds); the API answers within 29 s.
      timeout: 29,
      needs: runNeeds,
    },
    plans: {
      description:
        "Starts a KAMACHIQ plan (a goal, a DAG of capsule runs, a plan budget; validated, a refusal stores nothing) as an execution of the capsule-plan state machine; lists the tenant's plans, reads one, cancels one",
      routes: [submitPlanRoute, getPlansRoute, cancelPlanRoute],
      // Validating against the installs, saving with the outbox and starting the execution; the API answers within 29 s.
      timeout: 29,
      needs: [need.table('state', ['Query'], [INSTALLS]), ...planItems, need.startExecutions(CAPSULE_PLAN_STATE_MACHINE)],
    },
    'plan-level': {
      description:
        "KAMACHIQ plan, before each layer: a review gate's decision read, the kill switches and a cancellation stop the plan; the layer's nodes admitted within the plan's remaining budget, the others skipped with why",
      task: true,
      needs: [...planItems, need.table('state', ['GetItem'], ['*#governance', '*#proposal'])],
    },
    'plan-node': {
      description:
        "KAMACHIQ plan, one node (a Map iteration): one capsule run as POST /capsules/runs makes it, on the node's run budget, its input filled from its dependencies' summaries",
      task: true,
      memorySize: 1024,
      timeout: 60,
      needs: [...planItems, ...runNeeds],
    },
    'plan-review': {
      description:
        "KAMACHIQ plan, before its first layer (and a layer holding a node flagged for review): proposes capsules:plan to governance as the plan's starter, routed by risk and the tenant's autonomy level or escalated to people",
      task: true,
      timeout: 29,
      needs: [...planItems, ...propose, need.table('state', ['GetItem'], ['*#proposal'])],
    },
    'plan-gate': {
      description:
        "KAMACHIQ plan (waitForTaskToken): waits for the plan's review proposal to be settled, resuming at once when it is decided already",
      task: true,
      needs: [need.table('state', ['GetItem'], [PLANS]), ...gateWaitNeeds],
    },
    'plan-finish': {
      description:
        "KAMACHIQ plan, last: the summary (each node's outcome, cost, duration, what was skipped and why) with capsules.plan.completed",
      task: true,
      needs: planItems,
    },
    deprecations: {
      description: 'Deprecates a published version of one of the tenant’s capsules (admin)',
      routes: [deprecateRoute],
      needs: writeVersions,
    },
    publish: {
      description:
        'On governance.proposal.settled: publishes the capsule version a capsules:publish proposal approved (reporting it executed), or rejects it with the proposal’s reasons',
      rule: { pattern: { source: ['autonomy.governance'], 'detail-type': ['governance.proposal.settled'] } },
      needs: [
        need.table('state', ['GetItem'], [PROPOSALS]),
        // Reporting the outcome: the proposal and the action's outcome history.
        need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']),
        ...writeVersions,
      ],
    },
  },
});
