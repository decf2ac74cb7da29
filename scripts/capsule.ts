/**
 * The capsule authors' tool.
 *
 * - `npm run capsule -- keygen --out <prefix>`: a new Ed25519 key pair, `<prefix>.pem` (private,
 *   PKCS#8, mode 0600) and `<prefix>.pub.pem` (public, SPKI: what an admin registers with
 *   `PUT /capsules/authors`); prints the key id (SHA-256 of the public key's DER).
 * - `npm run capsule -- sign --key <private pem> <dir> [--out <file>]`: the bundle of `<dir>`
 *   (`<dir>/capsule.json` is the manifest, every other file under `<dir>` a bundle file by its
 *   relative path), its manifest checked, signed over its exact bytes. Writes `<out>` (default
 *   `<name>-<version>.submission.json` in the working directory): `{ "bundle": <base64 bytes>,
 *   "signature": {…} }`, exactly the `parameters` of `POST /capsules/submissions`.
 * - `npm run capsule -- verify --pub <public pem> <submission.json>`: checks a submission as the
 *   review's first checks do (size, signature over the exact bytes, canonical form, manifest).
 *
 * Exit codes: 0 done, 1 refused (the reason printed), 2 usage.
 */

import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type BundleContent, BundleRefusedError, encodeBundle, keyIdOf, parseManifest, signBundle, verifyBundle } from '../lib/capsules/bundle.ts';
import { bundleBytes } from '../lib/capsules/marketplace.ts';
import { BUNDLE_FORMAT, bundleSignatureSchema, MAX_BUNDLE_FILES } from '../lib/capsules/schemas.ts';

const USAGE = `usage:
  npm run capsule -- keygen --out <prefix>
  npm run capsule -- sign --key <private.pem> <dir> [--out <submission.json>]
  npm run capsule -- verify --pub <public.pem> <submission.json>`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' }, key: { type: 'string' }, pub: { type: 'string' } },
});

function usage(problem: string): never {
  console.error(`${problem}\n${USAGE}`);
  process.exit(2);
}

function refused(error: unknown): never {
  if (error instanceof BundleRefusedError) {
    console.error(`refused (${error.check}, ${error.status}):`);
    for (const issue of error.issues) console.error(`  ${issue.path}: ${issue.message}`);
    process.exit(1);
  }
  throw error;
}

/** The files under `dir` (relative paths with `/`), sorted; the manifest excluded. */
function bundleFiles(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at).sort()) {
      const full = path.join(at, entry);
      const relative = path.relative(dir, full).split(path.sep).join('/');
      if (statSync(full).isDirectory()) walk(full);
      else if (relative !== 'capsule.json') files[relative] = readFileSync(full, 'utf8');
      if (Object.keys(files).length > MAX_BUNDLE_FILES) usage(`${dir} holds more than ${MAX_BUNDLE_FILES} files besides capsule.json`);
    }
  };
  walk(dir);
  return files;
}

const [command, target] = positionals;
if (command === 'keygen') {
  if (!values.out) usage('keygen needs --out <prefix>');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePath = `${values.out}.pem`;
  writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  chmodSync(privatePath, 0o600);
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  writeFileSync(`${values.out}.pub.pem`, publicPem);
  console.log(`wrote ${privatePath} (keep it secret) and ${values.out}.pub.pem`);
  console.log(`key id ${keyIdOf(publicPem)}`);
} else if (command === 'sign') {
  if (!values.key || !target) usage('sign needs --key <private.pem> and a directory');
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(path.join(target, 'capsule.json'), 'utf8'));
  } catch (error) {
    usage(`${path.join(target, 'capsule.json')}: ${(error as Error).message}`);
  }
  const content: BundleContent = { format: BUNDLE_FORMAT, manifest, files: bundleFiles(target) };
  try {
    const checked = parseManifest(content);
    const bytes = encodeBundle(content);
    const signature = signBundle(bytes, createPrivateKey(readFileSync(values.key)));
    const out = values.out ?? `${checked.name}-${checked.version}.submission.json`;
    writeFileSync(out, `${JSON.stringify({ bundle: Buffer.from(bytes).toString('base64'), signature }, null, 2)}\n`);
    console.log(
      `${checked.name} ${checked.version}: ${bytes.length} bytes, SHA-256 ${signature.bundleSha256}, signed with key ${signature.keyId}`,
    );
    console.log(`wrote ${out}: POST it as the parameters of /capsules/submissions`);
  } catch (error) {
    refused(error);
  }
} else if (command === 'verify') {
  if (!values.pub || !target) usage('verify needs --pub <public.pem> and a submission file');
  const submission = JSON.parse(readFileSync(target, 'utf8')) as { bundle?: unknown; signature?: unknown };
  const signature = bundleSignatureSchema.safeParse(submission.signature);
  if (typeof submission.bundle !== 'string' || !signature.success) usage(`${target} is not a submission ({ bundle, signature })`);
  const publicKey = readFileSync(values.pub, 'utf8');
  try {
    const bundle = verifyBundle(bundleBytes(submission.bundle), signature.data, {
      author: values.pub,
      keyId: keyIdOf(publicKey),
      publicKey,
    });
    console.log(`verified: ${bundle.manifest.name} ${bundle.manifest.version}, ${bundle.bytes.length} bytes, SHA-256 ${bundle.sha256}`);
  } catch (error) {
    refused(error);
  }
} else {
  usage(command ? `unknown command ${command}` : 'give a command');
}
