/**
 * EventPublisher on Amazon EventBridge: batches of at most 10 entries (the PutEvents limit), and
 * entries the bus refuses (`FailedEntryCount`) are retried with backoff; only those are resent.
 */
import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { DependencyError } from '../../errors.ts';
import type { BusEvent, EventPublisher } from '../../events/publisher.ts';

const MAX_ENTRIES_PER_CALL = 10;

/** Options for {@link eventBridgePublisher}. */
export interface EventBridgePublisherOptions {
  busName: string;
  attempts?: number;
  baseDelayMs?: number;
}

/** Creates an EventPublisher that writes to one EventBridge bus. */
export function eventBridgePublisher(client: EventBridgeClient, options: EventBridgePublisherOptions): EventPublisher {
  const attempts = options.attempts ?? 4;
  const baseDelayMs = options.baseDelayMs ?? 50;
  const toEntry = (event: BusEvent): PutEventsRequestEntry => ({
    EventBusName: options.busName,
    Source: event.source,
    DetailType: event.detailType,
    Detail: JSON.stringify(event.detail),
    Resources: event.resources,
    Time: event.time,
  });

  async function sendBatch(entries: PutEventsRequestEntry[]): Promise<void> {
    let pending = entries;
    let lastError = '';
    for (let attempt = 0; attempt < attempts && pending.length > 0; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, baseDelayMs * 2 ** (attempt - 1)));
      const output = await client.send(new PutEventsCommand({ Entries: pending }));
      if (!output.FailedEntryCount) return;
      const results = output.Entries ?? [];
      const failed = pending.filter((_, index) => results[index]?.ErrorCode !== undefined);
      lastError = results.find((result) => result.ErrorCode)?.ErrorMessage ?? 'unknown';
      pending = failed;
    }
    if (pending.length > 0) throw new DependencyError(`EventBridge refused ${pending.length} event(s): ${lastError}`);
  }

  return {
    async publish(events) {
      const entries = events.map(toEntry);
      for (let start = 0; start < entries.length; start += MAX_ENTRIES_PER_CALL) {
        await sendBatch(entries.slice(start, start + MAX_ENTRIES_PER_CALL));
      }
    },
  };
}
