#!/usr/bin/env node
// autonomy-verify --export <file.jsonl> --keys <keys.json>
// Plain JavaScript on purpose: it must run (and explain itself) before Node's TypeScript support
// is known to be there. The verifier itself is lib/audit/cli.ts, loaded by type stripping.
import { readFile } from 'node:fs/promises';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`autonomy-verify needs Node.js 22.18 or newer (it runs TypeScript directly); this is ${process.version}.`);
  process.exit(2);
}

const { runCli } = await import('../lib/audit/cli.ts');
process.exitCode = await runCli(process.argv.slice(2), {
  readFile: (path) => readFile(path, 'utf8'),
  stdout: (line) => console.log(line),
  stderr: (line) => console.error(line),
});
