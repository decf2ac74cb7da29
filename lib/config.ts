/**
 * The function environment, parsed once at cold start. No other module reads `process.env`.
 */
import { z } from 'zod';

const configSchema = z.object({
  STAGE: z.string().min(1),
  STATE_TABLE: z.string().min(1),
  IDEMPOTENCY_TABLE: z.string().min(1),
  ARTIFACTS_BUCKET: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  SERVICE_VERSION: z.string().default('0.1.0'),
  RETENTION_DAYS: z.coerce.number().int().positive().default(365),
});

/** The parsed function environment. */
export type Config = z.infer<typeof configSchema>;

let cached: Config | undefined;

/**
 * Returns the environment parsed with zod; parsed on first call and kept for the container's life.
 * @throws Error naming every missing or invalid variable (a deploy mistake, so it fails loudly at cold start).
 */
export function config(): Config {
  if (cached) return cached;
  const parsed = configSchema.safeParse(process.env);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid function environment: ${fields}`);
  }
  cached = parsed.data;
  return cached;
}
