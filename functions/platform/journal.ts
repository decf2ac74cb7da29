/** SQS (journal queue): stores every bus event once; a bad record fails alone (ReportBatchItemFailures). */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { dynamoClient } from '../../lib/adapters/aws/clients.ts';
import { dynamoJournalWriter } from '../../lib/adapters/aws/journal-store.ts';
import { config } from '../../lib/config.ts';
import { ValidationError } from '../../lib/errors.ts';
import { fieldIssues } from '../../lib/http/handler.ts';
import { logger } from '../../lib/observability.ts';
import { busEnvelopeSchema, journalRecord } from '../../lib/platform/journal.ts';

const cfg = config();
const write = dynamoJournalWriter(dynamoClient(), cfg.STATE_TABLE);
const processor = new BatchProcessor(EventType.SQS);

async function recordHandler(record: SQSRecord): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new ValidationError([{ path: 'body', message: 'not JSON' }]);
  }
  const parsed = busEnvelopeSchema.safeParse(body);
  if (!parsed.success) throw new ValidationError(fieldIssues(parsed.error));
  const stored = await write(journalRecord(parsed.data, cfg.RETENTION_DAYS));
  if (!stored) logger.debug('duplicate delivery ignored', { eventId: parsed.data.id });
}

export const handler = async (event: SQSEvent, context: Context) =>
  processPartialResponse(event, recordHandler, processor, { context });
