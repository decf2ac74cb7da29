/**
 * The bytes of QuickJS compiled to WebAssembly (`@jitl/quickjs-wasmfile-release-sync`, the release
 * build with the synchronous FFI), read from the package as published. In a bundle there is no
 * node_modules: the esbuild plugin `quickjs-wasm-inline` (infra/esbuild/plugins.cjs) replaces this
 * module with one exporting the same function over the bytes embedded gzipped, so callers import
 * this one module either way.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

/** The package subpath of the wasm file (the plugin resolves the same one). */
export const QUICKJS_WASM_SPECIFIER = '@jitl/quickjs-wasmfile-release-sync/wasm';

/** Reads the QuickJS wasm bytes (about 0.5 MB). */
export async function loadQuickJSWasm(): Promise<Uint8Array> {
  return readFile(createRequire(import.meta.url).resolve(QUICKJS_WASM_SPECIFIER));
}
