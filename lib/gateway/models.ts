/**
 * The gateway's model configuration: which models a stage has, what serves each (a SageMaker
 * endpoint in one of the serving containers' payload formats, an OpenAI-compatible server, Ollama),
 * their limits, prices and tokenizer, and how calls to them are made resilient (timeout, retries,
 * fallbacks, in-flight mark). The file is `infra/gateway/models.json`:
 *
 * ```json
 * {
 *   "defaults": { "timeoutMs": 30000, "retries": 2, "maxInFlight": 32 },
 *   "stages": {
 *     "default": [],
 *     "local": [{ "name": "standin-a", "provider": "sagemaker", "endpoint": "standin-a", "format": "messages", … }]
 *   }
 * }
 * ```
 *
 * A stage gets `stages.<stage>`, else `stages.default`, else no models; `defaults` fill the fields a
 * model leaves out. `sls package` validates every stage's list (infra/serverless/engines.cjs) and
 * grants `sagemaker:InvokeEndpoint*` on exactly the packaged stage's endpoints; functions bundle
 * the file and read their stage's list at cold start. Pure: no AWS, no file access.
 */
import { z } from 'zod';
import type { ModelInfo } from './backend.ts';
import { CHAT_TEMPLATES } from './payloads.ts';
import { MAX_OUTPUT_TOKENS, modelNameSchema } from './schemas.ts';

/** A SageMaker endpoint name (the service's own pattern, 1-63 characters). */
const endpointNameSchema = z
  .string()
  .regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, 'SageMaker endpoint names are 1-63 letters, digits and single hyphens');
/** A Secrets Manager secret name (not an ARN). */
const secretNameSchema = z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'secret names are 1-512 letters, digits and /_+=.@-');
const httpUrlSchema = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048);

/** Fields every model has, whatever serves it. */
const modelFields = {
  name: modelNameSchema,
  /** What serves it, in words, for `GET /gateway/models` (stand-ins say they are stand-ins); generated when absent. */
  description: z.string().min(1).max(500).optional(),
  /** Context window in tokens (input + output). */
  contextTokens: z.number().int().min(1).max(100_000_000),
  /** Largest `maxTokens` a call may ask for. */
  maxOutputTokens: z.number().int().min(1).max(MAX_OUTPUT_TOKENS),
  /** USD per 1,000 input tokens. */
  priceInputPer1k: z.number().min(0).max(1e6),
  /** USD per 1,000 output tokens. */
  priceOutputPer1k: z.number().min(0).max(1e6),
  tokenizer: z.enum(['cl100k_base', 'o200k_base', 'approx']),
  /** Whether it embeds (`ModelBackend.embed`). */
  embeddings: z.boolean().default(false),
  /** Whether it generates (`generate`, `stream`); false for an embedding-only model. */
  chat: z.boolean().default(true),
  /** Milliseconds one attempt may take (a stream: to its first event, and between events). */
  timeoutMs: z.number().int().min(100).max(900_000).default(60_000),
  /** Retries on the same model after a retryable failure (full-jitter backoff), before falling back. */
  retries: z.number().int().min(0).max(5).default(2),
  /** Models tried in order when this one fails or its circuit is open (not followed transitively). */
  fallbacks: z.array(modelNameSchema).max(8).default([]),
  /** In-flight calls past which the model is busy (skipped for a fallback; 429 when every one is). */
  maxInFlight: z.number().int().min(1).max(1_000_000).default(32),
  /** The model that embeds for this one (arbitration, retrieval); must have `embeddings`. */
  embedModel: modelNameSchema.optional(),
};

/**
 * An endpoint the stage's stack declares (optional): a SageMaker model (the container `image`,
 * optional `modelDataUrl` artifacts, `environment`), an endpoint configuration with one variant
 * `AllTraffic` of `instanceCount` × `instanceType`, and the endpoint named as the model's `endpoint`
 * (infra/serverless/model-endpoints.ts). Without it the endpoint is expected to exist already.
 */
export const endpointDeploymentSchema = z.strictObject({
  /** The serving container, an ECR image URI (e.g. a Hugging Face TGI or TEI deep-learning container). */
  image: z
    .string()
    .max(255)
    .regex(
      /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[a-z0-9._/-]+(:[\w.-]+|@sha256:[a-f0-9]{64})$/,
      'must be an ECR image URI: <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>',
    ),
  /** Model artifacts: an S3 object (`s3://bucket/model.tar.gz`) or prefix ending in `/`; absent when the container fetches its model itself (`HF_MODEL_ID`). */
  modelDataUrl: z
    .string()
    .max(1024)
    .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+$/, 'must be s3://<bucket>/<key or prefix/>')
    .optional(),
  instanceType: z.string().regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type such as ml.g5.xlarge'),
  instanceCount: z.number().int().min(1).max(20).default(1),
  /** Container environment (`HF_MODEL_ID`, `SM_NUM_GPUS`, `MAX_INPUT_TOKENS`, …); never secrets: the template is readable. */
  environment: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/, 'environment names are letters, digits and _'), z.string().max(1024))
    .default({}),
  /** Seconds SageMaker waits for the container to pass its health check (large models load slowly). */
  startupTimeoutSeconds: z.number().int().min(60).max(3600).optional(),
});
/** An endpoint the stack declares. */
export type EndpointDeployment = z.infer<typeof endpointDeploymentSchema>;

/**
 * A model behind a SageMaker endpoint, by the payload format of its container:
 * `messages` (the OpenAI-style Messages API of the TGI and LMI containers), `tgi` (TGI's
 * `inputs`/`parameters`, the messages rendered with `template`), `tei` (Text Embeddings Inference:
 * `{ inputs: [...] }` → `[[...]]`, embedding only).
 */
export const sageMakerModelSchema = z.strictObject({
  ...modelFields,
  provider: z.literal('sagemaker'),
  endpoint: endpointNameSchema,
  format: z.enum(['messages', 'tgi', 'tei']),
  /** The chat template (`tgi` only): `chatml`, `llama3` or `mistral` (lib/gateway/payloads.ts). */
  template: z.enum(CHAT_TEMPLATES).optional(),
  /** `model` sent in Messages API bodies, for containers that want one (TGI takes `tgi`); absent: none sent. */
  model: z.string().min(1).max(256).optional(),
  /** The production variant to call (`TargetVariant`); absent: SageMaker routes by weight. */
  targetVariant: endpointNameSchema.optional(),
  /** Declare the endpoint in the stage's stack (see {@link endpointDeploymentSchema}); absent: it exists already. */
  deploy: endpointDeploymentSchema.optional(),
});

/** A model on an OpenAI-compatible server (vLLM, LM Studio, llama.cpp, hosted APIs): `/v1/chat/completions`, `/v1/embeddings`. */
export const openAiModelSchema = z.strictObject({
  ...modelFields,
  provider: z.literal('openai'),
  /** With or without the `/v1` suffix. */
  baseUrl: httpUrlSchema,
  /** The server's model id. */
  model: z.string().min(1).max(256),
  /** Secrets Manager secret holding the API key (the raw key, or JSON `{ "apiKey": … }`); absent: no key sent. */
  apiKeySecret: secretNameSchema.optional(),
});

/** A model on Ollama's native API: `/api/chat`, `/api/embed`. */
export const ollamaModelSchema = z.strictObject({
  ...modelFields,
  provider: z.literal('ollama'),
  baseUrl: httpUrlSchema,
  model: z.string().min(1).max(256),
});

/** One configured model. */
export const modelConfigSchema = z
  .discriminatedUnion('provider', [sageMakerModelSchema, openAiModelSchema, ollamaModelSchema])
  .superRefine((model, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (!model.chat && !model.embeddings) issue('chat', 'a model must generate (chat) or embed (embeddings), or both');
    if (model.chat && model.maxOutputTokens >= model.contextTokens)
      issue('maxOutputTokens', `must be below contextTokens (${model.contextTokens})`);
    if (model.provider !== 'sagemaker') return;
    if (model.format === 'tgi' && model.template === undefined)
      issue('template', 'a tgi model needs its chat template: chatml, llama3 or mistral');
    if (model.format !== 'tgi' && model.template !== undefined) issue('template', 'only tgi models take a chat template');
    if (model.format === 'tei' && model.chat) issue('chat', 'a tei endpoint only embeds: set "chat": false');
    if (model.format === 'tei' && !model.embeddings) issue('embeddings', 'a tei endpoint embeds: set "embeddings": true');
    if (model.format !== 'tei' && model.embeddings)
      issue('embeddings', `a ${model.format} endpoint does not embed; use a tei endpoint as embedModel`);
  });
/** One configured model. */
export type ModelConfig = z.infer<typeof modelConfigSchema>;
/** A SageMaker model. */
export type SageMakerModelConfig = z.infer<typeof sageMakerModelSchema>;
/** An OpenAI-compatible model. */
export type OpenAiModelConfig = z.infer<typeof openAiModelSchema>;
/** An Ollama model. */
export type OllamaModelConfig = z.infer<typeof ollamaModelSchema>;

/** A stage's models: names unique, fallbacks and embedding models that exist and can do what they are for. */
export const modelListSchema = z
  .array(modelConfigSchema)
  .max(64)
  .superRefine((models, ctx) => {
    const byName = new Map<string, ModelConfig>();
    models.forEach((model, index) => {
      if (byName.has(model.name))
        ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `model ${model.name} is configured twice` });
      byName.set(model.name, model);
    });
    const declared = new Map<string, string>();
    models.forEach((model, index) => {
      if (model.provider === 'sagemaker' && model.deploy) {
        const other = declared.get(model.endpoint);
        if (other)
          ctx.addIssue({ code: 'custom', path: [index, 'deploy'], message: `endpoint ${model.endpoint} is already declared by ${other}` });
        declared.set(model.endpoint, model.name);
      }
      model.fallbacks.forEach((name, position) => {
        const target = byName.get(name);
        const path = [index, 'fallbacks', position];
        if (name === model.name) ctx.addIssue({ code: 'custom', path, message: 'a model cannot fall back to itself' });
        else if (!target) ctx.addIssue({ code: 'custom', path, message: `no model named ${name} in this stage` });
        else if (!target.chat) ctx.addIssue({ code: 'custom', path, message: `${name} does not generate` });
        if (model.fallbacks.indexOf(name) !== position) ctx.addIssue({ code: 'custom', path, message: `${name} is listed twice` });
      });
      if (model.embedModel !== undefined) {
        const target = byName.get(model.embedModel);
        if (!target)
          ctx.addIssue({ code: 'custom', path: [index, 'embedModel'], message: `no model named ${model.embedModel} in this stage` });
        else if (!target.embeddings)
          ctx.addIssue({ code: 'custom', path: [index, 'embedModel'], message: `${model.embedModel} does not embed` });
      }
    });
  });

/** Fields `defaults` may fill. */
const defaultsSchema = z.strictObject({
  contextTokens: modelFields.contextTokens.optional(),
  maxOutputTokens: modelFields.maxOutputTokens.optional(),
  priceInputPer1k: modelFields.priceInputPer1k.optional(),
  priceOutputPer1k: modelFields.priceOutputPer1k.optional(),
  tokenizer: modelFields.tokenizer.optional(),
  timeoutMs: z.number().int().min(100).max(900_000).optional(),
  retries: z.number().int().min(0).max(5).optional(),
  maxInFlight: z.number().int().min(1).max(1_000_000).optional(),
});

/** A stage name as serverless takes it, or `default`. */
const stageKeySchema = z.string().regex(/^[a-zA-Z0-9-]{1,32}$/, 'stage names are 1-32 letters, digits and hyphens');

/** The file: `defaults` and one model list per stage (`default` for the stages not listed). */
export const modelsFileSchema = z.strictObject({
  /** A comment (JSON has none). */
  $comment: z.union([z.string(), z.array(z.string())]).optional(),
  defaults: defaultsSchema.default({}),
  stages: z.record(stageKeySchema, z.array(z.record(z.string(), z.unknown()))),
});

/** The model configuration is invalid; the message names each field (`stages.local[0].endpoint: …`). */
export class ModelConfigError extends Error {
  override readonly name = 'ModelConfigError';
}

function describeIssues(error: z.ZodError, prefix: (string | number)[]): string {
  return error.issues
    .slice(0, 10)
    .map((issue) => {
      const path = [...prefix, ...issue.path]
        .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
        .join('');
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

/**
 * Every stage's models from the parsed file, `defaults` applied, each list validated.
 * @throws ModelConfigError naming every invalid field (e.g. `stages.local[1].fallbacks[0]: no model named x in this stage`).
 * @example
 * const stages = parseModelsFile(JSON.parse(await readFile('infra/gateway/models.json', 'utf8')));
 * stages.local?.map((model) => model.name) // ['standin-a', …]
 */
export function parseModelsFile(file: unknown): Record<string, ModelConfig[]> {
  const parsed = modelsFileSchema.safeParse(file);
  if (!parsed.success) throw new ModelConfigError(`infra/gateway/models.json: ${describeIssues(parsed.error, [])}`);
  const stages: Record<string, ModelConfig[]> = {};
  for (const [stage, list] of Object.entries(parsed.data.stages)) {
    // Only the model's own fields are filled; `$comment` on a model is allowed and dropped.
    const filled = list.map(({ $comment: _comment, ...model }) => ({
      ...parsed.data.defaults,
      ...Object.fromEntries(Object.entries(model).filter(([, value]) => value !== undefined)),
    }));
    const models = modelListSchema.safeParse(filled);
    if (!models.success) throw new ModelConfigError(`infra/gateway/models.json: ${describeIssues(models.error, ['stages', stage])}`);
    stages[stage] = models.data;
  }
  return stages;
}

/**
 * The models of `stage`: its own list, else the `default` list, else none.
 * @throws ModelConfigError when any stage of the file is invalid (a broken prod entry fails a dev package too).
 */
export function stageModels(file: unknown, stage: string): ModelConfig[] {
  const stages = parseModelsFile(file);
  return stages[stage] ?? stages.default ?? [];
}

/** The SageMaker endpoints the models call, once each, in order: what `need.invokeModels()` grants. */
export function sageMakerEndpoints(models: readonly ModelConfig[]): string[] {
  return [...new Set(models.flatMap((model) => (model.provider === 'sagemaker' ? [model.endpoint] : [])))];
}

/** The SageMaker endpoints the stage's stack declares, with what they serve (one entry per endpoint). */
export function declaredEndpoints(models: readonly ModelConfig[]): Array<{ endpoint: string; model: string; deploy: EndpointDeployment }> {
  return models.flatMap((model) =>
    model.provider === 'sagemaker' && model.deploy ? [{ endpoint: model.endpoint, model: model.name, deploy: model.deploy }] : [],
  );
}

/** The Secrets Manager secrets holding the models' API keys, once each: what `need.invokeModels()` lets functions read. */
export function apiKeySecrets(models: readonly ModelConfig[]): string[] {
  return [...new Set(models.flatMap((model) => (model.provider === 'openai' && model.apiKeySecret ? [model.apiKeySecret] : [])))];
}

/** The description a model gets when its entry names none. */
function defaultDescription(model: ModelConfig): string {
  switch (model.provider) {
    case 'sagemaker': {
      const format =
        model.format === 'messages' ? 'Messages API' : model.format === 'tgi' ? `TGI (${model.template} template)` : 'TEI embeddings';
      return `SageMaker endpoint ${model.endpoint}, ${format}`;
    }
    case 'openai':
      return `OpenAI-compatible server, model ${model.model}`;
    case 'ollama':
      return `Ollama, model ${model.model}`;
  }
}

/**
 * What the gateway tells callers about a model ({@link ModelInfo}), from its configuration.
 * @example modelInfo(standinA).description // 'Local stand-in (deterministic, not a model) …'
 */
export function modelInfo(model: ModelConfig): ModelInfo {
  return {
    name: model.name,
    provider: model.provider,
    description: model.description ?? defaultDescription(model),
    contextTokens: model.contextTokens,
    maxOutputTokens: model.maxOutputTokens,
    priceInputPer1k: model.priceInputPer1k,
    priceOutputPer1k: model.priceOutputPer1k,
    tokenizer: model.tokenizer,
    embeddings: model.embeddings,
  };
}
