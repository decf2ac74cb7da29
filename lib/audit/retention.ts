/**
 * Retention: which payloads have outlived their window and may be deleted from payload storage.
 * Entries are never deleted — the chain, the Merkle tree and every checkpoint keep verifying,
 * and a verifier reports the deleted payloads as expired, not as a break.
 */
import { ValidationError } from '../errors.ts';
import type { LedgerEntry } from './schemas.ts';

const DAY_MS = 86_400_000;

/** Options of `expiredPayloadHashes`. */
export interface RetentionOptions {
  /** Retention window in days (may be fractional); payloads of entries older than it expire. */
  retentionDays: number;
  now: Date;
  /** Payload hashes under legal hold: never expired. */
  hold?: ReadonlySet<string>;
}

/**
 * The payload hashes to delete: those whose every referencing entry is older than the window
 * (payloads are content-addressed, so one recent entry keeps a shared payload alive). Sorted, unique.
 *
 * @throws ValidationError when `retentionDays` is negative or not finite, or `now` is invalid.
 * @example
 * for (const hash of expiredPayloadHashes(entries, { retentionDays: 365, now: clock.now() })) await payloads.delete(tenant, hash);
 */
export function expiredPayloadHashes(entries: readonly LedgerEntry[], options: RetentionOptions): string[] {
  if (!Number.isFinite(options.retentionDays) || options.retentionDays < 0) {
    throw new ValidationError([{ path: 'retentionDays', message: 'must be a finite number ≥ 0' }]);
  }
  const now = options.now.getTime();
  if (Number.isNaN(now)) throw new ValidationError([{ path: 'now', message: 'must be a valid date' }]);
  const cutoff = now - options.retentionDays * DAY_MS;
  const expired = new Set<string>();
  const kept = new Set<string>(options.hold ?? []);
  for (const entry of entries) {
    const at = Date.parse(entry.timestamp);
    // An unparseable timestamp never expires anything: deleting evidence needs a clear reason.
    if (!Number.isNaN(at) && at < cutoff) expired.add(entry.payloadHash);
    else kept.add(entry.payloadHash);
  }
  return [...expired].filter((hash) => !kept.has(hash)).sort();
}
