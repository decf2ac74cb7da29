/**
 * The Migration engine (Loop 4: Migration → Execution → Observation → Migration): placement planning
 * of workloads onto pools, plans with ordered steps, pre- and post-checks, each plan one governance
 * proposal (`migration:migrate` on `migration/<planId>`), and runs of a plan through the migration
 * state machine (statemachines/migration.asl.json), whose steps are the `loop-*` tasks
 * (lib/migration/loop.ts); governance's `gate-resume` resumes a run waiting at the gate when its
 * proposal settles.
 * State-table items by partition-key prefix: <tenant>#migration (the pool catalogue, plans and runs,
 * written with their outbox entries); runs wait at governance's gate (#governance#gate);
 * it proposes as governance's proposals function does, reads Observation's series (#series) for the
 * latency checks, and acts through the Execution engine's Lambda alias and SageMaker endpoint
 * executors.
 */
import { defineEngine, MIGRATION_STATE_MACHINE, type Need, need, outboxNeeds } from '../engines/manifest.ts';
import { gateWaitNeeds } from '../governance/manifest.ts';
import { cancelRunRoute, createPlanRoute, putPoolsRoute, startRunRoute, statusRoute } from './routes.ts';

const RECORDS = '*#migration';
const records: Need = need.table('state', ['GetItem', 'PutItem'], [RECORDS]);
/** Reading governance state: settings and kill switches, proposals. */
const governed: Need = need.table('state', ['GetItem'], ['*#governance', '*#proposal']);

/** `propose()` in process (lib/governance/manifest.ts). */
const propose: Need[] = [
  need.table('state', ['GetItem'], ['*#governance', '*#governance#policies']),
  need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']),
  need.startGate(),
];

/** Withdrawing a cancelled run's pending proposal (governance's `withdraw` in process): the proposal and its approval written, its gate's task failed. */
const withdrawal: Need[] = [need.table('state', ['GetItem', 'PutItem'], ['*#proposal', '*#approval']), need.taskCallbacks()];

/** A run's gate: waiting at governance's gate, the run and the kill switches read. */
const gate: Need[] = [...gateWaitNeeds, records, governed];

/** A step that acts: the run, the kill switches and the proposal, Observation's series, the executors, the ledger. */
const act: Need[] = [
  records,
  governed,
  need.table('state', ['GetItem'], ['*#series']),
  need.actuate(['lambda', 'sagemaker']),
  ...outboxNeeds,
];

export const migrationEngine = defineEngine({
  name: 'migration',
  description:
    'Placement planning and migration: workloads onto pools (bin packing with constraints, cost and risk), plans with checks run step by step through the L3 executors as a state machine, rolled back on failure',
  actions: {
    pools: {
      description: "Replaces the tenant's pool catalogue (capacities, prices, zones, latency classes)",
      routes: [putPoolsRoute],
      needs: [records],
    },
    plans: {
      description: 'Plans a placement as ordered steps with checks, stores it with its hash and proposes it to governance',
      routes: [createPlanRoute],
      timeout: 29,
      needs: [records, ...propose, ...outboxNeeds],
    },
    runs: {
      description:
        'Starts a run of a stored plan (the migration state machine) and cancels a run before its first step, withdrawing its pending proposal',
      routes: [startRunRoute, cancelRunRoute],
      timeout: 29,
      needs: [
        records,
        // A run waiting at the gate is resumed (governance's gate waits).
        ...gateWaitNeeds,
        need.startExecutions(MIGRATION_STATE_MACHINE),
        ...withdrawal,
        ...outboxNeeds,
      ],
    },
    status: {
      description: "The tenant's pools, plans and runs with each step's state",
      routes: [statusRoute],
      needs: [need.table('state', ['GetItem', 'Query'], [RECORDS])],
    },
    'loop-plan': {
      description: 'Migration run, first: loads the run and its plan and checks the hash',
      task: true,
      needs: [records, governed],
    },
    'loop-precheck': {
      description: "Migration run: the kill switches and every provision step's capacity against the catalogue, before the gate",
      task: true,
      needs: [records, governed],
    },
    'loop-gate': {
      description: "Migration run (waitForTaskToken): waits for the plan's proposal to be decided, resuming at once when it is",
      task: true,
      needs: gate,
    },
    'loop-check': {
      description:
        'Migration run, before each step: the kill switches, the run not cancelled, the proposal approved for this plan and hash',
      task: true,
      needs: [records, governed, ...outboxNeeds],
    },
    'loop-execute': {
      description: "Migration run: one step's pre-checks and its executor (dry run, execute, read-back), recorded on the run",
      task: true,
      timeout: 60,
      needs: act,
    },
    'loop-postcheck': {
      description: "Migration run: one step's latency post-check on Observation's series",
      task: true,
      needs: [records, need.table('state', ['GetItem'], ['*#series']), ...outboxNeeds],
    },
    'loop-record': {
      description: "Migration run: one step's migration.step.completed, then the next step, the end or rollback",
      task: true,
      needs: [records, ...outboxNeeds],
    },
    'loop-rollback': {
      description: 'Migration run: undoes every step that acted, last first, each read back (also under a kill switch, recorded as such)',
      task: true,
      timeout: 120,
      needs: act,
    },
    'loop-finish': {
      description: "Migration run, last: the run's end with migration.run.completed and the proposal's outcome",
      task: true,
      // Reporting the proposal's outcome (governance's reportOutcome): the proposal and the outcome history.
      needs: [records, need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']), ...outboxNeeds],
    },
  },
});
