/**
 * Redrive: moving the messages a queue parked in its dead-letter queue back to it, once whatever
 * failed them is fixed (`npm run redrive -- <queue>`). Pure: which queue an argument names, what a
 * redrive policy says, and the move loop over a {@link DeadLetterPort} (receive from the DLQ, send
 * to the source, delete from the DLQ what was sent). A message is deleted from the DLQ only after
 * the source queue accepted it, so a crash mid-way can send a message twice but never lose one;
 * the consumers are idempotent (audit: one entry per event id; observation: a point not newer than
 * the series' last is ignored).
 */
import { z } from 'zod';

/** An SQS queue name: 1-80 letters, digits, `-` or `_`, `.fifo` for a FIFO queue. */
const queueNameSchema = z.string().regex(/^[A-Za-z0-9_-]{1,75}(\.fifo)?$|^[A-Za-z0-9_-]{1,80}$/, 'a queue name is 1-80 letters, digits, - or _ (.fifo for FIFO)');

/** A queue URL: `http(s)://<host>/<account id>/<queue name>`. */
const queueUrlSchema = z.string().regex(/^https?:\/\/[^/\s]+\/\d{12}\/[A-Za-z0-9_-]{1,80}(\.fifo)?$/, 'a queue URL is http(s)://<host>/<account id>/<queue name>');

/** What a redrive argument names: a queue URL, or a queue name (in the caller's account). */
export type QueueReference = { url: string } | { name: string };

/**
 * The queue an argument names: a URL as is (`https://sqs.eu-west-1.amazonaws.com/123456789012/autonomy-dev-audit`,
 * `http://127.0.0.1:4597/000000000000/autonomy-local-audit`), a queue ARN by its name, a full name
 * (`autonomy-dev-audit`), or the stage's logical name (`audit`, `observation-ingest`) completed
 * to `<service>-<stage>-<name>`.
 * @throws z.ZodError when the argument is none of these.
 * @example queueReference('audit', { service: 'autonomy', stage: 'local' }) // { name: 'autonomy-local-audit' }
 */
export function queueReference(argument: string, names: { service: string; stage: string }): QueueReference {
  const text = argument.trim();
  // By pattern, not WHATWG parsing: fauxqs's URLs (`http://sqs.<region>.127.0.0.1:<port>/…`) are not WHATWG URLs.
  if (/^https?:\/\//.test(text)) return { url: queueUrlSchema.parse(text) };
  if (text.startsWith('arn:')) return { name: queueArnParts(text).name };
  const name = queueNameSchema.parse(text);
  return { name: name.startsWith(`${names.service}-`) ? name : `${names.service}-${names.stage}-${name}` };
}

/** The parts of an SQS queue ARN (`arn:aws:sqs:<region>:<account>:<name>`) a redrive needs. */
export interface QueueArnParts {
  region: string;
  accountId: string;
  name: string;
}

/**
 * Splits an SQS queue ARN.
 * @throws z.ZodError when `arn` is not an SQS queue ARN.
 */
export function queueArnParts(arn: string): QueueArnParts {
  const match = /^arn:aws[a-z-]*:sqs:([a-z0-9-]*):(\d{12}):([^:]+)$/.exec(arn);
  if (!match) throw new z.ZodError([{ code: 'custom', path: [], message: `${arn} is not an SQS queue ARN`, input: arn }]);
  const [, region = '', accountId = '', name = ''] = match;
  return { region, accountId, name: queueNameSchema.parse(name) };
}

/** A queue's `RedrivePolicy` attribute: where its dead letters go, after how many receives. */
export const redrivePolicySchema = z.object({
  deadLetterTargetArn: z.string().min(1),
  maxReceiveCount: z.coerce.number().int().min(1),
});
/** A parsed redrive policy. */
export type RedrivePolicy = z.infer<typeof redrivePolicySchema>;

/**
 * The redrive policy in a queue's `RedrivePolicy` attribute, or undefined when it has none.
 * @throws z.ZodError when the attribute is there but is not a redrive policy.
 */
export function parseRedrivePolicy(attribute: string | undefined): RedrivePolicy | undefined {
  if (attribute === undefined || attribute === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(attribute);
  } catch {
    throw new z.ZodError([{ code: 'custom', path: [], message: 'RedrivePolicy is not JSON', input: attribute }]);
  }
  return redrivePolicySchema.parse(json);
}

/** A message as a redrive handles it: an id, and whatever the port needs to send and delete it. */
export interface ParkedMessage {
  id: string;
}

/** The two queues of one redrive, as the loop needs them. */
export interface DeadLetterPort<M extends ParkedMessage> {
  /** Up to `max` (≤ 10) visible messages of the dead-letter queue, hidden from others while they move; [] when none is left. */
  receive(max: number): Promise<M[]>;
  /** Sends messages to the source queue; reports each one it did not accept, with the reason. */
  sendBack(messages: M[]): Promise<Array<{ message: M; reason: string }>>;
  /** Deletes messages from the dead-letter queue (those the source accepted). */
  remove(messages: M[]): Promise<void>;
}

/** What a redrive did. */
export interface RedriveReport {
  /** Messages now in the source queue and gone from the dead-letter queue. */
  moved: number;
  /** Messages the source queue refused; they stay in the dead-letter queue. */
  failed: Array<{ id: string; reason: string }>;
}

/**
 * Moves up to `limit` messages from the dead-letter queue to the source queue, ten at a time: each
 * batch is sent, then what was sent is deleted from the DLQ. Stops at `limit`, when the DLQ has no
 * visible message left, or when a message comes round again (one the source refused and the DLQ
 * shows again), so it always ends. `limit` is the DLQ's depth when the redrive starts, so messages
 * that fail again and come back while it runs are not moved round and round.
 * @example
 * const report = await redriveMessages(port, { limit: 25 }); // { moved: 25, failed: [] }
 */
export async function redriveMessages<M extends ParkedMessage>(port: DeadLetterPort<M>, options: { limit: number }): Promise<RedriveReport> {
  const report: RedriveReport = { moved: 0, failed: [] };
  const seen = new Set<string>();
  while (report.moved + report.failed.length < options.limit) {
    const batch = (await port.receive(Math.min(10, options.limit - report.moved - report.failed.length))).filter((message) => !seen.has(message.id));
    if (batch.length === 0) break;
    for (const message of batch) seen.add(message.id);
    const refused = await port.sendBack(batch);
    const refusedIds = new Set(refused.map(({ message }) => message.id));
    const sent = batch.filter((message) => !refusedIds.has(message.id));
    if (sent.length > 0) await port.remove(sent);
    report.moved += sent.length;
    report.failed.push(...refused.map(({ message, reason }) => ({ id: message.id, reason })));
  }
  return report;
}
