/**
 * Errors of the Audit engine. They extend the shared domain errors so the HTTP wrapper maps them
 * to statuses (a chain conflict is a 409) without knowing the engine.
 */
import { ConflictError, DomainError } from '../errors.ts';

/**
 * A conditional append lost the race: another writer already stored an entry at this `seq`.
 * Adapters turn a DynamoDB `ConditionalCheckFailedException` into this error.
 */
export class ChainConflictError extends ConflictError {
  readonly seq: number;
  constructor(message: string, seq: number) {
    super(message);
    this.seq = seq;
  }
}

/**
 * An audit export file (JSON Lines) is malformed; `line` is 1-based, as editors show it.
 */
export class ExportFormatError extends DomainError {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.line = line;
  }
}

/**
 * A Merkle operation was asked for an impossible size or index (for example an inclusion proof
 * for a leaf outside the tree). Verifiers never throw this: they return `false`.
 */
export class MerkleRangeError extends DomainError {}

/**
 * An append with an outside id (a bus event's id) that was appended before: the redelivery of an
 * event. Not an error for the caller, who skips the record; a ConflictError so it never hides.
 */
export class DuplicateAppendError extends ConflictError {
  readonly dedupeKey: string;
  constructor(dedupeKey: string) {
    super(`${dedupeKey} was appended before`);
    this.dedupeKey = dedupeKey;
  }
}

/**
 * The stored ledger does not support what was asked: a checkpoint over a broken chain, a proof
 * beyond the latest checkpoint. A ConflictError (409): the request is valid, the state is not.
 */
export class LedgerStateError extends ConflictError {}

/**
 * A tenant's signing-key secret cannot be used: it does not parse, or it names another tenant.
 * Nothing is signed with it. A ConflictError (409): the request is valid, the stored key is not.
 */
export class SigningKeyStateError extends ConflictError {}
