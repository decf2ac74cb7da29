/**
 * Hashing helpers shared by the ledger: SHA-256 over RFC 8785 canonical JSON, hex encoding.
 */
import { hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { ValidationError } from '../errors.ts';

/** 64 hex zeros: the `prevHash` of the first entry of every stream. */
export const ZERO_HASH = '0'.repeat(64);

/** A lower-case hex SHA-256 digest (64 characters). */
export const HEX_HASH = /^[0-9a-f]{64}$/;

/**
 * The RFC 8785 (JCS) canonical JSON text of a value.
 *
 * @throws ValidationError when the value has no JSON form (undefined, a function, NaN, Infinity,
 * a lone surrogate, a cycle).
 * @example canonicalJson({ b: 1, a: [true] }) // '{"a":[true],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (error) {
    throw new ValidationError([{ path: '', message: `not canonicalisable JSON: ${(error as Error).message}` }]);
  }
  if (text === undefined) throw new ValidationError([{ path: '', message: 'value has no JSON form' }]);
  return text;
}

/** SHA-256 of the UTF-8 bytes of `text`, as lower-case hex. */
export function sha256Hex(text: string | Uint8Array): string {
  // The one-shot digest: cheaper than createHash for the short inputs the ledger hashes.
  return hash('sha256', text, 'hex');
}

/**
 * SHA-256 of the canonical JSON of `value`, as lower-case hex.
 *
 * @throws ValidationError when the value has no canonical JSON form.
 */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
