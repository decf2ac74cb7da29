#!/usr/bin/env node
// Entry point for npm scripts: checks the prerequisites in plain JavaScript (so an old Node gets a
// clear message instead of a syntax error), then runs the TypeScript module given as argument.
//   node scripts/run.mjs [--needs-java] <module.ts> [args...]
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const REQUIRED_NODE = [22, 18];
const args = process.argv.slice(2);
const needsJava = args[0] === '--needs-java';
if (needsJava) args.shift();
const [entry, ...rest] = args;

const problems = [];
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < REQUIRED_NODE[0] || (major === REQUIRED_NODE[0] && minor < REQUIRED_NODE[1])) {
  problems.push(
    `Node.js ${REQUIRED_NODE.join('.')} or newer is required (this is ${process.version}).\n` +
      '    Get it with nvm (`nvm install` reads .nvmrc), or without root: `npm install --prefix ~/.node22 node@22` ' +
      'and put ~/.node22/node_modules/.bin first on PATH.',
  );
}
if (needsJava) {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${java.stderr ?? ''}${java.stdout ?? ''}`);
  const javaMajor = match ? (Number(match[1]) === 1 ? Number(match[2]) : Number(match[1])) : undefined;
  if (java.error || javaMajor === undefined || javaMajor < 11) {
    problems.push(
      'Java 11 or newer is required to run DynamoDB Local (the local cloud\'s database).\n' +
        '    On Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless   (macOS: brew install openjdk@17)',
    );
  }
}
if (problems.length > 0) {
  console.error(`Cannot start: missing prerequisites\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
if (!entry) {
  console.error('usage: node scripts/run.mjs [--needs-java] <module.ts> [args...]');
  process.exit(2);
}
// fauxqs uses node:sqlite, which Node 22 flags as experimental on every start; keep other warnings.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'ExperimentalWarning') console.warn(`${warning.name}: ${warning.message}`);
});
process.argv = [process.argv[0], path.resolve(entry), ...rest];
await import(pathToFileURL(path.resolve(entry)).href);
