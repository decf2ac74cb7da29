// The service version every function reports (provenance, health, heartbeat): package.json's version
// and, when built from a git checkout, the commit, e.g. `0.1.0+4b2202d`. Read at package time.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = () => {
  const root = path.resolve(__dirname, '..', '..');
  const { version } = require(path.join(root, 'package.json'));
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return commit ? `${version}+${commit}` : version;
  } catch {
    return version;
  }
};
