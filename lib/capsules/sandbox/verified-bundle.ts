/**
 * Activation only after the signature check: {@link runSandboxed} (lib/capsules/sandbox.ts) runs
 * only a {@link VerifiedBundle}, and the only way to get one is {@link sealVerifiedBundle}, which the
 * capsule signature verifier calls once it has checked the author's Ed25519 signature over the exact
 * bundle bytes. The brand makes a forgotten check a type error; the registry of sealed objects makes
 * a cast (`{ ... } as VerifiedBundle`) fail at run time too, with the error kind `unverified`.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ValidationError } from '../../errors.ts';
import { type Capability, capabilitiesSchema } from './schemas.ts';

declare const verifiedBrand: unique symbol;

/**
 * A capsule bundle whose signature was verified: its hash, the code it brings for its own tools
 * (one ES module), and the capabilities its manifest declares for that code. Frozen; made only by
 * {@link sealVerifiedBundle}.
 */
export interface VerifiedBundle {
  readonly [verifiedBrand]: true;
  /** Always `true`: the signature over the bundle's bytes was checked. */
  readonly verified: true;
  /** SHA-256 (hex) of the exact bundle bytes the signature covers. */
  readonly bundleHash: string;
  /** The ES module the capsule's tools live in (its exports are the entries). */
  readonly code: string;
  /** SHA-256 (hex) of `code`, as the verifier found it. */
  readonly codeHash: string;
  /** The capabilities the manifest declares for the code; a run is granted a subset. */
  readonly capabilities: readonly Capability[];
}

/** What the verifier knows after checking a bundle's signature. */
export interface VerifiedBundleFields {
  bundleHash: string;
  code: string;
  capabilities: readonly Capability[];
}

/** The largest module a bundle may bring for its tools (UTF-8 bytes). */
export const MAX_CODE_BYTES = 1024 * 1024;

const fieldsSchema = z.object({
  bundleHash: z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lower-case hex'),
  code: z.string().refine((code) => Buffer.byteLength(code, 'utf8') <= MAX_CODE_BYTES, { message: `at most ${MAX_CODE_BYTES} bytes` }),
  capabilities: capabilitiesSchema,
});

const sealed = new WeakSet<object>();

/**
 * Seals what the signature verifier checked into a {@link VerifiedBundle}. Only the verifier calls
 * this, after the author's signature over the exact bundle bytes (whose SHA-256 is `bundleHash`)
 * checked out and the manifest parsed: calling it anywhere else skips the activation check.
 * @throws {ValidationError} when a field is malformed (names the field).
 * @example
 * const bundle = sealVerifiedBundle({ bundleHash, code: files['tools.js'], capabilities: manifest.code.capabilities });
 */
export function sealVerifiedBundle(fields: VerifiedBundleFields): VerifiedBundle {
  const parsed = fieldsSchema.safeParse(fields);
  if (!parsed.success) {
    throw new ValidationError(parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })));
  }
  const bundle = Object.freeze({
    verified: true as const,
    bundleHash: parsed.data.bundleHash,
    code: parsed.data.code,
    codeHash: createHash('sha256').update(parsed.data.code, 'utf8').digest('hex'),
    capabilities: Object.freeze([...parsed.data.capabilities]),
  }) as unknown as VerifiedBundle;
  sealed.add(bundle);
  return bundle;
}

/** Whether `value` is a bundle {@link sealVerifiedBundle} made (not a look-alike or a cast). */
export function isVerifiedBundle(value: unknown): value is VerifiedBundle {
  return typeof value === 'object' && value !== null && sealed.has(value);
}
