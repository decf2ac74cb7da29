/**
 * Builds signed audit streams for the Audit engine tests: entries with payloads, a checkpoint
 * every `checkpointEvery` entries, and the key set that verifies them.
 */
import { buildEntry } from '../../lib/audit/chain.ts';
import { createCheckpoint, generateSigningKey, publicKeySet, type SigningKey } from '../../lib/audit/checkpoint.ts';
import { MerkleTree } from '../../lib/audit/merkle.ts';
import type { Checkpoint, LedgerEntry, Payload, PublicKeySet } from '../../lib/audit/schemas.ts';

export interface TestStream {
  tenant: string;
  stream: string;
  entries: LedgerEntry[];
  payloads: Map<string, Payload | 'expired'>;
  checkpoints: Checkpoint[];
  tree: MerkleTree;
  key: SigningKey;
  keys: PublicKeySet;
}

const BASE = Date.parse('2025-01-01T00:00:00.000Z');

/** The timestamp of entry `seq` in test streams: one minute apart from 2025-01-01. */
export function timestampOf(seq: number): string {
  return new Date(BASE + seq * 60_000).toISOString();
}

/** A stream of `count` entries; checkpoints at every multiple of `checkpointEvery` and at the end. */
export function buildStream(
  count: number,
  options: { checkpointEvery?: number; key?: SigningKey; payloadOf?: (seq: number) => Payload; actorOf?: (seq: number) => string } = {},
): TestStream {
  const tenant = 'acme';
  const stream = 'ops';
  const key = options.key ?? generateSigningKey('2024-12-01T00:00:00.000Z');
  const every = options.checkpointEvery ?? 4;
  const entries: LedgerEntry[] = [];
  const payloads = new Map<string, Payload | 'expired'>();
  const checkpoints: Checkpoint[] = [];
  const tree = new MerkleTree();
  for (let seq = 0; seq < count; seq += 1) {
    const payload = options.payloadOf?.(seq) ?? { kind: 'note', seq, text: `event ${seq} ✓` };
    const entry = buildEntry(entries.at(-1), {
      tenant,
      stream,
      timestamp: timestampOf(seq),
      actor: options.actorOf?.(seq) ?? `user-${seq % 3}`,
      correlationId: `req-${seq}`,
      payload,
    });
    entries.push(entry);
    payloads.set(entry.payloadHash, payload);
    tree.append(Buffer.from(entry.hash, 'hex'));
    if (tree.size % every === 0 || seq === count - 1) {
      checkpoints.push(createCheckpoint({ tenant, stream, tree, timestamp: timestampOf(seq), previous: checkpoints.at(-1) }, key));
    }
  }
  return { tenant, stream, entries, payloads, checkpoints, tree, key, keys: publicKeySet([key]) };
}
