/**
 * KAMACHIQ plans' store and the light steps' ports (level, review gate, finish) in a deployed function,
 * on the state table:
 *   <tenant>#capsules#plans / <planId>              the plan (written by its steps, one after another)
 *   <tenant>#capsules#plans / <planId>#node#<id>    each node (written only by its own step)
 *   <tenant>#capsules#plans / <planId>#cancel       a cancellation asked for (kept apart from the plan)
 * each write with its events' outbox entries (recorded in the ledger, then published); the plan's
 * execution on Step Functions (statemachines/capsule-plan.asl.json), named after the plan; the review
 * gate proposes `capsules:plan` through governance's `propose` in process. Kept apart from the node
 * step's ports (lib/adapters/aws/capsule-plan-deps.ts), which load the capsule runs' path (the MCP
 * server, the sandbox). The review gate step waits through governance's gate waits
 * (lib/adapters/aws/gate-waits.ts).
 */
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { LevelDeps, PlanDeps, PlanStarter, PlanStore, ReviewDeps } from '../../capsules/plan-steps.ts';
import { type Plan, type PlanNode, planNodeSchema, planSchema, reviewTimeoutOf } from '../../capsules/plans.ts';
import type { CapsuleStore } from '../../capsules/ports.ts';
import { config } from '../../config.ts';
import { ConflictError } from '../../errors.ts';
import type { BusEvent } from '../../events/publisher.ts';
import { type OutboxPort, propose } from '../../governance/proposals.ts';
import { actuationLock } from '../../governance/settings.ts';
import { dynamoCapsuleStore } from './capsule-store.ts';
import { dynamoClient, sfnClient } from './clients.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';
import { governanceOutbox, governanceStore, proposalDeps } from './governance-deps.ts';
import { outboxEntries, outboxPut } from './governance-store.ts';

const plansPk = (tenant: string) => `${tenant}#capsules#plans`;
const nodeSk = (planId: string, nodeId: string) => `${planId}#node#${nodeId}`;

function strip<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as T;
}

/** {@link PlanStore} on the state table. */
export function dynamoPlanStore(client: DynamoDBDocumentClient, table: string, outbox: OutboxPort): PlanStore {
  const send = mappedSend(client, 'DynamoDB');
  const write = async (tenant: string, items: Record<string, unknown>[], events: BusEvent[], conflict: string) => {
    const now = new Date();
    const entries = outboxEntries(tenant, events, now);
    try {
      await send(new TransactWriteCommand({ TransactItems: [...items, ...entries.map((entry) => outboxPut(table, entry, now))] }));
    } catch (error) {
      if (error instanceof ConditionFailedError) throw new ConflictError(conflict);
      throw error;
    }
    for (const entry of entries) await outbox.record(entry);
    await outbox.deliver(entries);
  };
  const query = async (tenant: string, prefix?: string) => {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const output = await send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: prefix ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk',
          ExpressionAttributeValues: { ':pk': plansPk(tenant), ...(prefix ? { ':prefix': prefix } : {}) },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(output.Items ?? []));
      start = output.LastEvaluatedKey;
    } while (start && items.length < 5000);
    return items;
  };
  return {
    async createPlan(plan, nodes, events) {
      await write(
        plan.tenant,
        [
          {
            Put: {
              TableName: table,
              Item: { ...plan, pk: plansPk(plan.tenant), sk: plan.planId },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          ...nodes.map((node) => ({
            Put: { TableName: table, Item: { ...node, pk: plansPk(plan.tenant), sk: nodeSk(plan.planId, node.id) } },
          })),
        ],
        events,
        `Plan ${plan.planId} exists`,
      );
    },
    async putPlan(plan, expectedRevision, events) {
      await write(
        plan.tenant,
        [
          {
            Put: {
              TableName: table,
              Item: { ...plan, pk: plansPk(plan.tenant), sk: plan.planId },
              ConditionExpression: '#revision = :revision',
              ExpressionAttributeNames: { '#revision': 'revision' },
              ExpressionAttributeValues: { ':revision': expectedRevision },
            },
          },
        ],
        events,
        `Plan ${plan.planId} was changed concurrently`,
      );
    },
    async putNode(tenant, planId, node, events) {
      await write(
        tenant,
        [{ Put: { TableName: table, Item: { ...node, pk: plansPk(tenant), sk: nodeSk(planId, node.id) } } }],
        events,
        `Node ${node.id} conflict`,
      );
    },
    async plan(tenant, planId) {
      const output = await send(new GetCommand({ TableName: table, Key: { pk: plansPk(tenant), sk: planId }, ConsistentRead: true }));
      return output.Item ? planSchema.parse(strip(output.Item)) : undefined;
    },
    async nodes(tenant, planId) {
      const items = await query(tenant, `${planId}#node#`);
      return items.map((item) => planNodeSchema.parse(strip<PlanNode>(item))).sort((a, b) => a.layer - b.layer);
    },
    async plans(tenant, limit) {
      const items = await query(tenant);
      return items
        .filter((item) => !String(item.sk).includes('#'))
        .map((item) => planSchema.parse(strip<Plan>(item)))
        .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
        .slice(0, limit);
    },
    async requestCancel(tenant, planId, by, at) {
      await send(new PutCommand({ TableName: table, Item: { pk: plansPk(tenant), sk: `${planId}#cancel`, by, at } }));
    },
    async cancelRequest(tenant, planId) {
      const output = await send(
        new GetCommand({ TableName: table, Key: { pk: plansPk(tenant), sk: `${planId}#cancel` }, ConsistentRead: true }),
      );
      return output.Item ? { by: String(output.Item.by), at: String(output.Item.at) } : undefined;
    },
  };
}

let store: PlanStore | undefined;
let installs: CapsuleStore | undefined;

/** The tenants' installs (the capsules' own store). */
function installStore(): CapsuleStore {
  installs ??= dynamoCapsuleStore(dynamoClient(), config().STATE_TABLE);
  return installs;
}

/** The plans on the stage's state table. */
export function planStore(): PlanStore {
  store ??= dynamoPlanStore(dynamoClient(), config().STATE_TABLE, governanceOutbox());
  return store;
}

/** Starts plan executions of `stateMachineArn`, named after the plan (one plan, one execution). */
export function sfnPlanStarter(client: SFNClient, stateMachineArn: string): PlanStarter {
  const send = mappedSend(client, 'StepFunctions');
  return {
    async start(name, input) {
      const output = await send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      return output.executionArn ?? '';
    },
  };
}

/** What the plans routes need. @throws Error when the function has no CAPSULE_PLAN_STATE_MACHINE_ARN. */
export function planDeps(): PlanDeps {
  return {
    store: planStore(),
    installs: (tenant) => installStore().installs(tenant),
    starter: {
      start(name, input) {
        const arn = config().CAPSULE_PLAN_STATE_MACHINE_ARN;
        if (!arn)
          throw new Error('CAPSULE_PLAN_STATE_MACHINE_ARN is not set (lib/capsules/manifest.ts: the capsule-plan start-executions need)');
        return sfnPlanStarter(sfnClient(), arn).start(name, input);
      },
    },
    clock: () => new Date(),
  };
}

/** The level step's ports: the plans, the review proposals and the kill switches (the tenant's and the global one). */
export function levelDeps(): LevelDeps {
  return {
    store: planStore(),
    proposal: (tenant, proposalId) => governanceStore().proposal(tenant, proposalId),
    locked: (tenant) => actuationLock(governanceStore(), tenant),
    clock: () => new Date(),
  };
}

/** The review step's ports: governance's `propose` in process (the plan's review proposal id), proposals. */
export function reviewDeps(now: Date): ReviewDeps {
  return {
    store: planStore(),
    propose: (input, proposer, proposalId) => propose(input, proposer, { ...proposalDeps(now), newId: () => proposalId }),
    proposal: (tenant, proposalId) => governanceStore().proposal(tenant, proposalId),
    async gateTimeoutSeconds(tenant) {
      return reviewTimeoutOf((await governanceStore().settings(tenant)).config);
    },
    clock: () => new Date(),
  };
}
