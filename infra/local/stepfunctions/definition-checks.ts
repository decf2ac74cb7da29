/**
 * Validation of state machine definitions at CreateStateMachine/UpdateStateMachine time.
 *
 * Two layers: (1) refusal of features the interpreter cannot run faithfully — it would silently
 * ignore them and produce wrong results, which is worse than an error at deploy time; (2) the
 * schema and semantic checks of `asl-validator` (the validator the interpreter itself uses).
 */
import aslValidator from 'asl-validator';

/** Why a definition was refused or is invalid; the service returns it as `InvalidDefinition`. */
export class DefinitionError extends Error {
  /** True when the definition is valid ASL but uses a feature the local runner refuses. */
  readonly refused: boolean;
  constructor(message: string, refused: boolean) {
    super(message);
    this.name = 'InvalidDefinition';
    this.refused = refused;
  }
}

/** State fields that belong to JSONata or variables, which the interpreter ignores. */
const REFUSED_STATE_FIELDS = ['Assign', 'Output', 'Arguments', 'Items', 'Credentials'] as const;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function refusalsOf(machine: Json, where: string, out: string[]): void {
  if (machine.QueryLanguage === 'JSONata') out.push(`${where}: QueryLanguage "JSONata" is not supported by the local runner`);
  const states = isObj(machine.States) ? machine.States : {};
  for (const [name, raw] of Object.entries(states)) {
    if (!isObj(raw)) continue;
    const at = `${where}/${name}`;
    if (raw.QueryLanguage === 'JSONata') out.push(`${at}: QueryLanguage "JSONata" is not supported by the local runner`);
    for (const field of REFUSED_STATE_FIELDS) {
      if (field in raw) out.push(`${at}: field "${field}" (JSONata/variables) is not supported by the local runner`);
    }
    for (const list of ['Choices', 'Catch'] as const) {
      const items = Array.isArray(raw[list]) ? (raw[list] as unknown[]) : [];
      for (const item of items) {
        if (!isObj(item)) continue;
        for (const field of ['Assign', 'Output', 'Condition']) {
          if (field in item) out.push(`${at}: "${field}" in ${list} (JSONata/variables) is not supported by the local runner`);
        }
      }
    }
    if (raw.Type === 'Map') {
      const proc = isObj(raw.ItemProcessor) ? raw.ItemProcessor : isObj(raw.Iterator) ? raw.Iterator : undefined;
      const cfg = proc && isObj(proc.ProcessorConfig) ? proc.ProcessorConfig : undefined;
      if (cfg?.Mode === 'DISTRIBUTED') out.push(`${at}: distributed Map (ProcessorConfig.Mode DISTRIBUTED) is not supported by the local runner`);
      for (const field of ['ItemReader', 'ResultWriter', 'ItemBatcher', 'ToleratedFailureCount', 'ToleratedFailurePercentage', 'ToleratedFailureCountPath', 'ToleratedFailurePercentagePath', 'Label']) {
        if (field in raw) out.push(`${at}: "${field}" (distributed Map) is not supported by the local runner`);
      }
      if (proc) refusalsOf(proc, `${at}/ItemProcessor`, out);
    }
    if (raw.Type === 'Parallel' && Array.isArray(raw.Branches)) {
      raw.Branches.forEach((b, i) => {
        if (isObj(b)) refusalsOf(b, `${at}/Branches[${i}]`, out);
      });
    }
  }
}

/**
 * Parses and checks a definition; returns the parsed object or throws `DefinitionError`.
 * Variables (`$name` paths without `Assign`) also end up refused at run time as invalid paths.
 */
export function checkDefinition(text: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DefinitionError(`Invalid State Machine Definition: the definition is not valid JSON (${(e as Error).message})`, false);
  }
  if (!isObj(parsed)) throw new DefinitionError('Invalid State Machine Definition: the definition must be a JSON object', false);
  const refusals: string[] = [];
  refusalsOf(parsed, '', refusals);
  if (refusals.length > 0) throw new DefinitionError(`Definition uses features the local Step Functions runner refuses: ${refusals.join('; ')}`, true);
  const { isValid, errorsText } = aslValidator(parsed, { checkArn: false, checkPaths: true });
  if (!isValid) throw new DefinitionError(`Invalid State Machine Definition: ${errorsText('; ')}`, false);
  return parsed;
}
