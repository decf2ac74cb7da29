/**
 * The official MCP JSON Schemas (test/fixtures/conformance/jsonrpc-mcp/mcp_schema/), compiled with
 * ajv for the revision's own dialect: 2025-06-18 is draft-07 (`definitions`), 2025-11-25 and later
 * are 2020-12 (`$defs`). `validateMcp(revision, 'CallToolResult', value)` lists what does not fit.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { conformancePath } from './conformance.ts';

/** The revisions whose schemas ship in the fixtures. */
export type McpRevision = '2025-06-18' | '2025-11-25' | '2026-07-28';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv | Ajv2020) => void;
const compiled = new Map<string, ValidateFunction>();
const validators = new Map<McpRevision, Ajv | Ajv2020>();

function validator(revision: McpRevision): Ajv | Ajv2020 {
  const existing = validators.get(revision);
  if (existing) return existing;
  const schema = JSON.parse(readFileSync(conformancePath('jsonrpc-mcp', 'mcp_schema', `${revision}.schema.json`), 'utf8')) as Record<
    string,
    unknown
  >;
  const ajv = revision === '2025-06-18' ? new Ajv({ strict: false, allErrors: true }) : new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  // The schemas use `byte` (base64 data) for blobs and images, which ajv-formats does not define.
  ajv.addFormat('byte', /^[A-Za-z0-9+/]*={0,2}$/);
  ajv.addSchema(schema, `mcp-${revision}`);
  validators.set(revision, ajv);
  return ajv;
}

/**
 * What in `value` does not fit the definition `name` of `revision` (empty when it fits).
 * @throws Error when the revision has no such definition.
 */
export function validateMcp(revision: McpRevision, name: string, value: unknown): string[] {
  const key = `${revision}#${name}`;
  let validate = compiled.get(key);
  if (!validate) {
    const pointer = revision === '2025-06-18' ? 'definitions' : '$defs';
    const ajv = validator(revision);
    validate = ajv.getSchema(`mcp-${revision}#/${pointer}/${name}`);
    if (!validate) throw new Error(`MCP ${revision} has no definition ${name}`);
    compiled.set(key, validate);
  }
  return validate(value) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message ?? ''}`);
}

/** Whether a JSON Schema compiles as 2020-12 (strict: unknown keywords are errors). */
export function compiles2020(schema: Record<string, unknown>): string | undefined {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  try {
    ajv.compile(schema);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
