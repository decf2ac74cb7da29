/**
 * Scheduled: charges reservations whose calls never settled (their function died) at their worst
 * case, and publishes the pauses those charges cause, or that a settlement claimed but could not
 * publish (lib/adapters/aws/gateway-budgets.ts `sweepExpired`).
 */
import { gatewayBudgets, pausePublisher } from '../../lib/adapters/aws/gateway-deps.ts';
import { scheduledJob } from '../../lib/triggers/schedule.ts';

export const handler = scheduledJob({
  name: 'GatewayBudgetSweep',
  concurrency: 1,
  targets: async ({ tenants }) => [tenants],
  describe: () => ({}),
  run: async (tenants, { now }, log) => {
    const report = await gatewayBudgets().sweepExpired({ now, ...(tenants ? { tenants } : {}) });
    const publish = pausePublisher();
    for (const crossing of [...report.paused, ...report.unrecordedPauses])
      await publish(crossing, 'system:gateway', `sweep:${now.toISOString()}`);
    if (report.charged.length > 0)
      log.info('expired reservations charged', { charged: report.charged.length, paused: report.paused.length });
    return { charged: report.charged.length, paused: report.paused.length + report.unrecordedPauses.length };
  },
  summarize: (results) => ({
    charged: results.reduce((sum, each) => sum + each.charged, 0),
    paused: results.reduce((sum, each) => sum + each.paused, 0),
  }),
});
