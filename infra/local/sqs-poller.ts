/**
 * Lambda event source mappings for SQS: long-polls a queue, invokes the function with the real SQS
 * batch event, deletes what succeeded. With `ReportBatchItemFailures` only the reported records stay
 * on the queue; on a function error the whole batch stays. Records left behind become visible again
 * after the visibility timeout and reach the DLQ after `maxReceiveCount` — the queue's own redrive.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { InvokeResult } from './lambda/runtime.ts';

/** One mapping as the template declares it. */
export interface SqsMapping {
  functionName: string;
  queueUrl: string;
  queueArn: string;
  batchSize: number;
  reportBatchItemFailures: boolean;
  enabled: boolean;
}

function lambdaRecord(message: Message, mapping: SqsMapping, region: string) {
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: message.Attributes ?? {},
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, {
        stringValue: value.StringValue,
        binaryValue: value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : undefined,
        stringListValues: value.StringListValues ?? [],
        binaryListValues: [],
        dataType: value.DataType ?? 'String',
      }]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: mapping.queueArn,
    awsRegion: region,
  };
}

/** Ids of the records a handler reported as failed (`{ batchItemFailures: [{ itemIdentifier }] }`). */
export function reportedFailures(payload: unknown): Set<string> | undefined {
  if (payload === null || typeof payload !== 'object') return undefined;
  const failures = (payload as { batchItemFailures?: unknown }).batchItemFailures;
  if (!Array.isArray(failures)) return undefined;
  return new Set(failures.map((failure) => String((failure as { itemIdentifier?: unknown }).itemIdentifier)));
}

/** Options of {@link SqsPoller}. */
export interface SqsPollerOptions {
  mapping: SqsMapping;
  sqs: SQSClient;
  region: string;
  invoke: (functionName: string, event: unknown) => Promise<InvokeResult>;
  log: (line: string) => void;
}

/** Polls one queue for one function until stopped. */
export class SqsPoller {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly options: SqsPollerOptions;

  constructor(options: SqsPollerOptions) {
    this.options = options;
  }

  /** Starts polling. */
  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const { mapping, sqs, log } = this.options;
    while (!this.abort.signal.aborted) {
      try {
        const received = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: mapping.queueUrl,
            MaxNumberOfMessages: Math.min(mapping.batchSize, 10),
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: this.abort.signal },
        );
        const messages = received.Messages ?? [];
        if (messages.length === 0) continue;
        const event = { Records: messages.map((message) => lambdaRecord(message, mapping, this.options.region)) };
        const result = await this.options.invoke(mapping.functionName, event);
        let keep = new Set<string>();
        if (!result.ok) {
          log(`${mapping.functionName}: batch of ${messages.length} failed (${result.error.errorType}); records return after the visibility timeout`);
          continue;
        }
        if (mapping.reportBatchItemFailures) keep = reportedFailures(result.payload) ?? new Set();
        const done = messages.filter((message) => !keep.has(message.MessageId ?? ''));
        if (done.length > 0) {
          await sqs.send(new DeleteMessageBatchCommand({
            QueueUrl: mapping.queueUrl,
            Entries: done.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' })),
          }));
        }
      } catch (error) {
        if (this.abort.signal.aborted) break;
        log(`poller ${mapping.functionName}: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** Stops polling and waits for the batch in hand. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }
}
