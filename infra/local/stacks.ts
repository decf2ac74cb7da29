/**
 * Nested stacks for the local cloud. The packaged root template may hold `AWS::CloudFormation::Stack`
 * resources whose templates sit beside it; {@link flattenStacks} inlines every one of them into a single
 * resource map, binding parameters, outputs and exports as CloudFormation binds them, so the local
 * cloud deploys one template that means what the nested ones mean on AWS.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type CfnTemplate, UnsupportedTemplateError } from './template.ts';

/** The resource type of a nested stack. */
export const NESTED_STACK_TYPE = 'AWS::CloudFormation::Stack';

/** One nested stack the local cloud deployed. */
export interface NestedStackSummary {
  /** Logical id of its `AWS::CloudFormation::Stack` resource. */
  logicalId: string;
  /** Logical id of the nested stack that holds it; null when the root template holds it. */
  parent: string | null;
  /** File name of its template: the last path segment of its TemplateURL. */
  file: string;
  /** Resources its own template declares (a nested stack in it counts as one). */
  resources: number;
  /** Names of its outputs. */
  outputs: string[];
}

/** A root template with its nested stacks inlined, and the list of those stacks (parents before children). */
export interface FlatTemplate {
  template: CfnTemplate;
  stacks: NestedStackSummary[];
}

/** Returns the parsed template a nested stack's TemplateURL points at. */
export type TemplateLoader = (templateUrl: string) => CfnTemplate;

type ParameterDeclaration = NonNullable<CfnTemplate['Parameters']>[string];

interface StackNode {
  /** Null for the root template. */
  logicalId: string | null;
  parent: StackNode | null;
  file: string;
  template: CfnTemplate;
  /** Parameter values as the parent passes them: expressions in the parent's scope. */
  passed: Record<string, unknown>;
  children: Map<string, StackNode>;
  /** Bound parameter values (expressions in the root's scope), filled on first use. */
  parameters: Map<string, unknown>;
  /** Output values (expressions in the root's scope), filled on first use. */
  outputs: Map<string, unknown>;
}

/** A `${…}` placeholder of Fn::Sub; `${!…}` is a literal and does not match. */
const SUB_TOKEN = /\$\{([^}!][^}]*)\}/g;

function describe(node: StackNode): string {
  return node.logicalId === null ? 'the root template' : `nested stack ${node.logicalId} (${node.file})`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The single `Fn::*`/`Ref` key of an intrinsic function object, with its argument. */
function intrinsic(value: unknown): [string, unknown] | undefined {
  if (!isRecord(value)) return undefined;
  const entries = Object.entries(value);
  return entries.length === 1 ? entries[0] : undefined;
}

/**
 * The file name a TemplateURL points at (its last path segment): the loader reads that file beside the root template.
 * @throws UnsupportedTemplateError when the URL has no literal file name.
 */
export function templateFileName(templateUrl: string): string {
  const file = (templateUrl.split(/[?#]/)[0] ?? '').split('/').pop() ?? '';
  if (file === '' || file.includes('${') || file === '.' || file === '..') {
    throw new UnsupportedTemplateError(`TemplateURL ${templateUrl} does not end in a template file name`);
  }
  return file;
}

/** A TemplateURL as text: literal parts kept, anything computed shown as `${…}`. */
function templateUrlText(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  const [key, arg] = intrinsic(value) ?? [];
  if (key === 'Fn::Sub' && typeof arg === 'string') return arg;
  if (key === 'Fn::Sub' && Array.isArray(arg) && typeof arg[0] === 'string') return arg[0];
  if (key === 'Fn::Join' && Array.isArray(arg) && typeof arg[0] === 'string' && Array.isArray(arg[1])) {
    return arg[1].map((part) => (typeof part === 'string' ? part : '${…}')).join(arg[0]);
  }
  throw new UnsupportedTemplateError(`TemplateURL of ${where} must be a string, Fn::Sub or Fn::Join`);
}

/**
 * Loads nested templates from files beside the root template (`sls package` writes them to one directory).
 * @throws UnsupportedTemplateError naming the file when it is missing or not JSON.
 */
export function siblingTemplateLoader(directory: string): TemplateLoader {
  return (templateUrl) => {
    const file = path.join(directory, templateFileName(templateUrl));
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as CfnTemplate;
    } catch (error) {
      throw new UnsupportedTemplateError(`cannot read nested template ${file}: ${(error as Error).message}`);
    }
  };
}

/**
 * Loads nested templates from a map of file name to template (tests that deploy a template they hold in memory).
 * @throws UnsupportedTemplateError naming the file when the map does not hold it.
 */
export function templateFilesLoader(files: Record<string, CfnTemplate>): TemplateLoader {
  return (templateUrl) => {
    const file = templateFileName(templateUrl);
    const template = files[file];
    if (!template) throw new UnsupportedTemplateError(`no nested template ${file} (have: ${Object.keys(files).join(', ') || 'none'})`);
    return template;
  };
}

const noLoader: TemplateLoader = (templateUrl) => {
  throw new UnsupportedTemplateError(`the template holds a nested stack (${templateUrl}) but no loader for nested templates was given`);
};

/**
 * A parameter value as a `Ref` to it returns it: Number and String values as strings, list types as lists.
 * @throws UnsupportedTemplateError for SSM parameter types and for a value outside AllowedValues.
 */
function bindParameter(node: StackNode, name: string, declaration: ParameterDeclaration, value: unknown): unknown {
  const type = declaration.Type ?? 'String';
  if (type.startsWith('AWS::SSM::')) throw new UnsupportedTemplateError(`parameter ${name} of ${describe(node)} has type ${type}, which the local cloud does not resolve`);
  const literal = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
  if (literal !== undefined && declaration.AllowedValues && !declaration.AllowedValues.map(String).includes(literal)) {
    throw new UnsupportedTemplateError(`parameter ${name} of ${describe(node)} gets ${literal}, which is not one of its AllowedValues`);
  }
  if (type === 'CommaDelimitedList' || type.startsWith('List<')) {
    if (literal !== undefined) return literal.split(',').map((item) => item.trim());
    return Array.isArray(value) ? value : { 'Fn::Split': [',', value] };
  }
  return literal ?? value;
}

/** Fn::Sub, Fn::Join and pseudo parameters over literals, evaluated to text; pseudo parameters stay `${AWS::…}`. */
function staticText(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  const [key, arg] = intrinsic(value) ?? [];
  if (key === 'Ref' && typeof arg === 'string' && arg.startsWith('AWS::')) return `\${${arg}}`;
  if (key === 'Fn::Sub' && (typeof arg === 'string' || (Array.isArray(arg) && typeof arg[0] === 'string'))) {
    const [text, vars] = typeof arg === 'string' ? [arg, {}] : [String(arg[0]), isRecord(arg[1]) ? arg[1] : {}];
    return text
      .replace(SUB_TOKEN, (whole, name: string) => {
        if (name in vars) return staticText(vars[name], what);
        if (name.startsWith('AWS::')) return whole;
        throw new UnsupportedTemplateError(`${what} must be known before any resource exists, but uses \${${name}}`);
      })
      .replace(/\$\{!/g, '${');
  }
  if (key === 'Fn::Join' && Array.isArray(arg) && typeof arg[0] === 'string' && Array.isArray(arg[1])) {
    return arg[1].map((part) => staticText(part, what)).join(arg[0]);
  }
  throw new UnsupportedTemplateError(`${what} must be known before any resource exists (text, parameters, pseudo parameters, Fn::Sub, Fn::Join), not ${JSON.stringify(value)}`);
}

/** Logical ids a resource refers to in its properties (Ref, Fn::GetAtt, Fn::Sub), in any scope. */
function referencedNames(value: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) referencedNames(item, into);
    return into;
  }
  if (!isRecord(value)) return into;
  const [key, arg] = intrinsic(value) ?? [];
  if (key === 'Ref' && typeof arg === 'string') return into.add(arg);
  if (key === 'Fn::GetAtt') {
    const name = Array.isArray(arg) ? arg[0] : String(arg).split('.')[0];
    if (typeof name === 'string') into.add(name);
    return into;
  }
  if (key === 'Fn::Sub' && (typeof arg === 'string' || Array.isArray(arg))) {
    const [text, vars] = typeof arg === 'string' ? [arg, {}] : [String(arg[0]), isRecord(arg[1]) ? arg[1] : {}];
    for (const match of text.matchAll(SUB_TOKEN)) {
      const name = match[1] ?? '';
      if (!(name in vars)) into.add(name.split('.')[0] ?? name);
    }
    return referencedNames(vars, into);
  }
  for (const inner of Object.values(value)) referencedNames(inner, into);
  return into;
}

/**
 * Checks what CloudFormation checks before it creates a stack's resources: every DependsOn names a
 * resource of the same template, and no resources (nested stacks included) depend on each other in a circle.
 */
function checkDependencies(node: StackNode): void {
  const resources = node.template.Resources;
  const edges = new Map<string, string[]>();
  for (const [id, resource] of Object.entries(resources)) {
    const dependsOn = ([] as unknown[]).concat(resource.DependsOn ?? []).map(String);
    for (const name of dependsOn) {
      if (!(name in resources)) throw new UnsupportedTemplateError(`${id} in ${describe(node)} DependsOn ${name}, which is not a resource of that template`);
    }
    const referenced = [...referencedNames(resource.Properties ?? {}, new Set())].filter((name) => name in resources && name !== id);
    edges.set(id, [...new Set([...dependsOn, ...referenced])]);
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      const circle = [...path.slice(path.indexOf(id)), id];
      throw new UnsupportedTemplateError(`circular dependency between resources of ${describe(node)}: ${circle.join(' → ')}`);
    }
    state.set(id, 'visiting');
    path.push(id);
    for (const next of edges.get(id) ?? []) visit(next);
    path.pop();
    state.set(id, 'done');
  };
  for (const id of edges.keys()) visit(id);
}

/** Turns the expressions of every stack into expressions over the root's scope. */
class Flattener {
  private readonly resolving: string[] = [];
  private exports: Map<string, { node: StackNode; output: string }> | undefined;
  private exportsBuilding = false;

  private readonly root: StackNode;
  /** The stack that declares each logical id. */
  private readonly owners = new Map<string, StackNode>();

  constructor(root: StackNode) {
    this.root = root;
    for (const node of this.nodes()) for (const id of Object.keys(node.template.Resources)) this.owners.set(id, node);
  }

  flatten(): FlatTemplate {
    this.exportIndex();
    const resources: CfnTemplate['Resources'] = {};
    const conditions: Record<string, unknown> = {};
    const mappings: Record<string, unknown> = {};
    const stacks: NestedStackSummary[] = [];
    const visit = (node: StackNode) => {
      checkDependencies(node);
      for (const [name, condition] of Object.entries(node.template.Conditions ?? {})) {
        if (name in conditions) throw new UnsupportedTemplateError(`condition ${name} is declared by more than one stack (again in ${describe(node)})`);
        conditions[name] = this.toRoot(condition, node);
      }
      for (const [name, mapping] of Object.entries(node.template.Mappings ?? {})) {
        if (name in mappings) throw new UnsupportedTemplateError(`mapping ${name} is declared by more than one stack (again in ${describe(node)})`);
        mappings[name] = mapping;
      }
      for (const [id, resource] of Object.entries(node.template.Resources)) {
        resources[id] = resource.Properties === undefined ? { ...resource } : { ...resource, Properties: this.toRoot(resource.Properties, node) as Record<string, unknown> };
        const child = node.children.get(id);
        if (!child) continue;
        stacks.push({
          logicalId: id,
          parent: node.logicalId,
          file: child.file,
          resources: Object.keys(child.template.Resources).length,
          outputs: Object.keys(child.template.Outputs ?? {}),
        });
        visit(child);
      }
      // Outputs nothing reads are bound too: CloudFormation refuses a bad one even when it is unused.
      for (const name of Object.keys(node.template.Outputs ?? {})) this.output(node, name, describe(node));
    };
    visit(this.root);
    const { Parameters: _bound, Conditions: _conditions, Mappings: _mappings, Outputs: outputs, ...rest } = this.root.template;
    const template: CfnTemplate = { ...rest, Resources: resources };
    if (Object.keys(conditions).length > 0) template.Conditions = conditions;
    if (Object.keys(mappings).length > 0) template.Mappings = mappings;
    if (outputs !== undefined) template.Outputs = this.toRoot(outputs, this.root) as CfnTemplate['Outputs'];
    return { template, stacks };
  }

  private *nodes(node: StackNode = this.root): Generator<StackNode> {
    yield node;
    for (const child of node.children.values()) yield* this.nodes(child);
  }

  /** Runs `work` for `key`, refusing to re-enter a key already being resolved (a cycle). */
  private guard<T>(key: string, work: () => T): T {
    const at = this.resolving.indexOf(key);
    if (at >= 0) throw new UnsupportedTemplateError(`circular reference: ${[...this.resolving.slice(at), key].join(' → ')}`);
    this.resolving.push(key);
    try {
      return work();
    } finally {
      this.resolving.pop();
    }
  }

  /** Every export name of every stack, each once. */
  private exportIndex(): Map<string, { node: StackNode; output: string }> {
    if (this.exports) return this.exports;
    if (this.exportsBuilding) throw new UnsupportedTemplateError(`an export name depends on Fn::ImportValue (${this.resolving.join(' → ')})`);
    this.exportsBuilding = true;
    const index = new Map<string, { node: StackNode; output: string }>();
    for (const node of this.nodes()) {
      for (const [output, declaration] of Object.entries(node.template.Outputs ?? {})) {
        if (declaration.Export === undefined) continue;
        const what = `the export name of output ${output} of ${describe(node)}`;
        const name = staticText(this.guard(`${describe(node)} export ${output}`, () => this.toRoot(declaration.Export?.Name, node)), what);
        const other = index.get(name);
        if (other) throw new UnsupportedTemplateError(`export name ${name} is declared twice: by output ${other.output} of ${describe(other.node)} and by output ${output} of ${describe(node)}`);
        index.set(name, { node, output });
      }
    }
    this.exports = index;
    this.exportsBuilding = false;
    return index;
  }

  /** Rewrites `value`, an expression in `node`'s scope, as an expression in the root's scope. */
  toRoot(value: unknown, node: StackNode): unknown {
    if (Array.isArray(value)) return value.map((item) => this.toRoot(item, node));
    if (!isRecord(value)) return value;
    const [key, arg] = intrinsic(value) ?? [];
    switch (key) {
      case 'Ref':
        return this.ref(String(arg), node);
      case 'Fn::GetAtt':
        return this.getAtt(arg, node);
      case 'Fn::Sub':
        return this.sub(arg, node);
      case 'Fn::ImportValue':
        return this.importValue(arg, node);
      default:
        return Object.fromEntries(Object.entries(value).map(([inner, item]) => [inner, this.toRoot(item, node)]));
    }
  }

  /** A child's `AWS::StackName`: its parent's name and its logical id, as CloudFormation names nested stacks (less the random suffix). */
  private stackName(node: StackNode): unknown {
    if (!node.parent || node.logicalId === null) return { Ref: 'AWS::StackName' };
    return { 'Fn::Join': ['-', [this.stackName(node.parent), node.logicalId]] };
  }

  private parameter(node: StackNode, name: string, declaration: ParameterDeclaration): unknown {
    if (node.parameters.has(name)) return node.parameters.get(name);
    const value = this.guard(`${describe(node)} parameter ${name}`, () => {
      const passed = node.passed[name];
      if (node.parent && passed !== undefined) return this.toRoot(passed, node.parent);
      if (declaration.Default !== undefined) return declaration.Default;
      const source = node.parent ? `${describe(node.parent)} passes no value for it` : 'the local cloud passes no parameter values to the root template';
      throw new UnsupportedTemplateError(`${describe(node)} needs parameter ${name}: ${source} and it has no Default`);
    });
    const bound = bindParameter(node, name, declaration, value);
    node.parameters.set(name, bound);
    return bound;
  }

  private output(node: StackNode, name: string, reader: string): unknown {
    if (node.outputs.has(name)) return node.outputs.get(name);
    const declaration = node.template.Outputs?.[name];
    if (!declaration) {
      const known = Object.keys(node.template.Outputs ?? {}).join(', ') || 'none';
      throw new UnsupportedTemplateError(`${reader} reads output ${name} of ${describe(node)}, which has no such output (it has: ${known})`);
    }
    const value = this.guard(`${describe(node)} output ${name}`, () => this.toRoot(declaration.Value, node));
    node.outputs.set(name, value);
    return value;
  }

  private ref(name: string, node: StackNode): unknown {
    if (name === 'AWS::StackName') return this.stackName(node);
    if (name.startsWith('AWS::')) return { Ref: name };
    const declaration = node.template.Parameters?.[name];
    if (declaration) return this.parameter(node, name, declaration);
    if (name in node.template.Resources) return { Ref: name };
    this.refuseForeign(name, `Ref to ${name}`, node);
    return { Ref: name };
  }

  /**
   * Refuses a reference from one stack to another stack's resource: CloudFormation scopes names to their
   * template, and inlining must not make such a reference work locally. A name no stack declares stays as
   * written (as in a template without nested stacks): the resolver refuses it if anything resolves it.
   */
  private refuseForeign(name: string, what: string, node: StackNode): void {
    const owner = this.owners.get(name);
    if (owner && owner !== node) throw new UnsupportedTemplateError(`${what} in ${describe(node)}: ${name} belongs to ${describe(owner)}; pass it as a parameter or an output`);
  }

  private getAtt(arg: unknown, node: StackNode): unknown {
    const [name, attribute] = Array.isArray(arg) ? arg : String(arg).split(/\.(.*)/s);
    if (typeof name !== 'string' || typeof attribute !== 'string') {
      throw new UnsupportedTemplateError(`Fn::GetAtt ${JSON.stringify(arg)} in ${describe(node)} must name a resource and an attribute`);
    }
    const child = node.children.get(name);
    if (child) {
      if (!attribute.startsWith('Outputs.')) throw new UnsupportedTemplateError(`Fn::GetAtt ${name}.${attribute} in ${describe(node)}: a nested stack's attributes are Outputs.<name>`);
      return this.output(child, attribute.slice('Outputs.'.length), `Fn::GetAtt in ${describe(node)}`);
    }
    if (!(name in node.template.Resources)) this.refuseForeign(name, `Fn::GetAtt ${name}.${attribute}`, node);
    return { 'Fn::GetAtt': arg };
  }

  /** What a `${name}` of an Fn::Sub in `node` stands for in the root's scope; undefined when it stays as written. */
  private subToken(name: string, node: StackNode): unknown {
    if (name === 'AWS::StackName') return node.parent ? this.stackName(node) : undefined;
    if (name.startsWith('AWS::')) return undefined;
    if (name.includes('.')) {
      const [resource = '', attribute = ''] = name.split(/\.(.*)/s);
      if (node.children.has(resource)) return this.getAtt([resource, attribute], node);
      if (!(resource in node.template.Resources)) this.refuseForeign(resource, `\${${name}} in an Fn::Sub`, node);
      return undefined;
    }
    const declaration = node.template.Parameters?.[name];
    if (declaration) return this.parameter(node, name, declaration);
    if (!(name in node.template.Resources)) this.refuseForeign(name, `\${${name}} in an Fn::Sub`, node);
    return undefined;
  }

  /** Fn::Sub whose parameters and stack outputs become variables of its two-argument form. */
  private sub(arg: unknown, node: StackNode): unknown {
    const text = typeof arg === 'string' ? arg : Array.isArray(arg) && typeof arg[0] === 'string' ? arg[0] : undefined;
    const vars = Array.isArray(arg) ? (arg[1] ?? {}) : {};
    if (text === undefined || !isRecord(vars)) throw new UnsupportedTemplateError(`Fn::Sub in ${describe(node)} must be a string or [string, { variables }]`);
    const boundVars = this.toRoot(vars, node) as Record<string, unknown>;
    const taken = new Set([...Object.keys(vars), ...[...text.matchAll(SUB_TOKEN)].map((match) => match[1] ?? '')]);
    const added = new Map<string, { variable: string; value: unknown }>();
    const rewritten = text.replace(SUB_TOKEN, (whole, name: string) => {
      if (name in vars) return whole;
      const known = added.get(name);
      if (known) return `\${${known.variable}}`;
      const value = this.subToken(name, node);
      if (value === undefined) return whole;
      let variable = name;
      if (!/^[A-Za-z0-9_]+$/.test(name)) {
        const base = name.replace(/[^A-Za-z0-9_]/g, '');
        variable = base;
        for (let n = 2; taken.has(variable); n += 1) variable = `${base}${n}`;
        taken.add(variable);
      }
      added.set(name, { variable, value });
      return `\${${variable}}`;
    });
    if (added.size === 0) return { 'Fn::Sub': typeof arg === 'string' ? arg : [text, boundVars] };
    return { 'Fn::Sub': [rewritten, { ...boundVars, ...Object.fromEntries([...added.values()].map(({ variable, value }) => [variable, value])) }] };
  }

  private importValue(arg: unknown, node: StackNode): unknown {
    const name = staticText(this.toRoot(arg, node), `the name in an Fn::ImportValue of ${describe(node)}`);
    const exported = this.exportIndex().get(name);
    if (!exported) throw new UnsupportedTemplateError(`Fn::ImportValue ${name} in ${describe(node)}: no stack of this deployment exports that name`);
    if (exported.node === node) throw new UnsupportedTemplateError(`Fn::ImportValue ${name} in ${describe(node)}: a stack cannot import its own export`);
    return this.output(exported.node, exported.output, `Fn::ImportValue in ${describe(node)}`);
  }
}

/** Loads the tree of stacks under `template`, checking that logical ids are unique across all of them. */
function loadStack(template: CfnTemplate, at: { logicalId: string | null; parent: StackNode | null; file: string; passed: Record<string, unknown> }, load: TemplateLoader, owners: Map<string, string>): StackNode {
  const node: StackNode = { ...at, template, children: new Map(), parameters: new Map(), outputs: new Map() };
  if (!isRecord(template) || !isRecord(template.Resources)) throw new UnsupportedTemplateError(`${describe(node)} has no Resources`);
  for (const id of Object.keys(template.Resources)) {
    const owner = owners.get(id);
    if (owner) throw new UnsupportedTemplateError(`logical id ${id} is declared by ${owner} and again by ${describe(node)}: nested stacks must not repeat logical ids`);
    owners.set(id, describe(node));
  }
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== NESTED_STACK_TYPE) continue;
    const where = `nested stack ${id} in ${describe(node)}`;
    if (resource.Condition !== undefined) throw new UnsupportedTemplateError(`${where} has a Condition, which the local cloud does not evaluate`);
    const properties = resource.Properties ?? {};
    const url = templateUrlText(properties.TemplateURL, where);
    const passed = properties.Parameters ?? {};
    if (!isRecord(passed)) throw new UnsupportedTemplateError(`Parameters of ${where} must be an object of name to value`);
    const child = load(url);
    const file = templateFileName(url);
    const declared = isRecord(child) && isRecord(child.Parameters) ? child.Parameters : {};
    for (const name of Object.keys(passed)) {
      if (!(name in declared)) throw new UnsupportedTemplateError(`${where} is passed parameter ${name}, which its template ${file} does not declare`);
    }
    node.children.set(id, loadStack(child, { logicalId: id, parent: node, file, passed }, load, owners));
  }
  return node;
}

/**
 * Inlines every nested stack (`AWS::CloudFormation::Stack`) of `root`, at any depth, into one template:
 * a `Ref` to a parameter becomes the value the parent passes (or its Default), a parameter in an
 * Fn::Sub becomes a variable of its two-argument form, `Fn::GetAtt [Stack, Outputs.X]` (or
 * `${Stack.Outputs.X}`) becomes the output's value, and `Fn::ImportValue` the exporting output's value.
 * A child's `AWS::StackName` is `<parent's name>-<logical id>`. The stack resources stay in the template
 * (so DependsOn on them holds) and create nothing. A template without nested stacks comes back unchanged.
 * @throws UnsupportedTemplateError for a repeated logical id, condition or export name; a parameter with no
 *   value and no Default; an undeclared parameter passed; an unknown output or export; a reference to another
 *   stack's resource; a DependsOn outside the template; a cycle. A name no stack declares is left as written.
 * @example
 * const { template, stacks } = flattenStacks(root, siblingTemplateLoader('.local/package/dev'));
 */
export function flattenStacks(root: CfnTemplate, load: TemplateLoader = noLoader): FlatTemplate {
  const tree = loadStack(root, { logicalId: null, parent: null, file: '', passed: {} }, load, new Map());
  return new Flattener(tree).flatten();
}
