/**
 * Routes of the Observation engine: ingest (HTTP), status and listing, forecasts, detector
 * configuration, and deletion. The tenant always comes from the caller's credentials, so a series
 * of another tenant is simply not found (404).
 */
import { z } from 'zod';
import { boundedNumberSchema, MAX_NUMBER_MAGNITUDE, MAX_TEXT_LENGTH, MAX_TIMESTAMP_LENGTH } from '../../events/common.ts';
import { detectorSettingsSchema } from '../../events/observation.ts';
import { seriesNameSchema } from '../../events/ids.ts';
import { defineRoute } from '../api/route.ts';
import { forecastModelNames, MAX_HORIZON } from './series-forecast.ts';
import { detectorNameSchema, MAX_BATCH_POINTS, MAX_ISSUES_PER_POINT } from './schemas.ts';

/** Largest season length a forecast accepts: three seasons must fit in the 512 stored points. */
export const MAX_FORECAST_SEASON = 170;

const isoSchema = z.iso.datetime().max(MAX_TIMESTAMP_LENGTH);

/** Every figure a reply carries: within ±1e100 (statistics derived beyond it are answered saturated, see series.ts). */
const figure = boundedNumberSchema;
/** A time as epoch milliseconds. */
const epochMs = z.int().min(0);
/** Short names in replies: detectors, models, model parts. */
const name = z.string().max(32);
/** A label key or value, as lib/observation/schemas.ts bounds them. */
const labelsReplySchema = z.record(z.string().max(64), z.string().max(256));

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

const issueSchema = z.object({ path: z.string().max(256), message: z.string().max(MAX_TEXT_LENGTH) });

const rejectedPointSchema = z.object({
  index: z.int().describe('Position of the point in `points` (0 for `point`)'),
  reason: z.string().max(MAX_TEXT_LENGTH),
  path: z.string().max(256).describe('Field of the point at fault, e.g. `timestamp`'),
  issues: z.array(issueSchema).max(MAX_ISSUES_PER_POINT).describe(`The point's issues (the first ${MAX_ISSUES_PER_POINT})`),
});

const anomalySchema = z.object({
  index: z.int(),
  series: seriesNameSchema,
  timestamp: isoSchema,
  value: figure,
  score: z.number().min(0).max(MAX_NUMBER_MAGNITUDE).describe('Saturated at 1e100 (a point far off a flat series)'),
  detector: name,
});

/** The ingest result. */
export const ingestResultSchema = z.object({
  accepted: z.int().describe('Points that passed validation'),
  rejected: z.array(rejectedPointSchema).max(MAX_BATCH_POINTS),
  applied: z.int().describe('Accepted points scored by their detector in this call (late ones within the reorder window included)'),
  ignored: z
    .object({ duplicates: z.int(), outOfOrder: z.int() })
    .describe("Accepted points ignored: already applied (duplicates), or older than the series' reorder window (outOfOrder)"),
  unprocessed: z
    .array(
      z
        .int()
        .min(0)
        .max(MAX_BATCH_POINTS - 1),
    )
    .max(MAX_BATCH_POINTS)
    .describe(
      'Indexes of accepted points not confirmed applied in this call (the reply is then a 503 with Retry-After); retry the request: those that did land come back as duplicates',
    ),
  series: z.int(),
  anomalies: z.array(anomalySchema).max(MAX_BATCH_POINTS).describe('Each also published as observation.anomaly.detected'),
  incidents: z
    .array(
      z.object({
        index: z.int(),
        series: seriesNameSchema,
        status: z.enum(['opened', 'closed']),
        start: isoSchema.describe("The incident's start: with the series, its key"),
        timestamp: isoSchema.describe('The point that opened or closed it'),
      }),
    )
    .max(MAX_BATCH_POINTS)
    .describe('Incidents opened or closed by these points; each also published as observation.incident.opened / .closed'),
  published: z.int(),
});

/**
 * POST /observation/ingest. A 200 when every accepted point was dealt with: `status` is `success`
 * when at least one point was accepted, `failure` when none was; `result.rejected` lists the bad
 * points. A 503 with `Retry-After` and the same result when some accepted points could not be
 * applied in time (`result.unprocessed`): retrying the request applies them, the rest come back as
 * duplicates.
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
  mean: figure,
  m2: figure.describe('Sum of squared deviations (saturated at 1e100)'),
  min: figure.nullable(),
  max: figure.nullable(),
  firstTimestamp: epochMs.nullable(),
  lastTimestamp: epochMs.nullable(),
  lastValue: figure.nullable(),
  anomalies: z.int(),
  scored: z.int(),
  outOfOrder: z.int(),
  duplicates: z.int(),
  lastAnomalyTimestamp: epochMs.nullable(),
});

const summarySchema = z.object({
  detector: name,
  version: z.int(),
  count: z.int(),
  lastValue: figure.nullable(),
  lastTime: isoSchema.nullable(),
  firstTime: isoSchema.nullable(),
  mean: figure.nullable(),
  sd: figure.nullable(),
  min: figure.nullable(),
  max: figure.nullable(),
  median: figure.nullable(),
  slopePerHour: figure.nullable(),
  slopePerPoint: figure.nullable(),
  trend: z.enum(['rising', 'falling', 'flat', 'unknown']),
  anomalyRate: z.number().min(0).max(1),
  anomalies: z.int(),
  lastAnomalyTime: isoSchema.nullable(),
  ignored: z.object({ outOfOrder: z.int(), duplicates: z.int() }),
  warmingUp: z.boolean(),
  seasonality: z
    .object({ seasonLength: z.int(), amplitude: figure, peakPhase: z.int(), troughPhase: z.int(), residualScale: figure })
    .nullable(),
});

/** The status of one series. */
export const seriesStatusSchema = z.object({
  series: seriesNameSchema,
  labels: labelsReplySchema,
  detector: z.object({ name, config: detectorSettingsSchema }),
  incidents: z.object({
    open: z
      .object({
        start: isoSchema,
        peak: z.object({ timestamp: isoSchema, value: figure, score: z.number().min(0).max(MAX_NUMBER_MAGNITUDE) }),
        points: z.int(),
        logLikelihood: z.number().min(0).max(1),
        maxLogLikelihood: z.number().min(0).max(1),
      })
      .nullable()
      .describe('The open incident, if any'),
    opened: z.int(),
    closed: z.int(),
  }),
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
  items: z
    .array(
      z.object({
        series: seriesNameSchema,
        detector: name,
        version: z.int(),
        count: z.int(),
        anomalies: z.int(),
        lastTime: isoSchema.nullable(),
        updatedAt: isoSchema,
      }),
    )
    .max(100),
  cursor: z.string().max(1024).optional().describe('Pass as `cursor` for the next page; absent on the last page'),
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
    series: seriesNameSchema,
    model: name,
    requestedModel: name,
    spec: z.object({ error: name, trend: name, season: name, damped: z.boolean(), seasonLength: z.int() }),
    params: z.object({ alpha: figure, beta: figure.nullable(), gamma: figure.nullable(), phi: figure.nullable() }),
    seasonLength: z.int().nullable(),
    points: z.int(),
    intervalMs: figure,
    lastTime: isoSchema,
    loglik: figure,
    aicc: figure,
    sigma2: figure,
    forecasts: z.array(z.object({ step: z.int(), time: isoSchema, value: figure })).max(MAX_HORIZON),
    candidates: z
      .array(z.object({ model: name, aicc: figure.nullable(), skipped: z.string().max(MAX_TEXT_LENGTH).optional() }))
      .max(forecastModelNames.length)
      .optional(),
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
    config: detectorSettingsSchema
      .default({})
      .describe("The detector's settings; omitted ones take their defaults (each detector bounds each setting)"),
    ifVersion: z.int().min(0).optional().describe('Write only if the series is at this version (0: does not exist yet)'),
  }),
  result: z.object({
    series: seriesNameSchema,
    detector: name,
    config: detectorSettingsSchema,
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
  result: z.object({ series: seriesNameSchema, deleted: z.literal(true), publishedEvents: z.int() }),
});

/** Every Observation route, for lib/api/routes.ts. */
export const observationRoutes = [ingestRoute, statusRoute, forecastRoute, configRoute, deleteSeriesRoute] as const;
