/**
 * The engine handler's dependencies in a deployed function: JWT verification from the stage's
 * issuer settings, API keys and idempotency records in DynamoDB, Cedar on state-changing routes.
 * Built lazily, once per container.
 */
import type { EngineHandlerDeps, RoutePolicyGate } from '../../api/engine-handler.ts';
import type { Authenticators } from '../../auth/authenticate.ts';
import { JwtVerifier } from '../../auth/jwt.ts';
import { config } from '../../config.ts';
import { DynamoApiKeyStore } from './api-key-store.ts';
import { DynamoRateLimiter } from './rate-limiter.ts';
import { dynamoBaseClient, dynamoClient } from './clients.ts';
import { MappedDynamoDBPersistenceLayer } from './idempotency-store.ts';

let auth: Authenticators | undefined;
let idempotency: MappedDynamoDBPersistenceLayer | undefined;
let limiter: DynamoRateLimiter | undefined;
let gate: RoutePolicyGate | undefined;
let loadedGate: Promise<RoutePolicyGate> | undefined;

/**
 * The stage's route gate, loaded on first use: its module brings Cedar's wasm and the governance
 * adapters, which a function serving reads only never needs (esbuild keeps a dynamic import's
 * module in the bundle but runs it only when imported). A failed load is tried again next time.
 */
function lazyPolicyGate(): RoutePolicyGate {
  const load = () => {
    loadedGate ??= import('./policy-gate.ts').then(
      (module) => module.stagePolicyGate(),
      (error: unknown) => {
        loadedGate = undefined;
        throw error;
      },
    );
    return loadedGate;
  };
  // Start now (engineHandler asks for the gate while the function initialises); failures surface per request.
  load().catch(() => {});
  return {
    check: async (principal, method, path) => (await load()).check(principal, method, path),
    breakGlassUsed: async (use) => (await load()).breakGlassUsed(use),
  };
}

/** The authenticators of this stage; bearer tokens only when issuer, audience and JWKS URL are all set. */
export function stageAuthenticators(): Authenticators {
  if (auth) return auth;
  const cfg = config();
  const jwt =
    cfg.AUTH_ISSUER && cfg.AUTH_AUDIENCE && cfg.AUTH_JWKS_URL
      ? new JwtVerifier({ issuer: cfg.AUTH_ISSUER, audience: cfg.AUTH_AUDIENCE, keys: cfg.AUTH_JWKS_URL, tenantClaim: cfg.AUTH_TENANT_CLAIM, rolesClaim: cfg.AUTH_ROLES_CLAIM, maxLifetimeSeconds: cfg.AUTH_MAX_TOKEN_LIFETIME_SECONDS })
      : undefined;
  auth = { jwt, apiKeys: new DynamoApiKeyStore(dynamoClient(), cfg.STATE_TABLE) };
  return auth;
}

/** Dependencies for {@link engineHandler} in a deployed function. */
export function engineDeps(): EngineHandlerDeps {
  const cfg = config();
  return {
    auth: stageAuthenticators,
    idempotencyTable: () => {
      idempotency ??= new MappedDynamoDBPersistenceLayer({ tableName: cfg.IDEMPOTENCY_TABLE, awsSdkV3Client: dynamoBaseClient() });
      return idempotency;
    },
    version: cfg.SERVICE_VERSION,
    rateLimiter: () => {
      if (cfg.TENANT_REQUESTS_PER_MINUTE === 0) return undefined;
      limiter ??= new DynamoRateLimiter(dynamoClient(), cfg.STATE_TABLE, cfg.TENANT_REQUESTS_PER_MINUTE);
      return limiter;
    },
    policyGate: () => {
      gate ??= lazyPolicyGate();
      return gate;
    },
  };
}
