/** /gateway/models: the stage's models with their limits and prices. */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { gatewayModels } from '../../lib/adapters/aws/model-backends.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { config } from '../../lib/config.ts';
import { modelView } from '../../lib/gateway/engine.ts';
import { listModelsRoute } from '../../lib/gateway/routes.ts';

export const handler = engineHandler(
  engineDeps(),
  route(listModelsRoute, async () => ({ result: { models: gatewayModels(config().STAGE).models.map(modelView) } })),
);
