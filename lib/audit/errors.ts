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
