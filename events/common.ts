/**
 * Building blocks shared by every event schema: the tenant, timestamps, the envelope a rule target
 * receives, and {@link defineEvent}, which ties a detail schema to its source, detail-type and version.
 *
 * The catalog depends on zod only: `lib/` imports `events/`, never the other way round (type-only
 * imports excepted), so a consumer can take the schemas without the engines.
 */
import { z } from 'zod';
import { ENGINE_NAME_FRAGMENT, tenantSchema } from './ids.ts';

/** `autonomy.<engine>`: the source of every event the product publishes. */
export const SOURCE_PATTERN = new RegExp(`^autonomy\\.(${ENGINE_NAME_FRAGMENT})$`);
/** `<engine>.<noun>.<past-verb>`: the detail-type of every event the product publishes. */
export const DETAIL_TYPE_PATTERN = new RegExp(
  `^(${ENGINE_NAME_FRAGMENT})\\.([a-z][a-z0-9-]*)\\.([a-z]+ed|sent|built|run|set|held|made|shown|taken|written|chosen)$`,
);

/**
 * The largest magnitude of any number the product accepts, publishes or answers with. DynamoDB
 * holds numbers up to 9.99…e125, and every store, rule target (the audit ledger) and consumer
 * must hold what an event carries; 1e100 stays clear of that, and of the overflow of squares in
 * running statistics (kept as JSON text, never as DynamoDB numbers). No metric or setting comes
 * near it. Every number in a route's parameters or result and in an event's detail has a finite
 * minimum and maximum within ±this (test/unit/schema-bounds.test.ts walks every schema).
 */
export const MAX_NUMBER_MAGNITUDE = 1e100;

/** A finite number within ±{@link MAX_NUMBER_MAGNITUDE}. */
export const boundedNumberSchema = z.number().min(-MAX_NUMBER_MAGNITUDE).max(MAX_NUMBER_MAGNITUDE);

/**
 * `value` clamped to ±{@link MAX_NUMBER_MAGNITUDE} (±Infinity included; NaN stays NaN): for figures
 * derived from bounded inputs that can still exceed the bound (a score against a zero spread, the
 * slope between two close points), before they are published or answered.
 * @example saturate(1e109) // 1e100
 */
export function saturate(value: number): number {
  return Math.min(MAX_NUMBER_MAGNITUDE, Math.max(-MAX_NUMBER_MAGNITUDE, value));
}

/**
 * A copy of `value` with every number inside it {@link saturate}d (plain data: objects, arrays, primitives).
 * @example saturateNumbers({ score: 1e109, band: [-1, 2e101] }) // { score: 1e100, band: [-1, 1e100] }
 */
export function saturateNumbers<T>(value: T): T {
  if (withinBound(value)) return value;
  if (typeof value === 'number') return saturate(value) as T;
  if (Array.isArray(value)) return value.map((item) => saturateNumbers(item)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, saturateNumbers(inner)])) as T;
  }
  return value;
}

/** True when every number inside `value` is within the bound (checked before copying anything). */
function withinBound(value: unknown): boolean {
  if (typeof value === 'number') return Math.abs(value) <= MAX_NUMBER_MAGNITUDE;
  if (Array.isArray(value)) return value.every(withinBound);
  if (value !== null && typeof value === 'object') return Object.values(value).every(withinBound);
  return true;
}

/** Longest free text on the bus or in a reply: reasons, messages, details. */
export const MAX_TEXT_LENGTH = 2000;

/** Longest ISO 8601 date-time accepted (the format allows any number of fraction digits). */
export const MAX_TIMESTAMP_LENGTH = 64;

/** An ISO 8601 date-time with `Z` or an explicit offset, kept as text on the bus. */
export const isoTimestampSchema = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time with Z or an offset' })
  .max(MAX_TIMESTAMP_LENGTH);

/** A lower-case hex SHA-256 digest. */
export const sha256HexSchema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters (SHA-256)')
  .max(64);

/** The EventBridge envelope as a rule target (Lambda, SQS, Step Functions) receives it. */
export const eventEnvelopeSchema = z.object({
  version: z.literal('0'),
  id: z.string().min(1),
  'detail-type': z.string().min(1),
  source: z.string().min(1),
  account: z.string().regex(/^\d{12}$/, 'account must be 12 digits'),
  time: z.iso.datetime({ offset: true }),
  region: z.string().min(1),
  resources: z.array(z.string()),
  detail: z.unknown(),
});
/** A received EventBridge envelope (detail not yet parsed). */
export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

/** One catalogued bus event. `Schema` parses the whole `detail`, including `version` and `tenant`. */
export interface EventDefinition<Source extends string = string, DetailType extends string = string, Schema extends z.ZodType = z.ZodType> {
  /** `autonomy.<engine>`. */
  source: Source;
  /** `<engine>.<noun>.<past-verb>`; the engine matches the source's. */
  detailType: DetailType;
  /** The schema version, also carried as `detail.version`; bump it on any incompatible change. */
  version: string;
  /** One sentence: what happened, for whom the event is. */
  description: string;
  schema: Schema;
}

/**
 * The detail schema of an event: a strict object (an unknown field is an error, so nothing leaks
 * onto the bus by accident — a task token, say) with `version` fixed and a `tenant`, plus `fields`.
 * A field named `tenant` in `fields` replaces the default tenant rule.
 * @example
 * const schema = detailSchema('1', { thingId: z.string() });
 * schema.parse({ version: '1', tenant: 'acme', thingId: 't1' });
 */
export function detailSchema<Version extends string, Fields extends z.ZodRawShape>(version: Version, fields: Fields) {
  const shape = { version: z.literal(version), tenant: tenantSchema, ...fields } as Omit<
    { version: z.ZodLiteral<Version>; tenant: typeof tenantSchema },
    keyof Fields
  > &
    Fields;
  return z.strictObject(shape);
}

/**
 * Declares a catalog entry; only narrows the literal types of `source` and `detailType` so the
 * catalog can map a detail-type to its detail type.
 * @example
 * export const thingHappened = defineEvent({
 *   source: 'autonomy.things', detailType: 'things.thing.happened', version: '1',
 *   description: 'A thing happened.', schema: detailSchema('1', { thingId: z.string() }),
 * });
 */
export function defineEvent<Source extends string, DetailType extends string, Schema extends z.ZodType>(
  definition: EventDefinition<Source, DetailType, Schema>,
): EventDefinition<Source, DetailType, Schema> {
  return definition;
}
