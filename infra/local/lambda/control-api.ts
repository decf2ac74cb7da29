/**
 * The Lambda control-plane calls that executors and release tooling make, over Lambda's REST-JSON
 * wire protocol (so `@aws-sdk/client-lambda` works unchanged), with real state the runtime honours:
 *
 * - reserved concurrency: `PutFunctionConcurrency`, `GetFunctionConcurrency`, `DeleteFunctionConcurrency`
 *   (the runtime throttles invocations beyond it; 0 refuses every invocation);
 * - versions: `PublishVersion` (a snapshot of the function's configuration; unchanged code and
 *   configuration give back the latest version, as Lambda does), `ListVersionsByFunction`,
 *   `GetFunctionConfiguration`, `UpdateFunctionConfiguration` (description, timeout, memory, environment);
 * - aliases: `CreateAlias`, `GetAlias`, `UpdateAlias` (`RevisionId` preconditions), `DeleteAlias`,
 *   `ListAliases`, with routing weights to a second version that `Invoke` follows per call.
 *
 * State lives in memory for the local cloud's life; functions come from the template (there is no
 * `CreateFunction`: code is the repository's source).
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsServiceError, readBody, sendAwsError } from '../http/aws-json.ts';
import { type FunctionDefinition, FunctionNotFoundError, type LambdaRuntime, parseFunctionRef } from './runtime.ts';

/** The account's concurrency limit and the part of it that must stay unreserved (Lambda's defaults). */
export const ACCOUNT_CONCURRENCY = 1000;
/** Lambda keeps at least this much of the account's concurrency unreserved. */
export const MIN_UNRESERVED_CONCURRENCY = 100;

const ALIAS_NAME = /^(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}$/;
const VERSION = /^(\$LATEST|[0-9]+)$/;

interface VersionRecord {
  version: string;
  description: string;
  codeSha256: string;
  configHash: string;
  lastModified: string;
  revisionId: string;
}

interface AliasRecord {
  name: string;
  functionVersion: string;
  description: string;
  weights: Record<string, number>;
  revisionId: string;
}

interface FunctionState {
  description: string;
  lastModified: string;
  revisionId: string;
  versions: VersionRecord[];
  aliases: Map<string, AliasRecord>;
}

type Route = { method: string; pattern: RegExp; operation: string };

const ROUTES: Route[] = [
  { method: 'PUT', pattern: /^\/2017-10-31\/functions\/([^/]+)\/concurrency$/, operation: 'PutFunctionConcurrency' },
  { method: 'DELETE', pattern: /^\/2017-10-31\/functions\/([^/]+)\/concurrency$/, operation: 'DeleteFunctionConcurrency' },
  { method: 'GET', pattern: /^\/2019-09-30\/functions\/([^/]+)\/concurrency$/, operation: 'GetFunctionConcurrency' },
  { method: 'POST', pattern: /^\/2015-03-31\/functions\/([^/]+)\/versions$/, operation: 'PublishVersion' },
  { method: 'GET', pattern: /^\/2015-03-31\/functions\/([^/]+)\/versions$/, operation: 'ListVersionsByFunction' },
  { method: 'GET', pattern: /^\/2015-03-31\/functions\/([^/]+)\/configuration$/, operation: 'GetFunctionConfiguration' },
  { method: 'PUT', pattern: /^\/2015-03-31\/functions\/([^/]+)\/configuration$/, operation: 'UpdateFunctionConfiguration' },
  { method: 'POST', pattern: /^\/2015-03-31\/functions\/([^/]+)\/aliases$/, operation: 'CreateAlias' },
  { method: 'GET', pattern: /^\/2015-03-31\/functions\/([^/]+)\/aliases$/, operation: 'ListAliases' },
  { method: 'GET', pattern: /^\/2015-03-31\/functions\/([^/]+)\/aliases\/([^/]+)$/, operation: 'GetAlias' },
  { method: 'PUT', pattern: /^\/2015-03-31\/functions\/([^/]+)\/aliases\/([^/]+)$/, operation: 'UpdateAlias' },
  { method: 'DELETE', pattern: /^\/2015-03-31\/functions\/([^/]+)\/aliases\/([^/]+)$/, operation: 'DeleteAlias' },
];

const invalid = (message: string) => new AwsServiceError('InvalidParameterValueException', message, 400);
const validation = (message: string) => new AwsServiceError('ValidationException', `1 validation error detected: ${message}`, 400);

/** Lambda's configuration and routing state for the functions of a {@link LambdaRuntime}. */
export class LambdaControlPlane {
  readonly #runtime: LambdaRuntime;
  readonly #state = new Map<string, FunctionState>();
  readonly #random: () => number;

  /** `random` picks alias routes (tests pass a fixed sequence). */
  constructor(runtime: LambdaRuntime, options: { random?: () => number } = {}) {
    this.#runtime = runtime;
    this.#random = options.random ?? Math.random;
    runtime.resolveQualifiersWith((name, qualifier) => this.#resolve(name, qualifier));
  }

  /** Serves one request if it is one of these Lambda operations; returns false otherwise. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://local');
    let matched: { route: Route; groups: string[] } | undefined;
    for (const route of ROUTES) {
      const match = route.pattern.exec(url.pathname);
      if (match && route.method === req.method) {
        matched = { route, groups: match.slice(1).map((part) => decodeURIComponent(part)) };
        break;
      }
    }
    if (!matched) return false;
    try {
      const raw = await readBody(req, 6 * 1024 * 1024);
      let body: Record<string, unknown> = {};
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        } catch {
          throw new AwsServiceError('InvalidRequestContentException', 'Could not parse request body into json', 400);
        }
      }
      const [ref = '', alias = ''] = matched.groups;
      const { status, output } = this.#operate(matched.route.operation, ref, alias, body, url.searchParams);
      if (output === undefined) res.writeHead(status).end();
      else {
        const text = JSON.stringify(output);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() }).end(text);
      }
    } catch (error) {
      if (error instanceof AwsServiceError) sendAwsError(res, error, 'application/json');
      else if (error instanceof FunctionNotFoundError) sendAwsError(res, new AwsServiceError('ResourceNotFoundException', error.message, 404), 'application/json');
      else sendAwsError(res, new AwsServiceError('ServiceException', 'The local Lambda service failed', 500), 'application/json');
    }
    return true;
  }

  #operate(operation: string, ref: string, aliasName: string, body: Record<string, unknown>, query: URLSearchParams): { status: number; output?: unknown } {
    const definition = this.#function(ref);
    const name = definition.name;
    switch (operation) {
      case 'PutFunctionConcurrency': {
        const value = body.ReservedConcurrentExecutions;
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
          throw validation(`Value '${String(value)}' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0`);
        }
        let others = 0;
        for (const [other, reserved] of this.#runtime.reservations()) if (other !== name) others += reserved;
        if (ACCOUNT_CONCURRENCY - others - value < MIN_UNRESERVED_CONCURRENCY) {
          throw invalid(`Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${MIN_UNRESERVED_CONCURRENCY}].`);
        }
        this.#runtime.setReservedConcurrency(name, value);
        return { status: 200, output: { ReservedConcurrentExecutions: value } };
      }
      case 'GetFunctionConcurrency': {
        const value = this.#runtime.reservedConcurrency(name);
        return { status: 200, output: value === undefined ? {} : { ReservedConcurrentExecutions: value } };
      }
      case 'DeleteFunctionConcurrency':
        this.#runtime.setReservedConcurrency(name, undefined);
        return { status: 204 };
      case 'PublishVersion':
        return { status: 201, output: this.#publish(definition, body) };
      case 'ListVersionsByFunction': {
        const state = this.#stateOf(definition);
        return { status: 200, output: { Versions: [this.#configuration(definition, undefined), ...state.versions.map((version) => this.#configuration(definition, version))] } };
      }
      case 'GetFunctionConfiguration': {
        const qualifier = query.get('Qualifier') ?? parseFunctionRef(ref).qualifier;
        return { status: 200, output: this.#configurationAt(definition, qualifier) };
      }
      case 'UpdateFunctionConfiguration':
        return { status: 200, output: this.#update(definition, body) };
      case 'CreateAlias':
        return { status: 201, output: this.#createAlias(definition, body) };
      case 'ListAliases':
        return { status: 200, output: { Aliases: [...this.#stateOf(definition).aliases.values()].map((alias) => this.#aliasView(definition, alias)) } };
      case 'GetAlias':
        return { status: 200, output: this.#aliasView(definition, this.#alias(definition, aliasName)) };
      case 'UpdateAlias':
        return { status: 200, output: this.#updateAlias(definition, aliasName, body) };
      case 'DeleteAlias':
        this.#stateOf(definition).aliases.delete(aliasName);
        return { status: 204 };
      default:
        throw new AwsServiceError('UnknownOperationException', `Operation ${operation} is not supported by the local cloud`, 404);
    }
  }

  /** The `$LATEST` definition of a function reference (name, ARN or partial ARN; a qualifier is ignored here). */
  #function(ref: string): FunctionDefinition {
    const { name } = parseFunctionRef(ref);
    const definition = this.#runtime.list().find((item) => item.name === name);
    if (!definition) throw new AwsServiceError('ResourceNotFoundException', `Function not found: ${ref}`, 404);
    return definition;
  }

  #stateOf(definition: FunctionDefinition): FunctionState {
    let state = this.#state.get(definition.name);
    if (!state) {
      state = { description: '', lastModified: new Date().toISOString(), revisionId: randomUUID(), versions: [], aliases: new Map() };
      this.#state.set(definition.name, state);
    }
    return state;
  }

  #codeSha256(definition: FunctionDefinition): string {
    return createHash('sha256').update(readFileSync(definition.file)).digest('base64');
  }

  #configHash(definition: FunctionDefinition, description: string): string {
    const config = { handler: `${definition.file}#${definition.exportName}`, environment: definition.environment, timeout: definition.timeoutSeconds, memory: definition.memoryMb, description };
    return createHash('sha256').update(JSON.stringify(config)).digest('hex');
  }

  #publish(definition: FunctionDefinition, body: Record<string, unknown>): unknown {
    const state = this.#stateOf(definition);
    const codeSha256 = this.#codeSha256(definition);
    if (typeof body.CodeSha256 === 'string' && body.CodeSha256 !== codeSha256) {
      throw invalid(`CodeSHA256 (${body.CodeSha256}) is different from current CodeSHA256 in $LATEST (${codeSha256}). Please try again with the CodeSHA256 in $LATEST.`);
    }
    if (typeof body.RevisionId === 'string' && body.RevisionId !== state.revisionId) {
      throw new AwsServiceError('PreconditionFailedException', 'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id', 412);
    }
    const configHash = this.#configHash(definition, state.description);
    const latest = state.versions.at(-1);
    // Lambda publishes nothing new when neither code nor configuration changed since the last version.
    if (latest && latest.codeSha256 === codeSha256 && latest.configHash === configHash) return this.#configuration(definition, latest);
    const record: VersionRecord = {
      version: String(state.versions.length + 1),
      description: typeof body.Description === 'string' ? body.Description : state.description,
      codeSha256,
      configHash,
      lastModified: new Date().toISOString(),
      revisionId: randomUUID(),
    };
    state.versions.push(record);
    this.#runtime.deploy({ ...definition, name: `${definition.name}:${record.version}`, arn: `${definition.arn}:${record.version}`, environment: { ...definition.environment }, version: record.version });
    return this.#configuration(definition, record);
  }

  #update(definition: FunctionDefinition, body: Record<string, unknown>): unknown {
    const supported = new Set(['Description', 'Timeout', 'MemorySize', 'Environment', 'RevisionId']);
    const unsupported = Object.keys(body).filter((key) => !supported.has(key));
    if (unsupported.length > 0) throw invalid(`The local Lambda service does not change ${unsupported.join(', ')} (functions come from the template)`);
    const state = this.#stateOf(definition);
    if (typeof body.RevisionId === 'string' && body.RevisionId !== state.revisionId) {
      throw new AwsServiceError('PreconditionFailedException', 'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id', 412);
    }
    const next: FunctionDefinition = { ...definition };
    if (body.Timeout !== undefined) {
      if (typeof body.Timeout !== 'number' || !Number.isInteger(body.Timeout) || body.Timeout < 1 || body.Timeout > 900) throw validation(`Value '${String(body.Timeout)}' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900`);
      next.timeoutSeconds = body.Timeout;
    }
    if (body.MemorySize !== undefined) {
      if (typeof body.MemorySize !== 'number' || !Number.isInteger(body.MemorySize) || body.MemorySize < 128 || body.MemorySize > 10_240) throw validation(`Value '${String(body.MemorySize)}' at 'memorySize' failed to satisfy constraint: Member must have value between 128 and 10240`);
      next.memoryMb = body.MemorySize;
    }
    if (body.Environment !== undefined) {
      const variables = (body.Environment as { Variables?: Record<string, unknown> } | null)?.Variables ?? {};
      next.environment = Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, String(value)]));
    }
    if (typeof body.Description === 'string') state.description = body.Description;
    state.lastModified = new Date().toISOString();
    state.revisionId = randomUUID();
    this.#runtime.deploy(next);
    return this.#configuration(next, undefined);
  }

  #configurationAt(definition: FunctionDefinition, qualifier: string | undefined): unknown {
    if (qualifier === undefined || qualifier === '$LATEST') return this.#configuration(definition, undefined);
    const state = this.#stateOf(definition);
    const version = state.aliases.get(qualifier)?.functionVersion ?? qualifier;
    const record = state.versions.find((item) => item.version === version);
    if (!record) throw new AwsServiceError('ResourceNotFoundException', `Function not found: ${definition.arn}:${qualifier}`, 404);
    return this.#configuration(definition, record);
  }

  #configuration(definition: FunctionDefinition, version: VersionRecord | undefined): unknown {
    const state = this.#stateOf(definition);
    const deployed = version ? this.#runtime.find(`${definition.name}:${version.version}`) : definition;
    return {
      FunctionName: definition.name,
      FunctionArn: version ? `${definition.arn}:${version.version}` : definition.arn,
      Runtime: 'nodejs22.x',
      Handler: `${definition.file}.${definition.exportName}`,
      Timeout: deployed.timeoutSeconds,
      MemorySize: deployed.memoryMb,
      Description: version ? version.description : state.description,
      Environment: { Variables: deployed.environment },
      CodeSha256: version ? version.codeSha256 : this.#codeSha256(definition),
      Version: version ? version.version : '$LATEST',
      LastModified: version ? version.lastModified : state.lastModified,
      RevisionId: version ? version.revisionId : state.revisionId,
      State: 'Active',
    };
  }

  #alias(definition: FunctionDefinition, name: string): AliasRecord {
    const alias = this.#stateOf(definition).aliases.get(name);
    if (!alias) throw new AwsServiceError('ResourceNotFoundException', `Alias not found: ${definition.arn}:${name}`, 404);
    return alias;
  }

  #aliasView(definition: FunctionDefinition, alias: AliasRecord): unknown {
    return {
      AliasArn: `${definition.arn}:${alias.name}`,
      Name: alias.name,
      FunctionVersion: alias.functionVersion,
      Description: alias.description,
      ...(Object.keys(alias.weights).length > 0 ? { RoutingConfig: { AdditionalVersionWeights: alias.weights } } : {}),
      RevisionId: alias.revisionId,
    };
  }

  /**
   * Checks a version and routing configuration as Lambda does: the versions exist, weights are in
   * [0, 1], at most one additional version, not the primary one, and no routing from `$LATEST`.
   */
  #checkRouting(definition: FunctionDefinition, functionVersion: string, routing: unknown): Record<string, number> {
    const state = this.#stateOf(definition);
    if (!VERSION.test(functionVersion)) throw validation(`Value '${functionVersion}' at 'functionVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)`);
    const exists = (version: string) => version === '$LATEST' || state.versions.some((item) => item.version === version);
    if (!exists(functionVersion)) throw new AwsServiceError('ResourceNotFoundException', `Function not found: ${definition.arn}:${functionVersion}`, 404);
    if (routing === undefined || routing === null) return {};
    const weights = (routing as { AdditionalVersionWeights?: unknown }).AdditionalVersionWeights ?? {};
    if (typeof weights !== 'object' || weights === null || Array.isArray(weights)) throw invalid('RoutingConfig.AdditionalVersionWeights must be a map of version to weight');
    const entries = Object.entries(weights as Record<string, unknown>);
    if (entries.length === 0) return {};
    if (entries.length > 1) throw invalid('Number of items in AdditionalVersionWeights cannot be greater than 1');
    const [[version, weight]] = entries as [[string, unknown]];
    if (typeof weight !== 'number' || !(weight >= 0 && weight <= 1)) {
      throw validation(`Value '{${version}=${String(weight)}}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]`);
    }
    if (functionVersion === '$LATEST' || version === '$LATEST') throw invalid('$LATEST is not supported for an alias pointing to more than 1 version');
    if (!exists(version)) throw new AwsServiceError('ResourceNotFoundException', `Function not found: ${definition.arn}:${version}`, 404);
    if (version === functionVersion) throw invalid(`Invalid function version ${version}. Function version ${version} is already included in routing configuration.`);
    return { [version]: weight };
  }

  #createAlias(definition: FunctionDefinition, body: Record<string, unknown>): unknown {
    const name = String(body.Name ?? '');
    if (!ALIAS_NAME.test(name)) throw validation(`Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)`);
    const state = this.#stateOf(definition);
    if (state.aliases.has(name)) throw new AwsServiceError('ResourceConflictException', `Alias already exists: ${definition.arn}:${name}`, 409);
    const functionVersion = String(body.FunctionVersion ?? '');
    const alias: AliasRecord = {
      name,
      functionVersion,
      description: typeof body.Description === 'string' ? body.Description : '',
      weights: this.#checkRouting(definition, functionVersion, body.RoutingConfig),
      revisionId: randomUUID(),
    };
    state.aliases.set(name, alias);
    return this.#aliasView(definition, alias);
  }

  #updateAlias(definition: FunctionDefinition, name: string, body: Record<string, unknown>): unknown {
    const current = this.#alias(definition, name);
    if (typeof body.RevisionId === 'string' && body.RevisionId !== current.revisionId) {
      throw new AwsServiceError('PreconditionFailedException', 'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id', 412);
    }
    const functionVersion = typeof body.FunctionVersion === 'string' ? body.FunctionVersion : current.functionVersion;
    // Without RoutingConfig the alias keeps its weights (they are checked against the new version).
    const routing = body.RoutingConfig === undefined ? { AdditionalVersionWeights: current.weights } : body.RoutingConfig;
    const next: AliasRecord = {
      name,
      functionVersion,
      description: typeof body.Description === 'string' ? body.Description : current.description,
      weights: this.#checkRouting(definition, functionVersion, routing),
      revisionId: randomUUID(),
    };
    this.#stateOf(definition).aliases.set(name, next);
    return this.#aliasView(definition, next);
  }

  /** A qualifier's deployed key: a version, or an alias's version chosen by its weights. */
  #resolve(name: string, qualifier: string): string | undefined {
    const state = this.#state.get(name);
    if (!state) return undefined;
    let version: string | undefined = qualifier;
    const alias = state.aliases.get(qualifier);
    if (alias) {
      version = alias.functionVersion;
      const [extra, weight] = Object.entries(alias.weights)[0] ?? [];
      if (extra !== undefined && weight !== undefined && this.#random() < weight) version = extra;
    }
    if (version === '$LATEST') return name;
    return state.versions.some((item) => item.version === version) ? `${name}:${version}` : undefined;
  }
}
