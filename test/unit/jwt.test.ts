/**
 * JwtVerifier's claim rules, with a real key set (jose's local JWKS) and real signatures: `exp` and
 * `iat` required, `iat` not in the future, lifetime (`exp − iat`) at most the stage maximum.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, JwtVerifier } from '../../lib/auth/jwt.ts';
import { UnauthorizedError } from '../../lib/errors.ts';
import { LOCAL_MAX_TOKEN_LIFETIME_SECONDS, signLocalToken, type IdpKey } from '../../infra/local/idp.ts';

const ISSUER = 'urn:test:idp';
const AUDIENCE = 'test-api';
const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
const publicJwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };

function verifier(maxLifetimeSeconds?: number): JwtVerifier {
  return new JwtVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: createLocalJWKSet({ keys: [publicJwk] }), tenantClaim: 'tenant', rolesClaim: 'roles', maxLifetimeSeconds });
}

const now = () => Math.floor(Date.now() / 1000);

function sign(claims: JWTPayload): Promise<string> {
  return new SignJWT({ tenant: 'acme', roles: ['viewer'], iss: ISSUER, aud: AUDIENCE, sub: 'alice', ...claims }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(privateKey);
}

async function refusal(jwt: JwtVerifier, token: string): Promise<string> {
  const error = await jwt.verify(token).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof UnauthorizedError, `refused with UnauthorizedError, got ${String(error)}`);
  return error.message;
}

describe('JwtVerifier', () => {
  it('accepts a token with iat and exp within the maximum lifetime', async () => {
    const principal = await verifier(3600).verify(await sign({ iat: now(), exp: now() + 3600 }));
    assert.deepEqual(principal, { tenant: 'acme', subject: 'alice', roles: ['viewer'], via: 'jwt' });
  });

  it('refuses a token without exp, however fresh', async () => {
    assert.match(await refusal(verifier(), await sign({ iat: now() })), /ERR_JWT_CLAIM_VALIDATION_FAILED/);
  });

  it('refuses a token without iat (its lifetime cannot be bounded)', async () => {
    assert.match(await refusal(verifier(), await sign({ exp: now() + 60 })), /ERR_JWT_CLAIM_VALIDATION_FAILED/);
  });

  it('refuses a token living one second longer than the stage maximum, while it is still fresh', async () => {
    const iat = now();
    await verifier(3600).verify(await sign({ iat, exp: iat + 3600 }));
    assert.match(await refusal(verifier(3600), await sign({ iat, exp: iat + 3601 })), /lifetime of 3601 s exceeds this stage's maximum of 3600 s/);
  });

  it('applies one day when the stage sets no maximum', async () => {
    assert.equal(DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, 86_400);
    assert.match(await refusal(verifier(), await sign({ iat: now(), exp: now() + 86_401 })), /exceeds/);
  });

  it('refuses a token issued in the future (beyond the 30 s clock tolerance)', async () => {
    assert.match(await refusal(verifier(), await sign({ iat: now() + 120, exp: now() + 600 })), /ERR_JWT_CLAIM_VALIDATION_FAILED|ERR_JWT_EXPIRED/);
  });

  it('refuses a token issued longer ago than the maximum lifetime', async () => {
    assert.match(await refusal(verifier(3600), await sign({ iat: now() - 7200, exp: now() + 60 })), /ERR_JWT_EXPIRED/);
  });

  it('refuses a subject longer than an actor may be (256 characters)', async () => {
    await verifier().verify(await sign({ iat: now(), exp: now() + 60, sub: 'a'.repeat(256) }));
    assert.match(await refusal(verifier(), await sign({ iat: now(), exp: now() + 60, sub: 'a'.repeat(257) })), /sub claim/);
  });

  it('refuses an expired token', async () => {
    assert.match(await refusal(verifier(), await sign({ iat: now() - 600, exp: now() - 60 })), /ERR_JWT_EXPIRED/);
  });
});

const localKey: IdpKey = { privateJwk: { ...(await exportJWK(privateKey)), kid: 'k1' }, publicJwk };

describe('local tokens (npm run token)', () => {

  it('carry iat and exp, ttl seconds apart', async () => {
    const token = await signLocalToken(localKey, { tenant: 'acme', roles: ['viewer'], ttlSeconds: 900 });
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iat: number; exp: number };
    assert.equal(claims.exp - claims.iat, 900);
  });

  it('refuse a ttl over the local stage maximum', async () => {
    await assert.rejects(signLocalToken(localKey, { tenant: 'acme', roles: ['viewer'], ttlSeconds: LOCAL_MAX_TOKEN_LIFETIME_SECONDS + 1 }), RangeError);
  });
});
