/**
 * The Observation engine's dependencies in a deployed function: series on the state table and the
 * validating publisher on the stage's bus. Built lazily, once per container.
 */
import { config } from '../../config.ts';
import type { ObservationDeps } from '../../observation/ingest.ts';
import { logger } from '../../observability.ts';
import { dynamoClient, eventBridgeClient } from './clients.ts';
import { eventBridgePublisher } from './event-publisher.ts';
import { dynamoSeriesStore } from './series-store.ts';

let deps: ObservationDeps | undefined;

/**
 * The engine's store, publisher and clock; `log` adds each operational line to the function log and,
 * when given, to the reply's `logs`.
 * @example
 * const report = await ingest(ctx.tenant, points, observationDeps(ctx.log));
 */
export function observationDeps(log?: (message: string) => void): ObservationDeps {
  if (!deps) {
    const cfg = config();
    deps = {
      store: dynamoSeriesStore(dynamoClient(), cfg.STATE_TABLE),
      publisher: eventBridgePublisher(eventBridgeClient(), { busName: cfg.EVENT_BUS_NAME }),
      now: () => new Date(),
    };
  }
  return {
    ...deps,
    log: (message) => {
      logger.warn(message);
      log?.(message);
    },
  };
}
