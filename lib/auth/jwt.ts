/**
 * OAuth2 bearer tokens: verified with `jose` against the stage's JWKS (keys fetched once, cached,
 * refetched on an unknown `kid`), the configured issuer and audience, then mapped to a principal.
 * Every token must carry `exp` and `iat`, and live at most the stage's maximum lifetime: a token
 * without an expiry would be a password that never changes.
 */
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { UnauthorizedError } from '../errors.ts';
import { actorSchema, clientTenantSchema } from '../../events/ids.ts';
import type { Principal } from './principal.ts';
import { type Role, roleSchema } from './roles.ts';

/** Settings of {@link JwtVerifier}, from the stage's parameters. */
export interface JwtSettings {
  issuer: string;
  audience: string;
  /** A JWKS URL, or a key-set function (tests, or `createLocalJWKSet`). */
  keys: string | JWTVerifyGetKey;
  /** Claim holding the tenant id (Cognito: `custom:tenant`). */
  tenantClaim: string;
  /** Claim holding the roles: an array, or a space- or comma-separated string (Cognito: `cognito:groups`). */
  rolesClaim: string;
  /**
   * Longest lifetime (`exp − iat`, seconds) a token may have, and the oldest `iat` accepted; default
   * {@link DEFAULT_MAX_TOKEN_LIFETIME_SECONDS}. The stage parameter `authMaxTokenLifetimeSeconds`.
   */
  maxLifetimeSeconds?: number;
}

/** The default longest token lifetime: one day, the most Cognito allows an access or ID token. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86_400;

/** Seconds of clock skew tolerated on `exp`, `iat` and `nbf`. */
const CLOCK_TOLERANCE_SECONDS = 30;

function claimRoles(value: unknown): Role[] {
  const names = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\s,]+/) : [];
  return names.flatMap((name) => {
    const parsed = roleSchema.safeParse(name);
    return parsed.success ? [parsed.data] : [];
  });
}

/** Verified tokens remembered per container; a token string includes its signature, so a hit is as good as a verify. */
const CACHE_LIMIT = 1000;

/**
 * Verifies bearer tokens; one instance per container. It caches the key set, and each verified token
 * until its `exp` (at most {@link CACHE_LIMIT} tokens, oldest evicted first), because clients reuse
 * a token for many calls and a signature check costs ~60 µs through WebCrypto.
 */
export class JwtVerifier {
  private readonly settings: JwtSettings;
  private readonly keys: JWTVerifyGetKey;
  private readonly verified = new Map<string, { principal: Principal; expiresAt: number }>();

  constructor(settings: JwtSettings) {
    this.settings = settings;
    this.keys = typeof settings.keys === 'string' ? createRemoteJWKSet(new URL(settings.keys), { cooldownDuration: 30_000 }) : settings.keys;
  }

  /**
   * The principal a token proves.
   * @throws UnauthorizedError when the signature, issuer, audience, expiry or tenant claim is wrong,
   *   when `exp` or `iat` is missing, when `iat` lies in the future or further back than the maximum
   *   lifetime, or when `exp − iat` exceeds it.
   */
  async verify(token: string): Promise<Principal> {
    const cached = this.verified.get(token);
    if (cached && Date.now() < cached.expiresAt) return cached.principal;
    if (cached) this.verified.delete(token);
    const maxLifetime = this.settings.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: ['RS256', 'ES256', 'EdDSA'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'iat'],
        // Also refuses an `iat` in the future (beyond the tolerance).
        maxTokenAge: maxLifetime,
      }));
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'ERR_JWT_INVALID';
      throw new UnauthorizedError(`Bearer token rejected (${code})`);
    }
    // jose checked both are numeric dates; a lifetime over the maximum is refused even while fresh.
    const lifetime = (payload.exp ?? 0) - (payload.iat ?? 0);
    if (lifetime > maxLifetime) {
      throw new UnauthorizedError(`Bearer token rejected (its lifetime of ${lifetime} s exceeds this stage's maximum of ${maxLifetime} s)`);
    }
    const tenant = clientTenantSchema.safeParse(payload[this.settings.tenantClaim]);
    if (!tenant.success) throw new UnauthorizedError(`Bearer token has no valid '${this.settings.tenantClaim}' claim`);
    // The subject becomes the actor of ledger entries, events and approvals, which bound it.
    const subject = actorSchema.safeParse(payload.sub ?? 'unknown');
    if (!subject.success) throw new UnauthorizedError('Bearer token has an empty or over-long (256+ characters) sub claim');
    const principal: Principal = { tenant: tenant.data, subject: subject.data, roles: claimRoles(payload[this.settings.rolesClaim]), via: 'jwt' };
    if (this.verified.size >= CACHE_LIMIT) this.verified.delete(this.verified.keys().next().value ?? '');
    this.verified.set(token, { principal, expiresAt: (payload.exp ?? 0) * 1000 });
    return principal;
  }
}
