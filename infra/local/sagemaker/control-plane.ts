/**
 * The local SageMaker control plane (AWS JSON 1.1, `X-Amz-Target: SageMaker.<Operation>`, as
 * `@aws-sdk/client-sagemaker` sends it): endpoint configurations and endpoints with production
 * variants, and `UpdateEndpointWeightsAndCapacities`, with the state the runtime routes by:
 * `InvokeEndpoint` picks a variant by the current weights (or the caller's target variant).
 *
 * As on SageMaker, an update sets the endpoint `Updating` with the desired weights and counts, and
 * after a while (`updateDelayMs`) makes them current and the endpoint `InService`; an endpoint that
 * is not `InService` refuses another update. A variant's `ModelName` names a local model (an entry
 * of `AUTONOMY_LOCAL_MODELS`, or `echo`): `CreateModel` is not emulated. State lives in memory.
 */
import { AwsServiceError, type JsonOperation } from '../http/aws-json.ts';
import type { ModelBackend } from './runtime.ts';

/** One production variant as DescribeEndpoint shows it. */
export interface VariantState {
  variantName: string;
  modelName: string;
  instanceType: string;
  currentWeight: number;
  desiredWeight: number;
  currentInstanceCount: number;
  desiredInstanceCount: number;
}

/** An endpoint. */
export interface EndpointState {
  name: string;
  arn: string;
  configName: string;
  status: 'Creating' | 'InService' | 'Updating' | 'Deleting';
  variants: VariantState[];
  creationTime: Date;
  lastModifiedTime: Date;
}

interface EndpointConfig {
  name: string;
  arn: string;
  variants: Array<{ VariantName: string; ModelName: string; InstanceType: string; InitialInstanceCount: number; InitialVariantWeight: number }>;
  creationTime: Date;
}

const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const validation = (message: string) => new AwsServiceError('ValidationException', message, 400);
const epochSeconds = (date: Date) => date.getTime() / 1000;

/** Options of {@link SageMakerService}. */
export interface SageMakerServiceOptions {
  region: string;
  accountId: string;
  /** Local models by name: what a variant's `ModelName` may name. */
  models: Record<string, ModelBackend>;
  /** How long an endpoint stays `Updating` (or `Creating`) before the change is current; default 200 ms. */
  updateDelayMs?: number;
  /** Picks among weighted variants (tests pass a fixed sequence); default Math.random. */
  random?: () => number;
  log?: (line: string) => void;
}

/** The local SageMaker control plane. */
export class SageMakerService {
  readonly #options: SageMakerServiceOptions;
  readonly #configs = new Map<string, EndpointConfig>();
  readonly #endpoints = new Map<string, EndpointState>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(options: SageMakerServiceOptions) {
    this.#options = options;
  }

  #arn(kind: 'endpoint' | 'endpoint-config', name: string): string {
    return `arn:aws:sagemaker:${this.#options.region}:${this.#options.accountId}:${kind}/${name.toLowerCase()}`;
  }

  /** Declares an endpoint that is in service now, one variant `AllTraffic` serving `modelName` (the local models). */
  declareEndpoint(name: string, modelName = name): void {
    const now = new Date();
    this.#configs.set(`${name}-config`, {
      name: `${name}-config`,
      arn: this.#arn('endpoint-config', `${name}-config`),
      variants: [{ VariantName: 'AllTraffic', ModelName: modelName, InstanceType: 'ml.local', InitialInstanceCount: 1, InitialVariantWeight: 1 }],
      creationTime: now,
    });
    this.#endpoints.set(name, {
      name,
      arn: this.#arn('endpoint', name),
      configName: `${name}-config`,
      status: 'InService',
      variants: [{ variantName: 'AllTraffic', modelName, instanceType: 'ml.local', currentWeight: 1, desiredWeight: 1, currentInstanceCount: 1, desiredInstanceCount: 1 }],
      creationTime: now,
      lastModifiedTime: now,
    });
  }

  /** An endpoint's state, or undefined. */
  endpoint(name: string): EndpointState | undefined {
    return this.#endpoints.get(name);
  }

  /**
   * Routes one invocation (the runtime's `route` option): the target variant when given, else a
   * variant drawn by current weight among those with instances.
   */
  route(endpointName: string, targetVariant: string | undefined): { backend: ModelBackend; variant: string } | { error: string } | undefined {
    const endpoint = this.#endpoints.get(endpointName);
    if (!endpoint || endpoint.status === 'Creating' || endpoint.status === 'Deleting') return undefined;
    const serving = endpoint.variants.filter((variant) => variant.currentInstanceCount > 0);
    let chosen: VariantState | undefined;
    if (targetVariant !== undefined) {
      chosen = serving.find((variant) => variant.variantName === targetVariant);
      if (!chosen) return { error: `Target variant ${targetVariant} is not present in endpoint ${endpointName}.` };
    } else {
      const total = serving.reduce((sum, variant) => sum + variant.currentWeight, 0);
      if (total <= 0) return { error: `Endpoint ${endpointName} has no variant with a positive weight to route to.` };
      let draw = (this.#options.random ?? Math.random)() * total;
      chosen = serving.find((variant) => {
        draw -= variant.currentWeight;
        return variant.currentWeight > 0 && draw < 0;
      }) ?? serving.filter((variant) => variant.currentWeight > 0).at(-1);
    }
    const backend = chosen ? this.#options.models[chosen.modelName] : undefined;
    if (!chosen || !backend) return { error: `Model of endpoint ${endpointName} is not available locally.` };
    return { backend, variant: chosen.variantName };
  }

  /** The AWS JSON-protocol operations (`SageMaker.*`). */
  operations(): Record<string, JsonOperation> {
    return {
      CreateEndpointConfig: (input) => this.#createConfig(input),
      DescribeEndpointConfig: (input) => {
        const config = this.#configs.get(String(input.EndpointConfigName ?? ''));
        if (!config) throw validation(`Could not find endpoint configuration "${String(input.EndpointConfigName)}".`);
        return { EndpointConfigName: config.name, EndpointConfigArn: config.arn, ProductionVariants: config.variants, CreationTime: epochSeconds(config.creationTime) };
      },
      DeleteEndpointConfig: (input) => {
        this.#configs.delete(String(input.EndpointConfigName ?? ''));
        return {};
      },
      CreateEndpoint: (input) => this.#createEndpoint(input),
      DescribeEndpoint: (input) => this.#describe(this.#find(input.EndpointName)),
      ListEndpoints: () => ({
        Endpoints: [...this.#endpoints.values()].map((endpoint) => ({
          EndpointName: endpoint.name,
          EndpointArn: endpoint.arn,
          EndpointStatus: endpoint.status,
          CreationTime: epochSeconds(endpoint.creationTime),
          LastModifiedTime: epochSeconds(endpoint.lastModifiedTime),
        })),
      }),
      DeleteEndpoint: (input) => {
        const endpoint = this.#find(input.EndpointName);
        this.#endpoints.delete(endpoint.name);
        return {};
      },
      UpdateEndpointWeightsAndCapacities: (input) => this.#updateWeights(input),
    };
  }

  #find(name: unknown): EndpointState {
    const endpoint = this.#endpoints.get(String(name ?? ''));
    if (!endpoint) throw validation(`Could not find endpoint "${String(name)}".`);
    return endpoint;
  }

  #describe(endpoint: EndpointState): unknown {
    return {
      EndpointName: endpoint.name,
      EndpointArn: endpoint.arn,
      EndpointConfigName: endpoint.configName,
      ProductionVariants: endpoint.variants.map((variant) => ({
        VariantName: variant.variantName,
        CurrentWeight: variant.currentWeight,
        DesiredWeight: variant.desiredWeight,
        CurrentInstanceCount: variant.currentInstanceCount,
        DesiredInstanceCount: variant.desiredInstanceCount,
      })),
      EndpointStatus: endpoint.status,
      CreationTime: epochSeconds(endpoint.creationTime),
      LastModifiedTime: epochSeconds(endpoint.lastModifiedTime),
    };
  }

  #createConfig(input: Record<string, unknown>): unknown {
    const name = String(input.EndpointConfigName ?? '');
    if (!NAME.test(name)) throw validation(`1 validation error detected: Value '${name}' at 'endpointConfigName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`);
    if (this.#configs.has(name)) throw validation(`Cannot create already existing endpoint configuration "${this.#arn('endpoint-config', name)}".`);
    const raw = input.ProductionVariants;
    if (!Array.isArray(raw) || raw.length < 1 || raw.length > 10) throw validation("1 validation error detected: Value at 'productionVariants' failed to satisfy constraint: Member must have length between 1 and 10");
    const names = new Set<string>();
    const variants = raw.map((item: Record<string, unknown>) => {
      const variantName = String(item.VariantName ?? '');
      if (!NAME.test(variantName)) throw validation(`1 validation error detected: Value '${variantName}' at 'productionVariants.member.variantName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`);
      if (names.has(variantName)) throw validation(`Variant name "${variantName}" is used more than once.`);
      names.add(variantName);
      const modelName = String(item.ModelName ?? '');
      if (!Object.hasOwn(this.#options.models, modelName)) throw validation(`Could not find model "${this.#arn('endpoint-config', modelName).replace(':endpoint-config/', ':model/')}".`);
      const count = item.InitialInstanceCount ?? 1;
      const weight = item.InitialVariantWeight ?? 1;
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) throw validation(`1 validation error detected: Value '${String(count)}' at 'productionVariants.member.initialInstanceCount' failed to satisfy constraint: Member must have value greater than or equal to 1`);
      if (typeof weight !== 'number' || !(weight >= 0)) throw validation(`1 validation error detected: Value '${String(weight)}' at 'productionVariants.member.initialVariantWeight' failed to satisfy constraint: Member must have value greater than or equal to 0`);
      return { VariantName: variantName, ModelName: modelName, InstanceType: String(item.InstanceType ?? 'ml.local'), InitialInstanceCount: count, InitialVariantWeight: weight };
    });
    const config: EndpointConfig = { name, arn: this.#arn('endpoint-config', name), variants, creationTime: new Date() };
    this.#configs.set(name, config);
    return { EndpointConfigArn: config.arn };
  }

  #createEndpoint(input: Record<string, unknown>): unknown {
    const name = String(input.EndpointName ?? '');
    if (!NAME.test(name)) throw validation(`1 validation error detected: Value '${name}' at 'endpointName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`);
    if (this.#endpoints.has(name)) throw validation(`Cannot create already existing endpoint "${this.#arn('endpoint', name)}".`);
    const config = this.#configs.get(String(input.EndpointConfigName ?? ''));
    if (!config) throw validation(`Could not find endpoint configuration "${String(input.EndpointConfigName)}".`);
    const now = new Date();
    const endpoint: EndpointState = {
      name,
      arn: this.#arn('endpoint', name),
      configName: config.name,
      status: 'Creating',
      variants: config.variants.map((variant) => ({
        variantName: variant.VariantName,
        modelName: variant.ModelName,
        instanceType: variant.InstanceType,
        currentWeight: variant.InitialVariantWeight,
        desiredWeight: variant.InitialVariantWeight,
        currentInstanceCount: variant.InitialInstanceCount,
        desiredInstanceCount: variant.InitialInstanceCount,
      })),
      creationTime: now,
      lastModifiedTime: now,
    };
    this.#endpoints.set(name, endpoint);
    this.#later(() => {
      endpoint.status = 'InService';
      endpoint.lastModifiedTime = new Date();
    });
    return { EndpointArn: endpoint.arn };
  }

  #updateWeights(input: Record<string, unknown>): unknown {
    const endpoint = this.#find(input.EndpointName);
    const desired = input.DesiredWeightsAndCapacities;
    if (!Array.isArray(desired) || desired.length < 1) throw validation("1 validation error detected: Value at 'desiredWeightsAndCapacities' failed to satisfy constraint: Member must have length greater than or equal to 1");
    if (endpoint.status !== 'InService') throw validation(`Cannot update in-progress endpoint "${endpoint.arn}".`);
    const seen = new Set<string>();
    const changes = desired.map((item: Record<string, unknown>) => {
      const name = String(item.VariantName ?? '');
      const variant = endpoint.variants.find((candidate) => candidate.variantName === name);
      if (!variant) throw validation(`The variant name(s) [${name}] is/are not present in the endpoint "${endpoint.arn}".`);
      if (seen.has(name)) throw validation(`The variant name "${name}" appears more than once in the request.`);
      seen.add(name);
      const weight = item.DesiredWeight;
      const count = item.DesiredInstanceCount;
      if (weight === undefined && count === undefined) throw validation(`Either DesiredWeight or DesiredInstanceCount must be specified for variant "${name}".`);
      if (weight !== undefined && (typeof weight !== 'number' || !(weight >= 0))) throw validation(`1 validation error detected: Value '${String(weight)}' at 'desiredWeightsAndCapacities.member.desiredWeight' failed to satisfy constraint: Member must have value greater than or equal to 0`);
      // Scaling an instance-based variant to zero needs inference components, which are not emulated.
      if (count !== undefined && (typeof count !== 'number' || !Number.isInteger(count) || count < 1)) throw validation(`1 validation error detected: Value '${String(count)}' at 'desiredWeightsAndCapacities.member.desiredInstanceCount' failed to satisfy constraint: Member must have value greater than or equal to 1`);
      return { variant, weight: weight as number | undefined, count: count as number | undefined };
    });
    if (changes.filter((change) => change.count !== undefined && change.count !== change.variant.currentInstanceCount).length > 1) {
      throw validation('The capacity of only one variant can be updated in a request.');
    }
    const remaining = endpoint.variants.map((variant) => changes.find((change) => change.variant === variant)?.weight ?? variant.currentWeight);
    if (remaining.every((weight) => weight === 0)) throw validation(`The sum of the variant weights of endpoint "${endpoint.arn}" must be greater than 0.`);
    for (const change of changes) {
      if (change.weight !== undefined) change.variant.desiredWeight = change.weight;
      if (change.count !== undefined) change.variant.desiredInstanceCount = change.count;
    }
    endpoint.status = 'Updating';
    endpoint.lastModifiedTime = new Date();
    this.#options.log?.(`[sagemaker] ${endpoint.name}: updating ${changes.map((change) => change.variant.variantName).join(', ')}`);
    this.#later(() => {
      for (const variant of endpoint.variants) {
        variant.currentWeight = variant.desiredWeight;
        variant.currentInstanceCount = variant.desiredInstanceCount;
      }
      endpoint.status = 'InService';
      endpoint.lastModifiedTime = new Date();
    });
    return { EndpointArn: endpoint.arn };
  }

  #later(apply: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      apply();
    }, this.#options.updateDelayMs ?? 200);
    timer.unref();
    this.#timers.add(timer);
  }

  /** Stops pending transitions. */
  stop(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
