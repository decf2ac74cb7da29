/** SQS (journal queue): stores every bus event once; a bad record fails alone (ReportBatchItemFailures). */
import { dynamoClient } from '../../lib/adapters/aws/clients.ts';
import { dynamoJournalWriter } from '../../lib/adapters/aws/journal-store.ts';
import { config } from '../../lib/config.ts';
import { logger } from '../../lib/observability.ts';
import { journalRecord } from '../../lib/platform/journal.ts';
import { busEventSchema, queueHandler } from '../../lib/triggers/queue.ts';

const cfg = config();
const write = dynamoJournalWriter(dynamoClient(), cfg.STATE_TABLE);

export const handler = queueHandler(busEventSchema, async (event) => {
  const stored = await write(journalRecord(event, cfg.RETENTION_DAYS));
  if (!stored) logger.debug('duplicate delivery ignored', { eventId: event.id });
});
