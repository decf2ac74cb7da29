/**
 * Loads `aws-local-stepfunctions@3.0.0` with a small, checked source patch so that our own code
 * can replace the parts of the interpreter that run state machines wrongly.
 *
 * Why a source patch: the library exports only `StateMachine` and three error classes. Its state
 * actions, the `StateExecutor` (retry/catch), the intrinsic-function evaluator and the
 * input/output processing functions are module-internal, so no wrapper can fix
 * `States.MathAdd`, `$$.State` or an unhandled Task rejection. The patch does two mechanical things
 * and nothing else:
 *  1. it exports the internal classes (so `engine.ts` can override prototype methods), and
 *  2. it puts a hook at the top of a few internal functions (`evaluateIntrinsicFunction`,
 *     `processPayloadTemplate`, `processResultPath`) that our code installs.
 * Every fix lives in TypeScript in this folder. Each patch anchor must match exactly once, and the
 * package version is pinned: an upgrade fails loudly here instead of silently running unpatched.
 *
 * The patched text is written once to a content-addressed file in the OS temp dir and imported; its bare imports are rewritten to absolute
 * `file:` URLs, and the AWS Lambda client imports are stubbed out (the host invokes tasks).
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The only version the patch anchors were written against. */
export const PATCHED_LIBRARY_VERSION = '3.0.0';

/** Packages the library imports that the patched copy resolves by name from this project, so package.json declares them. */
export const LIBRARY_IMPORTS = ['jsonpath-plus', 'wildcard-match', 'p-limit', 'asl-validator'] as const;

/** Names of internal functions that get a replaceable hook. */
export type HookName = 'evaluateIntrinsicFunction' | 'processPayloadTemplate' | 'processResultPath';

/** A loosely typed class from the library whose prototype we override. */
// biome-ignore lint/suspicious/noExplicitAny: internal, untyped library classes
export type AnyClass = { new (...args: any[]): any; prototype: any };

/** What the patched module exposes. */
export interface PatchedInterpreter {
  StateMachine: AnyClass;
  ExecutionError: AnyClass;
  ExecutionAbortedError: AnyClass;
  ExecutionTimeoutError: AnyClass;
  StateExecutor: AnyClass;
  RuntimeError: AnyClass;
  StatesRuntimeError: AnyClass;
  StatesTimeoutError: AnyClass;
  FailStateError: AnyClass;
  FailStateAction: AnyClass;
  MapStateAction: AnyClass;
  ParallelStateAction: AnyClass;
  WaitStateAction: AnyClass;
  PassStateAction: AnyClass;
  ChoiceStateAction: AnyClass;
  /** `jsonPathQuery(path, json, context, options?)` of the library (jsonpath-plus based). */
  jsonPathQuery: (path: string, json: unknown, context: unknown, options?: Record<string, unknown>) => unknown;
  /** Hook table: a function set here replaces the internal function of the same name. */
  hooks: Partial<Record<HookName, (...args: never[]) => unknown>>;
}

const EXPORTED_INTERNALS = [
  'StateExecutor',
  'RuntimeError',
  'StatesRuntimeError',
  'StatesTimeoutError',
  'FailStateError',
  'FailStateAction',
  'MapStateAction',
  'ParallelStateAction',
  'WaitStateAction',
  'PassStateAction',
  'ChoiceStateAction',
  'jsonPathQuery',
];

const HOOKED_FUNCTIONS: Record<HookName, string> = {
  evaluateIntrinsicFunction: 'function evaluateIntrinsicFunction(intrinsicFunction, input, context) {',
  processPayloadTemplate: 'function processPayloadTemplate(payloadTemplate, json, context) {',
  processResultPath: 'function processResultPath(path, rawInput, result) {',
};

function replaceOnce(text: string, anchor: string, replacement: string): string {
  const first = text.indexOf(anchor);
  if (first < 0 || text.indexOf(anchor, first + anchor.length) >= 0) {
    throw new Error(`aws-local-stepfunctions patch anchor not found exactly once: ${anchor.slice(0, 80)}`);
  }
  return text.slice(0, first) + replacement + text.slice(first + anchor.length);
}

function loadPatched(): Promise<PatchedInterpreter> {
  const entry = new URL(import.meta.resolve('aws-local-stepfunctions'));
  const pkg = JSON.parse(readFileSync(new URL('../package.json', entry), 'utf8')) as { version?: string };
  if (pkg.version !== PATCHED_LIBRARY_VERSION) {
    throw new Error(`aws-local-stepfunctions ${pkg.version} installed; the local Step Functions patch layer targets ${PATCHED_LIBRARY_VERSION}`);
  }
  let text = readFileSync(entry, 'utf8');
  // The library's own copy of a package when npm nested one (p-limit 3 beside our p-limit 7), else ours.
  const libraryRequire = createRequire(entry);
  const resolveForLibrary = (spec: string) =>
    existsSync(new URL(`../node_modules/${spec}/package.json`, entry)) ? pathToFileURL(libraryRequire.resolve(spec)).href : import.meta.resolve(spec);
  for (const spec of LIBRARY_IMPORTS) {
    text = text.replaceAll(`from "${spec}";`, `from ${JSON.stringify(resolveForLibrary(spec))};`);
  }
  text = replaceOnce(
    text,
    'import { LambdaClient as AWSLambdaClient, InvokeCommand } from "@aws-sdk/client-lambda";',
    'const AWSLambdaClient = undefined, InvokeCommand = undefined;',
  );
  text = replaceOnce(
    text,
    'import { fromCognitoIdentityPool } from "@aws-sdk/credential-providers";',
    'const fromCognitoIdentityPool = undefined;',
  );
  text = `var __hooks = {};\n${text}`;
  for (const [name, anchor] of Object.entries(HOOKED_FUNCTIONS)) {
    const params = anchor.slice(anchor.indexOf('(') + 1, anchor.indexOf(')'));
    text = replaceOnce(text, anchor, `${anchor}\n  if (__hooks.${name}) return __hooks.${name}(${params});`);
  }
  text = replaceOnce(text, 'export {\n  ExecutionAbortedError,', `export {\n  __hooks as hooks,\n  ${EXPORTED_INTERNALS.join(',\n  ')},\n  ExecutionAbortedError,`);
  // A file (not a data: URL) keeps stack traces short and readable; the content hash in the
  // name makes concurrent processes agree on the same immutable file.
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const file = join(tmpdir(), `autonomy-local-sfn-${PATCHED_LIBRARY_VERSION}-${hash}.mjs`);
  if (!existsSync(file)) {
    const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    writeFileSync(temp, text);
    renameSync(temp, file);
  }
  return import(pathToFileURL(file).href) as Promise<PatchedInterpreter>;
}

/** The patched interpreter module (one instance per process). */
export const interpreter: PatchedInterpreter = await loadPatched();
