// A local Serverless plugin: packages the functions (infra/serverless/bundle.ts). The handlers are
// bundled many to an esbuild build with serverless.yml's `custom.esbuild` options, and each function gets
// its own zip (its bundle and source map) as its `package.artifact`. Functions that already have an
// artifact (the template-only stages, infra/local/template.ts) are left as they are.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

class Bundle {
  constructor(serverless, options, { log } = {}) {
    this.serverless = serverless;
    this.options = options;
    this.log = log;
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.package(),
      'after:package:createDeploymentArtifacts': () => this.moveArtifacts(),
      'before:deploy:function:packageFunction': () => this.package(),
      'after:deploy:function:packageFunction': () => this.moveArtifacts(),
    };
  }

  serviceDir() {
    return this.serverless.serviceDir || process.cwd();
  }

  /** One work folder per stage, so two stages packaging at once (npm start + npm test) cannot collide. */
  workDir() {
    return path.join(this.serviceDir(), '.esbuild', this.serverless.getProvider('aws').getStage());
  }

  /** The functions to bundle: those with a handler and no artifact of their own (`--function`: that one). */
  functions() {
    const service = this.serverless.service;
    const names = this.options.function ? [this.options.function] : service.getAllFunctions();
    return names
      .map((name) => ({ name, fn: service.getFunction(name) }))
      .filter(({ fn }) => fn.handler && !fn.image && !fn.package?.artifact);
  }

  async package() {
    const functions = this.functions();
    if (functions.length === 0) return;
    const { bundleFunctions } = await import('./bundle.ts');
    const root = this.serviceDir();
    const result = await bundleFunctions({
      root,
      functions: functions.map(({ name, fn }) => ({ name, handler: fn.handler })),
      esbuild: this.serverless.service.custom?.esbuild,
      workDir: this.workDir(),
    });
    for (const { name, fn } of functions) fn.package = { ...fn.package, artifact: path.relative(root, result.zips.get(name)) };
    this.bundled = functions;
    const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
    this.log?.verbose?.(
      `Bundled ${plural(functions.length, 'function')} in ${plural(result.builds, 'esbuild build')} (${(result.buildMs / 1000).toFixed(1)} s), zipped in ${(result.totalMs / 1000).toFixed(1)} s in all`,
    );
  }

  /**
   * Moves the zips into `.serverless/`, where serverless gathers artifacts (and moves them to
   * `--package` itself), once it has checked them: late, so another stage packaging meanwhile
   * (whose clean-up empties `.serverless/`) cannot take them.
   */
  moveArtifacts() {
    if (!this.bundled) return;
    const root = this.serviceDir();
    const target = path.join(root, '.serverless');
    fs.mkdirSync(target, { recursive: true });
    for (const { fn } of this.bundled) {
      const artifact = path.join('.serverless', path.basename(fn.package.artifact));
      fs.renameSync(path.resolve(root, fn.package.artifact), path.join(root, artifact));
      fn.package.artifact = artifact;
    }
    fs.rmSync(this.workDir(), { recursive: true, force: true });
    this.bundled = undefined;
  }
}

module.exports = Bundle;
