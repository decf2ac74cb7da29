/**
 * Redrive on Amazon SQS: finds a queue and its dead-letter queue (from the queue's `RedrivePolicy`)
 * and implements {@link DeadLetterPort} with ReceiveMessage, SendMessageBatch and DeleteMessageBatch.
 * Not `StartMessageMoveTask`: the local cloud's SQS (fauxqs) does not implement it, and one path
 * that runs the same locally and on AWS is the one the fault tests prove. Bodies and message
 * attributes go back as they were; FIFO messages keep their group, with the DLQ message id as the
 * deduplication id, so a redrive repeated within five minutes does not send them twice.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { DependencyError, NotFoundError } from '../../errors.ts';
import { type DeadLetterPort, type ParkedMessage, parseRedrivePolicy, type QueueReference, queueArnParts } from '../../queues/redrive.ts';
import { mappedSend } from './errors.ts';

/** One queue of a redrive. */
export interface QueueAddress {
  name: string;
  url: string;
}

/** A queue and the dead-letter queue its redrive policy names. */
export interface RedrivePair {
  source: QueueAddress;
  deadLetter: QueueAddress;
  maxReceiveCount: number;
}

/** A message received from a dead-letter queue, with what sending it back needs. */
export interface SqsParkedMessage extends ParkedMessage {
  receiptHandle: string;
  message: Message;
}

/** Seconds a message being moved stays hidden in the DLQ: ample for one send and one delete. */
const MOVE_VISIBILITY_SECONDS = 60;
const NO_SUCH_QUEUE = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']);

/** A queue's name from its URL, by string: fauxqs's URLs (`http://sqs.<region>.127.0.0.1:<port>/…`) are not WHATWG URLs. */
const nameOfUrl = (url: string) => decodeURIComponent(url.split(/[?#]/)[0]?.split('/').filter(Boolean).pop() ?? '');

/** Redrive operations on one SQS client (endpoint and credentials are the SDK's own). */
export class SqsRedrive {
  private readonly send: SQSClient['send'];

  constructor(client: SQSClient) {
    this.send = mappedSend(client, 'SQS');
  }

  private async urlOf(name: string, accountId?: string): Promise<string> {
    try {
      const output = await this.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: accountId }));
      if (!output.QueueUrl) throw new NotFoundError(`No queue named ${name}`);
      return output.QueueUrl;
    } catch (error) {
      if (NO_SUCH_QUEUE.has((error as Error).name)) throw new NotFoundError(`No queue named ${name}`);
      throw error;
    }
  }

  private async redrivePolicyOf(url: string) {
    try {
      const output = await this.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy'] }));
      return parseRedrivePolicy(output.Attributes?.RedrivePolicy);
    } catch (error) {
      if (NO_SUCH_QUEUE.has((error as Error).name)) throw new NotFoundError(`No queue at ${url}`);
      throw error;
    }
  }

  /**
   * The queue `reference` names and its dead-letter queue. Naming the dead-letter queue itself
   * (`…-dlq`, which has no redrive policy of its own) finds the queue whose policy points at it.
   * @throws NotFoundError when the queue does not exist or has no dead-letter queue; DependencyError
   *   when SQS cannot be reached.
   */
  async pair(reference: QueueReference): Promise<RedrivePair> {
    const url = 'url' in reference ? reference.url : await this.urlOf(reference.name);
    const name = nameOfUrl(url);
    const policy = await this.redrivePolicyOf(url);
    if (policy) {
      const target = queueArnParts(policy.deadLetterTargetArn);
      return { source: { name, url }, deadLetter: { name: target.name, url: await this.urlOf(target.name, target.accountId) }, maxReceiveCount: policy.maxReceiveCount };
    }
    const sourceName = name.replace(/-dlq(\.fifo)?$/, '$1');
    if (sourceName !== name) {
      const sourceUrl = await this.urlOf(sourceName).catch(() => undefined);
      const sourcePolicy = sourceUrl === undefined ? undefined : await this.redrivePolicyOf(sourceUrl);
      if (sourceUrl !== undefined && sourcePolicy && queueArnParts(sourcePolicy.deadLetterTargetArn).name === name) {
        return { source: { name: sourceName, url: sourceUrl }, deadLetter: { name, url }, maxReceiveCount: sourcePolicy.maxReceiveCount };
      }
    }
    throw new NotFoundError(`${name} has no dead-letter queue (no RedrivePolicy), and no queue redrives into it`);
  }

  /**
   * Messages a queue holds: `visible` (waiting) and `inFlight` (received, not yet deleted).
   * @throws DependencyError when SQS cannot be reached.
   */
  async depth(url: string): Promise<{ visible: number; inFlight: number }> {
    const output = await this.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    return {
      visible: Number(output.Attributes?.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(output.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
    };
  }

  /** The move operations between the two queues of `pair`. */
  port(pair: RedrivePair): DeadLetterPort<SqsParkedMessage> {
    const fifo = pair.source.name.endsWith('.fifo');
    return {
      receive: async (max) => {
        const output = await this.send(
          new ReceiveMessageCommand({
            QueueUrl: pair.deadLetter.url,
            MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
            WaitTimeSeconds: 1,
            VisibilityTimeout: MOVE_VISIBILITY_SECONDS,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['MessageGroupId'],
          }),
        );
        return (output.Messages ?? []).map((message) => ({ id: message.MessageId ?? '', receiptHandle: message.ReceiptHandle ?? '', message }));
      },
      sendBack: async (messages) => {
        const output = await this.send(
          new SendMessageBatchCommand({
            QueueUrl: pair.source.url,
            Entries: messages.map(({ id, message }, index) => ({
              Id: String(index),
              MessageBody: message.Body ?? '',
              MessageAttributes: message.MessageAttributes,
              ...(fifo ? { MessageGroupId: message.Attributes?.MessageGroupId ?? 'redrive', MessageDeduplicationId: id } : {}),
            })),
          }),
        );
        return (output.Failed ?? []).map((failure) => ({
          message: messages[Number(failure.Id)] ?? { id: '', receiptHandle: '', message: {} },
          reason: `${failure.Code ?? 'Error'}: ${failure.Message ?? 'refused'}`,
        }));
      },
      remove: async (messages) => {
        const output = await this.send(
          new DeleteMessageBatchCommand({
            QueueUrl: pair.deadLetter.url,
            Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.receiptHandle })),
          }),
        );
        const failed = output.Failed ?? [];
        if (failed.length > 0) {
          throw new DependencyError(
            `SQS DeleteMessageBatch: ${failed.length} of ${messages.length} message(s) sent back but not deleted from ${pair.deadLetter.name} (${failed[0]?.Code ?? 'Error'}); a later redrive sends them again, which the consumers ignore`,
          );
        }
      },
    };
  }
}
