/**
 * The Promotion engine (L4 over L3): promotes versions through stages with canary steps judged
 * statistically against a fresh baseline, and rolls back on its own (lib/promotion/engine.ts).
 * State-table items by partition-key prefix: <tenant>#promotion (promotions, with their outbox),
 * #promotion#samples (posted samples per step); it proposes through governance in process (settings,
 * policies, proposals, outcomes, the gate), reads Observation's series (#series), shifts traffic
 * through the Execution engine's Lambda alias and SageMaker endpoint executors, and records every
 * step in the ledger through the outbox; it asks the Versioning engine whether a version may be
 * promoted (#versioning#…). A promotion runs as statemachines/promotion.asl.json.
 */
import { defineEngine, type Need, need, outboxNeeds, PROMOTION_STATE_MACHINE } from '../engines/manifest.ts';
import { abortPromotionRoute, postMetricsRoute, promotionStatusRoute, startPromotionRoute } from './routes.ts';

const PROMOTIONS = '*#promotion';
const SAMPLES = '*#promotion#samples';

/** `propose()` in process and settling the promotion's proposals (lib/governance/manifest.ts). */
const propose: Need[] = [
  need.table('state', ['GetItem'], ['*#governance', '*#governance#policies']),
  need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']),
  need.startGate(),
];

/** Shifting traffic: the promotion, the kill switches, the executors, the ledger and bus. */
const shift: Need[] = [
  need.table('state', ['GetItem', 'PutItem'], [PROMOTIONS]),
  ...propose,
  need.actuate(['lambda', 'sagemaker']),
  ...outboxNeeds,
];

export const promotionEngine = defineEngine({
  name: 'promotion',
  description: 'Promotion through stages with statistically judged canary steps, real traffic shifting and automatic roll-back',
  actions: {
    promotions: {
      description: "Starts a promotion (dry run, governance proposal, the promotion's state machine) and aborts one (rolls it back)",
      routes: [startPromotionRoute, abortPromotionRoute],
      timeout: 29,
      needs: [
        ...shift,
        need.startExecutions(PROMOTION_STATE_MACHINE),
        // The Versioning engine's promotable() in process: the version (its body may be an object), a governance decision recorded on it.
        need.table('state', ['GetItem', 'Query', 'PutItem'], ['*#versioning#artifacts', '*#versioning#versions']),
        need.objects('artifacts', ['GetObject'], ['*/versioning/bodies/*']),
        // An abort withdraws the proposal the promotion waits on: its approval refused, the gate's task failed.
        need.table('state', ['GetItem', 'PutItem'], ['*#approval']),
        need.taskCallbacks(),
      ],
    },
    status: {
      description: "Lists the tenant's promotions or reads one: stage, step, weights, judge reports, timings",
      routes: [promotionStatusRoute],
      needs: [need.table('state', ['GetItem', 'Query'], [PROMOTIONS])],
    },
    metrics: {
      description: "Takes samples of a promotion's metrics for one step, canary and baseline",
      routes: [postMetricsRoute],
      needs: [need.table('state', ['GetItem'], [PROMOTIONS]), need.table('state', ['GetItem', 'PutItem'], [SAMPLES])],
    },
    advance: {
      description:
        'Promotion state machine task: the next step of a promotion (approval, shift, judge, pause, roll-back) and how long to wait before the one after',
      task: true,
      timeout: 60,
      needs: [
        ...shift,
        need.table('state', ['GetItem'], [SAMPLES, '*#series']),
        // Abort after a failed step withdraws the pause it waited on (see the promotions action).
        need.table('state', ['GetItem', 'PutItem'], ['*#approval']),
        need.taskCallbacks(),
      ],
    },
  },
});
