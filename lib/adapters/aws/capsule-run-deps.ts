/**
 * Capsule runs' ports in a deployed function:
 *   <tenant>#capsules#runs     / <runId>   each run, written with its step's outbox entries
 *   system#capsules#records    / <name>    each capsule's run outcome counts (its record)
 * A run authenticates as an API key minted for it (`capsule-run:<runId>`, the starting caller's roles,
 * revoked when the run ends): each tool call is the MCP `tools/call` path (lib/mcp/server.ts
 * `callTool`: the route's own function with that key, its role, Cedar policy, risk routing, kill
 * switch, rate limit and budget, the call in the ledger). The capsule's guardrails are asked first,
 * as principal `Autonomy::Capsule::"<name>"` on the tenant's policy set: a `forbid` of the capsule's
 * layer refuses the call.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mintApiKey } from '../../auth/api-keys.ts';
import type { Principal } from '../../auth/principal.ts';
import { BundleRefusedError, type VerifiedCapsule, verifyBundle } from '../../capsules/bundle.ts';
import { bundleKey } from '../../capsules/marketplace.ts';
import {
  type CapsuleRun,
  capsuleRunSchema,
  type RunCapsules,
  type RunDeps,
  type RunGuardrails,
  type RunRecord,
  type RunStore,
  type RunToolCaller,
  runRecord,
} from '../../capsules/runs.ts';
import { config } from '../../config.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../../errors.ts';
import type { OutboxPort } from '../../governance/proposals.ts';
import { RESULT_META } from '../../mcp/calls.ts';
import { callTool } from '../../mcp/server.ts';
import { bundleObjects, capsuleStore } from './capsule-deps.ts';
import { dynamoClient } from './clients.ts';
import { stageAuthenticators } from './engine-deps.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';
import { governanceOutbox, governanceStore, policyEngine, policyVersions } from './governance-deps.ts';
import { outboxEntries, outboxPut } from './governance-store.ts';
import { mcpServerDeps } from './mcp-deps.ts';

const runsPk = (tenant: string) => `${tenant}#capsules#runs`;
const RECORDS_PK = 'system#capsules#records';
/** How long a run's code may take, tool calls included. */
export const RUN_TIMEOUT_MS = 20_000;

/** {@link RunStore} on the state table. */
export function dynamoRunStore(
  client: DynamoDBDocumentClient,
  table: string,
  outbox: OutboxPort,
): RunStore & { record(name: string): Promise<RunRecord> } {
  const send = mappedSend(client, 'DynamoDB');
  return {
    async putRun(run, expectedRevision, events) {
      const now = new Date();
      const entries = outboxEntries(run.tenant, events, now);
      const condition =
        expectedRevision === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: '#revision = :revision',
              ExpressionAttributeNames: { '#revision': 'revision' },
              ExpressionAttributeValues: { ':revision': expectedRevision },
            };
      try {
        await send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: table, Item: { ...run, pk: runsPk(run.tenant), sk: run.runId }, ...condition } },
              ...entries.map((entry) => outboxPut(table, entry, now)),
            ],
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError) throw new ConflictError(`Run ${run.runId} was changed concurrently`);
        throw error;
      }
      // In the ledger now, then on the bus; the outbox sweep delivers what this could not.
      for (const entry of entries) await outbox.record(entry);
      await outbox.deliver(entries);
    },
    async run(tenant, runId) {
      const output = await send(new GetCommand({ TableName: table, Key: { pk: runsPk(tenant), sk: runId }, ConsistentRead: true }));
      if (!output.Item) return undefined;
      const { pk: _pk, sk: _sk, ...run } = output.Item;
      return capsuleRunSchema.parse(run);
    },
    async runs(tenant, limit, name) {
      const runs: CapsuleRun[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const output = await send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': runsPk(tenant) },
            Limit: 100,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of output.Items ?? []) {
          const { pk: _pk, sk: _sk, ...run } = item;
          const parsed = capsuleRunSchema.parse(run);
          if (!name || parsed.name === name) runs.push(parsed);
        }
        start = output.LastEvaluatedKey;
      } while (start && runs.length < 1000);
      return runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt)).slice(0, limit);
    },
    async countOutcome(name, outcome) {
      await send(
        new UpdateCommand({
          TableName: table,
          Key: { pk: RECORDS_PK, sk: name },
          UpdateExpression: 'ADD #outcome :one',
          ExpressionAttributeNames: { '#outcome': `outcome_${outcome}` },
          ExpressionAttributeValues: { ':one': 1 },
        }),
      );
    },
    async record(name) {
      const output = await send(new GetCommand({ TableName: table, Key: { pk: RECORDS_PK, sk: name }, ConsistentRead: true }));
      const counts: Record<string, number> = {};
      for (const [field, value] of Object.entries(output.Item ?? {}))
        if (field.startsWith('outcome_') && typeof value === 'number') counts[field.slice('outcome_'.length)] = value;
      return runRecord(counts);
    },
  };
}

let store: ReturnType<typeof dynamoRunStore> | undefined;

/** The runs on the stage's state table. */
export function runStore(): ReturnType<typeof dynamoRunStore> {
  store ??= dynamoRunStore(dynamoClient(), config().STATE_TABLE, governanceOutbox());
  return store;
}

/** The tenant's installs, their bundles read and verified again (as installing does). */
function runCapsules(): RunCapsules {
  return {
    install: (tenant, name) => capsuleStore().install(tenant, name),
    async capsule(install): Promise<VerifiedCapsule> {
      const version = await capsuleStore().version(install.name, install.version);
      if (!version) throw new NotFoundError(`Capsule ${install.name} ${install.version} is not in the marketplace`);
      const bytes = await bundleObjects().get(version.bundleKey || bundleKey(version.ownerTenant, version.bundleSha256));
      if (!bytes) throw new ConflictError(`The stored bundle of ${install.name} ${install.version} is missing`);
      const key = (await capsuleStore().authorKeys(version.ownerTenant, version.author)).find((k) => k.keyId === version.keyId);
      try {
        return verifyBundle(
          bytes,
          { alg: 'Ed25519', keyId: version.keyId, bundleSha256: version.bundleSha256, signature: version.signature },
          key && { author: key.subject, keyId: key.keyId, publicKey: key.publicKey },
        );
      } catch (error) {
        if (!(error instanceof BundleRefusedError)) throw error;
        throw new ConflictError(`The stored bundle of ${install.name} ${install.version} no longer verifies; it does not run`);
      }
    },
  };
}

/** The capsule's guardrails: Cedar as `Autonomy::Capsule::"<name>"`, denied only by a forbid of its own layer. */
function runGuardrails(): RunGuardrails {
  return {
    async check(tenant, capsule, tool) {
      const spec = mcpServerDeps().tools.find((candidate) => candidate.name === tool);
      if (!spec) return { allowed: false, reason: `no tool ${tool} on this stage` };
      const { policyVersion } = await governanceStore().settings(tenant);
      const layers = policyVersion === 0 ? undefined : await policyVersions().layers(tenant, policyVersion);
      const decision = policyEngine().evaluateRoute(layers, policyVersion, {
        principal: { kind: 'capsule', id: capsule, tenant, roles: [] },
        tenant,
        method: spec.route.method,
        path: spec.route.path,
      });
      const own = decision.policies.filter((id) => id.startsWith(`capsule/${capsule}/`));
      return decision.decision === 'deny' && own.length > 0 ? { allowed: false, reason: `policy ${own.join(', ')}` } : { allowed: true };
    },
  };
}

/**
 * The tool caller of one run: a key minted for it with the caller's roles on its first tool call (a
 * run refused before any call, e.g. a capsule not installed, writes no key), each call through the
 * MCP path with that key; `close()` revokes the key if one was minted.
 */
function runToolCaller(caller: Principal, runLabel: string, now: Date): RunToolCaller & { close(): Promise<void> } {
  const keys = stageAuthenticators().apiKeys;
  let minted: Promise<{ apiKey: string; keyId: string; principal: Principal }> | undefined;
  const key = () => {
    minted ??= (async () => {
      const { apiKey, stored } = mintApiKey({ tenant: caller.tenant, name: runLabel, roles: caller.roles, createdBy: caller.subject, now });
      await keys.create(stored);
      const principal: Principal = { tenant: caller.tenant, subject: `api-key:${stored.keyId}`, roles: caller.roles, via: 'api-key' };
      return { apiKey, keyId: stored.keyId, principal };
    })();
    return minted;
  };
  return {
    async call(tool, args, context) {
      const { apiKey, principal } = await key();
      const deps = mcpServerDeps();
      const spec = deps.tools.find((candidate) => candidate.name === tool);
      if (!spec) throw new ForbiddenError(`No tool ${tool} on this stage`);
      const result = await callTool(deps, spec, args, {
        principal,
        credentials: { 'x-api-key': apiKey },
        correlationId: `${context.runId}-${randomUUID().slice(0, 8)}`,
        ...(spec.route.method === 'POST' ? { idempotencyKey: randomUUID() } : {}),
        requestContext: {
          accountId: 'capsule-run',
          apiId: 'capsule-run',
          domainName: 'capsule-run',
          sourceIp: '127.0.0.1',
          userAgent: `capsule/${context.capsule}`,
        },
        now: new Date(),
      });
      const meta = (result._meta ?? {}) as Record<string, unknown>;
      const status = meta[RESULT_META.status];
      const httpStatus = meta[RESULT_META.httpStatus];
      const text = result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
      const structured = result.structuredContent as Record<string, unknown> | undefined;
      const approvalId = typeof structured?.approvalId === 'string' ? structured.approvalId : undefined;
      return {
        outcome: result.isError ? 'error' : status === 'pending' ? 'pending' : 'success',
        statusCode: typeof httpStatus === 'number' ? httpStatus : 0,
        result: structured ?? text,
        text,
        ...(approvalId ? { approvalId } : {}),
      };
    },
    async close() {
      if (!minted) return;
      const { keyId } = await minted;
      await keys.revoke(caller.tenant, keyId, new Date().toISOString());
    },
  };
}

/** What one run started by `caller` needs; call `close()` when it ended. */
export async function runDeps(caller: Principal, now: Date): Promise<RunDeps & { close(): Promise<void> }> {
  const tools = runToolCaller(caller, `capsule-run:${now.toISOString()}`, now);
  return {
    store: runStore(),
    capsules: runCapsules(),
    tools,
    guardrails: runGuardrails(),
    clock: () => new Date(),
    // The run's wall clock, tool waits included: within the function's 29 s, leaving time to record the end.
    sandboxLimits: { timeoutMs: RUN_TIMEOUT_MS },
    close: () => tools.close(),
  };
}
