/**
 * The Audit engine's operations over in-memory ports: recording (concurrent, exactly once per
 * event), bus-event mapping, checkpoint signing (serialised, never over a broken chain), the key
 * ring (bootstrap races, rotation), verification and export of stored streams, compliance and
 * retention.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyCheckpoint } from '../../lib/audit/checkpoint.ts';
import {
  AUDIT_EVENTS_STREAM,
  applyRetention,
  busEventRecord,
  type CheckpointDeps,
  checkpointStream,
  evaluateStream,
  exportStored,
  proveInclusion,
  type ReadDeps,
  record,
  recordOnce,
  verifyStored,
} from '../../lib/audit/engine.ts';
import { LedgerStateError } from '../../lib/audit/errors.ts';
import { exportVerifyInput, parseExport } from '../../lib/audit/export.ts';
import { publishTenantKey, ROTATION_GRACE_MS, rotateTenantKey, tenantKeySet, tenantSigningKey } from '../../lib/audit/keys.ts';
import {
  MemoryAuditStateStore,
  MemoryCheckpointHeadStore,
  MemoryCheckpointStore,
  MemoryFindingStore,
  MemoryLedgerStore,
  MemoryPayloadStore,
  MemoryPublishedKeyStore,
  MemorySigningKeyStore,
  MemoryStreamRegistry,
} from '../../lib/audit/memory-store.ts';
import { hashLeaf, verifyInclusion } from '../../lib/audit/merkle.ts';
import type { AppendInput } from '../../lib/audit/schemas.ts';
import { verifyStream } from '../../lib/audit/verify.ts';
import { type OutgoingEntry, validatingPublisher } from '../../lib/events/publisher.ts';

const noWait = async () => {};
const NOW = new Date('2025-06-01T12:00:00.000Z');

function world() {
  const ledger = new MemoryLedgerStore();
  const payloads = new MemoryPayloadStore();
  const checkpoints = new MemoryCheckpointStore();
  const registry = new MemoryStreamRegistry();
  const heads = new MemoryCheckpointHeadStore();
  const signingKeys = new MemorySigningKeyStore();
  const publishedKeys = new MemoryPublishedKeyStore();
  const keyStores = { keys: signingKeys, published: publishedKeys };
  const sent: OutgoingEntry[] = [];
  // The real validating publisher: every event must pass the catalog.
  const publisher = validatingPublisher({
    putEvents: async (entries) => {
      sent.push(...entries);
      return entries.map((_, index) => ({ eventId: `e-${sent.length}-${index}` }));
    },
  });
  const signingKey = (tenant: string) => tenantSigningKey(keyStores, tenant, { now: () => NOW });
  const checkpointDeps: CheckpointDeps = { ledger, checkpoints, heads, signingKey, now: () => NOW, publisher };
  const readDeps: ReadDeps = { ledger, payloads, checkpoints, publishedKeys };
  return { ledger, payloads, checkpoints, registry, heads, signingKeys, keyStores, publishedKeys, sent, publisher, checkpointDeps, readDeps, recordDeps: { ledger, payloads, registry } };
}

const note = (tenant: string, stream: string, n: number, at = NOW): AppendInput => ({
  tenant,
  stream,
  timestamp: at.toISOString(),
  actor: `user-${n % 3}`,
  correlationId: `req-${n}`,
  payload: { kind: 'note', n },
});

async function fill(w: ReturnType<typeof world>, count: number, stream = 'ops', tenant = 'acme') {
  for (let n = 0; n < count; n += 1) await record(w.recordDeps, note(tenant, stream, n), { sleep: noWait });
}

describe('audit engine: recording', () => {
  it('serialises 200 concurrent appends to one stream into one unbroken chain and registers the stream once', async () => {
    const w = world();
    const entries = await Promise.all(Array.from({ length: 200 }, (_, n) => record(w.recordDeps, note('acme', 'ops', n), { maxRetries: 1000, sleep: noWait })));
    assert.deepEqual(entries.map((entry) => entry.seq).sort((a, b) => a - b), Array.from({ length: 200 }, (_, n) => n));
    const stored = w.ledger.entries('acme', 'ops');
    assert.equal(verifyStream({ entries: stored, checkpoints: [], keys: { keys: [] } }).intact, true);
    assert.deepEqual(await w.registry.list(), [{ tenant: 'acme', stream: 'ops' }]);
  });

  it('appends a redelivered event once: the second recordOnce stores nothing and says duplicate', async () => {
    const w = world();
    const envelope = { id: 'ev-1', source: 'autonomy.governance', 'detail-type': 'governance.approval.decided', time: NOW.toISOString(), detail: { tenant: 'acme', actor: 'bob' } };
    const { input, dedupeKey } = busEventRecord(envelope, NOW);
    const outcomes = await Promise.all([recordOnce(w.recordDeps, input, dedupeKey), recordOnce(w.recordDeps, input, dedupeKey)]);
    assert.deepEqual(outcomes.map((outcome) => outcome.duplicate).sort(), [false, true]);
    assert.equal(w.ledger.entries('acme', 'events.governance').length, 1);
  });

  it('maps a bus event to the tenant, a per-engine stream, its actor and correlation id; no tenant means system', () => {
    const base = { id: 'ev-2', source: 'autonomy.observation', 'detail-type': 'observation.anomaly.detected', time: NOW.toISOString() };
    const { input, dedupeKey } = busEventRecord({ ...base, detail: { tenant: 'acme', correlationId: 'c-9', series: 'latency' } }, NOW);
    assert.equal(input.tenant, 'acme');
    assert.equal(input.stream, 'events.observation');
    assert.equal(input.actor, 'system:autonomy.observation');
    assert.equal(input.correlationId, 'c-9');
    assert.match(dedupeKey, /^detail#[0-9a-f]{64}$/, 'an outbox event is deduplicated on its content (events/delivery.ts)');
    assert.deepEqual((input.payload as { detail: unknown }).detail, { tenant: 'acme', correlationId: 'c-9', series: 'latency' });
    const bare = busEventRecord({ ...base, detail: {} }, NOW).input;
    assert.equal(bare.tenant, 'system');
    assert.equal(bare.correlationId, 'event:ev-2');
    assert.equal(busEventRecord({ ...base, detail: { tenant: 'Not A Tenant!' } }, NOW).input.tenant, 'system');
  });
});

describe('audit engine: checkpoints and keys', () => {
  it('signs a checkpoint when the stream grew, nothing when it did not, and chains the next one to it', async () => {
    const w = world();
    await fill(w, 5);
    const first = await checkpointStream(w.checkpointDeps, { tenant: 'acme', stream: 'ops' });
    assert.equal(first.created, true);
    assert.equal(first.checkpoint?.treeSize, 5);
    assert.equal(first.key, 'acme/audit/checkpoints/ops/0000000000000005.json');
    assert.equal((await checkpointStream(w.checkpointDeps, { tenant: 'acme', stream: 'ops' })).created, false);
    await fill(w, 3);
    const second = await checkpointStream(w.checkpointDeps, { tenant: 'acme', stream: 'ops' });
    assert.equal(second.checkpoint?.treeSize, 8);
    assert.equal((await verifyStored(w.readDeps, { tenant: 'acme', stream: 'ops' })).intact, true);
    assert.deepEqual(
      w.sent.map((entry) => entry.detailType),
      ['audit.checkpoint.signed', 'audit.checkpoint.signed'],
    );
  });

  it('lets concurrent signers produce one checkpoint chain, never a fork', async () => {
    const w = world();
    await fill(w, 4);
    const ref = { tenant: 'acme', stream: 'ops' };
    const appending = fill(w, 6);
    await Promise.all([checkpointStream(w.checkpointDeps, ref), checkpointStream(w.checkpointDeps, ref), checkpointStream(w.checkpointDeps, ref), appending]);
    await checkpointStream(w.checkpointDeps, ref);
    const result = await verifyStored(w.readDeps, ref);
    assert.equal(result.intact, true, JSON.stringify(result));
    assert.ok(result.intact && result.checkpoints >= 2);
  });

  it('publishes no audit.checkpoint.signed for the stream of its own events, so auditing stays finite', async () => {
    const w = world();
    await fill(w, 2, AUDIT_EVENTS_STREAM);
    assert.equal((await checkpointStream(w.checkpointDeps, { tenant: 'acme', stream: AUDIT_EVENTS_STREAM })).created, true);
    assert.deepEqual(w.sent, []);
  });

  it('refuses to sign over a broken chain (a deleted entry)', async () => {
    const w = world();
    await fill(w, 6);
    w.ledger.remove('acme', 'ops', 2);
    await assert.rejects(checkpointStream(w.checkpointDeps, { tenant: 'acme', stream: 'ops' }), LedgerStateError);
  });

  it('stores a checkpoint the head register holds but the store lost (a signer stopped in between)', async () => {
    const w = world();
    await fill(w, 3);
    const signed = await checkpointStream(w.checkpointDeps, { tenant: 'acme', stream: 'ops' });
    const lost = new MemoryCheckpointStore();
    const outcome = await checkpointStream({ ...w.checkpointDeps, checkpoints: lost }, { tenant: 'acme', stream: 'ops' });
    assert.equal(outcome.created, false);
    assert.deepEqual(await lost.list('acme', 'ops'), [signed.checkpoint]);
  });

  it('creates exactly one first key when signers bootstrap at once', async () => {
    const w = world();
    const keys = await Promise.all(Array.from({ length: 8 }, () => tenantSigningKey(w.keyStores, 'acme', { now: () => NOW })));
    assert.equal(new Set(keys.map((key) => key.keyId)).size, 1);
    assert.equal((await w.signingKeys.load('acme')).current?.generation, 1);
    assert.deepEqual((await w.publishedKeys.list('acme')).map((key) => key.keyId), [keys[0]?.keyId]);
  });

  it('rotates: old checkpoints still verify with the retired key, new ones are signed by the new key', async () => {
    const w = world();
    await fill(w, 3);
    const before = await checkpointStream(w.checkpointDeps, { tenant: 'acme', stream: 'ops' });
    const rotated = await rotateTenantKey(w.keyStores, 'acme', { now: () => NOW });
    assert.equal(rotated.retired, before.checkpoint?.keyId);
    const retiredKey = (await w.publishedKeys.list('acme')).find((key) => key.keyId === rotated.retired);
    assert.equal(retiredKey?.retiredAt, new Date(NOW.getTime() + ROTATION_GRACE_MS).toISOString());
    await fill(w, 2);
    const after = await checkpointStream(w.checkpointDeps, { tenant: 'acme', stream: 'ops' });
    assert.equal(after.checkpoint?.keyId, rotated.key.keyId);
    const keys = await tenantKeySet(w.publishedKeys, 'acme');
    assert.equal(keys.keys.length, 2);
    assert.equal(verifyCheckpoint(before.checkpoint as never, keys).valid, true);
    assert.equal((await verifyStored(w.readDeps, { tenant: 'acme', stream: 'ops' })).intact, true);
  });

  it('never lets a signer holding what the secret said before a rotation un-retire the old key', async () => {
    const w = world();
    await tenantSigningKey(w.keyStores, 'acme', { now: () => NOW });
    const stale = (await w.signingKeys.load('acme')).current;
    assert.ok(stale);
    const { retired } = await rotateTenantKey(w.keyStores, 'acme', { now: () => NOW });
    await publishTenantKey(w.publishedKeys, stale);
    const keys = await w.publishedKeys.list('acme');
    assert.equal(keys.length, 2);
    assert.ok(keys.find((key) => key.keyId === retired)?.retiredAt, 'still retired');
  });
});

describe('audit engine: verify, export and proofs of stored streams', () => {
  async function signedStream() {
    const w = world();
    await fill(w, 10);
    await checkpointStream(w.checkpointDeps, { tenant: 'acme', stream: 'ops' });
    return w;
  }

  it('exports a stream that the outside verifier proves intact, and a partial range too', async () => {
    const w = await signedStream();
    const keys = await tenantKeySet(w.publishedKeys, 'acme');
    const whole = parseExport(await exportStored(w.readDeps, { tenant: 'acme', stream: 'ops' }, { now: NOW }));
    assert.equal(verifyStream(exportVerifyInput(whole, keys)).intact, true);
    const part = parseExport(await exportStored(w.readDeps, { tenant: 'acme', stream: 'ops' }, { from: 3, to: 7, now: NOW }));
    assert.deepEqual([part.header.from, part.header.to, part.entries.length], [3, 7, 4]);
    assert.equal(verifyStream(exportVerifyInput(part, keys)).intact, true);
  });

  it('reports a deleted last entry as a gap at its seq, through the API and through an export', async () => {
    const w = await signedStream();
    w.ledger.remove('acme', 'ops', 9);
    const api = await verifyStored(w.readDeps, { tenant: 'acme', stream: 'ops' });
    assert.deepEqual([api.intact, !api.intact && api.firstBadSeq, !api.intact && api.reason], [false, 9, 'gap']);
    const keys = await tenantKeySet(w.publishedKeys, 'acme');
    const exported = verifyStream(exportVerifyInput(parseExport(await exportStored(w.readDeps, { tenant: 'acme', stream: 'ops' }, { now: NOW })), keys));
    assert.deepEqual([exported.intact, !exported.intact && exported.firstBadSeq, !exported.intact && exported.reason], [false, 9, 'gap']);
  });

  it('reports a deleted first entry as a gap at seq 0 in an export', async () => {
    const w = await signedStream();
    w.ledger.remove('acme', 'ops', 0);
    const keys = await tenantKeySet(w.publishedKeys, 'acme');
    const exported = verifyStream(exportVerifyInput(parseExport(await exportStored(w.readDeps, { tenant: 'acme', stream: 'ops' }, { now: NOW })), keys));
    assert.deepEqual([exported.intact, !exported.intact && exported.firstBadSeq, !exported.intact && exported.reason], [false, 0, 'gap']);
  });

  it('proves inclusion of an entry in the latest checkpoint, and refuses an entry no checkpoint covers yet', async () => {
    const w = await signedStream();
    const proof = await proveInclusion(w.readDeps, { tenant: 'acme', stream: 'ops' }, 6);
    assert.equal(
      verifyInclusion(hashLeaf(Buffer.from(proof.entryHash, 'hex')), 6, proof.treeSize, proof.path.map((hex) => Buffer.from(hex, 'hex')), Buffer.from(proof.rootHash, 'hex')),
      true,
    );
    await fill(w, 1);
    await assert.rejects(proveInclusion(w.readDeps, { tenant: 'acme', stream: 'ops' }, 10), LedgerStateError);
  });
});

describe('audit engine: compliance and retention', () => {
  it('raises each finding once, as a catalogued audit.finding.raised, and never evaluates its own event stream', async () => {
    const w = world();
    const findings = new MemoryFindingStore();
    const state = new MemoryAuditStateStore();
    await record(w.recordDeps, { ...note('acme', 'deploys', 0), actor: 'alice', payload: { kind: 'promotion', id: 'p-1', environment: 'prod' } });
    await record(w.recordDeps, { ...note('acme', 'deploys', 1), actor: 'alice', payload: { kind: 'approval', subject: 'p-1', decision: 'approve' } });
    const deps = { ledger: w.ledger, payloads: w.payloads, findings, state, publisher: w.publisher, now: () => NOW };
    const raised = await evaluateStream(deps, { tenant: 'acme', stream: 'deploys' });
    assert.deepEqual(raised.map((finding) => [finding.ruleId, finding.seq]), [['prod-promotion-four-eyes', 0]]);
    assert.deepEqual(w.sent.map((entry) => entry.detailType), ['audit.finding.raised']);
    assert.equal(JSON.parse(w.sent[0]?.detail ?? '{}').tenant, 'acme');
    await record(w.recordDeps, { ...note('acme', 'deploys', 2), actor: 'carol' });
    assert.deepEqual(await evaluateStream(deps, { tenant: 'acme', stream: 'deploys' }), [], 'the same finding is not raised twice');
    await record(w.recordDeps, { ...note('acme', AUDIT_EVENTS_STREAM, 0), actor: '' });
    assert.deepEqual(await evaluateStream(deps, { tenant: 'acme', stream: AUDIT_EVENTS_STREAM }), []);
    assert.equal((await findings.list('acme')).length, 1);
  });

  it('deletes payloads past the tenant window, keeps one another stream still references, and the chain still verifies', async () => {
    const w = world();
    const state = new MemoryAuditStateStore();
    await state.setRetentionDays('acme', 30);
    const old = new Date(NOW.getTime() - 40 * 86_400_000);
    await record(w.recordDeps, { ...note('acme', 'a', 0, old), payload: { shared: true } });
    await record(w.recordDeps, { ...note('acme', 'a', 1, old), payload: { only: 'old' } });
    await record(w.recordDeps, { ...note('acme', 'b', 0, NOW), payload: { shared: true } });
    await checkpointStream(w.checkpointDeps, { tenant: 'acme', stream: 'a' });
    const refs = await w.registry.list();
    const outcome = await applyRetention({ ledger: w.ledger, payloads: w.payloads, state, defaultRetentionDays: 365 }, 'acme', refs, NOW);
    assert.deepEqual(outcome, { tenant: 'acme', retentionDays: 30, deleted: 1 });
    assert.deepEqual(await w.payloads.get('acme', w.ledger.entries('acme', 'a')[0]?.payloadHash ?? ''), { shared: true });
    const result = await verifyStored(w.readDeps, { tenant: 'acme', stream: 'a' });
    assert.deepEqual([result.intact, result.intact && result.expiredPayloads], [true, 1]);
    assert.equal(await state.cursor({ tenant: 'acme', stream: 'a' }, 'retention'), 2);
  });
});
