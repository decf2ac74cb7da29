/**
 * The identifiers of the product, defined once: tenant ids, series names, stream names, engine and
 * action names. `events/`, `lib/` and `lib/auth/` all take them from here (this file depends on zod
 * only, so the event catalog can use it without importing `lib/`).
 *
 * Each identifier is an un-anchored fragment (to compose into larger patterns, such as API keys
 * or event sources), an anchored pattern, and a zod schema.
 */
import { z } from 'zod';

/**
 * A tenant id: 1–63 lower-case letters, digits and dashes, starting with a letter or digit. It
 * starts every key in every table and bucket and sits inside API keys (`apk_<tenant>_…`), so `#`,
 * `/` and `_` are excluded.
 */
export const TENANT_ID_FRAGMENT = '[a-z0-9][a-z0-9-]{0,62}';
/** {@link TENANT_ID_FRAGMENT}, anchored. */
export const TENANT_ID_PATTERN = new RegExp(`^${TENANT_ID_FRAGMENT}$`);

/** The tenant of the platform itself: platform events, and bus events that name no valid tenant. */
export const SYSTEM_TENANT = 'system';
/** Tenant ids the platform keeps for itself; no credential may name one. */
export const RESERVED_TENANTS: readonly string[] = [SYSTEM_TENANT];

/** Any tenant an event or a record may name, the {@link SYSTEM_TENANT} included. */
export const tenantSchema = z.string().regex(TENANT_ID_PATTERN, 'tenant must be 1-63 lower-case letters, digits and dashes').max(63);

/** A tenant a credential (JWT claim, API key) may name: a valid id that is not reserved. */
export const clientTenantSchema = tenantSchema.refine(
  (tenant) => !RESERVED_TENANTS.includes(tenant),
  'this tenant id is reserved by the platform',
);

/** A series name: 1–200 characters of `[A-Za-z0-9._:/-]` (safe inside DynamoDB keys and URLs). */
export const SERIES_NAME_FRAGMENT = '[A-Za-z0-9._:/-]{1,200}';
/** {@link SERIES_NAME_FRAGMENT}, anchored. */
export const SERIES_NAME_PATTERN = new RegExp(`^${SERIES_NAME_FRAGMENT}$`);
/** A series name (see {@link SERIES_NAME_FRAGMENT}). */
export const seriesNameSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(SERIES_NAME_PATTERN, 'series may contain only letters, digits and . _ : / -');

/** A ledger stream name: 1–128 lower-case letters, digits, dots, dashes and underscores (it ends up in S3 keys). */
export const STREAM_NAME_FRAGMENT = '[a-z0-9][a-z0-9._-]{0,127}';
/** {@link STREAM_NAME_FRAGMENT}, anchored. */
export const STREAM_NAME_PATTERN = new RegExp(`^${STREAM_NAME_FRAGMENT}$`);
/** A ledger stream name (see {@link STREAM_NAME_FRAGMENT}). */
export const streamNameSchema = z
  .string()
  .regex(STREAM_NAME_PATTERN, 'stream must be lower-case letters, digits, dots, dashes, underscores')
  .max(128);

/**
 * An engine name: 1–32 lower-case letters and digits, starting with a letter. It is the first
 * segment of routes (`/<engine>/…`), event sources (`autonomy.<engine>`) and detail-types.
 */
export const ENGINE_NAME_FRAGMENT = '[a-z][a-z0-9]{0,31}';
/** {@link ENGINE_NAME_FRAGMENT}, anchored. */
export const ENGINE_NAME_PATTERN = new RegExp(`^${ENGINE_NAME_FRAGMENT}$`);
/** An engine name (see {@link ENGINE_NAME_FRAGMENT}). */
export const engineNameSchema = z
  .string()
  .regex(ENGINE_NAME_PATTERN, 'engine names are 1-32 lower-case letters and digits, starting with a letter')
  .max(32);

/**
 * An action name: kebab-case (lower-case words of letters and digits joined by single dashes,
 * starting with a letter), at most 64 characters. It is the second route segment
 * (`/<engine>/<action>`), the handler's file name, and the name of a gated action.
 */
export const ACTION_NAME_FRAGMENT = '[a-z][a-z0-9]*(?:-[a-z0-9]+)*';
/** {@link ACTION_NAME_FRAGMENT}, anchored and at most 64 characters. */
export const ACTION_NAME_PATTERN = new RegExp(`^(?=.{1,64}$)${ACTION_NAME_FRAGMENT}$`);
/** An action name (see {@link ACTION_NAME_FRAGMENT}). */
export const actionNameSchema = z.string().regex(ACTION_NAME_PATTERN, 'action names are kebab-case, at most 64 characters').max(64);

/** Longest actor: a JWT subject (JwtVerifier refuses longer ones), `api-key:<keyId>` or `system:<source>`. */
export const MAX_ACTOR_LENGTH = 256;
/** Who did something: a credential's subject, as the ledger, events and approvals record it. */
export const actorSchema = z.string().min(1).max(MAX_ACTOR_LENGTH);

/**
 * A capsule's name: kebab-case like an action name (lower-case words of letters and digits joined
 * by single dashes, starting with a letter), at most 64 characters. It names the capsule in the
 * marketplace, its Cedar principal (`Autonomy::Capsule::"<name>"`) and its policy layer.
 */
export const CAPSULE_NAME_PATTERN = ACTION_NAME_PATTERN;
/** A capsule name (see {@link CAPSULE_NAME_PATTERN}). */
export const capsuleNameSchema = z
  .string()
  .max(64)
  .regex(CAPSULE_NAME_PATTERN, 'capsule names are kebab-case (a-z, 0-9, single dashes), starting with a letter, at most 64 characters');

/**
 * A semantic version (SemVer 2.0.0, the regular expression semver.org gives): `1.4.0`,
 * `2.0.0-rc.1+build.5`; no leading `v`, no leading zeros. At most 64 characters.
 */
export const SEMVER_PATTERN =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
/** A semantic version (see {@link SEMVER_PATTERN}). */
export const semverSchema = z
  .string()
  .max(64)
  .regex(SEMVER_PATTERN, 'must be a semantic version such as 1.4.0 or 2.0.0-rc.1 (SemVer 2.0.0)');
