/**
 * The golden-set half of the regression gate: examples that must validate against a schema
 * artifact's new version, checked with ajv (draft-07 when the schema's `$schema` names draft-07 or
 * earlier, 2020-12 otherwise; formats checked by ajv-formats). Pure: no I/O.
 */
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Gate } from './schemas.ts';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv | Ajv2020) => void;

let draft07: Ajv | undefined;
let draft2020: Ajv2020 | undefined;

function validatorFor(schema: unknown): Ajv | Ajv2020 {
  const dialect =
    typeof schema === 'object' && schema !== null && '$schema' in schema ? String((schema as { $schema: unknown }).$schema) : '';
  if (/draft-0[4-7]/.test(dialect)) {
    if (!draft07) {
      draft07 = new Ajv({ strict: false, allErrors: true, addUsedSchema: false, logger: false });
      addFormats(draft07);
    }
    return draft07;
  }
  if (!draft2020) {
    draft2020 = new Ajv2020({ strict: false, allErrors: true, addUsedSchema: false, logger: false });
    addFormats(draft2020);
  }
  return draft2020;
}

/** Thrown when ajv cannot compile the schema (so no example can be checked against it). */
export class GoldenSchemaError extends Error {
  override readonly name = 'GoldenSchemaError';
}

/**
 * Checks every example against `schema`.
 * @throws GoldenSchemaError when ajv cannot compile the schema (an unresolvable `$ref`, an invalid keyword value).
 * @example checkGolden({ type: 'string' }, ['a', 1], 'request') // { passed: false, total: 2, failures: [{ index: 1, errors: ['/ must be string'] }], source: 'request' }
 */
export function checkGolden(schema: unknown, examples: readonly unknown[], source: 'request' | 'previous'): NonNullable<Gate['golden']> {
  const ajv = validatorFor(schema);
  let validate: ReturnType<Ajv['compile']>;
  try {
    validate = ajv.compile(schema as object);
  } catch (error) {
    throw new GoldenSchemaError(`the schema does not compile: ${error instanceof Error ? error.message.slice(0, 300) : 'invalid'}`);
  }
  const failures: NonNullable<Gate['golden']>['failures'] = [];
  let failed = 0;
  examples.forEach((example, index) => {
    if (validate(example)) return;
    failed += 1;
    if (failures.length < 20)
      failures.push({
        index,
        errors: (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`.slice(0, 300)),
      });
  });
  return { passed: failed === 0, total: examples.length, failures, source };
}
