/**
 * Activation after the signature check (lib/capsules/activation.ts): a verified capsule's code is
 * sealed for the sandbox with the capabilities its manifest declares and runs there; content that
 * does not verify never reaches a sealed bundle.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sandboxBundle } from '../../lib/capsules/activation.ts';
import { BundleRefusedError, verifyBundle } from '../../lib/capsules/bundle.ts';
import { isVerifiedBundle } from '../../lib/capsules/sandbox/verified-bundle.ts';
import { runSandboxed } from '../../lib/capsules/sandbox.ts';
import { authorKeyPair, SUMMARY_MODULE, sampleManifest, signedBundle } from '../helpers/capsules.ts';

const alice = authorKeyPair();
const key = { author: 'alice', keyId: alice.keyId, publicKey: alice.publicKey };

describe('capsule activation', () => {
  it('seals a verified capsule’s module with its declared capabilities, and the sandbox runs it', async () => {
    const { bytes, signature } = signedBundle(alice);
    const bundle = sandboxBundle(verifyBundle(bytes, signature, key));
    assert.ok(bundle && isVerifiedBundle(bundle));
    assert.equal(bundle.bundleHash, signature.bundleSha256);
    assert.equal(bundle.code, SUMMARY_MODULE);
    assert.deepEqual(bundle.capabilities, ['read:inputs', 'call:tool:observation_status_get']);
    const result = await runSandboxed({ bundle, entry: 'summarise', input: { text: 'a\nb\nc' }, capabilities: ['read:inputs'] });
    assert.deepEqual(result.ok && result.output, { lines: 3 });
  });

  it('gives nothing to run for a capsule without code', () => {
    const { bytes, signature } = signedBundle(alice, sampleManifest({ code: undefined }), {});
    assert.equal(sandboxBundle(verifyBundle(bytes, signature, key)), undefined);
  });

  it('never seals content whose signature does not verify', () => {
    const { signature } = signedBundle(alice);
    const { bytes: other } = signedBundle(alice, sampleManifest({ description: 'changed after signing' }));
    assert.throws(() => sandboxBundle(verifyBundle(other, signature, key)), BundleRefusedError);
  });
});
