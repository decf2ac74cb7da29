/**
 * Which local SageMaker endpoints exist. Always:
 * - `echo`: a wire-protocol stand-in that answers the request body (not a model);
 * - `standin-a`, `standin-b` (seeds `a`, `b`), `standin-tgi` (seed `tgi`, context 4096) and
 *   `standin-embed` (embedding only, TEI): the deterministic model stand-ins of ./standin.ts, which the
 *   local stage's models (infra/gateway/models.json) call.
 *
 * `AUTONOMY_LOCAL_MODELS` adds endpoints or replaces these, comma-separated:
 * - `name=openai:<baseUrl>#<model>`: a real OpenAI-compatible server (vLLM, Ollama's /v1, LM Studio),
 *   e.g. `standin-a=openai:http://127.0.0.1:11434#llama3.2` puts a real model behind `standin-a`;
 * - `name=standin` or `name=standin:<seed>`: another generating stand-in; `name=standin-embed`: another embedding one;
 * - `name=echo`.
 */
import { echoBackend, openAiCompatibleBackend } from './backends.ts';
import type { ModelBackend } from './runtime.ts';
import { defaultStandIns, StandIn, standInBackend } from './standin.ts';

/** The local models: SageMaker endpoints by name, and the stand-ins among them (also served over HTTP). */
export interface LocalModels {
  endpoints: Record<string, ModelBackend>;
  standIns: Record<string, StandIn>;
}

/**
 * The local endpoints: the defaults, then `spec`'s entries (an entry replaces a default of its name).
 * @throws Error naming the entry that is malformed.
 */
export function localModels(spec = process.env.AUTONOMY_LOCAL_MODELS): LocalModels {
  const standIns = defaultStandIns();
  const endpoints: Record<string, ModelBackend> = { echo: echoBackend() };
  for (const [name, standIn] of Object.entries(standIns)) endpoints[name] = standInBackend(standIn);
  for (const entry of (spec ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)) {
    const [name, backend = ''] = entry.split(/=(.*)/s);
    if (!name) throw new Error(`AUTONOMY_LOCAL_MODELS: entry "${entry}" has no name`);
    delete standIns[name];
    if (backend === 'echo') endpoints[name] = echoBackend();
    else if (backend === 'standin-embed' || backend === 'standin' || backend.startsWith('standin:')) {
      const standIn = new StandIn({
        name,
        seed: backend.startsWith('standin:') ? backend.slice('standin:'.length) || name : name,
        kind: backend === 'standin-embed' ? 'embed' : 'generate',
      });
      standIns[name] = standIn;
      endpoints[name] = standInBackend(standIn);
    } else if (backend.startsWith('openai:')) {
      const [baseUrl = '', model = ''] = backend.slice('openai:'.length).split('#');
      if (!baseUrl || !model) throw new Error(`AUTONOMY_LOCAL_MODELS: "${entry}" must be name=openai:<baseUrl>#<model>`);
      endpoints[name] = openAiCompatibleBackend({ baseUrl, model, apiKey: process.env.AUTONOMY_LOCAL_MODELS_API_KEY });
    } else
      throw new Error(
        `AUTONOMY_LOCAL_MODELS: "${entry}" must be name=echo, name=standin[:<seed>], name=standin-embed or name=openai:<baseUrl>#<model>`,
      );
  }
  return { endpoints, standIns };
}

/**
 * The local endpoints by name (see {@link localModels}).
 * @throws Error naming the entry that is malformed.
 */
export function localModelEndpoints(spec = process.env.AUTONOMY_LOCAL_MODELS): Record<string, ModelBackend> {
  return localModels(spec).endpoints;
}
