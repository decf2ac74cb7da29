/**
 * The one scheduled-job wrapper: a job fans out over its targets (tenants, streams…) with bounded
 * concurrency; each target runs with its own logger context, and a failing target is logged and
 * counted while the others go on. Every run publishes `<Job>Targets`, `<Job>Failures` and
 * `<Job>DurationMs`, and returns a summary (useful when an operator invokes the job by hand).
 *
 * The input is the EventBridge scheduled event, whose `time` is the job's "now"; an operator may add
 * `tenants` to limit a run.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { settleLimit } from '../concurrency.ts';
import { ValidationError } from '../errors.ts';
import { fieldIssues } from '../http/handler.ts';
import { logger, metrics } from '../observability.ts';
import { tenantSchema } from '../../events/ids.ts';

/** A scheduled event as jobs read it. */
export const scheduledJobSchema = z.looseObject({
  time: z.iso.datetime({ offset: true }).optional(),
  tenants: z.array(tenantSchema).min(1).optional(),
});

/** What a job sees of its run. */
export interface JobRun {
  /** The scheduled time, else now. */
  now: Date;
  /** Tenants the run is limited to, when an operator gave them. */
  tenants?: readonly string[];
}

/** What a job declares. */
export interface JobSpec<T, R> {
  /** PascalCase, used for metric names, e.g. `AuditCheckpoint`. */
  name: string;
  /** Targets in flight at once. */
  concurrency: number;
  /** The run's targets. */
  targets: (run: JobRun) => Promise<readonly T[]>;
  /** Keys logged with every line about a target, e.g. `{ tenant, stream }`. */
  describe: (target: T) => Record<string, string>;
  /** The work for one target; a throw fails that target only. */
  run: (target: T, run: JobRun, log: typeof logger) => Promise<R>;
  /** Totals of the run from the succeeded targets' results, e.g. `{ signed: 3 }`; each is also a metric (`<Job>Signed`). */
  summarize?: (results: R[]) => Record<string, number>;
}

/** A run's summary: target counts and the job's own totals. */
export type JobSummary = { targets: number; succeeded: number; failed: number } & Record<string, number>;

/**
 * A Lambda handler for a schedule.
 * @throws ValidationError when an operator's input is malformed (nothing runs).
 * @example
 * export const handler = scheduledJob({ name: 'AuditCheckpoint', concurrency: 4, targets, describe: (ref) => ({ ...ref }), run: checkpoint });
 */
export function scheduledJob<T, R>(spec: JobSpec<T, R>) {
  return async (event: unknown, context?: Context): Promise<JobSummary> => {
    if (context) logger.addContext(context);
    const parsed = scheduledJobSchema.safeParse(event ?? {});
    if (!parsed.success) throw new ValidationError(fieldIssues(parsed.error));
    const run: JobRun = { now: parsed.data.time === undefined ? new Date() : new Date(parsed.data.time), ...(parsed.data.tenants ? { tenants: parsed.data.tenants } : {}) };
    const started = performance.now();
    logger.appendKeys({ job: spec.name });
    try {
      const targets = await spec.targets(run);
      const outcomes = await settleLimit(targets, spec.concurrency, async (target) => {
        const log = logger.createChild({ persistentKeys: spec.describe(target) });
        try {
          return await spec.run(target, run, log);
        } catch (error) {
          log.error(`${spec.name}: target failed`, { error: error as Error });
          throw error;
        }
      });
      const results = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      const totals = spec.summarize?.(results) ?? {};
      const summary: JobSummary = { ...totals, targets: targets.length, succeeded: results.length, failed: targets.length - results.length };
      metrics.addMetric(`${spec.name}Targets`, MetricUnit.Count, summary.targets);
      metrics.addMetric(`${spec.name}Failures`, MetricUnit.Count, summary.failed);
      for (const [key, value] of Object.entries(totals)) metrics.addMetric(`${spec.name}${key.charAt(0).toUpperCase()}${key.slice(1)}`, MetricUnit.Count, value);
      metrics.addMetric(`${spec.name}DurationMs`, MetricUnit.Milliseconds, performance.now() - started);
      logger.info(`${spec.name}: run finished`, summary);
      return summary;
    } finally {
      metrics.publishStoredMetrics();
      logger.removeKeys(['job']);
    }
  };
}
