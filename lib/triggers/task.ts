/**
 * The one state-machine-task wrapper (functions invoked directly: Step Functions tasks, Lambda
 * Invoke): parses the input with zod and throws named errors that `Retry`/`Catch` match
 * (`ValidationError`, `ConflictError`, `DependencyError`…); the metrics a task adds are flushed.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { ValidationError } from '../errors.ts';
import { fieldIssues } from '../http/handler.ts';
import { logger, metrics, tracer } from '../observability.ts';

/** Wraps a task: input validated by `schema`, the output returned as the task result. */
export function taskHandler<S extends z.ZodType, R>(
  schema: S,
  task: (input: z.infer<S>) => Promise<R>,
): middy.MiddyfiedHandler<unknown, R, Error, Context> {
  return middy(async (event: unknown) => {
    const parsed = schema.safeParse(event);
    if (!parsed.success) throw new ValidationError(fieldIssues(parsed.error));
    return task(parsed.data);
  })
    .use(injectLambdaContext(logger))
    .use(captureLambdaHandler(tracer))
    .use(logMetrics(metrics));
}
