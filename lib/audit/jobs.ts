/**
 * The input of the scheduled Audit jobs (checkpoints, compliance, retention): the EventBridge scheduled event, whose `time` is the
 * job's "now". An operator invoking a job by hand may add `tenants` to limit it.
 */
import { z } from 'zod';

/** A scheduled event as the jobs read it. */
export const scheduledJobSchema = z.looseObject({
  time: z.iso.datetime({ offset: true }).optional(),
  tenants: z.array(z.string().min(1)).min(1).optional(),
});

/** The job's clock: the scheduled time, else now. */
export function jobTime(job: z.infer<typeof scheduledJobSchema>): Date {
  return job.time === undefined ? new Date() : new Date(job.time);
}
