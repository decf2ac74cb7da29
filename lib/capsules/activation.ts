/**
 * Activation only after the signature check: the sandbox (lib/capsules/sandbox.ts) runs a sealed
 * `VerifiedBundle` (lib/capsules/sandbox/verified-bundle.ts), and this is where one is sealed, from a
 * {@link VerifiedCapsule} that {@link verifyBundle} made (the author's Ed25519 signature over the
 * exact bytes, canonical content, a valid manifest). Nothing else in the engine seals bundles.
 */
import type { VerifiedCapsule } from './bundle.ts';
import { capabilitiesSchema } from './sandbox/schemas.ts';
import { sealVerifiedBundle, type VerifiedBundle } from './sandbox/verified-bundle.ts';

/**
 * The sandbox's bundle of a verified capsule's own code: its module, the capabilities its manifest
 * declares and the bundle's hash; undefined when the capsule brings no code.
 * @throws ValidationError naming the field when the module or the capabilities do not fit the sandbox.
 * @example
 * const bundle = sandboxBundle(verifyBundle(bytes, signature, authorKey));
 * if (bundle) await runSandboxed({ bundle, entry: 'countLines', input, capabilities: ['read:inputs'] });
 */
export function sandboxBundle(capsule: VerifiedCapsule): VerifiedBundle | undefined {
  const code = capsule.manifest.code;
  if (!code) return undefined;
  return sealVerifiedBundle({
    bundleHash: capsule.sha256,
    // The review refused a manifest whose module is not in the bundle; an absent file seals as empty code.
    code: capsule.content.files[code.module] ?? '',
    capabilities: capabilitiesSchema.parse(code.capabilities),
  });
}
