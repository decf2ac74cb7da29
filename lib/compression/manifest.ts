/**
 * The Compression engine: fits agents' contexts to token budgets with their lineage in the ledger;
 * critical items go only through a governance proposal; Loop 3 (statemachines/compression-loop.asl.json,
 * its loop-* tasks here) tunes the settings from answer-found feedback. State-table items by
 * partition-key prefix: <tenant>#compression (settings, effectiveness, runs; gsi1 `compression#feedback`
 * lists tenants with feedback), #outbox (events saved with the state they report). Proposing reads and
 * writes what governance's proposals function does.
 */
import { COMPRESSION_LOOP_STATE_MACHINE, defineEngine, type Need, need, outboxNeeds } from '../engines/manifest.ts';
import { compressRoute, configRoute, feedbackRoute, statusRoute } from './routes.ts';

const STATE = '*#compression';

/** `propose()` in process: what governance's proposals function needs (lib/governance/manifest.ts). */
const propose: Need[] = [
  need.table('state', ['GetItem'], ['*#governance', '*#governance#policies']),
  need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']),
  // The blast radius: the target's dependents in the Reflex registry (a context has none).
  need.table('state', ['GetItem', 'Query'], ['*#reflex#components']),
  need.startGate(),
];

/** The kill switches (the tenant's and the global one, `system#governance`). */
const killSwitches = need.table('state', ['GetItem'], ['*#governance']);

export const compressionEngine = defineEngine({
  name: 'compression',
  description:
    "Fits agents' contexts to token budgets (relevance, MMR, near-duplicates, TextRank, a knowledge-graph digest) with lineage in the ledger; Loop 3 tunes it",
  actions: {
    compress: {
      description:
        'Compresses a context to a budget, records its lineage in the ledger, and proposes dropping critical items instead of dropping them',
      routes: [compressRoute],
      memorySize: 1024,
      timeout: 29,
      needs: [need.table('state', ['GetItem', 'PutItem'], [STATE]), ...propose, ...outboxNeeds],
    },
    status: {
      description: "Reads the tenant's compression settings and recent effectiveness",
      routes: [statusRoute],
      needs: [need.table('state', ['GetItem'], [STATE])],
    },
    config: {
      description: "Changes the tenant's compression settings, recorded in the ledger",
      routes: [configRoute],
      needs: [need.table('state', ['GetItem', 'PutItem'], [STATE]), ...outboxNeeds],
    },
    feedback: {
      description: 'Takes answer-found feedback on a compression; every 20 reports start a run of Loop 3',
      routes: [feedbackRoute],
      needs: [need.table('state', ['GetItem', 'PutItem'], [STATE]), need.startExecutions(COMPRESSION_LOOP_STATE_MACHINE)],
    },
    'loop-schedule': {
      description: 'Starts a run of Loop 3 for every tenant with 20 or more answer-found reports not judged yet (scheduled)',
      schedule: { param: 'compressionLoopSchedule' },
      timeout: 120,
      needs: [
        need.index('state', 'gsi1', ['Query']),
        need.table('state', ['GetItem'], [STATE]),
        need.startExecutions(COMPRESSION_LOOP_STATE_MACHINE),
      ],
    },
    'loop-observe': {
      description:
        "Loop 3, first: the tenant's answer-found reports not judged yet and its settings; the found-rate ingested by Observation in process",
      task: true,
      needs: [
        need.table('state', ['GetItem'], [STATE]),
        need.table('state', ['GetItem', 'BatchGetItem', 'PutItem'], ['*#series']),
        need.publish(),
      ],
    },
    'loop-check': {
      description: 'Loop 3: the kill switches; on, nothing is proposed or applied',
      task: true,
      needs: [killSwitches],
    },
    'loop-tune': {
      description: 'Loop 3: the pure tuner over the observed window (too few reports, no change, or one bounded step)',
      task: true,
      needs: [],
    },
    'loop-propose': {
      description: "Loop 3: proposes the tuner's step to governance as compression:tune",
      task: true,
      needs: propose,
    },
    'loop-resume': {
      description:
        'Loop 3, first step of a resumed run: the settled compression:tune proposal; approved, its step goes to apply, otherwise the run records it refused',
      task: true,
      needs: [need.table('state', ['GetItem'], ['*#proposal'])],
    },
    'loop-settled': {
      description:
        'On governance.proposal.settled: a step of Loop 3 that waited for people starts its resumed run (applied when approved, recorded refused otherwise)',
      rule: {
        pattern: {
          source: ['autonomy.governance'],
          'detail-type': ['governance.proposal.settled'],
          // Gate outcomes of the loop's proposals (`<execution>-tune`): executed and failed are the apply's own reports.
          detail: { status: ['approved', 'rejected', 'timed-out', 'refused'], proposalId: [{ suffix: '-tune' }] },
        },
      },
      needs: [need.table('state', ['GetItem'], ['*#proposal']), need.startExecutions(COMPRESSION_LOOP_STATE_MACHINE)],
    },
    'loop-apply': {
      description:
        'Loop 3: the kill switches again, then the approved step written through the engine (compression.config.changed), the proposal reported executed',
      task: true,
      needs: [
        need.table('state', ['GetItem', 'PutItem'], [STATE]),
        killSwitches,
        need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']),
        ...outboxNeeds,
      ],
    },
    'loop-record': {
      description: 'Loop 3, last on every path: compression.loop.completed in the ledger, a judged window off the count waiting',
      task: true,
      needs: [need.table('state', ['GetItem', 'PutItem'], [STATE]), ...outboxNeeds],
    },
  },
});
