/**
 * Executor bindings: what an executor acts on for a component — its kind, the resource (an ARN or a
 * URL) and default parameters (what "throttle" or "quarantine" mean for this component). The Reflex
 * component registry stores bindings in this shape; a run request carries one.
 *
 * A binding is checked twice: its shape here (zod), and its resource against the executor's
 * declared scope and the stage ({@link checkScope}): an AWS resource must be in the stage's account
 * and region, a webhook URL must be on the stage's allow-list.
 */
import { z } from 'zod';

/** Every executor kind. */
export const executorKinds = ['lambda-concurrency', 'lambda-alias', 'sagemaker-endpoint', 'eventbridge-rule', 'webhook'] as const;
/** An executor kind. */
export type ExecutorKind = (typeof executorKinds)[number];
/** Zod schema of an executor kind. */
export const executorKindSchema = z.enum(executorKinds);

const REGION = '[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\\d';
const ACCOUNT = '\\d{12}';
const PARTITION = 'aws(?:-cn|-us-gov|-iso(?:-[a-z])?)?';

/** An unqualified Lambda function ARN (reserved concurrency is per function, never per version or alias). */
export const LAMBDA_FUNCTION_ARN = new RegExp(`^arn:(${PARTITION}):lambda:(${REGION}):(${ACCOUNT}):function:([a-zA-Z0-9_-]{1,64})$`);
/**
 * A Lambda alias ARN: the function's ARN and an alias name (not a version number, not `$LATEST`:
 * at least one character that is not a digit; at most 128, checked by the binding's schema).
 */
export const LAMBDA_ALIAS_ARN = new RegExp(`^arn:(${PARTITION}):lambda:(${REGION}):(${ACCOUNT}):function:([a-zA-Z0-9_-]{1,64}):([a-zA-Z0-9_-]*[a-zA-Z_-][a-zA-Z0-9_-]*)$`);
/** A SageMaker endpoint ARN (SageMaker writes the name in lower case in ARNs). */
export const SAGEMAKER_ENDPOINT_ARN = new RegExp(`^arn:(${PARTITION}):sagemaker:(${REGION}):(${ACCOUNT}):endpoint/([a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})$`);
/** An EventBridge rule ARN, on the default bus (`rule/<name>`) or another (`rule/<bus>/<name>`). */
export const EVENTBRIDGE_RULE_ARN = new RegExp(`^arn:(${PARTITION}):events:(${REGION}):(${ACCOUNT}):rule/(?:([A-Za-z0-9._\\-/]{1,256})/)?([A-Za-z0-9._-]{1,64})$`);

const parametersSchema = z.record(z.string().min(1).max(128), z.unknown()).default({});

/** Lambda reserved concurrency of one function: throttle (`concurrency` ≥ 1), quarantine (0). */
export const lambdaConcurrencyBindingSchema = z.object({
  kind: z.literal('lambda-concurrency'),
  resource: z.string().max(256).regex(LAMBDA_FUNCTION_ARN, 'must be an unqualified Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)'),
  parameters: parametersSchema,
});

/** A Lambda alias's version and routing weights: roll back, shift traffic. */
export const lambdaAliasBindingSchema = z.object({
  kind: z.literal('lambda-alias'),
  resource: z
    .string()
    .max(256)
    .regex(LAMBDA_ALIAS_ARN, 'must be a Lambda alias ARN (arn:aws:lambda:<region>:<account>:function:<name>:<alias>)')
    .refine((arn) => (LAMBDA_ALIAS_ARN.exec(arn)?.[5]?.length ?? 0) <= 128, 'the alias name has at most 128 characters'),
  parameters: parametersSchema,
});

/** A SageMaker endpoint's variant weights and instance counts: shift traffic, scale. */
export const sageMakerEndpointBindingSchema = z.object({
  kind: z.literal('sagemaker-endpoint'),
  resource: z.string().max(256).regex(SAGEMAKER_ENDPOINT_ARN, 'must be a SageMaker endpoint ARN (arn:aws:sagemaker:<region>:<account>:endpoint/<name>)'),
  parameters: parametersSchema,
});

/** An EventBridge rule's state: disable (quarantine a trigger), enable. */
export const eventBridgeRuleBindingSchema = z.object({
  kind: z.literal('eventbridge-rule'),
  resource: z.string().max(600).regex(EVENTBRIDGE_RULE_ARN, 'must be an EventBridge rule ARN (arn:aws:events:<region>:<account>:rule/[<bus>/]<name>)'),
  parameters: parametersSchema,
});

/** An HTTP webhook outside AWS: an HMAC-signed POST. */
export const webhookBindingSchema = z.object({
  kind: z.literal('webhook'),
  resource: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2048)
    // Refinements run on values the URL check refused too: a value that does not parse is left to it.
    .refine((value) => !URL.canParse(value) || (!new URL(value).username && !new URL(value).password), 'must not carry credentials'),
  parameters: parametersSchema,
});

/**
 * One executor binding: `{ kind, resource, parameters }`.
 * @example
 * bindingSchema.parse({ kind: 'lambda-concurrency', resource: 'arn:aws:lambda:us-east-1:123456789012:function:chat', parameters: { concurrency: 5 } });
 */
export const bindingSchema = z.discriminatedUnion('kind', [
  lambdaConcurrencyBindingSchema,
  lambdaAliasBindingSchema,
  sageMakerEndpointBindingSchema,
  eventBridgeRuleBindingSchema,
  webhookBindingSchema,
]);
/** An executor binding. */
export type Binding = z.infer<typeof bindingSchema>;

/** What a stage lets executors touch: its account and region, and the URLs webhooks may call. */
export interface StageScope {
  accountId: string;
  region: string;
  /**
   * Allowed webhook URL prefixes (`https://hooks.example.com/autonomy/`): a URL is allowed when its
   * scheme, host and port equal an entry's and its path starts with the entry's path.
   */
  webhookAllowList: readonly string[];
}

/** The ARN's region and account (AWS bindings), from the binding's own pattern. */
function regionAndAccount(binding: Binding): { region: string; account: string } | undefined {
  const pattern = { 'lambda-concurrency': LAMBDA_FUNCTION_ARN, 'lambda-alias': LAMBDA_ALIAS_ARN, 'sagemaker-endpoint': SAGEMAKER_ENDPOINT_ARN, 'eventbridge-rule': EVENTBRIDGE_RULE_ARN, webhook: undefined }[binding.kind];
  const match = pattern?.exec(binding.resource);
  return match ? { region: match[2] ?? '', account: match[3] ?? '' } : undefined;
}

/**
 * Whether a webhook URL is on the allow-list: same scheme, host and port as an entry, and a path
 * under the entry's (an entry `https://h.example/a/` allows `https://h.example/a/b`, not `/ab`).
 * Plain http is allowed only to loopback hosts, whatever the list says.
 */
export function webhookAllowed(url: string, allowList: readonly string[]): boolean {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return false;
  }
  const loopback = target.hostname === '127.0.0.1' || target.hostname === 'localhost' || target.hostname === '[::1]';
  if (target.protocol !== 'https:' && !(target.protocol === 'http:' && loopback)) return false;
  return allowList.some((entry) => {
    let allowed: URL;
    try {
      allowed = new URL(entry);
    } catch {
      return false;
    }
    if (allowed.protocol !== target.protocol || allowed.host !== target.host) return false;
    const prefix = allowed.pathname.endsWith('/') ? allowed.pathname : `${allowed.pathname}/`;
    return target.pathname === allowed.pathname || target.pathname.startsWith(prefix) || allowed.pathname === '/';
  });
}

/**
 * Why a binding is outside the stage's scope, or undefined when it is within it.
 * @example checkScope(binding, { accountId: '123456789012', region: 'us-east-1', webhookAllowList: [] }) // undefined or a reason
 */
export function checkScope(binding: Binding, stage: StageScope): string | undefined {
  if (binding.kind === 'webhook') {
    return webhookAllowed(binding.resource, stage.webhookAllowList) ? undefined : `webhook URL ${new URL(binding.resource).origin} is not on this stage's allow-list (executionWebhookAllowlist)`;
  }
  const where = regionAndAccount(binding);
  if (!where) return `${binding.resource} is not a ${binding.kind} resource`;
  if (where.account !== stage.accountId) return `${binding.resource} is in account ${where.account}; executors act only in this stage's account ${stage.accountId}`;
  if (where.region !== stage.region) return `${binding.resource} is in region ${where.region}; executors act only in this stage's region ${stage.region}`;
  return undefined;
}
