/**
 * Scheduled: removes the content of conversation logs past their tenant's retention (set when each
 * turn was logged); every hash stays, so the logs keep verifying against the ledger.
 */
import { gatewayConversations } from '../../lib/adapters/aws/gateway-deps.ts';
import { applyConversationRetention } from '../../lib/gateway/engine.ts';
import { scheduledJob } from '../../lib/triggers/schedule.ts';

export const handler = scheduledJob({
  name: 'GatewayRetention',
  concurrency: 1,
  targets: async () => [true],
  describe: () => ({}),
  run: async (_target, { now }, log) => {
    const outcome = await applyConversationRetention(gatewayConversations(), now, 500);
    if (outcome.stripped > 0 || outcome.busy > 0) log.info('conversation content removed', { ...outcome });
    return outcome;
  },
  summarize: (results) => ({
    stripped: results.reduce((sum, each) => sum + each.stripped, 0),
    busy: results.reduce((sum, each) => sum + each.busy, 0),
  }),
});
