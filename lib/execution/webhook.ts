/**
 * The HTTP webhook executor, for anything outside AWS: one POST of a JSON body, signed with the
 * tenant's HMAC-SHA256 key over `<timestamp>.<body>` (`X-Autonomy-Signature: v1=<hex>`, the
 * timestamp in `X-Autonomy-Timestamp`, Unix seconds, so a receiver can refuse replays), with the
 * execution id as `Idempotency-Key` (a receiver deduplicates retries by it). Each attempt has a
 * timeout; 5xx replies, timeouts and network failures are retried with jittered backoff, 4xx
 * replies never (the receiver refused the request; sending it again cannot help).
 *
 * Verification: the receiver's 2xx reply acknowledges the execution. A JSON reply that names an
 * `executionId` must name this one (a receiver that answers for something else did not do this).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { DependencyError, DomainError } from '../errors.ts';
import type { ActuationId } from '../governance/actuations.ts';
import { actuations } from '../governance/actuations.ts';
import { retry } from '../retry.ts';
import type { ExecutionPlan, ExecutionRequest, ExecutionResult, Executor, ResourceState } from './executor.ts';
import { parseParameters } from './executor.ts';

/** Header carrying the signature `v1=<hex HMAC-SHA256(key, "<timestamp>.<body>")>`. */
export const SIGNATURE_HEADER = 'x-autonomy-signature';
/** Header carrying the signing time in Unix seconds. */
export const TIMESTAMP_HEADER = 'x-autonomy-timestamp';

/** The webhook's parameters: what to send, how long to wait, how often to try. */
export const webhookParametersSchema = z
  .object({
    /** JSON sent as `parameters` in the body (the receiver's own instructions). */
    payload: z.record(z.string().min(1).max(128), z.unknown()).default({}),
    /** Milliseconds one attempt may take. */
    timeoutMs: z.number().int().min(100).max(30_000).default(5_000),
    /** Attempts in all (the first included). */
    attempts: z.number().int().min(1).max(5).default(3),
  })
  .passthrough();
/** Webhook parameters. */
export type WebhookParameters = z.infer<typeof webhookParametersSchema>;

/** The receiver refused the request (4xx): not retried. */
export class WebhookRefusedError extends DomainError {}

/** Retries failed: the receiver kept failing (5xx) or timing out. */
export class WebhookUnavailableError extends DependencyError {}

/**
 * The signature of a body sent at `timestamp` (Unix seconds) under `key`.
 * @example sign('k', '1767225600', '{"a":1}') // 'v1=…'
 */
export function sign(key: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Checks a received webhook as a receiver should: the signature over `<timestamp>.<body>` in constant
 * time, and a timestamp within `toleranceSeconds` of `now` (default 300 s).
 */
export function verifySignature(key: string, headers: { signature?: string; timestamp?: string }, body: string, now = Date.now(), toleranceSeconds = 300): boolean {
  if (!headers.signature || !headers.timestamp || !/^\d{1,12}$/.test(headers.timestamp)) return false;
  if (Math.abs(now / 1000 - Number(headers.timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(sign(key, headers.timestamp, body));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** What the webhook executor needs. */
export interface WebhookDeps {
  /** The tenant's signing key. */
  signingKey(tenant: string): Promise<string>;
  fetch?: typeof fetch;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** Every reflex and execution actuation: a webhook can stand for any of them outside AWS. */
const WEBHOOK_ACTIONS = actuations.filter((entry) => entry.engine === 'reflex' || entry.engine === 'execution').map((entry) => `${entry.engine}:${entry.action}` as ActuationId);

/**
 * The webhook executor.
 * @example
 * const executor = webhookExecutor({ signingKey: async (tenant) => keys.get(tenant) });
 */
export function webhookExecutor(deps: WebhookDeps): Executor<WebhookParameters> {
  const send = deps.fetch ?? fetch;
  const now = deps.now ?? (() => new Date());
  return {
    kind: 'webhook',
    description: 'An HMAC-signed POST to an allow-listed URL outside AWS, retried on 5xx and timeouts',
    actions: WEBHOOK_ACTIONS,
    scope: "URLs on the stage's webhook allow-list (executionWebhookAllowlist); plain http only to loopback",
    parameters: (_action, raw) => parseParameters(webhookParametersSchema, raw),
    async dryRun(request: ExecutionRequest<WebhookParameters>): Promise<ExecutionPlan> {
      // A webhook's far side cannot be read without acting: the plan is the call it would make.
      return { before: { acknowledged: false }, after: { acknowledged: true }, changes: [`POST ${new URL(request.binding.resource).origin}${new URL(request.binding.resource).pathname} (${request.action})`] };
    },
    async execute(request, executionId): Promise<ExecutionResult> {
      const key = await deps.signingKey(request.tenant);
      const body = JSON.stringify({ executionId, tenant: request.tenant, action: request.action, target: request.target, parameters: request.parameters.payload, sentAt: now().toISOString() });
      let attempts = 0;
      const reply = await retry(
        async () => {
          attempts += 1;
          const timestamp = String(Math.floor(now().getTime() / 1000));
          let response: Response;
          try {
            response = await send(request.binding.resource, {
              method: 'POST',
              headers: { 'content-type': 'application/json', [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: sign(key, timestamp, body), 'idempotency-key': executionId, 'x-autonomy-execution-id': executionId },
              body,
              redirect: 'manual',
              signal: AbortSignal.timeout(request.parameters.timeoutMs),
            });
          } catch (error) {
            const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
            throw new WebhookUnavailableError(timedOut ? `no reply within ${request.parameters.timeoutMs} ms` : `could not reach the receiver (${error instanceof Error ? error.message : String(error)})`);
          }
          const text = (await response.text()).slice(0, 4096);
          if (response.status >= 500) throw new WebhookUnavailableError(`the receiver answered ${response.status}`);
          if (response.status < 200 || response.status >= 300) throw new WebhookRefusedError(`the receiver refused the request: ${response.status} ${text.slice(0, 200)}`);
          return { status: response.status, text };
        },
        { attempts: request.parameters.attempts, baseDelayMs: 200, maxDelayMs: 2_000, retryable: (error) => error instanceof WebhookUnavailableError, ...(deps.sleep ? { sleep: deps.sleep } : {}), ...(deps.random ? { random: deps.random } : {}) },
      ).catch((error: unknown) => {
        if (error instanceof WebhookUnavailableError) throw new WebhookUnavailableError(`${error.message} (after ${attempts} attempt(s))`);
        throw error;
      });
      const acknowledged = acknowledges(reply.text, executionId);
      return {
        before: { acknowledged: false },
        after: { acknowledged: true },
        detail: `HTTP ${reply.status} after ${attempts} attempt(s)${acknowledged ? '' : '; the reply names another execution'}`,
        reply: { acknowledged },
      };
    },
    async readBack(_request, result): Promise<ResourceState> {
      return { acknowledged: result.reply?.acknowledged === true };
    },
  };
}

/** Whether a 2xx reply acknowledges this execution: a JSON reply naming another execution id does not. */
function acknowledges(text: string, executionId: string): boolean {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && 'executionId' in parsed) return (parsed as { executionId: unknown }).executionId === executionId;
  } catch {
    // Not JSON: the 2xx status is the acknowledgement.
  }
  return true;
}
