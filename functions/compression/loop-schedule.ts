/**
 * Scheduled: starts a run of Loop 3 for every tenant with at least TUNE_EVERY answer-found reports not
 * judged yet (a start the feedback route could not make, a run halted by a kill switch or failed). The
 * run is named after the tenant's effectiveness version, so a window already running is not started twice.
 */
import { compressionLoopStarter, compressionStore } from '../../lib/adapters/aws/compression-deps.ts';
import { loopExecutionName, TUNE_EVERY } from '../../lib/compression/engine.ts';
import { scheduledJob } from '../../lib/triggers/schedule.ts';

export const handler = scheduledJob({
  name: 'CompressionLoop',
  concurrency: 4,
  targets: async ({ tenants }) => tenants ?? (await compressionStore().feedbackTenants()),
  describe: (tenant) => ({ tenant }),
  run: async (tenant) => {
    const effectiveness = await compressionStore().effectiveness(tenant);
    if (effectiveness.sinceTune < TUNE_EVERY) return { started: 0 };
    await compressionLoopStarter().start(loopExecutionName(tenant, effectiveness.version), { tenant, trigger: 'schedule' });
    return { started: 1 };
  },
  summarize: (results) => ({ started: results.reduce((sum, each) => sum + each.started, 0) }),
});
