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
  `^(${ENGINE_NAME_FRAGMENT})\\.([a-z][a-z0-9-]*)\\.([a-z]+ed|sent|built|run|set|held|made|shown|taken|written)$`,
);

/** An ISO 8601 date-time with `Z` or an explicit offset, kept as text on the bus. */
export const isoTimestampSchema = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with Z or an offset' });

/** A lower-case hex SHA-256 digest. */
export const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters (SHA-256)');

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
