/**
 * The function environment, parsed once at cold start. No other module reads `process.env`.
 */
import { z } from 'zod';

/** An optional setting: unset and empty both mean "not configured" (stage parameters cannot be absent). */
const optionalText = z.preprocess((value) => (value === '' ? undefined : value), z.string().min(1).optional());

const configSchema = z.object({
  STAGE: z.string().min(1),
  STATE_TABLE: z.string().min(1),
  IDEMPOTENCY_TABLE: z.string().min(1),
  ARTIFACTS_BUCKET: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  SERVICE_VERSION: z.string().default('0.1.0'),
  RETENTION_DAYS: z.coerce.number().int().positive().default(365),
  // OAuth2 bearer tokens: all three set, or the stage accepts API keys only.
  AUTH_ISSUER: optionalText,
  AUTH_AUDIENCE: optionalText,
  AUTH_JWKS_URL: optionalText.pipe(z.url().optional()),
  AUTH_TENANT_CLAIM: z.string().min(1).default('tenant'),
  AUTH_ROLES_CLAIM: z.string().min(1).default('roles'),
  /** Longest bearer-token lifetime (`exp − iat`) accepted: 1 minute to 7 days; default one day. */
  AUTH_MAX_TOKEN_LIFETIME_SECONDS: z.coerce.number().int().min(60).max(604_800).default(86_400),
  /** Authenticated requests per tenant per minute across the API; 0 turns the limit off. */
  TENANT_REQUESTS_PER_MINUTE: z.coerce.number().int().nonnegative().default(0),
  // Audit engine: set on its functions only (lib/audit/manifest.ts).
  LEDGER_TABLE: optionalText,
  /** Name prefix of the tenants' signing-key secrets: `<service>/<stage>/audit-signing-keys/`. */
  AUDIT_SIGNING_KEY_PREFIX: optionalText,
  /** The governance gate state machine (functions that start gates: lib/governance/manifest.ts). */
  GATE_STATE_MACHINE_ARN: optionalText,
  /** The self-repair loop's state machine (functions that start loops: lib/reflex/manifest.ts). */
  SELF_REPAIR_STATE_MACHINE_ARN: optionalText,
  /** The KAMACHIQ plans' state machine (functions that start plans: lib/capsules/manifest.ts). */
  CAPSULE_PLAN_STATE_MACHINE_ARN: optionalText,
  /** A promotion's state machine (functions that start promotions: lib/promotion/manifest.ts). */
  PROMOTION_STATE_MACHINE_ARN: optionalText,
  /** A migration run's state machine (functions that start runs: lib/migration/manifest.ts). */
  MIGRATION_STATE_MACHINE_ARN: optionalText,
  /** The improvement loop's state machine (Loop 1; evolution/loops starts runs). */
  IMPROVEMENT_LOOP_STATE_MACHINE_ARN: optionalText,
  /** Loop 3's state machine (compression/feedback and compression/loop-schedule start runs). */
  COMPRESSION_LOOP_STATE_MACHINE_ARN: optionalText,
  /** The stage's account (functions with an `actuate` need: the executors act in it only). */
  EXECUTION_ACCOUNT_ID: optionalText.pipe(z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id').optional()),
  /** URL prefixes webhooks may call, comma-separated (stage parameter `executionWebhookAllowlist`); none when empty. */
  EXECUTION_WEBHOOK_ALLOWLIST: z.string().default(''),
  /** Name prefix of the tenants' webhook signing-key secrets: `<service>/<stage>/execution-webhook-keys/`. */
  EXECUTION_WEBHOOK_KEY_PREFIX: optionalText,
  /** `<service>-<stage>-`: the names of the stage's functions start with it (the MCP endpoint invokes the routes' functions). */
  ROUTE_FUNCTION_PREFIX: optionalText,
  /** Origins (`scheme://host[:port]`) that may call the MCP endpoint from a browser, comma-separated (stage parameter `mcpAllowedOrigins`); the API's own always may. */
  MCP_ALLOWED_ORIGINS: z.string().default(''),
  /** Scopes MCP clients are told to ask the issuer for (protected-resource metadata), space- or comma-separated. */
  MCP_SCOPES: z.string().default('openid'),
  /** The demo service's fault switch, JSON `{ latencyMs, errorRate }` (lib/demo/service.ts); unset: healthy. */
  DEMO_SERVICE_FAULT: optionalText,
});

/** The parsed function environment. */
export type Config = z.infer<typeof configSchema>;

let cached: Config | undefined;

/**
 * Returns the environment parsed with zod; parsed on first call and kept for the container's life.
 * @throws Error naming every missing or invalid variable (a deploy mistake, so it fails loudly at cold start).
 */
export function config(): Config {
  if (cached) return cached;
  const parsed = configSchema.safeParse(process.env);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid function environment: ${fields}`);
  }
  cached = parsed.data;
  return cached;
}
