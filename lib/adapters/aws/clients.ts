/**
 * AWS SDK v3 clients, created once per container and traced. Endpoints come only from the SDK's
 * standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables: the code never knows
 * whether it talks to AWS, LocalStack or the local cloud.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tracer } from '../../observability.ts';

let dynamoBase: DynamoDBClient | undefined;
let dynamo: DynamoDBDocumentClient | undefined;
let s3: S3Client | undefined;
let events: EventBridgeClient | undefined;
let sfn: SFNClient | undefined;
let secrets: SecretsManagerClient | undefined;
let lambda: LambdaClient | undefined;
let sagemaker: SageMakerClient | undefined;
let sagemakerRuntime: SageMakerRuntimeClient | undefined;

/** The plain DynamoDB client (for libraries that want one, such as Powertools idempotency). */
export function dynamoBaseClient(): DynamoDBClient {
  dynamoBase ??= tracer.captureAWSv3Client(new DynamoDBClient({}));
  return dynamoBase;
}

/** The DynamoDB document client (undefined attributes dropped, so optional fields never fail a put). */
export function dynamoClient(): DynamoDBDocumentClient {
  dynamo ??= DynamoDBDocumentClient.from(dynamoBaseClient(), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return dynamo;
}

/** The S3 client. */
export function s3Client(): S3Client {
  s3 ??= tracer.captureAWSv3Client(new S3Client({}));
  return s3;
}

/** The EventBridge client. */
export function eventBridgeClient(): EventBridgeClient {
  events ??= tracer.captureAWSv3Client(new EventBridgeClient({}));
  return events;
}

/** The Step Functions client. */
export function sfnClient(): SFNClient {
  sfn ??= tracer.captureAWSv3Client(new SFNClient({}));
  return sfn;
}

/** The Secrets Manager client. */
export function secretsManagerClient(): SecretsManagerClient {
  secrets ??= tracer.captureAWSv3Client(new SecretsManagerClient({}));
  return secrets;
}

/** The Lambda client (the Execution engine's concurrency and alias executors). */
export function lambdaClient(): LambdaClient {
  lambda ??= tracer.captureAWSv3Client(new LambdaClient({}));
  return lambda;
}

/** The SageMaker control-plane client (the Execution engine's endpoint executor). */
export function sageMakerClient(): SageMakerClient {
  sagemaker ??= tracer.captureAWSv3Client(new SageMakerClient({}));
  return sagemaker;
}

/**
 * The SageMaker runtime client (the gateway's model endpoints; `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`).
 * One attempt per call: the gateway retries, times out and falls back itself (lib/gateway/resilience.ts),
 * and SDK retries underneath would multiply its attempts and hide them from its circuit breakers.
 */
export function sageMakerRuntimeClient(): SageMakerRuntimeClient {
  sagemakerRuntime ??= tracer.captureAWSv3Client(new SageMakerRuntimeClient({ maxAttempts: 1 }));
  return sagemakerRuntime;
}
