/**
 * AWS errors mapped once (lib/adapters/aws/errors.ts), tested per adapter with REAL SDK clients
 * aimed at a local fake endpoint that answers in each service's wire format (DynamoDB JSON 1.0,
 * S3 XML, EventBridge and Secrets Manager JSON 1.1, Step Functions JSON 1.0), plus refused
 * connections and timeouts. No mocked clients: the SDK parses every error response itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IdempotencyConfig, IdempotencyPersistenceLayerError, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoApiKeyStore } from '../../lib/adapters/aws/api-key-store.ts';
import { SecretsManagerSigningKeyStore } from '../../lib/adapters/aws/audit-keys.ts';
import { DynamoLedgerStore } from '../../lib/adapters/aws/audit-ledger.ts';
import { S3CheckpointStore, S3PayloadStore } from '../../lib/adapters/aws/audit-objects.ts';
import { DynamoCheckpointHeads, DynamoFindingStore, DynamoStreamRegistry } from '../../lib/adapters/aws/audit-state.ts';
import { ConditionFailedError, classifyAwsError, mapAwsError } from '../../lib/adapters/aws/errors.ts';
import { eventBridgePutEvents } from '../../lib/adapters/aws/event-publisher.ts';
import { dynamoApprovalStore, dynamoGovernanceStore } from '../../lib/adapters/aws/governance-store.ts';
import { MappedDynamoDBPersistenceLayer } from '../../lib/adapters/aws/idempotency-store.ts';
import { DynamoRateLimiter } from '../../lib/adapters/aws/rate-limiter.ts';
import { dynamoSeriesStore } from '../../lib/adapters/aws/series-store.ts';
import { sfnGate, sfnWorkflowCallbacks } from '../../lib/adapters/aws/workflow-callbacks.ts';
import { buildEntry } from '../../lib/audit/chain.ts';
import { ChainConflictError, DuplicateAppendError } from '../../lib/audit/errors.ts';
import { nextTenantKey } from '../../lib/audit/keys.ts';
import type { Checkpoint, LedgerEntry } from '../../lib/audit/schemas.ts';
import { mintApiKey } from '../../lib/auth/api-keys.ts';
import { ConflictError, DependencyError, DomainError, NotFoundError } from '../../lib/errors.ts';
import { busEvent } from '../../lib/events/publisher.ts';
import { findActuation } from '../../lib/governance/actuations.ts';
import { type Approval, approvalIdOf, GateClosedError } from '../../lib/governance/approvals.ts';
import { assessRisk } from '../../lib/governance/risk.ts';
import { initSeriesState } from '../../lib/observation/detector-registry.ts';
import { newSeriesRecord } from '../../lib/observation/ingest.ts';
import { clientSettings, dynamoError, type FakeAws, jsonError, refusedEndpoint, s3Error, startFakeAws } from '../helpers/fake-aws.ts';

let fake: FakeAws;
before(async () => {
  fake = await startFakeAws();
});
after(async () => {
  await fake.close();
});

const documentClient = (endpoint = fake.endpoint) => DynamoDBDocumentClient.from(new DynamoDBClient(clientSettings(endpoint)));
/** As lib/adapters/aws/clients.ts builds it: undefined attributes dropped (an event without `time` in an outbox entry). */
const governanceClient = () =>
  DynamoDBDocumentClient.from(new DynamoDBClient(clientSettings(fake.endpoint)), { marshallOptions: { removeUndefinedValues: true } });
const s3 = (endpoint = fake.endpoint) => new S3Client({ ...clientSettings(endpoint), forcePathStyle: true });

/** Asserts a DependencyError with the Retry-After hint it should carry. */
function dependency(retryAfterSeconds: number, message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof DependencyError, `expected DependencyError, got ${(error as Error).name}: ${(error as Error).message}`);
    assert.equal(error.name, 'DependencyError');
    assert.equal(error.retryAfterSeconds, retryAfterSeconds);
    assert.match(error.message, message);
    return true;
  };
}

const T0 = new Date('2026-11-26T10:00:00.000Z');
const entry = (seq = 0): LedgerEntry =>
  buildEntry(undefined, {
    tenant: 'acme',
    stream: 'ops',
    timestamp: T0.toISOString(),
    actor: 'alice',
    correlationId: `c-${seq}`,
    payload: { n: seq },
  });
const checkpoint: Checkpoint = {
  tenant: 'acme',
  stream: 'ops',
  treeSize: 1,
  rootHash: 'a'.repeat(64),
  timestamp: T0.toISOString(),
  previousCheckpointHash: null,
  keyId: 'k1',
  signature: 'sig',
};

describe('mapAwsError', () => {
  it('passes domain errors and bugs through unchanged', () => {
    const domain = new NotFoundError('gone');
    assert.equal(mapAwsError(domain, 'DynamoDB', 'GetItem'), domain);
    assert.equal(classifyAwsError(domain), 'other');
    const bug = new TypeError('x is undefined');
    assert.equal(mapAwsError(bug, 'DynamoDB', 'GetItem'), bug);
  });
});

describe('series store (DynamoDB)', () => {
  it('turns ProvisionedThroughputExceededException into DependencyError', async () => {
    fake.answer((request) => dynamoError(request, 400, 'ProvisionedThroughputExceededException'));
    await assert.rejects(
      dynamoSeriesStore(documentClient(), 'state').get('acme', 'cpu'),
      dependency(2, /DynamoDB Get throttled: ProvisionedThroughputExceededException \(HTTP 400\)/),
    );
  });

  it('turns a failed version condition into ConflictError', async () => {
    fake.answer((request) => dynamoError(request, 400, 'ConditionalCheckFailedException'));
    const record = newSeriesRecord('acme', 'cpu', initSeriesState('robust'), T0);
    await assert.rejects(dynamoSeriesStore(documentClient(), 'state').put(record, 3), (error: unknown) => {
      assert.ok(error instanceof ConflictError);
      assert.match(error.message, /Series cpu changed concurrently/);
      return true;
    });
  });

  it('turns a refused connection into DependencyError', async () => {
    await assert.rejects(
      dynamoSeriesStore(documentClient(await refusedEndpoint()), 'state').get('acme', 'cpu'),
      dependency(1, /DynamoDB Get unavailable: ECONNREFUSED/),
    );
  });
});

describe('API key store (DynamoDB)', () => {
  it('turns ThrottlingException into DependencyError and honours the service Retry-After', async () => {
    fake.answer((request) => dynamoError(request, 400, 'ThrottlingException', {}, { 'retry-after': '7' }));
    await assert.rejects(
      new DynamoApiKeyStore(documentClient(), 'state').list('acme'),
      dependency(7, /DynamoDB Query throttled: ThrottlingException/),
    );
  });

  it('keeps its own answers to failed conditions: ConflictError on create, NotFoundError on revoke', async () => {
    fake.answer((request) => dynamoError(request, 400, 'ConditionalCheckFailedException'));
    const store = new DynamoApiKeyStore(documentClient(), 'state');
    const { stored } = mintApiKey({ tenant: 'acme', name: 'ci', roles: ['operator'], createdBy: 'alice', now: T0 });
    await assert.rejects(store.create(stored), (error: unknown) => error instanceof ConflictError && /exists/.test(error.message));
    await assert.rejects(store.revoke('acme', stored.keyId, T0.toISOString()), NotFoundError);
  });
});

describe('governance store (DynamoDB)', () => {
  const restart = findActuation('reflex', 'restart');
  assert.ok(restart);
  const approval = (): Approval => ({
    tenant: 'acme',
    approvalId: approvalIdOf('p-1'),
    proposalId: 'p-1',
    status: 'pending',
    taskToken: 'token',
    executionArn: `arn:aws:states:us-east-1:000000000000:execution:autonomy-test-governance-gate:${approvalIdOf('p-1')}`,
    round: 1,
    group: 'approver',
    escalated: false,
    action: { engine: 'reflex', name: 'restart', target: 'endpoint/chat', parameters: {} },
    environment: 'prod',
    risk: 'medium',
    assessment: assessRisk({ actuation: restart, environment: 'prod', parameters: {}, dependents: 0, autonomyLevel: 1 }),
    policy: { decision: 'allow', policies: ['base-operator'], errors: [], version: 0, breakGlass: false },
    requestedBy: 'alice',
    reason: 'latency',
    requestedAt: T0.toISOString(),
    deadline: T0.toISOString(),
    required: 1,
    votes: [],
    version: 0,
  });
  const requested = () => {
    const {
      taskToken: _token,
      version: _version,
      status: _status,
      round: _round,
      escalated: _escalated,
      assessment: _assessment,
      policy: _policy,
      votes: _votes,
      ...rest
    } = approval();
    return busEvent('governance.approval.requested', rest);
  };

  it('turns an InternalServerError (HTTP 500) into DependencyError, the error the gate retries', async () => {
    fake.answer((request) => dynamoError(request, 500, 'InternalServerError'));
    await assert.rejects(
      dynamoApprovalStore(governanceClient(), 'state').get('acme', approvalIdOf('p-1')),
      dependency(1, /DynamoDB Get unavailable/),
    );
  });

  it('turns a failed version condition into ConflictError, on a plain write and on a write with outbox entries', async () => {
    fake.answer((request) => dynamoError(request, 400, 'ConditionalCheckFailedException'));
    const store = dynamoApprovalStore(governanceClient(), 'state');
    await assert.rejects(
      store.put(approval(), 0, []),
      (error: unknown) => error instanceof ConflictError && /Approval approval-p-1 was changed concurrently/.test(error.message),
    );
    assert.equal(fake.requests.at(-1)?.target, 'DynamoDB_20120810.PutItem');
    fake.answer((request) =>
      dynamoError(request, 400, 'TransactionCanceledException', {
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
      }),
    );
    await assert.rejects(
      store.put(approval(), 0, [requested()]),
      (error: unknown) => error instanceof ConflictError && /changed concurrently/.test(error.message),
    );
    assert.equal(fake.requests.at(-1)?.target, 'DynamoDB_20120810.TransactWriteItems');
  });

  it('turns a throttled outbox transaction into DependencyError, not a conflict', async () => {
    fake.answer((request) =>
      dynamoError(request, 400, 'TransactionCanceledException', { CancellationReasons: [{ Code: 'None' }, { Code: 'ThrottlingError' }] }),
    );
    await assert.rejects(
      dynamoApprovalStore(governanceClient(), 'state').put(approval(), 0, [requested()]),
      dependency(2, /DynamoDB TransactWrite throttled/),
    );
  });

  it('turns a throttled settings read into DependencyError', async () => {
    fake.answer((request) => dynamoError(request, 400, 'ProvisionedThroughputExceededException'));
    await assert.rejects(dynamoGovernanceStore(governanceClient(), 'state').settings('acme'), dependency(2, /DynamoDB Get throttled/));
  });
});

describe('rate limiter (DynamoDB)', () => {
  it('answers "not allowed" to a failed condition, but DependencyError (503, not 429) to a throttled table', async () => {
    const limiter = new DynamoRateLimiter(documentClient(), 'state', 10);
    fake.answer((request) => dynamoError(request, 400, 'ConditionalCheckFailedException'));
    const decision = await limiter.consume('acme', T0);
    assert.equal(decision.allowed, false);
    assert.ok(decision.retryAfterSeconds > 0);
    fake.answer((request) => dynamoError(request, 400, 'RequestLimitExceeded'));
    await assert.rejects(limiter.consume('acme', T0), dependency(2, /DynamoDB Update throttled: RequestLimitExceeded/));
  });
});

describe('audit ledger (DynamoDB)', () => {
  const ledger = () => new DynamoLedgerStore(documentClient(), { ledgerTable: 'ledger', stateTable: 'state' });
  const cancelled = (first: string, second: string) => (request: Parameters<typeof dynamoError>[0]) =>
    dynamoError(request, 400, 'TransactionCanceledException', { CancellationReasons: [{ Code: first }, { Code: second }] });

  it('turns a throttled read into DependencyError (a 503 on /audit/record, as on /observation/ingest)', async () => {
    fake.answer((request) => dynamoError(request, 400, 'ProvisionedThroughputExceededException'));
    await assert.rejects(ledger().latest('acme', 'ops'), dependency(2, /DynamoDB Query throttled/));
  });

  it('turns a taken seq into ChainConflictError', async () => {
    fake.answer((request) => dynamoError(request, 400, 'ConditionalCheckFailedException'));
    await assert.rejects(ledger().append(entry()), ChainConflictError);
  });

  it('reads the cancellation reasons of a transaction: duplicate marker, taken seq, conflict, throttle', async () => {
    fake.answer(cancelled('None', 'ConditionalCheckFailed'));
    await assert.rejects(ledger().appendOnce(entry(), 'event#1'), DuplicateAppendError);
    fake.answer(cancelled('ConditionalCheckFailed', 'None'));
    await assert.rejects(
      ledger().appendOnce(entry(), 'event#1'),
      (error: unknown) => error instanceof ChainConflictError && /is taken/.test(error.message),
    );
    fake.answer(cancelled('TransactionConflict', 'None'));
    await assert.rejects(
      ledger().appendOnce(entry(), 'event#1'),
      (error: unknown) => error instanceof ChainConflictError && /being written/.test(error.message),
    );
    fake.answer((request) => dynamoError(request, 400, 'TransactionConflictException'));
    await assert.rejects(ledger().appendOnce(entry(), 'event#1'), ChainConflictError);
    fake.answer(cancelled('ThrottlingError', 'None'));
    await assert.rejects(
      ledger().appendOnce(entry(), 'event#1'),
      dependency(2, /DynamoDB TransactWrite throttled: TransactionCanceledException/),
    );
  });
});

describe('audit state (DynamoDB)', () => {
  it('turns a throttled registry listing into DependencyError', async () => {
    fake.answer((request) => dynamoError(request, 400, 'ThrottlingException'));
    await assert.rejects(new DynamoStreamRegistry(documentClient(), 'state').list(), dependency(2, /DynamoDB Query throttled/));
  });

  it('answers false to a failed compare-and-swap, and DependencyError to a fault', async () => {
    fake.answer((request) => dynamoError(request, 400, 'ConditionalCheckFailedException'));
    assert.equal(await new DynamoCheckpointHeads(documentClient(), 'state').advance({ checkpoint }, 0), false);
    assert.equal(
      await new DynamoFindingStore(documentClient(), 'state').add({
        tenant: 'acme',
        stream: 'ops',
        seq: 0,
        ruleId: 'r',
        severity: 'high',
        message: 'm',
        raisedAt: T0.toISOString(),
      }),
      false,
    );
    fake.answer((request) => dynamoError(request, 500, 'InternalServerError'));
    await assert.rejects(
      new DynamoCheckpointHeads(documentClient(), 'state').advance({ checkpoint }, 0),
      dependency(1, /DynamoDB Put unavailable/),
    );
  });
});

describe('audit objects (S3)', () => {
  it('turns SlowDown (HTTP 503 XML) into DependencyError', async () => {
    fake.answer(() => s3Error(503, 'SlowDown'));
    await assert.rejects(
      new S3PayloadStore(s3(), 'artifacts').put('acme', 'a'.repeat(64), { n: 1 }),
      dependency(2, /S3 PutObject throttled: SlowDown \(HTTP 503\)/),
    );
    await assert.rejects(
      new S3CheckpointStore(s3(), 'artifacts').latest('acme', 'ops'),
      dependency(2, /S3 ListObjectsV2 throttled: SlowDown/),
    );
  });

  it('still reads a missing object (NoSuchKey) as undefined', async () => {
    fake.answer(() => s3Error(404, 'NoSuchKey'));
    assert.equal(await new S3PayloadStore(s3(), 'artifacts').get('acme', 'a'.repeat(64)), undefined);
  });

  it('turns a request timeout into DependencyError', async () => {
    fake.answer(() => 'hang');
    const client = new S3Client({
      ...clientSettings(fake.endpoint),
      forcePathStyle: true,
      requestHandler: { requestTimeout: 100, throwOnRequestTimeout: true },
    });
    await assert.rejects(new S3PayloadStore(client, 'artifacts').get('acme', 'a'.repeat(64)), dependency(1, /S3 GetObject unavailable/));
  });

  it('turns a refused connection into DependencyError', async () => {
    await assert.rejects(
      new S3CheckpointStore(s3(await refusedEndpoint()), 'artifacts').put(checkpoint),
      dependency(1, /S3 PutObject unavailable: ECONNREFUSED/),
    );
  });
});

describe('audit signing keys (Secrets Manager, one secret per tenant)', () => {
  const store = (endpoint = fake.endpoint) =>
    new SecretsManagerSigningKeyStore(new SecretsManagerClient(clientSettings(endpoint)), 'autonomy/test/audit-signing-keys/');
  const first = nextTenantKey('acme', undefined, '2025-06-01T00:00:00.000Z');

  it('turns ThrottlingException (JSON 1.1) into DependencyError', async () => {
    fake.answer((request) => jsonError(request, 400, 'ThrottlingException'));
    await assert.rejects(store().load('acme'), dependency(2, /SecretsManager GetSecretValue throttled: ThrottlingException/));
  });

  it('keeps the compare-and-swap answer: a version token already used is `false`', async () => {
    fake.answer((request) => jsonError(request, 400, 'ResourceExistsException'));
    assert.equal(await store().replace(nextTenantKey('acme', first, '2025-06-01T00:01:00.000Z'), 'v1'), false);
  });

  it('answers `false` to a first key whose secret and first version another signer took', async () => {
    fake.answer((request) => jsonError(request, 400, 'ResourceExistsException'));
    assert.equal(await store().replace(first, ''), false);
  });

  it('turns InternalServiceError (HTTP 500) into DependencyError', async () => {
    fake.answer((request) => jsonError(request, 500, 'InternalServiceError'));
    await assert.rejects(
      store().replace(nextTenantKey('acme', first, '2025-06-01T00:01:00.000Z'), 'v1'),
      dependency(1, /SecretsManager PutSecretValue unavailable/),
    );
  });

  it('turns LimitExceededException (a secret at its version quota after many rotations in a day) into DependencyError, not a 500', async () => {
    fake.answer((request) => jsonError(request, 400, 'LimitExceededException'));
    await assert.rejects(
      store().replace(nextTenantKey('acme', first, '2025-06-01T00:01:00.000Z'), 'v1'),
      dependency(2, /SecretsManager PutSecretValue throttled: LimitExceededException/),
    );
  });
});

describe('event publisher (EventBridge)', () => {
  const entries = [{ source: 'autonomy.demo', detailType: 'demo.thing.happened', detail: '{}' }];

  it('turns ThrottlingException (JSON 1.1) into DependencyError', async () => {
    fake.answer((request) => jsonError(request, 400, 'ThrottlingException'));
    await assert.rejects(
      eventBridgePutEvents(new EventBridgeClient(clientSettings(fake.endpoint)), 'bus').putEvents(entries),
      dependency(2, /EventBridge PutEvents throttled/),
    );
  });

  it('leaves a call no retry can fix (AccessDeniedException) as the SDK error, a 500', async () => {
    fake.answer((request) => jsonError(request, 400, 'AccessDeniedException'));
    await assert.rejects(
      eventBridgePutEvents(new EventBridgeClient(clientSettings(fake.endpoint)), 'bus').putEvents(entries),
      (error: unknown) => {
        assert.ok(!(error instanceof DomainError));
        assert.equal((error as Error).name, 'AccessDeniedException');
        return true;
      },
    );
  });
});

describe('workflow callbacks (Step Functions)', () => {
  const callbacks = () => sfnWorkflowCallbacks(new SFNClient(clientSettings(fake.endpoint)));

  it('turns ThrottlingException (JSON 1.0) into DependencyError', async () => {
    fake.answer((request) => jsonError(request, 400, 'ThrottlingException'));
    await assert.rejects(callbacks().succeed('token', { approved: true }), dependency(2, /StepFunctions SendTaskSuccess throttled/));
    assert.equal(fake.requests.at(-1)?.target, 'AWSStepFunctions.SendTaskSuccess');
  });

  it('turns a task that no longer waits (TaskTimedOut, InvalidToken, TaskDoesNotExist) into GateClosedError on every callback', async () => {
    const calls = [
      ['SendTaskSuccess', () => callbacks().succeed('token', { approved: true })],
      ['SendTaskFailure', () => callbacks().fail('token', 'ApprovalRejected', 'no')],
      ['SendTaskHeartbeat', () => callbacks().heartbeat('token')],
    ] as const;
    for (const code of ['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']) {
      fake.answer((request) => jsonError(request, 400, code));
      for (const [operation, call] of calls) {
        await assert.rejects(
          call(),
          (error: unknown) => error instanceof GateClosedError && error.message.includes(code),
          `${operation} ${code}`,
        );
        assert.equal(fake.requests.at(-1)?.target, `AWSStepFunctions.${operation}`);
      }
    }
  });

  it('leaves a call no retry can fix (AccessDeniedException) as the SDK error, a 500', async () => {
    fake.answer((request) => jsonError(request, 400, 'AccessDeniedException'));
    await assert.rejects(
      callbacks().heartbeat('token'),
      (error: unknown) => !(error instanceof DomainError) && (error as Error).name === 'AccessDeniedException',
    );
  });
});

describe('gate starter (Step Functions)', () => {
  const gate = () =>
    sfnGate(
      new SFNClient(clientSettings(fake.endpoint)),
      'arn:aws:states:us-east-1:000000000000:stateMachine:autonomy-test-governance-gate',
    );
  const input = {
    tenant: 'acme',
    proposalId: 'p-1',
    approvalId: approvalIdOf('p-1'),
    route: 'human-approval' as const,
    gate: { timeoutSeconds: 60, escalationSeconds: 60 },
    validation: null,
    error: null,
    approval: null,
  };

  it('starts the execution under the given name with the input as JSON, and answers its ARN', async () => {
    const executionArn = `arn:aws:states:us-east-1:000000000000:execution:autonomy-test-governance-gate:${approvalIdOf('p-1')}`;
    fake.answer(() => ({
      status: 200,
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: JSON.stringify({ executionArn, startDate: 1 }),
    }));
    assert.equal(await gate().start(approvalIdOf('p-1'), input), executionArn);
    const sent = JSON.parse(fake.requests.at(-1)?.body ?? '{}') as { name?: string; input?: string };
    assert.equal(sent.name, approvalIdOf('p-1'));
    assert.deepEqual(JSON.parse(sent.input ?? ''), input);
  });

  it('turns ThrottlingException into DependencyError', async () => {
    fake.answer((request) => jsonError(request, 400, 'ThrottlingException'));
    await assert.rejects(
      gate().start('validation-p-1', { ...input, route: 'l3-validation' }),
      dependency(2, /StepFunctions StartExecution throttled/),
    );
  });
});

describe('idempotency store (Powertools on DynamoDB)', () => {
  const idempotent = () =>
    makeIdempotent(async (input: { key: string }) => ({ done: input.key }), {
      persistenceStore: new MappedDynamoDBPersistenceLayer({
        tableName: 'idempotency',
        awsSdkV3Client: new DynamoDBClient(clientSettings(fake.endpoint)),
      }),
      config: new IdempotencyConfig({ eventKeyJmesPath: 'key' }),
    });

  it('hands Powertools a DependencyError for a throttled table (wrapped, as its cause)', async () => {
    fake.answer((request) => dynamoError(request, 400, 'ThrottlingException'));
    await assert.rejects(idempotent()({ key: 'k1' }), (error: unknown) => {
      assert.ok(error instanceof IdempotencyPersistenceLayerError);
      return dependency(2, /DynamoDB PutItem throttled: ThrottlingException/)(error.cause);
    });
  });

  it('leaves the failed condition of an existing record to Powertools, which then reads that record', async () => {
    fake.answer((request) =>
      request.target === 'DynamoDB_20120810.PutItem'
        ? dynamoError(request, 400, 'ConditionalCheckFailedException')
        : { status: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: '{}' },
    );
    const before = fake.requests.length;
    // The read finds no record, so Powertools fails with its own error; what matters is that it
    // recognised the SDK's condition failure as "record exists" (a mapped one it would not know).
    await assert.rejects(idempotent()({ key: 'k2' }), (error: unknown) => !(error instanceof DomainError));
    assert.deepEqual(
      fake.requests.slice(before).map((request) => request.target),
      ['DynamoDB_20120810.PutItem', 'DynamoDB_20120810.GetItem'],
    );
  });
});

describe('ConditionFailedError', () => {
  it('is a ConflictError (409) carrying the per-item reasons of a transaction', () => {
    const error = mapAwsError(
      Object.assign(new Error('cancelled'), {
        name: 'TransactionCanceledException',
        $metadata: { httpStatusCode: 400 },
        CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
      }),
      'DynamoDB',
      'TransactWriteItems',
    );
    assert.ok(error instanceof ConditionFailedError);
    assert.ok(error instanceof ConflictError);
    assert.deepEqual(error.reasons, ['None', 'ConditionalCheckFailed']);
  });
});
