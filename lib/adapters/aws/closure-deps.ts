/**
 * The Closure engine's ports in a deployed function, built once per container: terminations and the
 * lifecycle policy on the state table (`<tenant>#closure`: `termination#<id>`, `policy`, written with
 * their events: an outbox), archives in the artifacts bucket (`<tenant>/closure/archives/<id>.json`),
 * the Reflex registry, capsule installs, API keys, governance's proposals, approvals and kill switches,
 * the Execution engine's executors (quiesce) and the audit engine's latest signed checkpoints.
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Checkpoint } from '../../audit/schemas.ts';
import { uninstallCapsule } from '../../capsules/marketplace.ts';
import type { ArchiveRetention } from '../../closure/archive-retention.ts';
import type { ClosureDeps, ClosureStore } from '../../closure/engine.ts';
import { CLOSURE_ACTOR } from '../../closure/engine.ts';
import { lifecyclePolicySchema, terminationSchema } from '../../closure/schemas.ts';
import { config } from '../../config.ts';
import { ForbiddenError, ValidationError } from '../../errors.ts';
import { checkScope } from '../../execution/bindings.ts';
import type { Executor } from '../../execution/executor.ts';
import { approvalIdOf } from '../../governance/approvals.ts';
import { propose, reportOutcome } from '../../governance/proposals.ts';
import { assertActuationAllowed } from '../../governance/settings.ts';
import type { Binding } from '../../reflex/schemas.ts';
import { DynamoApiKeyStore } from './api-key-store.ts';
import { auditCheckpoints } from './audit-deps.ts';
import { capsuleStore, installDeps } from './capsule-deps.ts';
import { dynamoClient, s3Client } from './clients.ts';
import { mappedSend } from './errors.ts';
import { stageExecutors } from './execution-deps.ts';
import { approvalStore, governanceOutbox, governanceStore, proposalDeps } from './governance-deps.ts';
import { writeWithOutbox } from './governance-store.ts';
import { dynamoRegistryStore } from './reflex-store.ts';

const pk = (tenant: string) => `${tenant}#closure`;
/** Most of a tenant's terminations listed (newest first). */
const MAX_LISTED = 1000;
/** Most ledger streams whose latest checkpoint an archive holds. */
const MAX_STREAMS = 100;

let store: ClosureStore | undefined;

/** Terminations and lifecycle policies. */
export function closureStore(): ClosureStore {
  if (store) return store;
  const table = config().STATE_TABLE;
  const send = mappedSend(dynamoClient(), 'DynamoDB');
  const get = async (tenant: string, sk: string) =>
    (await send(new GetCommand({ TableName: table, Key: { pk: pk(tenant), sk }, ConsistentRead: true }))).Item;
  store = {
    async policy(tenant) {
      const item = await get(tenant, 'policy');
      return item ? lifecyclePolicySchema.parse(item.policy) : undefined;
    },
    async putPolicy(tenant, policy, events) {
      const current = await get(tenant, 'policy');
      const version = typeof current?.version === 'number' ? current.version : undefined;
      return writeWithOutbox(
        send,
        table,
        { pk: pk(tenant), sk: 'policy', policy, version: (version ?? 0) + 1 },
        version,
        tenant,
        events,
        `The lifecycle policy of ${tenant}`,
      );
    },
    async termination(tenant, terminationId) {
      const item = await get(tenant, `termination#${terminationId}`);
      return item ? { termination: terminationSchema.parse(item.termination), rev: Number(item.version) } : undefined;
    },
    putTermination(tenant, termination, expectedRev, events) {
      const item = {
        pk: pk(tenant),
        sk: `termination#${termination.terminationId}`,
        version: (expectedRev ?? 0) + 1,
        requestedAt: termination.requestedAt,
        termination,
      };
      return writeWithOutbox(send, table, item, expectedRev, tenant, events, `Termination ${termination.terminationId}`);
    },
    async list(tenant, limit) {
      const items: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: { ':pk': pk(tenant), ':prefix': 'termination#' },
            ExclusiveStartKey: start,
          }),
        );
        items.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start && items.length < MAX_LISTED);
      return items
        .sort((a, b) => String(b.requestedAt).localeCompare(String(a.requestedAt)))
        .slice(0, limit)
        .map((item) => terminationSchema.parse(item.termination));
    },
  };
  return store;
}

/** The latest signed checkpoint of each of the tenant's streams (the audit stream registry). */
async function latestCheckpoints(tenant: string): Promise<Checkpoint[]> {
  const send = mappedSend(dynamoClient(), 'DynamoDB');
  const page = await send(
    new QueryCommand({
      TableName: config().STATE_TABLE,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `${tenant}#audit#streams` },
      Limit: MAX_STREAMS,
    }),
  );
  const streams = (page.Items ?? []).map((item) => String(item.sk));
  const found = await Promise.all(streams.map((stream) => auditCheckpoints().latest(tenant, stream)));
  return found.filter((checkpoint): checkpoint is Checkpoint => checkpoint !== undefined);
}

/** Quiesces through the executor of `binding` as the quarantine playbook means it: dry run, execute, read-back. */
async function quiesce(
  tenant: string,
  target: string,
  binding: { kind: string; resource: string; parameters: Record<string, unknown> },
  executionId: string,
): Promise<string> {
  const cfg = config();
  const executor = stageExecutors()[binding.kind as Binding['kind']] as Executor<Record<string, unknown>> | undefined;
  if (!executor) throw new ValidationError([{ path: 'plan.steps.executor.kind', message: `no ${binding.kind} executor in this stage` }]);
  const typed = binding as Binding;
  const outside = checkScope(typed, {
    accountId: cfg.EXECUTION_ACCOUNT_ID ?? '',
    region: cfg.AWS_REGION,
    webhookAllowList: cfg.EXECUTION_WEBHOOK_ALLOWLIST.split(',')
      .map((entry) => entry.trim())
      .filter(Boolean),
  });
  if (outside) throw new ForbiddenError(`The ${binding.kind} executor may not act on this binding: ${outside}`);
  const request = {
    tenant,
    action: 'reflex:quarantine' as const,
    target,
    binding: typed,
    parameters: executor.parameters('reflex:quarantine', binding.parameters),
  };
  const plan = await executor.dryRun(request);
  const result = await executor.execute(request, executionId, plan);
  const state = await executor.readBack(request, result);
  return `${plan.changes.join('; ') || 'already quiet'}; read back ${JSON.stringify(state).slice(0, 500)}`;
}

/**
 * Writes an archive object to `<tenant>/closure/archives/<id>.json`, tagged with its retention class
 * (`autonomy-retention=closure-archive-<days>d`): the artifacts bucket's lifecycle rule for that tag
 * expires it (infra/resources/storage.yml). Tagging on PutObject needs s3:PutObjectTagging as well.
 * @returns the object's key.
 */
export async function writeArchive(
  client: S3Client,
  bucket: string,
  tenant: string,
  terminationId: string,
  body: unknown,
  retention: ArchiveRetention,
): Promise<string> {
  const key = `${tenant}/closure/archives/${terminationId}.json`;
  await mappedSend(
    client,
    'S3',
  )(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(body),
      ContentType: 'application/json',
      Tagging: new URLSearchParams({ [retention.tag.key]: retention.tag.value }).toString(),
    }),
  );
  return key;
}

/** What the actions need, at `now`. */
export function closureDeps(now: Date): ClosureDeps {
  const table = config().STATE_TABLE;
  const registry = dynamoRegistryStore(dynamoClient(), table);
  const keys = new DynamoApiKeyStore(dynamoClient(), table);
  const governance = governanceStore();
  return {
    store: closureStore(),
    outbox: governanceOutbox(),
    registry: (tenant) => registry.registry(tenant),
    async deregister(tenant, remove, generation, actor) {
      const current = await registry.registry(tenant);
      const gone = new Set(remove);
      await registry.replace(
        tenant,
        current.components.filter((component) => !gone.has(component.id)),
        generation,
        { at: new Date().toISOString(), by: actor },
      );
    },
    installed: async (tenant, name) => (await capsuleStore().install(tenant, name))?.status === 'installed',
    async uninstall(tenant, name) {
      await uninstallCapsule(tenant, name, { tenant, subject: CLOSURE_ACTOR, roles: ['admin'], via: 'api-key' }, installDeps(new Date()));
    },
    keys: async (tenant) =>
      (await keys.list(tenant)).map((key) => ({
        keyId: key.keyId,
        name: key.name,
        revoked: key.revokedAt !== undefined,
        roles: [...key.roles],
        createdAt: key.createdAt,
      })),
    revoke: async (tenant, keyId, at) => {
      await keys.revoke(tenant, keyId, at);
    },
    propose: (input, proposer, proposalId) => propose(input, proposer, { ...proposalDeps(now), newId: () => proposalId }),
    proposal: (tenant, proposalId) => governance.proposal(tenant, proposalId),
    approvers: async (tenant, proposalId) =>
      ((await approvalStore().get(tenant, approvalIdOf(proposalId)))?.votes ?? [])
        .filter((vote) => vote.decision === 'approve')
        .map((vote) => vote.actor),
    async assertUnlocked(tenant) {
      const [settings, global] = await Promise.all([governance.settings(tenant), governance.globalKillSwitch()]);
      assertActuationAllowed(settings, global);
    },
    quiesce,
    checkpoints: latestCheckpoints,
    archive: (tenant, terminationId, body, retention) =>
      writeArchive(s3Client(), config().ARTIFACTS_BUCKET, tenant, terminationId, body, retention),
    async reportOutcome(tenant, proposalId, outcome, detail) {
      await reportOutcome(tenant, { proposalId, outcome, detail }, CLOSURE_ACTOR, { ...proposalDeps(new Date()), now: new Date() });
    },
    // Steps are stamped by the clock (the termination's time is measured from approval to its end).
    now: () => new Date(),
    newId: randomUUID,
  };
}
