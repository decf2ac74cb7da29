/**
 * Scheduled: publishes governance events left in the outbox for more than a minute (the function
 * that wrote them crashed, or the bus refused them), recording each in the ledger first. Copies
 * have new event ids; the audit ledger recognises them by their detail (events/delivery.ts).
 */
import { dynamoClient } from '../../lib/adapters/aws/clients.ts';
import { governanceOutbox } from '../../lib/adapters/aws/governance-deps.ts';
import { staleOutboxEntries } from '../../lib/adapters/aws/governance-store.ts';
import { config } from '../../lib/config.ts';
import type { OutboxEntry } from '../../lib/governance/proposals.ts';
import { scheduledJob } from '../../lib/triggers/schedule.ts';

/** Entries younger than this may still be delivered by the function that wrote them. */
const GRACE_MS = 60_000;

export const handler = scheduledJob<OutboxEntry, number>({
  name: 'GovernanceOutboxSweep',
  concurrency: 4,
  targets: async ({ now }) => staleOutboxEntries(dynamoClient(), config().STATE_TABLE, GRACE_MS, now),
  describe: (entry) => ({ tenant: entry.tenant, entry: entry.id, detailType: entry.event.detailType }),
  run: async (entry) => {
    const outbox = governanceOutbox();
    await outbox.record(entry);
    await outbox.deliver([entry]);
    return 1;
  },
  summarize: (published) => ({ published: published.length }),
});
