/**
 * The Governance engine's ports in a deployed function, built once per container: the state
 * table (settings, proposals, approvals, outbox), the tenants' policy sets, the gate state
 * machine, the bus, and the ledger (each decision is recorded as its event is published).
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { config } from '../../config.ts';
import { ConflictError } from '../../errors.ts';
import { allRoutes } from '../../api/routes.ts';
import { actuationIds } from '../../governance/actuations.ts';
import type { ApprovalStore } from '../../governance/approvals.ts';
import { actuationActionId, cedarSchema, routeActionId } from '../../governance/cedar-schema.ts';
import { PolicyEngine } from '../../governance/policy.ts';
import { componentGraph } from '../../reflex/registry.ts';
import type { PolicySetStore, StoredPolicySet } from '../../governance/policy-sets.ts';
import { type PolicyLayers, policyLayersSchema } from '../../governance/profiles.ts';
import type { GatePort, GovernanceStore, PolicyPort, ProposalDeps, WithdrawDeps } from '../../governance/proposals.ts';
import { dynamoClient, sfnClient } from './clients.ts';
import { mappedSend, ConditionFailedError } from './errors.ts';
import { dynamoApprovalStore, dynamoGovernanceStore } from './governance-store.ts';
import { stageOutbox } from './stage-outbox.ts';
import { dynamoRegistryStore } from './reflex-store.ts';
import { sfnGate, sfnWorkflowCallbacks } from './workflow-callbacks.ts';

let engine: PolicyEngine | undefined;

/** The Cedar engine of this stage, its schema generated from the actuation catalog and the route registry. */
export function policyEngine(): PolicyEngine {
  engine ??= new PolicyEngine(
    cedarSchema({
      actuations: actuationIds().map((id) => {
        const [engineName = '', action = ''] = id.split(':');
        return actuationActionId(engineName, action);
      }),
      routes: allRoutes.map((route) => routeActionId(route.method, route.path)),
    }),
  );
  return engine;
}

const policiesKey = (tenant: string, version: number) => ({ pk: `${tenant}#governance#policies`, sk: `v${String(version).padStart(10, '0')}` });

/** Policy sets by version (immutable once written, so kept in the container). */
export function policyVersions(): PolicySetStore {
  const cfg = config();
  const send = mappedSend(dynamoClient(), 'DynamoDB');
  const cache = new Map<string, PolicyLayers | undefined>();
  return {
    async layers(tenant: string, version: number): Promise<PolicyLayers | undefined> {
      if (version === 0) return undefined;
      const key = `${tenant}#${version}`;
      if (cache.has(key)) return cache.get(key);
      const output = await send(new GetCommand({ TableName: cfg.STATE_TABLE, Key: policiesKey(tenant, version), ConsistentRead: true }));
      const layers = output.Item ? policyLayersSchema.parse(output.Item.layers) : undefined;
      if (cache.size > 256) cache.clear();
      cache.set(key, layers);
      return layers;
    },
    /** @throws ConflictError when the version exists (someone published first). */
    async put(stored: StoredPolicySet): Promise<void> {
      try {
        await send(new PutCommand({ TableName: cfg.STATE_TABLE, Item: { ...policiesKey(stored.tenant, stored.policyVersion), ...stored }, ConditionExpression: 'attribute_not_exists(pk)' }));
      } catch (error) {
        if (error instanceof ConditionFailedError) throw new ConflictError(`Policy set v${stored.policyVersion} of ${stored.tenant} exists; read the current version and publish again`);
        throw error;
      }
    },
  };
}

let versions: ReturnType<typeof policyVersions> | undefined;

/** The tenant's policies decide, through the stage's Cedar engine. */
export function cedarPolicyPort(): PolicyPort {
  versions ??= policyVersions();
  const store = versions;
  return {
    async evaluateActuation(tenant, policyVersion, request) {
      return policyEngine().evaluateActuation(await store.layers(tenant, policyVersion), policyVersion, request);
    },
  };
}

let store: GovernanceStore | undefined;
let approvals: ApprovalStore | undefined;
let gate: GatePort | undefined;

/** The governance store (settings, proposals). */
export function governanceStore(): GovernanceStore {
  store ??= dynamoGovernanceStore(dynamoClient(), config().STATE_TABLE);
  return store;
}

/** The approvals. */
export function approvalStore(): ApprovalStore {
  approvals ??= dynamoApprovalStore(dynamoClient(), config().STATE_TABLE);
  return approvals;
}

/** The outbox; entries are recorded in the ledger first where this function may append to it. */
export const governanceOutbox = stageOutbox;

/** Step Functions callbacks of waiting gates. */
export const workflowCallbacks = () => sfnWorkflowCallbacks(sfnClient());

/** What proposing needs in a deployed function. */
export function proposalDeps(now: Date): ProposalDeps {
  const arn = config().GATE_STATE_MACHINE_ARN;
  gate ??= arn ? sfnGate(sfnClient(), arn) : { start: async () => Promise.reject(new Error('GATE_STATE_MACHINE_ARN is not set (lib/governance/manifest.ts)')) };
  return {
    store: governanceStore(),
    policy: cedarPolicyPort(),
    // Blast radius: the target's transitive dependents in the tenant's Reflex component registry.
    components: componentGraph(dynamoRegistryStore(dynamoClient(), config().STATE_TABLE)),
    gate,
    outbox: governanceOutbox(),
    now,
    newId: randomUUID,
  };
}

/** What withdrawing a proposal needs in a deployed function (its approval, its gate's callbacks). */
export function withdrawDeps(now: Date): WithdrawDeps {
  return { store: governanceStore(), outbox: governanceOutbox(), approvals: approvalStore(), approvalOutbox: governanceOutbox(), workflow: workflowCallbacks(), now };
}
