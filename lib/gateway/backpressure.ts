/**
 * Per-model backpressure, the pure part: each model has a mark (its `maxInFlight`), and a call
 * acquires one of its in-flight slots before it starts and releases it when it ends. Past the mark
 * a call is refused with 429 and a `Retry-After` ({@link BackpressureError}). Slots are leases: a
 * holder that crashed without releasing is reclaimed once its lease expires. The
 * {@link InflightLimiter} port is implemented on DynamoDB in lib/adapters/aws/gateway-backpressure.ts.
 */
import { ThrottledError } from '../errors.ts';

/** The longest a slot is held before others may reclaim it (a function runs at most 15 minutes). */
export const DEFAULT_SLOT_LEASE_SECONDS = 960;
/** `Retry-After` bounds for a refused call. */
export const MIN_BACKPRESSURE_RETRY_SECONDS = 1;
export const MAX_BACKPRESSURE_RETRY_SECONDS = 60;
/** Weight of the newest hold time in the running mean. */
export const HOLD_MEAN_WEIGHT = 0.2;

/** A model's in-flight requests are at its mark (429 with `Retry-After`). */
export class BackpressureError extends ThrottledError {
  readonly model: string;
  readonly mark: number;
  constructor(model: string, inFlight: number, mark: number, retryAfterSeconds: number) {
    super(`Model ${model} has ${inFlight} requests in flight, its mark is ${mark}: retry in ${retryAfterSeconds} s`, retryAfterSeconds);
    this.model = model;
    this.mark = mark;
  }
}

/**
 * The wait suggested to a refused call: the mean time a slot is held (by then most current holders
 * have finished), in whole seconds within [1, 60]; 1 s before any call finished.
 * @example backpressureRetryAfterSeconds(2300) // 3
 */
export function backpressureRetryAfterSeconds(meanHoldMs: number | undefined): number {
  if (meanHoldMs === undefined || !Number.isFinite(meanHoldMs) || meanHoldMs <= 0) return MIN_BACKPRESSURE_RETRY_SECONDS;
  return Math.min(MAX_BACKPRESSURE_RETRY_SECONDS, Math.max(MIN_BACKPRESSURE_RETRY_SECONDS, Math.ceil(meanHoldMs / 1000)));
}

/** The running mean hold time after one more hold of `sampleMs` (exponentially weighted; the first sample is the mean). */
export function nextMeanHoldMs(previous: number | undefined, sampleMs: number): number {
  const sample = Math.max(0, sampleMs);
  return previous === undefined || !Number.isFinite(previous) ? sample : Math.round(previous + HOLD_MEAN_WEIGHT * (sample - previous));
}

/** One slot: when it was taken and until when it is leased. Its id says both: `s.<acquiredAtMs>.<expiresAtMs>.<nonce>`. */
export interface SlotHold {
  acquiredAtMs: number;
  expiresAtMs: number;
  nonce: string;
}

const SLOT_PATTERN = /^s\.(\d{1,16})\.(\d{1,16})\.([a-z0-9]{1,32})$/;

/** A slot's id. @throws RangeError on a negative or fractional time, or a nonce that is not lower-case alphanumeric. */
export function slotId(slot: SlotHold): string {
  if (
    !Number.isSafeInteger(slot.acquiredAtMs) ||
    !Number.isSafeInteger(slot.expiresAtMs) ||
    slot.acquiredAtMs < 0 ||
    slot.expiresAtMs < 0
  ) {
    throw new RangeError('slot times are non-negative integers (ms)');
  }
  if (!/^[a-z0-9]{1,32}$/.test(slot.nonce)) throw new RangeError('a slot nonce is 1-32 lower-case letters and digits');
  return `s.${slot.acquiredAtMs}.${slot.expiresAtMs}.${slot.nonce}`;
}

/** A slot's id read back, or undefined for anything that is not one. */
export function parseSlotId(id: string): SlotHold | undefined {
  const match = SLOT_PATTERN.exec(id);
  if (!match) return undefined;
  return { acquiredAtMs: Number(match[1]), expiresAtMs: Number(match[2]), nonce: match[3] ?? '' };
}

/** The slots of `holders` whose lease ended at `now`. */
export function expiredSlots(holders: Iterable<string>, now: Date): string[] {
  const expired: string[] = [];
  for (const id of holders) {
    const slot = parseSlotId(id);
    if (slot === undefined || slot.expiresAtMs <= now.getTime()) expired.push(id);
  }
  return expired;
}

/** A slot held by one call. */
export interface InflightSlot {
  model: string;
  id: string;
  acquiredAt: Date;
  /** The model's mean hold time when the slot was taken (the release updates it). */
  meanHoldMs?: number;
}

/** In-flight slots per model. Every method may throw a DependencyError (503) when the store fails. */
export interface InflightLimiter {
  /**
   * Takes one of `model`'s slots; expired slots of crashed holders are reclaimed first when the mark is reached.
   * @throws BackpressureError when `mark` slots are held.
   */
  acquire(model: string, mark: number, options?: { now?: Date; leaseSeconds?: number }): Promise<InflightSlot>;
  /** Gives a slot back; false when it was no longer held (its lease expired and it was reclaimed). */
  release(slot: InflightSlot, now?: Date): Promise<boolean>;
  /** How many slots of `model` are held now (expired ones included until reclaimed). */
  inFlight(model: string): Promise<number>;
}
