/**
 * The Execution engine (L3): runs approved governance proposals through executors with a declared
 * scope, a dry run, a verifying read-back and an undo; records each outcome in governance, the
 * ledger and on the bus.
 * State-table items by partition-key prefix: <tenant>#execution (runs, by execution id); it reads
 * and settles proposals (#proposal, #governance#outcomes), reads the kill switches (#governance,
 * `system#governance`) and writes its events through the outbox (#outbox).
 */
import { defineEngine, type Need, need, outboxNeeds } from '../engines/manifest.ts';
import { getRunRoute, startRunRoute, undoRunRoute, webhookKeyRoute } from './routes.ts';

const RUNS = '*#execution';
/** Reading and settling proposals, the kill switches, the outbox, the ledger. */
const governed: Need[] = [
  need.table('state', ['GetItem'], ['*#governance']),
  need.table('state', ['GetItem', 'PutItem'], ['*#proposal']),
  need.table('state', ['GetItem', 'UpdateItem'], ['*#governance#outcomes']),
  ...outboxNeeds,
];

/**
 * What running a proposal in process needs (`run()`, lib/execution/engine.ts): the runs, the governed
 * path, the executors' calls and the webhook keys. The runs route has these; so does any task that
 * runs playbooks itself (Reflex's self-repair loop).
 */
export const runNeeds: readonly Need[] = [
  need.table('state', ['GetItem', 'PutItem', 'DeleteItem'], [RUNS]),
  ...governed,
  need.actuate(['lambda', 'sagemaker', 'events']),
  need.secrets('executionWebhookKeys', ['CreateSecret', 'GetSecretValue']),
];

export const executionEngine = defineEngine({
  name: 'execution',
  description: 'L3 execution of approved proposals: scoped, idempotent executors with dry run, read-back and undo',
  actions: {
    runs: {
      description: 'Runs an approved proposal through an executor binding (dry run, kill switch, execute, read-back) once, and reads runs',
      routes: [startRunRoute, getRunRoute],
      timeout: 29,
      needs: runNeeds,
    },
    undo: {
      description: 'Restores what a succeeded run changed, once, and reads it back',
      routes: [undoRunRoute],
      timeout: 29,
      needs: [need.table('state', ['GetItem', 'PutItem'], [RUNS]), ...governed, need.actuate(['lambda', 'sagemaker', 'events'])],
    },
    'webhook-key': {
      description: "Shows the tenant's webhook signing key (admin), creating it on first use",
      routes: [webhookKeyRoute],
      needs: [need.secrets('executionWebhookKeys', ['CreateSecret', 'GetSecretValue'])],
    },
  },
});
