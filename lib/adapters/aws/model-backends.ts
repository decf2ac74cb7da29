/**
 * The stage's models, their backends and the router over them, built once per container from the
 * bundled infra/gateway/models.json (esbuild inlines it; `sls package` has validated it):
 * SageMaker endpoints through the runtime client, OpenAI-compatible servers (API key from a Secrets
 * Manager secret, read once and kept), Ollama.
 */

import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import modelsFile from '../../../infra/gateway/models.json' with { type: 'json' };
import type { ModelBackend } from '../../gateway/backend.ts';
import { type ModelConfig, stageModels } from '../../gateway/models.ts';
import { ModelRouter, type RouterOptions } from '../../gateway/resilience.ts';
import type { Fetch } from '../http/model-http.ts';
import { ollamaBackend } from '../http/ollama-backend.ts';
import { openAiBackend } from '../http/openai-backend.ts';
import { sageMakerRuntimeClient, secretsManagerClient } from './clients.ts';
import { mappedSend } from './errors.ts';
import { sageMakerBackend } from './sagemaker-backend.ts';

/** What {@link modelBackends} builds backends with (the shared clients and global fetch by default). */
export interface ModelBackendDeps {
  sagemaker?: SageMakerRuntimeClient;
  secrets?: SecretsManagerClient;
  fetch?: Fetch;
}

/**
 * The API key in a Secrets Manager secret: the raw `SecretString`, or its `apiKey` field when it is
 * JSON (`{ "apiKey": "sk-…" }`). Read on first use and kept for the container's life.
 * @throws DependencyError when Secrets Manager is unavailable; Error when the secret holds no key.
 */
export function secretApiKey(secretName: string, client: SecretsManagerClient = secretsManagerClient()): () => Promise<string> {
  let key: Promise<string> | undefined;
  return () => {
    key ??= (async () => {
      const { SecretString } = await mappedSend(client, 'SecretsManager')(new GetSecretValueCommand({ SecretId: secretName }));
      let value = SecretString?.trim() ?? '';
      if (value.startsWith('{')) {
        try {
          const parsed = JSON.parse(value) as { apiKey?: unknown };
          value = typeof parsed.apiKey === 'string' ? parsed.apiKey : '';
        } catch {
          // Not JSON after all: the string is the key.
        }
      }
      if (!value) throw new Error(`the secret ${secretName} holds no API key (a raw key, or JSON with "apiKey")`);
      return value;
    })();
    // A failed read is retried on the next call rather than kept.
    key.catch(() => {
      key = undefined;
    });
    return key;
  };
}

/** The backend of one configured model. */
export function modelBackend(model: ModelConfig, deps: ModelBackendDeps = {}): ModelBackend {
  switch (model.provider) {
    case 'sagemaker':
      return sageMakerBackend(model, deps.sagemaker ?? sageMakerRuntimeClient());
    case 'openai':
      return openAiBackend(model, {
        ...(model.apiKeySecret ? { apiKey: secretApiKey(model.apiKeySecret, deps.secrets ?? secretsManagerClient()) } : {}),
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      });
    case 'ollama':
      return ollamaBackend(model, deps.fetch ? { fetch: deps.fetch } : {});
  }
}

/** Backends of every model, by model name. */
export function modelBackends(models: readonly ModelConfig[], deps: ModelBackendDeps = {}): Record<string, ModelBackend> {
  return Object.fromEntries(models.map((model) => [model.name, modelBackend(model, deps)]));
}

/** A stage's models, their backends, and the router over them. */
export interface GatewayModels {
  models: ModelConfig[];
  byName: ReadonlyMap<string, ModelConfig>;
  backends: Record<string, ModelBackend>;
  router: ModelRouter;
}

const built = new Map<string, GatewayModels>();

/**
 * The models of `stage` from the bundled configuration, built once per container (breakers and
 * in-flight counts live in the router, so they must outlive one invocation).
 * @throws ModelConfigError when the bundled file is invalid (`sls package` refuses such a file first).
 * @example
 * const { router, byName } = gatewayModels(config().STAGE);
 * const reply = await router.generate('standin-a', { messages, maxTokens: 256 });
 */
export function gatewayModels(stage: string, deps: ModelBackendDeps = {}, options: RouterOptions = {}): GatewayModels {
  const cached = built.get(stage);
  if (cached) return cached;
  const models = stageModels(modelsFile, stage);
  const backends = modelBackends(models, deps);
  const result: GatewayModels = {
    models,
    byName: new Map(models.map((model) => [model.name, model])),
    backends,
    router: ModelRouter.fromConfig(models, backends, options),
  };
  built.set(stage, result);
  return result;
}
