// osls loads this file through ${file(infra/serverless/engines.cjs):functions|resources}: the Serverless
// functions and their roles, generated from the engine manifests (lib/engines/). Node 22.18+ runs the
// TypeScript modules it imports as they are.
'use strict';

module.exports = async ({ resolveVariable }) => {
  const { loadEngines } = await import('./engines.ts');
  const { serverlessConfig } = await import('./functions.ts');
  // Only the engines deployed to this stage (an engine's `stages`; the demo engine is local and dev only).
  const stage = await resolveVariable('sls:stage');
  const { engines, standInHandler } = await loadEngines(stage);
  const params = {};
  for (const engine of engines) {
    for (const action of Object.values(engine.actions)) {
      if (action.schedule) params[action.schedule.param] = await resolveVariable(`param:${action.schedule.param}`);
    }
  }
  // Secrets the functions create (one per tenant) are named under the stage: <service>/<stage>/…
  const service = await resolveVariable('self:service');
  const secretNamePrefix = `${service}/${stage}/`;
  // State machines are named <service>-<stage>-<name> (infra/statemachines.yml).
  const stateMachinePrefix = `${service}-${stage}-`;
  // The gateway's models (infra/gateway/models.json): every stage validated here, so a broken entry
  // fails `sls package` naming its field; functions with `need.invokeModels()` may call exactly this stage's.
  const { readFileSync } = require('node:fs');
  const { apiKeySecrets, parseModelsFile, sageMakerEndpoints } = await import('../../lib/gateway/models.ts');
  const stages = parseModelsFile(JSON.parse(readFileSync(require('node:path').join(__dirname, '..', 'gateway', 'models.json'), 'utf8')));
  const stageModels = stages[stage] ?? stages.default ?? [];
  const models = { endpoints: sageMakerEndpoints(stageModels), apiKeySecrets: apiKeySecrets(stageModels) };
  // Functions are named <service>-<stage>-<function> (the MCP endpoint invokes the routes' functions by name).
  const functionNamePrefix = `${service}-${stage}-`;
  const config = serverlessConfig(engines, { param: (name) => params[name], secretNamePrefix, stateMachinePrefix, models, functionNamePrefix });
  if (standInHandler) for (const fn of Object.values(config.functions)) fn.handler = standInHandler;
  // A stage packaged for its template only (infra/local/template.ts: the local cloud runs the source):
  // no bundles, every function pointing at one placeholder artifact.
  const placeholder = process.env.AUTONOMY_TEMPLATE_ONLY;
  if (placeholder) {
    for (const fn of Object.values(config.functions)) {
      fn.package = { ...fn.package, artifact: placeholder };
    }
  }
  return config;
};
