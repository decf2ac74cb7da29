/**
 * The Replication engine: reactive scaling by the Kubernetes HPA rule, predictive scaling from the
 * Observation engine's forecasts, min/max and N+1 across zones; each change a governance proposal
 * (`replication:scale`) run by the Execution engine's executors.
 * State-table items by partition-key prefix: <tenant>#replication (one record per component:
 * configuration, HPA history, decisions, forecasts); it reads Observation's series (#series) and the
 * Reflex registry (#reflex#components), proposes as governance's proposals function does, runs as the
 * Execution engine's runs route does, and writes its events through the outbox (#outbox).
 */
import { defineEngine, type Need, need, outboxNeeds } from '../engines/manifest.ts';
import { runNeeds } from '../execution/manifest.ts';
import { evaluateRoute, putConfigRoute, statusRoute } from './routes.ts';

const RECORDS = '*#replication';

/** `propose()` in process (lib/governance/manifest.ts). */
const propose: Need[] = [
  need.table('state', ['GetItem'], ['*#governance', '*#governance#policies']),
  need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#proposal', '*#governance#outcomes']),
  need.startGate(),
];

export const replicationEngine = defineEngine({
  name: 'replication',
  description:
    'Scaling: the Kubernetes HPA rule, predictive capacity from forecasts, min/max and N+1 across zones; each change a governed proposal run by an executor',
  actions: {
    config: {
      description: "Sets a component's scaling configuration",
      routes: [putConfigRoute],
      needs: [need.table('state', ['GetItem', 'PutItem'], [RECORDS])],
    },
    evaluate: {
      description:
        'Evaluates a component (metrics, forecast, HPA, N+1), proposes a change and runs it through the executor once approved; records the decision in the ledger',
      routes: [evaluateRoute],
      timeout: 29,
      needs: [
        need.table('state', ['GetItem', 'PutItem'], [RECORDS]),
        need.table('state', ['GetItem'], ['*#series']),
        need.table('state', ['GetItem', 'Query'], ['*#reflex#components']),
        ...propose,
        ...runNeeds,
        ...outboxNeeds,
      ],
    },
    status: {
      description: "A component's counts, stabilisation window, decisions and forecasts",
      routes: [statusRoute],
      needs: [need.table('state', ['GetItem'], [RECORDS, '*#series', '*#proposal'])],
    },
  },
});
