/**
 * Splits the compiled CloudFormation template into a root stack and one nested stack per engine, so
 * no stack nears CloudFormation's limits as engines are added (500 resources, 1 MB template from S3,
 * 200 parameters, 200 outputs per stack).
 *
 * The root keeps the shared resources (tables, buckets, the bus, queues, the HTTP API, state
 * machines). Each function moves to its engine's stack with everything that exists only for it: its
 * role and log group, its HTTP integration, routes and invoke permissions, its schedule rules and
 * queue mappings. References that cross a stack boundary are rewritten the way CloudFormation wires
 * nested stacks: a child reads root resources through `Parameters`, and the root (or a sibling,
 * through the root) reads a child's resources through its `Outputs` (`Fn::GetAtt [Stack, Outputs.X]`).
 *
 * Pure: takes and returns plain templates, so the packaging plugin, the tests and the projection of
 * a 20-engine product all run the same code.
 */

/** A CloudFormation template, as much of it as the splitter touches. */
export interface Template {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Parameters?: Record<string, { Type: string; Default?: string; Description?: string }>;
  Resources: Record<string, Resource>;
  Outputs?: Record<string, { Value: unknown; Description?: string; Export?: { Name: unknown } }>;
  [key: string]: unknown;
}

/** One resource of a template. */
export interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  [key: string]: unknown;
}

/** CloudFormation's hard limits per stack, and the share of them a stack may use. */
export const LIMITS = { resources: 500, templateBytes: 1_048_576, parameters: 200, outputs: 200 } as const;
/** What the product allows itself: 400 resources and 80 % of the template size. */
export const BUDGET = { resources: 400, templateBytes: Math.floor(LIMITS.templateBytes * 0.8), parameters: 160, outputs: 160 } as const;

/** Resource types that may move into an engine's stack; everything else stays in the root. */
const MOVABLE = new Set([
  'AWS::Lambda::Function',
  'AWS::Lambda::Permission',
  'AWS::Lambda::EventSourceMapping',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::Lambda::Url',
  'AWS::IAM::Role',
  'AWS::Logs::LogGroup',
  'AWS::Logs::SubscriptionFilter',
  'AWS::ApiGatewayV2::Integration',
  'AWS::ApiGatewayV2::Route',
  'AWS::Events::Rule',
  'AWS::CloudWatch::Alarm',
]);

/** A reference found in a template value. */
type Reference = { kind: 'ref'; id: string } | { kind: 'att'; id: string; attribute: string };

const SUB_VARIABLE = /\$\{([^}!][^}]*)\}/g;

function splitAtt(arg: unknown): [string, string] {
  if (Array.isArray(arg)) return [String(arg[0]), String(arg[1])];
  const text = String(arg);
  const dot = text.indexOf('.');
  return [text.slice(0, dot), text.slice(dot + 1)];
}

/**
 * Rewrites every reference in `value`. `map` returns the replacement expression for a reference, or
 * undefined to keep it. Inside `Fn::Sub` strings, a replaced reference becomes a Sub variable bound to
 * the replacement (or a plain `${Name}` when the replacement is a `Ref` to a parameter of that name).
 */
function rewrite(value: unknown, map: (reference: Reference) => unknown, shadowed: ReadonlySet<string> = new Set()): unknown {
  if (Array.isArray(value)) return value.map((item) => rewrite(item, map, shadowed));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [key, arg] = entries[0] as [string, unknown];
    if (key === 'Ref' && typeof arg === 'string' && !arg.startsWith('AWS::')) return map({ kind: 'ref', id: arg }) ?? value;
    if (key === 'Fn::GetAtt') {
      const [id, attribute] = splitAtt(arg);
      return map({ kind: 'att', id, attribute }) ?? value;
    }
    if (key === 'Fn::Sub') {
      const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
      const own = new Set(Object.keys(vars));
      const bound: Record<string, unknown> = Object.fromEntries(Object.entries(vars).map(([name, inner]) => [name, rewrite(inner, map, shadowed)]));
      const rewritten = text.replace(SUB_VARIABLE, (whole, name: string) => {
        if (own.has(name) || name.startsWith('AWS::')) return whole;
        const dot = name.indexOf('.');
        const reference: Reference = dot < 0 ? { kind: 'ref', id: name } : { kind: 'att', id: name.slice(0, dot), attribute: name.slice(dot + 1) };
        const replacement = map(reference);
        if (replacement === undefined) return whole;
        const asRef = replacement as { Ref?: unknown };
        if (Object.keys(replacement as object).length === 1 && typeof asRef.Ref === 'string') return `\${${asRef.Ref}}`;
        const variable = name.replace(/\W/g, '');
        bound[variable] = replacement;
        return `\${${variable}}`;
      });
      return { 'Fn::Sub': Object.keys(bound).length === 0 ? rewritten : [rewritten, bound] };
    }
  }
  return Object.fromEntries(entries.map(([key, inner]) => [key, rewrite(inner, map, shadowed)]));
}

/** The logical ids `value` refers to (Ref, GetAtt, Sub variables), pseudo parameters excluded. */
export function referencesIn(value: unknown): Reference[] {
  const found: Reference[] = [];
  rewrite(value, (reference) => {
    found.push(reference);
    return undefined;
  });
  return found;
}

function dependsOn(resource: Resource): string[] {
  const value = resource.DependsOn;
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** Logical ids a resource depends on: its references and its `DependsOn`. */
function dependencies(resource: Resource): Set<string> {
  const { DependsOn: _dependsOn, ...rest } = resource;
  return new Set([...referencesIn(rest).map((reference) => reference.id), ...dependsOn(resource)]);
}

/**
 * Which stack each resource belongs to. Functions are placed by `placeFunction`; a role or log group
 * follows the functions that use it when they all sit in one stack; any other movable resource
 * follows the stack of the resources it refers to, when it refers to resources of exactly one stack.
 */
export function assignStacks(template: Template, placeFunction: (logicalId: string) => string | undefined): Map<string, string> {
  const resources = template.Resources;
  const assigned = new Map<string, string>();
  const deps = new Map(Object.entries(resources).map(([id, resource]) => [id, dependencies(resource)]));
  const users = new Map<string, string[]>();
  for (const [id, targets] of deps) for (const target of targets) users.set(target, [...(users.get(target) ?? []), id]);
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const stack = placeFunction(id);
    if (stack !== undefined) assigned.set(id, stack);
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const [id, resource] of Object.entries(resources)) {
      if (assigned.has(id) || !MOVABLE.has(resource.Type)) continue;
      let stacks: Set<string | undefined>;
      if (resource.Type === 'AWS::IAM::Role' || resource.Type === 'AWS::Logs::LogGroup') {
        const by = users.get(id) ?? [];
        stacks = new Set(by.map((user) => assigned.get(user)));
        if (by.length === 0) continue;
      } else {
        const targets = [...(deps.get(id) ?? [])].filter((target) => target in resources);
        stacks = new Set(targets.map((target) => assigned.get(target)).filter((stack) => stack !== undefined));
        // A resource tied to a root resource (a route of the API, say) may move only with a function.
        if (targets.every((target) => !assigned.has(target))) continue;
      }
      const [only] = stacks;
      if (stacks.size === 1 && only !== undefined) {
        assigned.set(id, only);
        changed = true;
      }
    }
  }
  return assigned;
}

/** Options of {@link splitStacks}. */
export interface SplitOptions {
  /** The stack a function belongs to (e.g. its engine), or undefined to keep it in the root. */
  placeFunction: (logicalId: string) => string | undefined;
  /** The nested stack's logical id in the root, from its stack key. */
  stackId: (stack: string) => string;
  /** The nested template's file name, from its stack key. */
  fileName: (stack: string) => string;
  /** `TemplateURL` of a nested template, from its file name. */
  templateUrl: (file: string) => unknown;
}

/** The root template and the nested templates by file name. */
export interface SplitResult {
  root: Template;
  nested: Record<string, Template>;
  /** Stack key → logical id and file, in creation order. */
  stacks: Array<{ key: string; logicalId: string; file: string }>;
}

const attributeName = (id: string, attribute: string) => `${id}${attribute.replace(/\W/g, '')}`;

/**
 * Splits `template` (which is not modified) into a root and nested stacks.
 * @throws Error when a parameter or output name would be ambiguous.
 */
export function splitStacks(template: Template, options: SplitOptions): SplitResult {
  const assigned = assignStacks(template, options.placeFunction);
  const keys = [...new Set(assigned.values())];
  const stackOf = (id: string) => assigned.get(id);
  const children = new Map<string, Template & { Parameters: NonNullable<Template['Parameters']>; Outputs: NonNullable<Template['Outputs']> }>();
  const parameterValues = new Map<string, Record<string, unknown>>();
  const stackDependsOn = new Map<string, Set<string>>();
  for (const key of keys) {
    children.set(key, {
      AWSTemplateFormatVersion: '2010-09-09',
      Description: `${template.Description ?? 'Nested stack'}: ${key}`,
      Parameters: {},
      Resources: {},
      Outputs: {},
    });
    parameterValues.set(key, {});
    stackDependsOn.set(key, new Set());
  }

  /** Makes a child's resource readable from outside its stack; returns the expression that reads it. */
  const exportFrom = (owner: string, reference: Reference): unknown => {
    const child = children.get(owner);
    if (!child) throw new Error(`no nested stack ${owner}`);
    const name = reference.kind === 'ref' ? reference.id : attributeName(reference.id, reference.attribute);
    const value = reference.kind === 'ref' ? { Ref: reference.id } : { 'Fn::GetAtt': [reference.id, reference.attribute] };
    const existing = child.Outputs[name];
    if (existing && JSON.stringify(existing.Value) !== JSON.stringify(value)) throw new Error(`output name ${name} is ambiguous in ${owner}`);
    child.Outputs[name] = { Value: value };
    return { 'Fn::GetAtt': [options.stackId(owner), `Outputs.${name}`] };
  };

  /** The expression that reads `reference` from the root's point of view. */
  const fromRoot = (reference: Reference): unknown => {
    const owner = stackOf(reference.id);
    if (owner === undefined) return reference.kind === 'ref' ? { Ref: reference.id } : { 'Fn::GetAtt': [reference.id, reference.attribute] };
    return exportFrom(owner, reference);
  };

  for (const [id, resource] of Object.entries(template.Resources)) {
    const owner = stackOf(id);
    if (owner === undefined) continue;
    const child = children.get(owner);
    const values = parameterValues.get(owner);
    if (!child || !values) continue;
    const mapped = rewrite({ ...resource, DependsOn: undefined }, (reference) => {
      if (!(reference.id in template.Resources)) return undefined; // a parameter or output of ours
      if (stackOf(reference.id) === owner) return undefined;
      const name = reference.kind === 'ref' ? reference.id : attributeName(reference.id, reference.attribute);
      if (name in template.Resources && reference.kind === 'att') throw new Error(`parameter name ${name} collides with a resource`);
      child.Parameters[name] = { Type: 'String' };
      values[name] = fromRoot(reference);
      return { Ref: name };
    }) as Resource;
    delete mapped.DependsOn;
    const inside: string[] = [];
    for (const target of dependsOn(resource)) {
      const targetStack = stackOf(target);
      if (targetStack === owner) inside.push(target);
      else stackDependsOn.get(owner)?.add(targetStack === undefined ? target : options.stackId(targetStack));
    }
    if (inside.length > 0) mapped.DependsOn = inside.length === 1 ? (inside[0] as string) : inside;
    child.Resources[id] = mapped;
  }

  const rootResources: Record<string, Resource> = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (stackOf(id) !== undefined) continue;
    const mapped = rewrite({ ...resource, DependsOn: undefined }, (reference) =>
      reference.id in template.Resources && stackOf(reference.id) !== undefined ? fromRoot(reference) : undefined,
    ) as Resource;
    delete mapped.DependsOn;
    const after = [...new Set(dependsOn(resource).map((target) => {
      const targetStack = stackOf(target);
      return targetStack === undefined ? target : options.stackId(targetStack);
    }))];
    if (after.length > 0) mapped.DependsOn = after.length === 1 ? (after[0] as string) : after;
    rootResources[id] = mapped;
  }
  const outputs = template.Outputs
    ? (rewrite(template.Outputs, (reference) => (reference.id in template.Resources && stackOf(reference.id) !== undefined ? fromRoot(reference) : undefined)) as Template['Outputs'])
    : undefined;

  const stacks: SplitResult['stacks'] = [];
  const nested: Record<string, Template> = {};
  for (const key of keys) {
    const child = children.get(key);
    if (!child) continue;
    const logicalId = options.stackId(key);
    const file = options.fileName(key);
    if (logicalId in rootResources) throw new Error(`nested stack id ${logicalId} collides with a resource`);
    const after = [...(stackDependsOn.get(key) ?? [])].filter((target) => target !== logicalId);
    rootResources[logicalId] = {
      Type: 'AWS::CloudFormation::Stack',
      Properties: { TemplateURL: options.templateUrl(file), Parameters: parameterValues.get(key) ?? {} },
      ...(after.length > 0 ? { DependsOn: after } : {}),
    };
    if (Object.keys(child.Outputs).length === 0) delete (child as Partial<Template>).Outputs;
    nested[file] = child;
    stacks.push({ key, logicalId, file });
  }
  const root: Template = { ...template, Resources: rootResources };
  if (outputs) root.Outputs = outputs;
  return { root, nested, stacks };
}

/** How much of CloudFormation's limits a template uses. */
export interface Headroom {
  resources: number;
  templateBytes: number;
  parameters: number;
  outputs: number;
  /** Each figure within {@link BUDGET}. */
  withinBudget: boolean;
}

/** Counts a template against the limits; size is the JSON that `sls package` writes (2-space indent). */
export function headroom(template: Template): Headroom {
  const figures = {
    resources: Object.keys(template.Resources).length,
    templateBytes: Buffer.byteLength(JSON.stringify(template, null, 2)),
    parameters: Object.keys(template.Parameters ?? {}).length,
    outputs: Object.keys(template.Outputs ?? {}).length,
  };
  const withinBudget = figures.resources <= BUDGET.resources && figures.templateBytes <= BUDGET.templateBytes && figures.parameters <= BUDGET.parameters && figures.outputs <= BUDGET.outputs;
  return { ...figures, withinBudget };
}
