/**
 * {@link RateLimiter} on the state table: one counter item per tenant and minute
 * (pk `<tenant>#ratelimit`, sk the window start), incremented with a conditional `ADD`, expired by TTL.
 * Other SDK failures map through lib/adapters/aws/errors.ts: a throttled counter table is a 503
 * (DependencyError), not a 429, since the tenant is not over its budget.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type RateDecision, type RateLimiter, rateWindow } from '../../api/rate-limit.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';

/** Fixed-window counters in DynamoDB. */
export class DynamoRateLimiter implements RateLimiter {
  private readonly send: DynamoDBDocumentClient['send'];
  private readonly table: string;
  private readonly limitPerMinute: number;

  constructor(client: DynamoDBDocumentClient, table: string, limitPerMinute: number) {
    this.send = mappedSend(client, 'DynamoDB');
    this.table = table;
    this.limitPerMinute = limitPerMinute;
  }

  async consume(tenant: string, now: Date): Promise<RateDecision> {
    const window = rateWindow(now);
    try {
      await this.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `${tenant}#ratelimit`, sk: String(window.start) },
          UpdateExpression: 'ADD #count :one SET expiresAt = if_not_exists(expiresAt, :expires)',
          ConditionExpression: 'attribute_not_exists(#count) OR #count < :limit',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':one': 1, ':limit': this.limitPerMinute, ':expires': Math.ceil(window.end / 1000) + 60 },
        }),
      );
      return { allowed: true, retryAfterSeconds: 0 };
    } catch (error) {
      if (error instanceof ConditionFailedError) return { allowed: false, retryAfterSeconds: window.secondsLeft };
      throw error;
    }
  }
}
