/**
 * Context fitting (lib/gateway/context.ts) replayed on public multi-turn conversations: how many
 * requests stay within the limit, so no provider error, and how many replies still fit whole.
 *   npm run bench:context-fitting
 *
 * Data: test/fixtures/gateway/conversations/mt-bench-101.jsonl.gz (SOURCE.md): MT-Bench-101's 1,388
 * dialogues, 4,208 user turns, each with its reference assistant reply. Nothing is tuned on it: the
 * rule runs with its defaults (forecast margin 1.25, last 8 replies).
 *
 * Two workloads: `dialogues`, each dialogue as it is (at most 1,334 tokens: they never need fitting
 * at 4,096, so smaller limits are tried too); and `sessions of 10`, ten consecutive dialogues (file
 * order) chained into one conversation, as a user who keeps one chat open across tasks: real turns,
 * composed here (16 to 50 turns, up to 7,445 tokens), which do outgrow 4,096 tokens.
 *
 * Replay: for every user turn t of every conversation, the request is a fixed system prompt, the turns
 * before t (user message and reference reply) and the user message of t; `recentOutputTokens` are the
 * earlier replies' tokens; `maxTokens` asked is a quarter of the limit. The request is fitted to the
 * limit (the model's window is 8,192, larger than every limit tried), counting with a character
 * counter: ⌈UTF-16 units / 4⌉ per content, + 3 per message, + 3 for the reply (OpenAI's framing).
 *
 * Columns:
 * - `fits (no provider error)`: fitting succeeded and input + maxTokens granted ≤ limit by the counter
 *   that fitted (a provider counting the same way accepts it);
 * - `fits by cl100k_base`: the same request counted exactly with cl100k_base (lib/gateway/tokenizer.ts,
 *   OpenAI's chat framing): what a provider with that tokenizer would see when the gateway fitted with
 *   the character approximation instead of the model's tokenizer;
 * - `reply cut by fitting`: the reference reply fits in the maxTokens asked but not in the maxTokens
 *   granted (the forecast was too low, so too little was dropped); `reply over asked`: the reply is
 *   longer than the maxTokens asked (the caller's own cap, whatever the fitting);
 * - `no fitting`: the request sent as is, with maxTokens asked: share within the limit;
 * - `dropped` / `cut`: share of requests where old turns were dropped / the last message was cut.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { ChatMessage } from '../lib/gateway/backend.ts';
import { fitContext, type MessageTokenCounter } from '../lib/gateway/context.ts';
import { CHAT_REPLY_PRIMING_TOKENS, CHAT_TOKENS_PER_MESSAGE, tokenizer } from '../lib/gateway/tokenizer.ts';
import { requireDataset } from './datasets.ts';

const folder = fileURLToPath(new URL('../test/fixtures/gateway/conversations/', import.meta.url));
requireDataset('bench/context-fitting.ts', folder, ['mt-bench-101.jsonl.gz']);
const file = `${folder}mt-bench-101.jsonl.gz`;
interface Dialogue {
  task: string;
  id: number;
  history: { user: string; bot: string }[];
}
const dialogues: Dialogue[] = gunzipSync(readFileSync(file))
  .toString('utf8')
  .split('\n')
  .filter((line) => line.length > 0)
  .map((line) => JSON.parse(line) as Dialogue);

const SYSTEM_PROMPT =
  'You are a helpful, careful assistant. Answer the user accurately and concisely, keep track of what was said earlier in the conversation, and say so when you are not sure.';

const charText = (text: string): number => Math.ceil(text.length / 4);
const charCount: MessageTokenCounter = (messages) =>
  CHAT_REPLY_PRIMING_TOKENS + messages.reduce((sum, message) => sum + CHAT_TOKENS_PER_MESSAGE + charText(message.content), 0);
const cl100k = await tokenizer('cl100k_base');
const exactCount: MessageTokenCounter = (messages) =>
  CHAT_REPLY_PRIMING_TOKENS +
  messages.reduce((sum, message) => sum + CHAT_TOKENS_PER_MESSAGE + cl100k.count(message.role) + cl100k.count(message.content), 0);

interface Tally {
  requests: number;
  fits: number;
  fitsExact: number;
  cutByFitting: number;
  overAsked: number;
  unfitted: number;
  dropped: number;
  cut: number;
  refused: number;
  micros: number[];
}

/** Ten consecutive dialogues as one conversation. */
const sessions: Dialogue['history'][] = [];
for (let at = 0; at < dialogues.length; at += 10) sessions.push(dialogues.slice(at, at + 10).flatMap((dialogue) => dialogue.history));

function replay(
  conversations: Dialogue['history'][],
  limit: number,
  count: MessageTokenCounter,
  replyTokens: (text: string) => number,
): Tally {
  const maxTokens = limit / 4;
  const tally: Tally = {
    requests: 0,
    fits: 0,
    fitsExact: 0,
    cutByFitting: 0,
    overAsked: 0,
    unfitted: 0,
    dropped: 0,
    cut: 0,
    refused: 0,
    micros: [],
  };
  for (const conversation of conversations) {
    const history: ChatMessage[] = [{ role: 'system', content: SYSTEM_PROMPT }];
    const outputs: number[] = [];
    for (const turn of conversation) {
      const messages: ChatMessage[] = [...history, { role: 'user', content: turn.user }];
      tally.requests++;
      if (count(messages) + maxTokens <= limit) tally.unfitted++;
      const started = performance.now();
      try {
        const fitted = fitContext({ messages, count, contextTokens: 8192, limitTokens: limit, maxTokens, recentOutputTokens: outputs });
        tally.micros.push((performance.now() - started) * 1000);
        if (fitted.inputTokens + fitted.maxTokens <= limit && fitted.maxTokens >= 1) tally.fits++;
        if (exactCount(fitted.messages) + fitted.maxTokens <= limit) tally.fitsExact++;
        const reply = replyTokens(turn.bot);
        if (reply > maxTokens) tally.overAsked++;
        else if (reply > fitted.maxTokens) tally.cutByFitting++;
        if (fitted.dropped.length > 0) tally.dropped++;
        if (fitted.truncated) tally.cut++;
      } catch {
        tally.refused++;
      }
      history.push({ role: 'user', content: turn.user }, { role: 'assistant', content: turn.bot });
      outputs.push(replyTokens(turn.bot));
    }
  }
  return tally;
}

const pct = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(2)}%`;
const tokensOf = (conversation: Dialogue['history']): number =>
  charCount([
    { role: 'system', content: SYSTEM_PROMPT },
    ...conversation.flatMap((turn) => [
      { role: 'user' as const, content: turn.user },
      { role: 'assistant' as const, content: turn.bot },
    ]),
  ]);
const turns = dialogues.reduce((sum, dialogue) => sum + dialogue.history.length, 0);
const dialogueTokens = dialogues.map((dialogue) => tokensOf(dialogue.history));
const sessionTokens = sessions.map(tokensOf);
console.log(
  `MT-Bench-101: ${dialogues.length} dialogues, ${turns} requests; whole dialogue ≤ ${Math.max(...dialogueTokens)} tokens; ${sessions.length} sessions of 10, ${Math.min(...sessionTokens)} to ${Math.max(...sessionTokens)} tokens (character counter)\n`,
);
console.log(
  '| workload | counter that fits | limit | maxTokens asked | fits (no provider error) | fits by cl100k_base | reply cut by fitting | reply over asked | no fitting | dropped | cut | refused | fit p50 µs | fit p99 µs |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
const runs: [string, Dialogue['history'][], number[]][] = [
  ['dialogues', dialogues.map((dialogue) => dialogue.history), [4096, 2048, 1024, 512]],
  ['sessions of 10', sessions, [4096, 2048]],
];
for (const [name, count, reply] of [
  ['characters / 4', charCount, charText],
  ['cl100k_base (exact)', exactCount, (text: string) => cl100k.count(text)],
] as const) {
  for (const [workload, conversations, limits] of runs) {
    for (const limit of limits) {
      const t = replay(conversations, limit, count, reply);
      const sorted = [...t.micros].sort((a, b) => a - b);
      const q = (p: number) => (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0).toFixed(0);
      console.log(
        `| ${workload} | ${name} | ${limit} | ${limit / 4} | ${pct(t.fits, t.requests)} | ${pct(t.fitsExact, t.requests)} | ${pct(t.cutByFitting, t.requests)} | ${pct(t.overAsked, t.requests)} | ${pct(t.unfitted, t.requests)} | ${pct(t.dropped, t.requests)} | ${pct(t.cut, t.requests)} | ${t.refused} | ${q(0.5)} | ${q(0.99)} |`,
      );
    }
  }
}
