/**
 * The engine handler's dependencies in a deployed function: JWT verification from the stage's
 * issuer settings, API keys and idempotency records in DynamoDB. Built lazily, once per container.
 */
import type { EngineHandlerDeps } from '../../api/engine-handler.ts';
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
  };
}
