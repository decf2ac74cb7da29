/**
 * Which local SageMaker endpoints exist. `AUTONOMY_LOCAL_MODELS` lists them as
 * `name=echo` or `name=openai:<baseUrl>#<model>` separated by commas, e.g.
 * `chat=openai:http://127.0.0.1:11434#llama3.2,probe=echo` (Ollama behind the endpoint `chat`).
 * Without it, one endpoint named `echo` exists (a wire-protocol stand-in, not a model).
 */
import { echoBackend, openAiCompatibleBackend } from './backends.ts';
import type { ModelBackend } from './runtime.ts';

/**
 * Parses the endpoint list.
 * @throws Error naming the entry that is malformed.
 */
export function localModelEndpoints(spec = process.env.AUTONOMY_LOCAL_MODELS): Record<string, ModelBackend> {
  if (!spec) return { echo: echoBackend() };
  const endpoints: Record<string, ModelBackend> = {};
  for (const entry of spec.split(',').map((item) => item.trim()).filter(Boolean)) {
    const [name, backend = ''] = entry.split(/=(.*)/s);
    if (!name) throw new Error(`AUTONOMY_LOCAL_MODELS: entry "${entry}" has no name`);
    if (backend === 'echo') endpoints[name] = echoBackend();
    else if (backend.startsWith('openai:')) {
      const [baseUrl = '', model = ''] = backend.slice('openai:'.length).split('#');
      if (!baseUrl || !model) throw new Error(`AUTONOMY_LOCAL_MODELS: "${entry}" must be name=openai:<baseUrl>#<model>`);
      endpoints[name] = openAiCompatibleBackend({ baseUrl, model, apiKey: process.env.AUTONOMY_LOCAL_MODELS_API_KEY });
    } else throw new Error(`AUTONOMY_LOCAL_MODELS: "${entry}" must be name=echo or name=openai:<baseUrl>#<model>`);
  }
  return endpoints;
}
