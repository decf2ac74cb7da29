/**
 * The local identity provider: an RS256 key pair kept under the data dir, its JWKS served by the
 * local HTTP API at `/.well-known/jwks.json`, and tokens signed for `npm run token` and the tests.
 * Issuer and audience match the `local` stage parameters in serverless.yml, so functions verify these
 * tokens exactly as they verify a real issuer's: through `jose` and a remote JWKS.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';

/** `authIssuer` of the local stage. */
export const LOCAL_ISSUER = 'urn:autonomy:local-idp';
/** `authAudience` of the local stage. */
export const LOCAL_AUDIENCE = 'autonomy-local';
/** `authMaxTokenLifetimeSeconds` of the local stage: the longest `--ttl` a local token may have. */
export const LOCAL_MAX_TOKEN_LIFETIME_SECONDS = 86_400;
/** Where the local HTTP API serves the key set. */
export const JWKS_PATH = '/.well-known/jwks.json';

/** The local signing key: a private JWK with its `kid`. */
export interface IdpKey {
  privateJwk: JWK & { kid: string };
  publicJwk: JWK & { kid: string };
}

/** The key file under a data dir. */
export function idpKeyPath(dataDir: string): string {
  return path.join(dataDir, 'idp', 'signing-key.json');
}

/** Loads the data dir's signing key, creating it (mode 0600) on first use. */
export async function loadOrCreateIdpKey(dataDir: string): Promise<IdpKey> {
  const file = idpKeyPath(dataDir);
  if (existsSync(file)) {
    const privateJwk = JSON.parse(await readFile(file, 'utf8')) as IdpKey['privateJwk'];
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = privateJwk;
    return { privateJwk, publicJwk };
  }
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `local-${Date.now().toString(36)}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(privateJwk), { mode: 0o600 });
  return { privateJwk, publicJwk };
}

/** The JSON Web Key Set to serve. */
export function jwks(key: IdpKey): { keys: JWK[] } {
  return { keys: [key.publicJwk] };
}

/** Claims of a local token. */
export interface TokenRequest {
  tenant: string;
  roles: string[];
  subject?: string;
  /** Lifetime in seconds; default one hour, at most {@link LOCAL_MAX_TOKEN_LIFETIME_SECONDS}. */
  ttlSeconds?: number;
}

/**
 * A signed RS256 JWT the local API accepts: it always carries `iat` and `exp` (the API refuses a
 * token without either, or living longer than the stage's maximum).
 * @throws RangeError when `ttlSeconds` is not a whole number of seconds within the local stage's maximum.
 */
export async function signLocalToken(key: IdpKey, request: TokenRequest): Promise<string> {
  const ttl = request.ttlSeconds ?? 3600;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > LOCAL_MAX_TOKEN_LIFETIME_SECONDS) {
    throw new RangeError(`ttlSeconds must be 1..${LOCAL_MAX_TOKEN_LIFETIME_SECONDS} (the local stage's authMaxTokenLifetimeSeconds), got ${ttl}`);
  }
  const signingKey = await importJWK(key.privateJwk, 'RS256');
  return new SignJWT({ tenant: request.tenant, roles: request.roles })
    .setProtectedHeader({ alg: 'RS256', kid: key.privateJwk.kid, typ: 'JWT' })
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setSubject(request.subject ?? `local:${request.tenant}`)
    .setIssuedAt()
    .setExpirationTime(`${ttl}s`)
    .sign(signingKey);
}
