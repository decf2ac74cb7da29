/** Turns request headers into a verified principal: a bearer JWT or an `x-api-key`. */
import { UnauthorizedError } from '../errors.ts';
import { type ApiKeyStore, verifyApiKey } from './api-keys.ts';
import type { JwtVerifier } from './jwt.ts';
import type { Principal } from './principal.ts';

/** What authentication needs; `jwt` is absent when the stage configures no issuer. */
export interface Authenticators {
  jwt?: JwtVerifier;
  apiKeys: ApiKeyStore;
}

/**
 * The caller proven by `headers` (lower-case names).
 * @throws UnauthorizedError when no credential is given or it does not verify.
 */
export async function authenticate(headers: Record<string, string>, auth: Authenticators): Promise<Principal> {
  const authorization = headers.authorization;
  if (authorization) {
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!bearer?.[1]) throw new UnauthorizedError('Authorization header must be "Bearer <token>"');
    if (!auth.jwt) throw new UnauthorizedError('Bearer tokens are not configured on this stage; use an API key');
    return auth.jwt.verify(bearer[1]);
  }
  const apiKey = headers['x-api-key'];
  if (apiKey) return verifyApiKey(apiKey, auth.apiKeys);
  throw new UnauthorizedError('Credentials required: "Authorization: Bearer <token>" or "x-api-key"');
}
