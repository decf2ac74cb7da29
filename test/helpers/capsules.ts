/**
 * Capsule bundles for tests: an author's Ed25519 key pair, a valid manifest that requests real
 * engine tools, and signed bundles built exactly as `npm run capsule -- sign` builds them.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { encodeBundle, keyIdOf, signBundle } from '../../lib/capsules/bundle.ts';
import { BUNDLE_FORMAT, type BundleSignature, type CapsuleManifestInput } from '../../lib/capsules/schemas.ts';

/** An author's key pair, its PEM public key and key id. */
export interface AuthorKeyPair {
  privateKey: KeyObject;
  publicKey: string;
  keyId: string;
}

/** A fresh Ed25519 key pair. */
export function authorKeyPair(): AuthorKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { privateKey, publicKey: pem, keyId: keyIdOf(pem) };
}

/** The module a test capsule brings for its own tool. */
export const SUMMARY_MODULE = 'export function summarise(input) { return { lines: String(input.text).split("\\n").length }; }\n';

/** A valid manifest: an incident summary job reading series and incidents, with a guardrail on itself. */
export function sampleManifest(overrides: Partial<CapsuleManifestInput> = {}): CapsuleManifestInput {
  const name = overrides.name ?? 'incident-summary';
  return {
    name,
    version: '1.0.0',
    description: 'Summarises an open incident from its series and the ledger for the on-call engineer',
    persona: { role: 'incident analyst', instructions: 'You summarise incident {{incident_id}} for {{audience}}. Be brief.' },
    templates: [
      {
        name: 'incident_summary',
        description: 'One incident in five lines',
        messages: [{ role: 'user', content: 'Summarise incident {{incident_id}} in {{lines}} lines.' }],
        defaults: { lines: '5' },
      },
    ],
    tools: ['observation_status_get', 'reflex_incidents_get', 'gateway_chat_create'],
    gateway: { models: ['standin-a'] },
    budget: { tokens: 20_000, costUsd: 0.5 },
    guardrails: {
      policies: `@id("no-config-changes")\nforbid (principal == Autonomy::Capsule::"${name}", action == Autonomy::Action::"PUT /observation/config", resource);\n`,
    },
    inputSchema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { incident_id: { type: 'string', minLength: 1 }, audience: { type: 'string', enum: ['on-call', 'management'] } },
      required: ['incident_id'],
      additionalProperties: false,
    },
    code: {
      module: 'tools/summary.js',
      capabilities: ['read:inputs', 'call:tool:observation_status_get'],
      tools: [
        {
          name: 'count_lines',
          description: 'Counts the lines of a text',
          entry: 'summarise',
          inputSchema: { type: 'object', properties: { text: { type: 'string' } } },
        },
      ],
    },
    ...overrides,
  };
}

/** A bundle's bytes and its signature by `key`. */
export function signedBundle(
  key: AuthorKeyPair,
  manifest: unknown = sampleManifest(),
  files: Record<string, string> = { 'tools/summary.js': SUMMARY_MODULE },
): { bytes: Uint8Array; signature: BundleSignature } {
  const bytes = encodeBundle({ format: BUNDLE_FORMAT, manifest, files });
  return { bytes, signature: signBundle(bytes, key.privateKey) };
}
