/**
 * Routes of the Observation engine: ingest (HTTP), status and listing, forecasts, detector
 * configuration, and deletion. The tenant always comes from the caller's credentials, so a series
 * of another tenant is simply not found (404).
 */
import { z } from 'zod';
import { seriesNameSchema } from '../../events/ids.ts';
import { defineRoute } from '../api/route.ts';
import { forecastModelNames, MAX_HORIZON } from './series-forecast.ts';
import { detectorNameSchema, MAX_BATCH_POINTS } from './schemas.ts';

/** Largest season length a forecast accepts: three seasons must fit in the 512 stored points. */
export const MAX_FORECAST_SEASON = 170;

const isoSchema = z.iso.datetime();

const pointDescription =
  'A metric point `{ series, timestamp, value, labels? }`: series 1-200 chars of [A-Za-z0-9._:/-], timestamp ISO 8601 with Z or an offset, value a finite number, labels ≤ 20 string pairs. Invalid points are reported by index; valid ones in the same request are kept.';

/**
 * Ingest parameters: `{ points: [...] }` (1..500) or `{ point: {...} }`, exactly one of them. Points
 * are validated one by one by the engine, not here, so one bad point does not sink the request.
 */
export const ingestParametersSchema = z
  .object({
    points: z
      .array(z.unknown().describe(pointDescription))
      .min(1)
      .max(MAX_BATCH_POINTS)
      .optional()
      .describe(`1 to ${MAX_BATCH_POINTS} points`),
    point: z.unknown().optional().describe(`A single point (instead of points). ${pointDescription}`),
  })
  .superRefine((value, ctx) => {
    const count = (value.points !== undefined ? 1 : 0) + (value.point !== undefined ? 1 : 0);
    if (count !== 1)
      ctx.addIssue({ code: 'custom', path: ['points'], message: 'give exactly one of points (an array) or point (one point)' });
  });
/** Parsed ingest parameters. */
export type IngestParameters = z.infer<typeof ingestParametersSchema>;

const rejectedPointSchema = z.object({
  index: z.int().describe('Position of the point in `points` (0 for `point`)'),
  reason: z.string(),
  path: z.string().describe('Field of the point at fault, e.g. `timestamp`'),
  issues: z.array(z.object({ path: z.string(), message: z.string() })),
});

const anomalySchema = z.object({
  index: z.int(),
  series: z.string(),
  timestamp: isoSchema,
  value: z.number(),
  score: z.number(),
  detector: z.string(),
});

/** The ingest result. */
export const ingestResultSchema = z.object({
  accepted: z.int().describe('Points that passed validation'),
  rejected: z.array(rejectedPointSchema),
  applied: z.int().describe('Accepted points scored by their detector'),
  ignored: z.object({ duplicates: z.int(), outOfOrder: z.int() }).describe('Accepted points the ordering policy ignored'),
  series: z.int(),
  anomalies: z.array(anomalySchema).describe('Each also published as observation.anomaly.detected'),
  published: z.int(),
});

/**
 * POST /observation/ingest. Always 200 when the request is well formed: `status` is `success` when
 * at least one point was accepted, `failure` when none was; `result.rejected` lists the bad points.
 */
export const ingestRoute = defineRoute({
  engine: 'observation',
  action: 'ingest',
  method: 'POST',
  permission: 'observation:write',
  summary: 'Ingest metric points (one or a batch); bad points are listed by index, good ones kept',
  parameters: ingestParametersSchema,
  result: ingestResultSchema,
});

const statsSchema = z.object({
  count: z.int(),
  mean: z.number(),
  m2: z.number(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  firstTimestamp: z.number().nullable(),
  lastTimestamp: z.number().nullable(),
  lastValue: z.number().nullable(),
  anomalies: z.int(),
  scored: z.int(),
  outOfOrder: z.int(),
  duplicates: z.int(),
  lastAnomalyTimestamp: z.number().nullable(),
});

const summarySchema = z.object({
  detector: z.string(),
  version: z.int(),
  count: z.int(),
  lastValue: z.number().nullable(),
  lastTime: isoSchema.nullable(),
  firstTime: isoSchema.nullable(),
  mean: z.number().nullable(),
  sd: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  median: z.number().nullable(),
  slopePerHour: z.number().nullable(),
  slopePerPoint: z.number().nullable(),
  trend: z.enum(['rising', 'falling', 'flat', 'unknown']),
  anomalyRate: z.number(),
  anomalies: z.int(),
  lastAnomalyTime: isoSchema.nullable(),
  ignored: z.object({ outOfOrder: z.int(), duplicates: z.int() }),
  warmingUp: z.boolean(),
  seasonality: z
    .object({ seasonLength: z.int(), amplitude: z.number(), peakPhase: z.int(), troughPhase: z.int(), residualScale: z.number() })
    .nullable(),
});

/** The status of one series. */
export const seriesStatusSchema = z.object({
  series: z.string(),
  labels: z.record(z.string(), z.string()),
  detector: z.object({ name: z.string(), config: z.record(z.string(), z.unknown()) }),
  summary: summarySchema,
  stats: statsSchema,
  storage: z.object({
    version: z.int(),
    recentPoints: z.int(),
    pendingEvents: z.int().describe('Events saved but not yet on the bus; they go out with the next write'),
    droppedEvents: z.int(),
    createdAt: isoSchema,
    updatedAt: isoSchema,
  }),
});

/** One page of the tenant's series. */
export const seriesPageSchema = z.object({
  items: z.array(
    z.object({
      series: z.string(),
      detector: z.string(),
      version: z.int(),
      count: z.int(),
      anomalies: z.int(),
      lastTime: isoSchema.nullable(),
      updatedAt: isoSchema,
    }),
  ),
  cursor: z.string().optional().describe('Pass as `cursor` for the next page; absent on the last page'),
});

/** GET /observation/status: one series (`series=`), or a page of the tenant's series. */
export const statusRoute = defineRoute({
  engine: 'observation',
  action: 'status',
  method: 'GET',
  permission: 'observation:read',
  summary: "A series' trend and behaviour summary and detector statistics; without `series`, a page of your series",
  parameters: z.object({
    series: seriesNameSchema.optional(),
    limit: z.coerce.number().int().min(1).max(100).default(50).describe('Page size when listing'),
    cursor: z.string().min(1).max(1024).optional().describe('From the previous page'),
  }),
  result: z.union([seriesStatusSchema, seriesPageSchema]),
});

/** GET /observation/forecast. */
export const forecastRoute = defineRoute({
  engine: 'observation',
  action: 'forecast',
  method: 'GET',
  permission: 'observation:read',
  summary: 'Forecast a series with Holt linear or Holt-Winters (additive or multiplicative), fitted to its last 512 points',
  parameters: z.object({
    series: seriesNameSchema,
    horizon: z.coerce.number().int().min(1).max(MAX_HORIZON).default(12).describe('Steps ahead'),
    model: z
      .enum(forecastModelNames)
      .default('auto')
      .describe(
        'ETS model: ANN, AAN (Holt linear), AAdN, AAA (Holt-Winters additive), AAdA, MAM / MAdM (multiplicative), or auto (lowest AICc)',
      ),
    seasonLength: z.coerce
      .number()
      .int()
      .min(2)
      .max(MAX_FORECAST_SEASON)
      .optional()
      .describe("Points per season; defaults to the seasonal detector's"),
  }),
  result: z.object({
    series: z.string(),
    model: z.string(),
    requestedModel: z.string(),
    spec: z.object({ error: z.string(), trend: z.string(), season: z.string(), damped: z.boolean(), seasonLength: z.int() }),
    params: z.object({ alpha: z.number(), beta: z.number().nullable(), gamma: z.number().nullable(), phi: z.number().nullable() }),
    seasonLength: z.int().nullable(),
    points: z.int(),
    intervalMs: z.number(),
    lastTime: isoSchema,
    loglik: z.number(),
    aicc: z.number(),
    sigma2: z.number(),
    forecasts: z.array(z.object({ step: z.int(), time: isoSchema, value: z.number() })),
    candidates: z.array(z.object({ model: z.string(), aicc: z.number().nullable(), skipped: z.string().optional() })).optional(),
  }),
});

/** PUT /observation/config. */
export const configRoute = defineRoute({
  engine: 'observation',
  action: 'config',
  method: 'PUT',
  permission: 'observation:configure',
  summary: "Set a series' detector and its configuration (a change restarts the detector, warmed up from the recent points)",
  parameters: z.object({
    series: seriesNameSchema,
    detector: detectorNameSchema,
    config: z.record(z.string(), z.unknown()).default({}).describe("The detector's settings; omitted ones take their defaults"),
    ifVersion: z.int().min(0).optional().describe('Write only if the series is at this version (0: does not exist yet)'),
  }),
  result: z.object({
    series: z.string(),
    detector: z.string(),
    config: z.record(z.string(), z.unknown()),
    version: z.int(),
    changed: z.boolean(),
    created: z.boolean(),
    replayed: z.int(),
    pendingEvents: z.int(),
  }),
});

/** DELETE /observation/series. */
export const deleteSeriesRoute = defineRoute({
  engine: 'observation',
  action: 'series',
  method: 'DELETE',
  permission: 'observation:configure',
  summary: "Delete a series' state (its pending events are published first)",
  parameters: z.object({ series: seriesNameSchema }),
  result: z.object({ series: z.string(), deleted: z.literal(true), publishedEvents: z.int() }),
});

/** Every Observation route, for lib/api/routes.ts. */
export const observationRoutes = [ingestRoute, statusRoute, forecastRoute, configRoute, deleteSeriesRoute] as const;
