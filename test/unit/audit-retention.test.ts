import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expiredPayloadHashes } from '../../lib/audit/retention.ts';
import { verifyStream } from '../../lib/audit/verify.ts';
import { buildStream } from '../helpers/audit-stream.ts';

// Test streams put entry `seq` at 2025-01-01 + seq minutes.
const now = new Date('2025-01-31T00:00:00.000Z');

describe('retention', () => {
  it('expires the payloads of entries older than the window, and no entry', () => {
    const stream = buildStream(10);
    const window = 30 - 5 / (24 * 60); // the cutoff falls at 2025-01-01T00:05Z
    const expired = expiredPayloadHashes(stream.entries, { retentionDays: window, now });
    assert.deepEqual(
      expired,
      stream.entries
        .slice(0, 5)
        .map((entry) => entry.payloadHash)
        .sort(),
    );
    const payloads = new Map(stream.payloads);
    for (const hash of expired) payloads.delete(hash);
    const result = verifyStream({ entries: stream.entries, payloads, checkpoints: stream.checkpoints, keys: stream.keys });
    assert.equal(result.intact && result.expiredPayloads, 5);
  });

  it('keeps a payload shared with a recent entry, and payloads under legal hold', () => {
    const stream = buildStream(10, { payloadOf: (seq) => (seq === 0 || seq === 9 ? { kind: 'same' } : { kind: 'note', seq }) });
    const expired = expiredPayloadHashes(stream.entries, {
      retentionDays: 30 - 5 / (24 * 60),
      now,
      hold: new Set([stream.entries[1]?.payloadHash ?? '']),
    });
    assert.deepEqual(
      expired,
      stream.entries
        .slice(2, 5)
        .map((entry) => entry.payloadHash)
        .sort(),
    );
  });

  it('expires nothing inside the window and rejects a negative window', () => {
    const stream = buildStream(3);
    assert.deepEqual(expiredPayloadHashes(stream.entries, { retentionDays: 365, now }), []);
    assert.throws(() => expiredPayloadHashes(stream.entries, { retentionDays: -1, now }), { name: 'ValidationError' });
    assert.throws(() => expiredPayloadHashes(stream.entries, { retentionDays: 1, now: new Date('x') }), { name: 'ValidationError' });
  });
});
