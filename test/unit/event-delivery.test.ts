/**
 * Copies of an outbox event (new id, same detail) are one fact: the audit appender's dedupe key for
 * them is their content, for every other event their id (events/delivery.ts, lib/audit/engine.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { catalogEntry, type CatalogDetailType } from '../../events/catalog.ts';
import { OUTBOX_DETAIL_TYPES, publishedAtLeastOnce } from '../../events/delivery.ts';
import { busEventRecord } from '../../lib/audit/engine.ts';

const envelope = (detailType: string, detail: Record<string, unknown>, id: string = randomUUID()) => ({
  version: '0',
  id,
  'detail-type': detailType,
  source: `autonomy.${detailType.split('.')[0]}`,
  account: '000000000000',
  time: '2026-01-01T00:40:01.000Z',
  region: 'us-east-1',
  resources: [],
  detail,
});

const anomaly = { version: 1, tenant: 'acme', series: 'checkout.rps', timestamp: '2026-01-01T00:40:00.000Z', value: 1000, score: 40, detector: 'robust', anomaly: true };
const now = new Date('2026-01-01T00:40:02.000Z');

describe('event delivery', () => {
  it('names only catalogued detail-types as published at least once', () => {
    for (const detailType of OUTBOX_DETAIL_TYPES) assert.ok(catalogEntry(detailType as CatalogDetailType), detailType);
    assert.equal(publishedAtLeastOnce('observation.anomaly.detected'), true);
    assert.equal(publishedAtLeastOnce('platform.heartbeat.emitted'), false);
  });

  it('gives two copies of an outbox event (new id, same detail) one dedupe key, and another detail another', () => {
    const first = busEventRecord(envelope('observation.anomaly.detected', anomaly), now);
    const copy = busEventRecord(envelope('observation.anomaly.detected', { ...anomaly }), now);
    const next = busEventRecord(envelope('observation.anomaly.detected', { ...anomaly, timestamp: '2026-01-01T00:41:00.000Z' }), now);
    assert.equal(copy.dedupeKey, first.dedupeKey);
    assert.match(first.dedupeKey, /^detail#[0-9a-f]{64}$/);
    assert.notEqual(next.dedupeKey, first.dedupeKey);
    assert.equal(first.input.tenant, 'acme');
  });

  it('keeps keying every other event on its id, so equal details stay distinct events', () => {
    const detail = { version: 1, tenant: 'acme' };
    const a = busEventRecord(envelope('test.thing.happened', detail, 'id-a'), now);
    const b = busEventRecord(envelope('test.thing.happened', detail, 'id-b'), now);
    assert.deepEqual([a.dedupeKey, b.dedupeKey], ['event#id-a', 'event#id-b']);
  });
});
