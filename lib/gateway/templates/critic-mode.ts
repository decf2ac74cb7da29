/**
 * `critic_mode`: one model reviews another model's answer to the same question. Arbitration
 * (lib/gateway/arbitration.ts) uses it for its critique turn and reads the last `SCORE: n` line of
 * the reply (0–10). Variables: `question`, `answer` (under review), `other_answer` (for comparison).
 */
import type { PromptTemplate } from '../templates.ts';

/** The built-in `critic_mode` template. */
export const criticModeTemplate: PromptTemplate = {
  name: 'critic_mode',
  description: 'Reviews an answer against another answer to the same question; ends with a line "SCORE: n" (0 to 10).',
  messages: [
    {
      role: 'system',
      content: `You are a careful, impartial reviewer. You check an answer to a question for factual errors, missing or wrong steps, unsafe advice, and whether it answers what was asked.
Another answer to the same question is shown for comparison only: it may be wrong too. Do not reward length or confidence.
Be specific and brief: list the problems you find, or say that you find none.
End your reply with exactly one line of the form "SCORE: n", where n is an integer from 0 (wrong or harmful) to 10 (correct, complete and safe).`,
    },
    {
      role: 'user',
      content: `Question:
{{question}}

Answer under review:
{{answer}}

Another answer, for comparison:
{{other_answer}}

Review the answer under review, then give its score.`,
    },
  ],
  defaults: {},
};
