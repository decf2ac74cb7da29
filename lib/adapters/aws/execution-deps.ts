/**
 * The Execution engine's ports in a deployed function, built once per container: the AWS executors
 * on the SDK clients, the webhook executor with the tenants' keys in Secrets Manager, the runs and
 * governance state in the state table, and the ledger and bus through the stage's outbox (each
 * event recorded in the tenant's ledger as the audit appender would record its bus copy).
 */
import { config } from '../../config.ts';
import type { ExecutionDeps } from '../../execution/engine.ts';
import type { ExecutorRegistry } from '../../execution/executor.ts';
import { webhookExecutor } from '../../execution/webhook.ts';
import type { GovernanceStore } from '../../governance/proposals.ts';
import { stageOutbox } from './stage-outbox.ts';
import { dynamoClient, eventBridgeClient, lambdaClient, sageMakerClient, secretsManagerClient } from './clients.ts';
import { dynamoRunStore } from './execution-store.ts';
import { eventBridgeRuleExecutor, lambdaAliasExecutor, lambdaConcurrencyExecutor, sageMakerEndpointExecutor } from './executors.ts';
import { dynamoGovernanceStore } from './governance-store.ts';
import { secretsManagerWebhookKeys } from './webhook-keys.ts';


let keys: ReturnType<typeof secretsManagerWebhookKeys> | undefined;
let executors: ExecutorRegistry | undefined;
let base: Omit<ExecutionDeps, 'now'> | undefined;

/** The tenants' webhook signing keys. @throws Error when the function has no EXECUTION_WEBHOOK_KEY_PREFIX (lib/execution/manifest.ts). */
export function webhookKeys(): ReturnType<typeof secretsManagerWebhookKeys> {
  const prefix = config().EXECUTION_WEBHOOK_KEY_PREFIX;
  if (!prefix) throw new Error('EXECUTION_WEBHOOK_KEY_PREFIX is not set (lib/execution/manifest.ts: the executionWebhookKeys need)');
  keys ??= secretsManagerWebhookKeys(secretsManagerClient(), prefix);
  return keys;
}

/** Every executor of the stage. */
export function stageExecutors(): ExecutorRegistry {
  executors ??= {
    'lambda-concurrency': lambdaConcurrencyExecutor(lambdaClient()),
    'lambda-alias': lambdaAliasExecutor(lambdaClient()),
    'sagemaker-endpoint': sageMakerEndpointExecutor(sageMakerClient()),
    'eventbridge-rule': eventBridgeRuleExecutor(eventBridgeClient()),
    webhook: webhookExecutor({ signingKey: (tenant) => webhookKeys().signingKey(tenant) }),
  } as ExecutorRegistry;
  return executors;
}

/**
 * What running needs in a deployed function.
 * @throws Error when the function has no EXECUTION_ACCOUNT_ID (its manifest lacks the actuate need).
 */
export function executionDeps(): ExecutionDeps {
  if (!base) {
    const cfg = config();
    if (!cfg.EXECUTION_ACCOUNT_ID) throw new Error('EXECUTION_ACCOUNT_ID is not set (lib/execution/manifest.ts: the actuate need)');
    const governance: GovernanceStore = dynamoGovernanceStore(dynamoClient(), cfg.STATE_TABLE);
    base = {
      executors: stageExecutors(),
      runs: dynamoRunStore(dynamoClient(), cfg.STATE_TABLE),
      governance,
      outbox: stageOutbox(),
      stage: {
        accountId: cfg.EXECUTION_ACCOUNT_ID,
        region: cfg.AWS_REGION,
        webhookAllowList: cfg.EXECUTION_WEBHOOK_ALLOWLIST.split(',').map((entry) => entry.trim()).filter(Boolean),
      },
    };
  }
  // The run's start and end are both stamped: the clock, not the request's time.
  return { ...base, now: () => new Date() };
}
