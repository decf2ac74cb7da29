/**
 * The port through which engines publish bus events.
 */

/** One event for the bus: `source` is `autonomy.<engine>`, `detailType` `<engine>.<noun>.<past-verb>`. */
export interface BusEvent {
  source: string;
  detailType: string;
  detail: Record<string, unknown>;
  /** Resources the event concerns (ARNs or ids), as EventBridge carries them. */
  resources?: string[];
  time?: Date;
}

/** Publishes events; resolves once every event is accepted by the bus. */
export interface EventPublisher {
  /** @throws DependencyError when some events are still refused after the retries. */
  publish(events: BusEvent[]): Promise<void>;
}
