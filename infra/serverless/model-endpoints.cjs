// osls loads this file through ${file(infra/serverless/model-endpoints.cjs):resources}: the SageMaker
// endpoints the packaged stage declares (models with `deploy` in infra/gateway/models.json), generated
// by model-endpoints.ts. A stage without any gets an empty fragment.
'use strict';

const { readFileSync } = require('node:fs');
const path = require('node:path');

module.exports = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  const { parseModelsFile, declaredEndpoints } = await import('../../lib/gateway/models.ts');
  const { endpointResources } = await import('./model-endpoints.ts');
  const stages = parseModelsFile(JSON.parse(readFileSync(path.join(__dirname, '..', 'gateway', 'models.json'), 'utf8')));
  return { resources: { Resources: endpointResources(declaredEndpoints(stages[stage] ?? stages.default ?? [])) } };
};
