/** The platform engine: readiness, the API description and the liveness heartbeat. */
import { defineEngine, need } from '../engines/manifest.ts';
import { healthRoute, openApiRoute } from './routes.ts';

export const platformEngine = defineEngine({
  name: 'platform',
  description: 'Readiness, the API description and the liveness heartbeat',
  actions: {
    health: {
      description: 'Readiness of the state table, artifacts bucket and event bus',
      routes: [healthRoute],
      memorySize: 256,
      needs: [need.table('state', ['DescribeTable']), need.listObjects('artifacts'), need.describeBus()],
    },
    openapi: {
      description: 'The API as OpenAPI 3.1, generated from the engine manifests',
      routes: [openApiRoute],
      memorySize: 256,
      // Nothing but logs and traces: it touches no data.
      needs: [],
    },
    heartbeat: {
      description: 'Publishes platform.heartbeat.emitted on a schedule',
      schedule: { param: 'heartbeatSchedule' },
      memorySize: 256,
      needs: [need.publish()],
    },
  },
});
