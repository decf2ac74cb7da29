/**
 * Domain errors. Engines throw these; the HTTP wrapper maps each to one status code, and Step
 * Functions `Retry`/`Catch` match them by `name`.
 */

/** Base class: `name` is the class name so Step Functions and logs see a stable error type. */
export class DomainError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One invalid field of a request. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** The request is malformed; `issues` names each bad field path. */
export class ValidationError extends DomainError {
  readonly issues: FieldIssue[];
  constructor(issues: FieldIssue[]) {
    super(`Invalid request: ${issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ')}`);
    this.issues = issues;
  }
}

/** The caller has no or bad credentials. */
export class UnauthorizedError extends DomainError {}
/** The caller is known but may not do this. */
export class ForbiddenError extends DomainError {}
/** The thing asked for does not exist (or belongs to another tenant). */
export class NotFoundError extends DomainError {}
/** The request conflicts with the current state (a duplicate, a stale version, a decided approval). */
export class ConflictError extends DomainError {}
/**
 * Actuation is locked: a kill switch is on, or a changed constitution waits for its admin quorum.
 * Observation and audit go on; whatever would change something answers 423 until it is lifted.
 */
export class LockedError extends DomainError {}
/** The request body is larger than the route accepts. */
export class PayloadTooLargeError extends DomainError {}
/** The request body is in a media type the route does not take (routes take JSON). */
export class UnsupportedMediaTypeError extends DomainError {}
/** A rate limit or queue mark is exceeded; `retryAfterSeconds` goes out as `Retry-After`. */
export class ThrottledError extends DomainError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
/** Seconds a caller is asked to wait after a {@link DependencyError} when nothing better is known. */
export const DEFAULT_DEPENDENCY_RETRY_AFTER_SECONDS = 1;

/**
 * A dependency (a table, the bus) failed, timed out or throttled us; safe to retry after
 * `retryAfterSeconds`, which goes out as `Retry-After` on the 503. `cause` keeps the original error for the logs.
 */
export class DependencyError extends DomainError {
  readonly retryAfterSeconds: number;
  constructor(message: string, options: { retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterSeconds = options.retryAfterSeconds ?? DEFAULT_DEPENDENCY_RETRY_AFTER_SECONDS;
  }
}
