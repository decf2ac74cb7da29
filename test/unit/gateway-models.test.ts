/** The gateway's model configuration (lib/gateway/models.ts) and the stage file infra/gateway/models.json. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { apiKeySecrets, ModelConfigError, modelInfo, parseModelsFile, sageMakerEndpoints, stageModels } from '../../lib/gateway/models.ts';

const file = JSON.parse(await readFile(new URL('../../infra/gateway/models.json', import.meta.url), 'utf8')) as unknown;

const chat = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  provider: 'sagemaker',
  endpoint: name,
  format: 'messages',
  contextTokens: 4096,
  maxOutputTokens: 1024,
  priceInputPer1k: 0.001,
  priceOutputPer1k: 0.002,
  tokenizer: 'cl100k_base',
  ...extra,
});

/** The message of the ModelConfigError `run` throws. */
function configError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ModelConfigError, String(error));
    return error.message;
  }
  assert.fail('expected a ModelConfigError');
}

describe('infra/gateway/models.json', () => {
  it('gives the local stage the four stand-ins, each described as a stand-in, and every other stage none', () => {
    const local = stageModels(file, 'local');
    assert.deepEqual(
      local.map((model) => model.name),
      ['standin-a', 'standin-b', 'standin-tgi', 'standin-embed'],
    );
    for (const model of local) assert.match(modelInfo(model).description, /stand-in/i, model.name);
    assert.deepEqual(sageMakerEndpoints(local), ['standin-a', 'standin-b', 'standin-tgi', 'standin-embed']);
    assert.deepEqual(stageModels(file, 'prod'), []);
    const a = local[0];
    assert.equal(a?.timeoutMs, 30_000, 'defaults fill what a model leaves out');
    assert.deepEqual(a?.fallbacks, ['standin-b', 'standin-tgi']);
  });
});

describe('parseModelsFile', () => {
  it('applies defaults, then built-in defaults, keeping what a model sets', () => {
    const stages = parseModelsFile({
      defaults: { retries: 4, contextTokens: 2048 },
      stages: { dev: [chat('m', { retries: 1, contextTokens: undefined })] },
    });
    const [model] = stages.dev ?? [];
    assert.equal(model?.retries, 1);
    assert.equal(model?.maxInFlight, 32);
    assert.equal(model?.timeoutMs, 60_000);
    assert.deepEqual(model?.fallbacks, []);
    assert.equal(model?.chat, true);
    assert.equal(model?.embeddings, false);
  });

  it('uses the default list for a stage not listed', () => {
    assert.deepEqual(
      stageModels({ stages: { default: [chat('m')] } }, 'staging').map((model) => model.name),
      ['m'],
    );
  });

  it('names the stage, index and field of every mistake', () => {
    assert.match(
      configError(() => parseModelsFile({ stages: { dev: [chat('m', { endpoint: 'bad_name' })] } })),
      /stages\.dev\[0\]\.endpoint: SageMaker endpoint names/,
    );
    assert.match(
      configError(() => parseModelsFile({ stages: { dev: [chat('m', { fallbacks: ['ghost'] })] } })),
      /stages\.dev\[0\]\.fallbacks\[0\]: no model named ghost/,
    );
    assert.match(
      configError(() => parseModelsFile({ stages: { dev: [chat('m', { fallbacks: ['m'] })] } })),
      /cannot fall back to itself/,
    );
    assert.match(
      configError(() => parseModelsFile({ stages: { dev: [chat('m'), chat('m')] } })),
      /stages\.dev\[1\]\.name: model m is configured twice/,
    );
    assert.match(
      configError(() => parseModelsFile({ stages: { dev: [chat('m', { format: 'tgi' })] } })),
      /stages\.dev\[0\]\.template: a tgi model needs its chat template/,
    );
    assert.match(
      configError(() => parseModelsFile({ stages: { dev: [chat('m', { maxOutputTokens: 4096 })] } })),
      /maxOutputTokens: must be below contextTokens/,
    );
    assert.match(
      configError(() => parseModelsFile({ stages: { dev: [chat('m', { embedModel: 'm' })] } })),
      /embedModel: m does not embed/,
    );
    assert.match(
      configError(() => parseModelsFile({ stages: { dev: [chat('m', { format: 'tei' })] } })),
      /a tei endpoint only embeds/,
    );
    assert.match(
      configError(() => parseModelsFile({ stages: { dev: [chat('m', { provider: 'bedrock' })] } })),
      /stages\.dev\[0\]\.provider/,
    );
    assert.match(
      configError(() => parseModelsFile({ stages: { dev: [chat('m', { colour: 'blue' })] } })),
      /colour/,
    );
    assert.match(
      configError(() =>
        parseModelsFile({
          stages: {
            dev: [
              {
                name: 'o',
                provider: 'openai',
                baseUrl: 'ftp://x',
                model: 'x',
                contextTokens: 10,
                maxOutputTokens: 5,
                priceInputPer1k: 0,
                priceOutputPer1k: 0,
                tokenizer: 'approx',
              },
            ],
          },
        }),
      ),
      /stages\.dev\[0\]\.baseUrl: must be an http\(s\) URL/,
    );
    assert.match(
      configError(() => parseModelsFile({ stages: {}, extra: 1 })),
      /extra/,
    );
  });

  it('lists the endpoints and API-key secrets functions may use, once each', () => {
    const models = stageModels(
      {
        stages: {
          dev: [
            chat('a'),
            chat('b', { endpoint: 'a' }),
            {
              name: 'o',
              provider: 'openai',
              baseUrl: 'https://api.example.com/v1',
              model: 'gpt',
              apiKeySecret: 'autonomy/dev/openai',
              contextTokens: 10,
              maxOutputTokens: 5,
              priceInputPer1k: 0,
              priceOutputPer1k: 0,
              tokenizer: 'o200k_base',
            },
            {
              name: 'l',
              provider: 'ollama',
              baseUrl: 'http://127.0.0.1:11434',
              model: 'llama3.2',
              contextTokens: 10,
              maxOutputTokens: 5,
              priceInputPer1k: 0,
              priceOutputPer1k: 0,
              tokenizer: 'approx',
            },
          ],
        },
      },
      'dev',
    );
    assert.deepEqual(sageMakerEndpoints(models), ['a']);
    assert.deepEqual(apiKeySecrets(models), ['autonomy/dev/openai']);
    assert.equal(modelInfo(models[2] as (typeof models)[number]).description, 'OpenAI-compatible server, model gpt');
    assert.equal(modelInfo(models[0] as (typeof models)[number]).description, 'SageMaker endpoint a, Messages API');
  });
});
