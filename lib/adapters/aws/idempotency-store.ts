/**
 * The `Idempotency-Key` records (Powertools idempotency) on DynamoDB, with the shared error mapping
 * (lib/adapters/aws/errors.ts) at the one boundary Powertools leaves us: its four storage calls. A
 * throttled or failing idempotency table is a DependencyError (503 with Retry-After), as every
 * other table is. Only throttling and faults are mapped: a failed condition never leaves these
 * calls as an SDK error (Powertools turns it into "record exists" inside `_putRecord`), and any
 * other error stays Powertools' to report.
 */
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import { classifyAwsError, mapAwsError } from './errors.ts';

async function mapped<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const kind = classifyAwsError(error);
    throw kind === 'throttled' || kind === 'unavailable' ? mapAwsError(error, 'DynamoDB', operation) : error;
  }
}

/**
 * Powertools' DynamoDB persistence layer whose storage failures are domain errors. Powertools wraps
 * them in `IdempotencyPersistenceLayerError` (as `cause`); the engine handler unwraps a domain cause.
 * @example const store = new MappedDynamoDBPersistenceLayer({ tableName, awsSdkV3Client: dynamoBaseClient() });
 */
export class MappedDynamoDBPersistenceLayer extends DynamoDBPersistenceLayer {
  protected override _putRecord(record: IdempotencyRecord): Promise<void> {
    return mapped('PutItem', () => super._putRecord(record));
  }

  protected override _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    return mapped('GetItem', () => super._getRecord(idempotencyKey));
  }

  protected override _updateRecord(record: IdempotencyRecord): Promise<void> {
    return mapped('UpdateItem', () => super._updateRecord(record));
  }

  protected override _deleteRecord(record: IdempotencyRecord): Promise<void> {
    return mapped('DeleteItem', () => super._deleteRecord(record));
  }
}
