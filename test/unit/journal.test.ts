import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { journalRecord } from '../../lib/platform/journal.ts';
import { busEventSchema as busEnvelopeSchema } from '../../lib/triggers/queue.ts';

const envelope = {
  version: '0',
  id: '6f1c1f44-1111-2222-3333-444455556666',
  'detail-type': 'observation.anomaly.detected',
  source: 'autonomy.observation',
  account: '000000000000',
  time: '2026-11-25T10:00:00Z',
  region: 'us-east-1',
  resources: [],
  detail: { tenant: 'acme', series: 'latency' },
};

describe('journal records', () => {
  it('keys a record by tenant, day, time and event id', () => {
    const record = journalRecord(busEnvelopeSchema.parse(envelope), 30);
    assert.equal(record.pk, 'acme#journal#2026-11-25');
    assert.equal(record.sk, '2026-11-25T10:00:00Z#6f1c1f44-1111-2222-3333-444455556666');
    assert.equal(record.expiresAt, Date.parse('2026-11-25T10:00:00Z') / 1000 + 30 * 86400);
  });

  it('gives the same key to a redelivered event, so it is stored once', () => {
    const first = journalRecord(busEnvelopeSchema.parse(envelope), 30);
    const again = journalRecord(busEnvelopeSchema.parse(structuredClone(envelope)), 30);
    assert.deepEqual([first.pk, first.sk], [again.pk, again.sk]);
  });

  it('files events without a tenant under system', () => {
    const record = journalRecord(busEnvelopeSchema.parse({ ...envelope, detail: {} }), 30);
    assert.equal(record.tenant, 'system');
  });

  it('rejects an envelope without an id, naming the field', () => {
    const { id: _id, ...rest } = envelope;
    const parsed = busEnvelopeSchema.safeParse(rest);
    assert.equal(parsed.success, false);
    assert.deepEqual(parsed.error?.issues.map((issue) => issue.path.join('.')), ['id']);
  });
});
