/** The observation engine: series state under "<tenant>#series" in the state table. */
import { defineEngine, need } from '../engines/manifest.ts';
import { configRoute, deleteSeriesRoute, forecastRoute, ingestRoute, statusRoute } from './routes.ts';

const series = (...actions: Parameters<typeof need.table>[1]) => need.table('state', actions, ['*#series']);

export const observationEngine = defineEngine({
  name: 'observation',
  description: 'Metric ingest, anomaly detection and forecasts per series',
  actions: {
    ingest: {
      description: 'Ingests metric points over HTTP (one or a batch) and publishes detected anomalies',
      routes: [ingestRoute],
      // BatchGetItem: a batch's series are read 100 at a time before their conditional writes.
      needs: [series('GetItem', 'BatchGetItem', 'PutItem'), need.publish()],
    },
    'ingest-queue': {
      description: 'Ingests metric points from the observation ingest queue (per-record failures)',
      queue: { queue: 'ObservationIngestQueue', batchSize: 10, batchingWindow: 1 },
      timeout: 30,
      needs: [series('GetItem', 'BatchGetItem', 'PutItem'), need.publish()],
    },
    status: {
      description: "A series' summary and detector statistics, or a page of the tenant's series",
      routes: [statusRoute],
      memorySize: 256,
      needs: [series('GetItem', 'Query')],
    },
    forecast: {
      description: "Holt linear and Holt-Winters forecasts fitted to a series' recent points",
      routes: [forecastRoute],
      // Fitting is CPU-bound: more memory buys more CPU; `model=auto` fits up to six models.
      memorySize: 1769,
      timeout: 29,
      needs: [series('GetItem')],
    },
    config: {
      description: "Sets a series' detector and configuration",
      routes: [configRoute],
      memorySize: 256,
      needs: [series('GetItem', 'PutItem'), need.publish()],
    },
    series: {
      description: "Deletes a series' state",
      routes: [deleteSeriesRoute],
      memorySize: 256,
      needs: [series('GetItem', 'DeleteItem'), need.publish()],
    },
  },
});
