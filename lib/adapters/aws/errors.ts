/**
 * The one mapping from AWS SDK failures to domain errors, so the same failure has the same status
 * on every route and the same error name in every Step Functions `Retry`/`Catch`:
 *
 * - throttling (HTTP 429, ThrottlingException, ProvisionedThroughputExceededException,
 *   RequestLimitExceeded, SlowDown, TooManyRequestsException…): DependencyError, a 503, retry in 2 s;
 * - server faults (5xx), timeouts, refused or reset connections: DependencyError, a 503, retry in 1 s;
 * - a failed condition (ConditionalCheckFailedException, a transaction cancelled for one,
 *   S3 PreconditionFailed): ConditionFailedError, a ConflictError (409);
 * - a concurrent transaction (TransactionConflict, S3 ConditionalRequestConflict): ConflictError;
 * - anything else (AccessDenied, ValidationException, ResourceNotFound, NoSuchKey…): unchanged, for
 *   the adapter to answer (a missing object) or to surface as a 500 (a bug or a deploy mistake).
 *
 * A domain error passes through unchanged. The `Retry-After` seconds come from the service's own
 * `Retry-After` header when it sent one. Throttling and transient faults are recognised with the
 * SDK's own classifiers (`@smithy/core/retry`), so "transient" here means what the SDK's retry
 * strategy retried before giving up.
 *
 * Where it applies: each adapter sends every command through {@link mappedSend}, once, at its
 * boundary, rather than through a middleware on the shared clients (lib/adapters/aws/clients.ts).
 * A client-wide middleware would also rewrite errors for code that is not ours and relies on the
 * SDK's types (Powertools idempotency shares the DynamoDB client and matches
 * `ConditionalCheckFailedException` itself), and an adapter given another client (a test's, a
 * second region's) would silently lose the mapping. At the adapter, the port's contract ("throws
 * domain errors") holds whatever client it is built with. Adapters that use a failed condition as
 * an answer (dedupe markers, rate-limit counters, compare-and-swap) catch
 * {@link ConditionFailedError}, never an SDK class. Powertools idempotency, which sends its own
 * commands, gets the mapping at its storage calls instead (idempotency-store.ts).
 */
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import { ConflictError, DependencyError, DomainError } from '../../errors.ts';

/** `Retry-After` seconds for a throttled call when the service named none. */
export const THROTTLED_RETRY_AFTER_SECONDS = 2;
/** `Retry-After` seconds for a failed or unreachable service when it named none. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;
/** The longest wait passed on from a service's own `Retry-After`. */
export const MAX_RETRY_AFTER_SECONDS = 60;

/**
 * A conditional write was refused: the item (or one item of a transaction) is not in the state the
 * condition asked for. A ConflictError (409) unless the adapter turns it into an answer.
 */
export class ConditionFailedError extends ConflictError {
  /** For a transaction, each item's cancellation code in order (`None` for items that passed); empty otherwise. */
  readonly reasons: readonly string[];
  constructor(message: string, reasons: readonly string[], cause: unknown) {
    super(message, { cause });
    this.reasons = reasons;
  }
}

/** What an SDK failure means to us. */
export type AwsFailureKind = 'throttled' | 'unavailable' | 'condition' | 'conflict' | 'other';

/** The parts of an SDK error the mapping reads; every field may be absent (network errors carry only `code`). */
interface SdkErrorLike {
  name?: string;
  message?: string;
  code?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
  CancellationReasons?: Array<{ Code?: string }>;
}

const CONDITION_ERRORS = new Set(['ConditionalCheckFailedException', 'PreconditionFailed']);
const CONFLICT_ERRORS = new Set(['TransactionConflictException', 'ConditionalRequestConflict']);
/** Cancellation codes of a DynamoDB transaction item that mean "slow down". */
const THROTTLED_REASONS = new Set(['ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded']);

function transactionReasons(error: SdkErrorLike): string[] {
  return (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
}

/**
 * Classifies an error thrown by an AWS SDK v3 client (after the SDK's own retries).
 * @example classifyAwsError(new ConditionalCheckFailedException({ message: '', $metadata: {} })) // 'condition'
 */
export function classifyAwsError(error: unknown): AwsFailureKind {
  if (typeof error !== 'object' || error === null || error instanceof DomainError) return 'other';
  const sdk = error as SdkErrorLike;
  const name = sdk.name ?? '';
  if (CONDITION_ERRORS.has(name)) return 'condition';
  if (CONFLICT_ERRORS.has(name)) return 'conflict';
  if (name === 'TransactionCanceledException') {
    const reasons = transactionReasons(sdk);
    if (reasons.includes('ConditionalCheckFailed')) return 'condition';
    if (reasons.includes('TransactionConflict')) return 'conflict';
    if (reasons.some((reason) => THROTTLED_REASONS.has(reason))) return 'throttled';
    return 'other';
  }
  // The smithy classifiers take the SDK's error type; they read only optional fields.
  const smithy = error as Parameters<typeof isThrottlingError>[0];
  if (isThrottlingError(smithy)) return 'throttled';
  if (isTransientError(smithy) || isServerError(smithy) || sdk.$fault === 'server' || (sdk.$metadata?.httpStatusCode ?? 0) >= 500) {
    return 'unavailable';
  }
  return 'other';
}

function retryAfterSeconds(error: SdkErrorLike, fallback: number): number {
  const header = error.$response?.headers?.['retry-after'] ?? error.$response?.headers?.['Retry-After'];
  const seconds = header !== undefined && /^\d+$/.test(header.trim()) ? Number(header.trim()) : Number.NaN;
  return Number.isFinite(seconds) ? Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, seconds)) : fallback;
}

/**
 * The domain error for an SDK failure in `service`'s `operation`, or the error itself when it is
 * a domain error already or means a bug (see the table above). Messages name the service, the
 * operation and the SDK error's name or network code, never the service's message (which may name
 * tables, buckets or keys); the SDK error is kept as `cause` for the logs.
 * @example throw mapAwsError(error, 'DynamoDB', 'PutItem');
 */
export function mapAwsError(error: unknown, service: string, operation: string): unknown {
  const kind = classifyAwsError(error);
  if (kind === 'other') return error;
  const sdk = error as SdkErrorLike;
  const what = sdk.code ?? sdk.name ?? 'Error';
  const status = sdk.$metadata?.httpStatusCode;
  const detail = `${what}${status === undefined ? '' : ` (HTTP ${status})`}`;
  switch (kind) {
    case 'throttled':
      return new DependencyError(`${service} ${operation} throttled: ${detail}`, {
        retryAfterSeconds: retryAfterSeconds(sdk, THROTTLED_RETRY_AFTER_SECONDS),
        cause: error,
      });
    case 'unavailable':
      return new DependencyError(`${service} ${operation} unavailable: ${detail}`, {
        retryAfterSeconds: retryAfterSeconds(sdk, UNAVAILABLE_RETRY_AFTER_SECONDS),
        cause: error,
      });
    case 'condition':
      return new ConditionFailedError(`${service} ${operation}: the condition of the write failed`, transactionReasons(sdk), error);
    case 'conflict':
      return new ConflictError(`${service} ${operation}: a concurrent write conflicted (${what}); retry`, { cause: error });
  }
}

/** Anything with an SDK v3 `send`. */
interface CommandSender {
  send(command: never, options?: never): Promise<unknown>;
}

/** The operation a command runs: `PutItemCommand` → `PutItem` (bundles keep class names: `keepNames`). */
function operationOf(command: unknown): string {
  const name = (command as { constructor?: { name?: string } } | null)?.constructor?.name ?? 'Command';
  return name.endsWith('Command') && name !== 'Command' ? name.slice(0, -'Command'.length) : name;
}

/**
 * `client.send`, with every failure passed through {@link mapAwsError}: the one place an adapter
 * meets SDK errors. Typed as the client's own `send`, so commands and outputs keep their types.
 * @example
 * const send = mappedSend(client, 'DynamoDB');
 * const { Item } = await send(new GetCommand({ TableName, Key })); // throttled: DependencyError
 */
export function mappedSend<C extends CommandSender>(client: C, service: string): C['send'] {
  const send = async (...args: unknown[]) => {
    try {
      return await (client.send as (...inner: unknown[]) => Promise<unknown>).apply(client, args);
    } catch (error) {
      throw mapAwsError(error, service, operationOf(args[0]));
    }
  };
  return send as C['send'];
}
