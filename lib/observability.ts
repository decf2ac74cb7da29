/**
 * Powertools logger, tracer and metrics, one of each per container. Tracing switches itself off
 * outside Lambda (no `AWS_EXECUTION_ENV`), so local runs need no X-Ray daemon.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/** Structured JSON logger (level from `LOG_LEVEL`, service from `POWERTOOLS_SERVICE_NAME`). */
export const logger = new Logger();
/** X-Ray tracer; AWS SDK clients are wrapped with it in `lib/adapters/aws/clients.ts`. */
export const tracer = new Tracer();
/** CloudWatch embedded-metric-format metrics. */
export const metrics = new Metrics();
