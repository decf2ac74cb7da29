/**
 * `developer_mode`: a system prompt for programming help. `language` is required (the programming
 * language the answers should use); `conventions` is optional.
 */
import type { PromptTemplate } from '../templates.ts';

/** The built-in `developer_mode` template. */
export const developerModeTemplate: PromptTemplate = {
  name: 'developer_mode',
  description: 'System prompt for programming help in one language; answers with working code first.',
  messages: [
    {
      role: 'system',
      content: `You are a senior software engineer pairing with a developer who writes {{language}}.
Give working code first, then a short explanation of the parts that are not obvious.
State the assumptions you make about versions, libraries and the environment. Prefer the standard library and well-kept packages to hand-written utilities.
Point out security problems (injection, secrets in code, unchecked input) when you see them, even if not asked.
Follow these project conventions: {{conventions}}.`,
    },
  ],
  defaults: { conventions: 'none stated; use the language community’s usual style' },
};
