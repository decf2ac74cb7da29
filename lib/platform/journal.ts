/**
 * The event journal: every bus event, keyed by tenant, time and event id, so a redelivered event
 * lands on the same key and is stored once.
 */
import type { BusEvent } from '../triggers/queue.ts';

/** A bus event as the journal queue delivers it. */
export type BusEnvelope = BusEvent;

/** One journal record as stored. */
export interface JournalRecord {
  pk: string;
  sk: string;
  tenant: string;
  eventId: string;
  source: string;
  detailType: string;
  time: string;
  detail: Record<string, unknown>;
  expiresAt: number;
}

/** The tenant an event belongs to: `detail.tenant` when present, else the platform's own `system`. */
export function eventTenant(envelope: BusEnvelope): string {
  const tenant = envelope.detail.tenant;
  return typeof tenant === 'string' && tenant.length > 0 ? tenant : 'system';
}

/**
 * Builds the journal record for an event; the key depends only on the event, so duplicates collide.
 * @param retentionDays how long the record is kept before DynamoDB's TTL removes it.
 */
export function journalRecord(envelope: BusEnvelope, retentionDays: number): JournalRecord {
  const tenant = eventTenant(envelope);
  const day = envelope.time.slice(0, 10);
  return {
    pk: `${tenant}#journal#${day}`,
    sk: `${envelope.time}#${envelope.id}`,
    tenant,
    eventId: envelope.id,
    source: envelope.source,
    detailType: envelope['detail-type'],
    time: envelope.time,
    detail: envelope.detail,
    expiresAt: Math.floor(Date.parse(envelope.time) / 1000) + retentionDays * 86400,
  };
}
