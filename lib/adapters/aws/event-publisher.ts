/**
 * The event publisher on Amazon EventBridge: {@link eventBridgePutEvents} is the bare PutEvents call
 * (one request, results by entry); validation against the catalog, batching and retries of refused
 * entries live in lib/events/publisher.ts. A failed call maps through lib/adapters/aws/errors.ts.
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DependencyError } from '../../errors.ts';
import {
  type EntryResult,
  type EventPublisher,
  type PutEventsPort,
  type ValidatingPublisherOptions,
  validatingPublisher,
} from '../../events/publisher.ts';
import { mappedSend } from './errors.ts';

/**
 * The PutEvents port for one bus.
 * @throws DependencyError when the bus throttles, fails or cannot be reached, or answers with a result
 *   count that does not match the request; the SDK's own error for a call no retry can fix (access denied).
 */
export function eventBridgePutEvents(client: EventBridgeClient, busName: string): PutEventsPort {
  const send = mappedSend(client, 'EventBridge');
  return {
    async putEvents(entries) {
      const output = await send(
        new PutEventsCommand({
          Entries: entries.map((entry) => ({
            EventBusName: busName,
            Source: entry.source,
            DetailType: entry.detailType,
            Detail: entry.detail,
            Resources: entry.resources,
            Time: entry.time,
          })),
        }),
      );
      const results = output.Entries ?? [];
      if (results.length !== entries.length) {
        throw new DependencyError(`EventBridge PutEvents answered ${results.length} result(s) for ${entries.length} entries`);
      }
      return results.map((result): EntryResult => {
        const mapped: EntryResult = {};
        if (result.EventId) mapped.eventId = result.EventId;
        if (result.ErrorCode) mapped.errorCode = result.ErrorCode;
        if (result.ErrorMessage) mapped.errorMessage = result.ErrorMessage;
        return mapped;
      });
    },
  };
}

/** Options for {@link eventBridgePublisher}. */
export interface EventBridgePublisherOptions extends ValidatingPublisherOptions {
  busName: string;
}

/**
 * The validating EventPublisher writing to one EventBridge bus (build it once per container).
 * @example const publisher = eventBridgePublisher(eventBridgeClient(), { busName: config().EVENT_BUS_NAME });
 */
export function eventBridgePublisher(client: EventBridgeClient, options: EventBridgePublisherOptions): EventPublisher {
  const { busName, ...rest } = options;
  return validatingPublisher(eventBridgePutEvents(client, busName), rest);
}
