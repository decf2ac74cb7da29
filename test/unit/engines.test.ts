/**
 * Engine manifests are the one source of truth: every handler file has a manifest entry and every
 * entry a handler; the generated configuration gives each action its trigger and exactly the access
 * its needs name (plus credentials and rate limits on protected routes, Cedar's policy reads and the
 * break-glass event on state-changing routes, idempotency on POST).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { roleLogicalId, serverlessConfig, statementOf } from '../../infra/serverless/functions.ts';
import { defineRoute } from '../../lib/api/route.ts';
import { allRoutes } from '../../lib/api/routes.ts';
import { engines } from '../../lib/engines/index.ts';
import { defineEngine, functionName, handlerFile, need } from '../../lib/engines/manifest.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The stage's models as the gateway's `invoke-models` need grants them. */
const models = { endpoints: ['standin-a', 'standin-b'], apiKeySecrets: [] };
const config = serverlessConfig(engines, {
  param: (name) => `rate(${name})`,
  secretNamePrefix: 'autonomy/test/',
  stateMachinePrefix: 'autonomy-test-',
  models,
  functionNamePrefix: 'autonomy-test-',
});
type Fn = { handler: string; role: string; environment?: Record<string, unknown>; events: Array<Record<string, unknown>> };
type Statement = { Action: string[]; Resource: unknown; Condition?: Record<string, Record<string, string[]>> };
const statements = (name: string): Statement[] =>
  (config.resources.Resources[roleLogicalId(name)] as { Properties: { Policies: Array<{ PolicyDocument: { Statement: Statement[] } }> } })
    .Properties.Policies[0]?.PolicyDocument.Statement ?? [];
const grants = (name: string, action: string, where: string) =>
  statements(name).some((statement) => statement.Action.includes(action) && JSON.stringify(statement).includes(where));

describe('engine manifests', () => {
  it('declare exactly the handler files under functions/: one file per action, one action per file', async () => {
    const files = (await readdir(path.join(root, 'functions'), { recursive: true }))
      .filter((file) => file.endsWith('.ts'))
      .map((file) => `functions/${file.split(path.sep).join('/')}`)
      .sort();
    const declared = engines.flatMap((engine) => Object.keys(engine.actions).map((action) => handlerFile(engine.name, action))).sort();
    assert.deepEqual(declared, files);
    for (const file of declared) assert.ok(existsSync(path.join(root, file)), file);
  });

  it('generate one function per action with its handler, its own role and its trigger', () => {
    for (const engine of engines) {
      for (const [action, spec] of Object.entries(engine.actions)) {
        const fn = config.functions[functionName(engine.name, action)] as Fn | undefined;
        assert.ok(fn, `${engine.name}/${action}`);
        assert.equal(fn.handler, `functions/${engine.name}/${action}.handler`);
        assert.equal(fn.role, roleLogicalId(functionName(engine.name, action)));
        const kinds = fn.events.map((event) => Object.keys(event)[0]);
        const expected = spec.routes
          ? spec.routes.map(() => 'httpApi')
          : spec.queue
            ? ['sqs']
            : spec.schedule
              ? ['schedule']
              : spec.rule
                ? ['eventBridge']
                : [];
        assert.deepEqual(kinds, expected, `${engine.name}/${action}`);
      }
    }
    assert.equal(Object.keys(config.functions).length, Object.keys(config.resources.Resources).length, 'one role per function');
  });

  it('serve every route of the API exactly once', () => {
    const keys = allRoutes.map((route) => `${route.method} ${route.path}`);
    assert.equal(new Set(keys).size, keys.length);
    const deployed = Object.values(config.functions).flatMap((fn) =>
      (fn as Fn).events.flatMap((event) =>
        event.httpApi ? [`${(event.httpApi as { method: string }).method} ${(event.httpApi as { path: string }).path}`] : [],
      ),
    );
    assert.deepEqual(deployed.sort(), [...keys].sort());
  });

  it('add credentials and request counting to protected routes only, and idempotency records to POST routes only', () => {
    assert.ok(grants('observationIngest', 'dynamodb:GetItem', '*#apikey'));
    assert.ok(grants('observationIngest', 'dynamodb:UpdateItem', '*#ratelimit'));
    assert.ok(grants('observationIngest', 'dynamodb:PutItem', 'IdempotencyTable'));
    assert.ok(grants('observationIngest', 'dynamodb:BatchGetItem', '*#series'), 'ingest reads its series in batches');
    assert.ok(!grants('observationStatus', 'dynamodb:PutItem', 'IdempotencyTable'), 'a GET route holds idempotency records');
    assert.ok(grants('observationIngest', 'dynamodb:GetItem', '*#governance#policies'), "a write route reads the tenant's Cedar policies");
    assert.ok(grants('observationSeries', 'dynamodb:GetItem', '*#governance'), "a DELETE route reads the tenant's policy version");
    assert.ok(grants('observationConfig', 'events:PutEvents', 'EventBus'), 'a write route publishes break-glass uses');
    assert.ok(!grants('observationStatus', 'dynamodb:GetItem', '*#governance'), "a GET route reads the tenant's policies");
    assert.ok(!grants('platformHealth', 'dynamodb:GetItem', '*#apikey'), 'a public route reads API keys');
    assert.ok(!grants('platformOpenapi', 'dynamodb:GetItem', 'StateTable'));
    assert.ok(!grants('auditAppend', 'dynamodb:GetItem', '*#apikey'), 'a queue consumer reads API keys');
    assert.ok(grants('auditAppend', 'sqs:ReceiveMessage', 'AuditQueue'));
  });

  it('scope every state-table grant by key prefix, request-approval too', () => {
    for (const [name] of Object.entries(config.functions)) {
      for (const statement of statements(name)) {
        const onStateTable = JSON.stringify(statement.Resource) === JSON.stringify({ 'Fn::GetAtt': ['StateTable', 'Arn'] });
        const itemActions = statement.Action.filter((action) =>
          /^dynamodb:(BatchGet|Get|Put|Update|Delete)Item|dynamodb:Query$/.test(action),
        );
        if (!onStateTable || itemActions.length === 0) continue;
        assert.ok(
          statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']?.length,
          `${name}: ${itemActions.join(', ')} on every key of the state table`,
        );
      }
    }
  });

  it('set the ledger and signing-key variables only where the ledger or the keys are needed', () => {
    for (const [name, fn] of Object.entries(config.functions) as Array<[string, Fn]>) {
      assert.equal(
        fn.environment?.LEDGER_TABLE !== undefined,
        statements(name).some((statement) => JSON.stringify(statement.Resource).includes('LedgerTable')),
        name,
      );
      assert.equal(
        fn.environment?.AUDIT_SIGNING_KEY_PREFIX !== undefined,
        grants(name, 'secretsmanager:GetSecretValue', 'secret:autonomy/test/audit-signing-keys/*'),
        name,
      );
    }
    assert.equal((config.functions.auditCheckpoint as Fn).environment?.AUDIT_SIGNING_KEY_PREFIX, 'autonomy/test/audit-signing-keys/');
  });

  it("grant the tenants' secrets under the stage's prefix only: signing keys to the signers and the keys route, webhook keys to the runs, the webhook-key route and the improvement loop's replicate step (Replication runs in process)", () => {
    const holders = Object.keys(config.functions).filter((name) =>
      statements(name).some((statement) => statement.Action.some((action) => action.startsWith('secretsmanager:'))),
    );
    assert.deepEqual(holders.sort(), [
      'auditCheckpoint',
      'auditCheckpointSchedule',
      'auditKeys',
      'evolutionLoopReplicate',
      'executionRuns',
      'executionWebhookKey',
      'reflexLoopExecute',
      'replicationEvaluate',
    ]);
    const expected: Record<string, { names: string; actions: string[] }> = {
      audit: {
        names: 'audit-signing-keys/*',
        actions: ['secretsmanager:CreateSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
      },
      execution: { names: 'execution-webhook-keys/*', actions: ['secretsmanager:CreateSecret', 'secretsmanager:GetSecretValue'] },
    };
    for (const name of holders) {
      const want = expected[name.startsWith('audit') ? 'audit' : 'execution'];
      const secrets = statements(name).filter((statement) => statement.Action.some((action) => action.startsWith('secretsmanager:')));
      assert.deepEqual(
        secrets.map((statement) => statement.Resource),
        [{ 'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:autonomy/test/${want?.names}` }],
        name,
      );
      assert.deepEqual(secrets[0]?.Action.sort(), want?.actions, name);
    }
    assert.throws(
      () => serverlessConfig(engines, { param: () => 'rate(1 minute)', stateMachinePrefix: 'autonomy-test-', models }),
      /secretNamePrefix/,
    );
  });

  it("let only the functions that propose (governance proposals, Reflex in process, the self-repair loop's diagnose and record steps, Evolution's decisions and the improvement loop's decide, version, promote and replicate steps, breaking versions, Replication's evaluations, Migration's plans, capsule submissions and plans' review gates, compressions that would drop critical context and Loop 3's propose step, interface exposures, terminations) start the governance gate, on its own state machine and executions, with its ARN in GATE_STATE_MACHINE_ARN", () => {
    const machine = {
      'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:autonomy-test-governance-gate',
    };
    const executions = {
      'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:autonomy-test-governance-gate:*',
    };
    const starters = Object.keys(config.functions).filter((name) =>
      statements(name).some(
        (statement) => statement.Action.includes('states:StartExecution') && JSON.stringify(statement.Resource).includes('governance-gate'),
      ),
    );
    const proposers = [
      'governanceProposals',
      'reflexIncidents',
      'reflexIncident',
      'reflexLoopDiagnose',
      'reflexLoopRecord',
      'replicationEvaluate',
      'migrationPlans',
      'encapsulationInterfaces',
      'closureTerminations',
      'evolutionDecide',
      'evolutionLoopDecide',
      'evolutionLoopVersion',
      'evolutionLoopPromote',
      'evolutionLoopReplicate',
      'versioningVersions',
      'promotionPromotions',
      'promotionAdvance',
      'capsulesSubmissions',
      'capsulesPlanReview',
      'compressionCompress',
      'compressionLoopPropose',
    ];
    assert.deepEqual(starters, proposers);
    const start = statements('governanceProposals').find((statement) => statement.Action.includes('states:StartExecution'));
    assert.deepEqual(start?.Resource, [machine, executions]);
    assert.deepEqual((config.functions.governanceProposals as Fn).environment?.GATE_STATE_MACHINE_ARN, machine);
    for (const [name, fn] of Object.entries(config.functions) as Array<[string, Fn]>) {
      assert.equal(fn.environment?.GATE_STATE_MACHINE_ARN !== undefined, proposers.includes(name), name);
    }
    assert.ok(grants('governanceApprovals', 'states:SendTaskSuccess', '*'), 'the approvals route resumes the gate');
    assert.ok(
      grants('governanceApprovals', 'states:SendTaskHeartbeat', '*'),
      'a vote short of the quorum checks that the gate still waits',
    );
    assert.ok(!grants('governanceProposals', 'states:SendTaskSuccess', '*'), 'proposing never resumes a gate');
    assert.ok(grants('governanceProposals', 'states:SendTaskFailure', '*'), 'withdrawing a proposal ends its waiting gate');
  });

  it("let only the incident rule target start self-repair loops, on that state machine and its executions, with its ARN in SELF_REPAIR_STATE_MACHINE_ARN; only the gate steps and the incident's close resume them", () => {
    const machine = { 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:autonomy-test-self-repair' };
    const executions = { 'Fn::Sub': 'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:autonomy-test-self-repair:*' };
    const loopStarts = Object.entries(config.functions).flatMap(([name]) =>
      statements(name)
        .filter(
          (statement) => statement.Action.includes('states:StartExecution') && JSON.stringify(statement.Resource).includes('self-repair'),
        )
        .map((statement) => [name, statement.Resource]),
    );
    assert.deepEqual(loopStarts, [['reflexIncident', [machine, executions]]]);
    for (const [name, fn] of Object.entries(config.functions) as Array<[string, Fn]>) {
      assert.equal(fn.environment?.SELF_REPAIR_STATE_MACHINE_ARN !== undefined, name === 'reflexIncident', name);
    }
    assert.deepEqual((config.functions.reflexIncident as Fn).environment?.SELF_REPAIR_STATE_MACHINE_ARN, machine);
    const resumers = Object.keys(config.functions).filter(
      (name) => name.startsWith('reflex') && grants(name, 'states:SendTaskSuccess', '*'),
    );
    assert.deepEqual(resumers, ['reflexIncident', 'reflexLoopGate']);
    // On the settled event, governance's one gate-resume function resumes whichever machine waits.
    const onSettled = Object.entries(
      config.functions as Record<string, { events?: Array<{ eventBridge?: { pattern?: { 'detail-type'?: string[] } } }> }>,
    )
      .filter(([, fn]) =>
        (fn.events ?? []).some((event) => event.eventBridge?.pattern?.['detail-type']?.includes('governance.proposal.settled')),
      )
      .map(([name]) => name)
      .filter((name) => grants(name, 'states:SendTaskSuccess', '*'));
    assert.deepEqual(onSettled, ['governanceGateResume']);
  });

  it("refuse a 'start-gate' need without the stage's state-machine prefix, or with one that is not a name prefix", () => {
    assert.throws(
      () => serverlessConfig(engines, { param: () => 'rate(1 minute)', secretNamePrefix: 'autonomy/test/', models }),
      /stateMachinePrefix/,
    );
    assert.throws(() => statementOf(need.startGate(), undefined, 'autonomy-test'), /stateMachinePrefix/);
    assert.throws(() => statementOf(need.startGate(), undefined, 'autonomy/test/'), /stateMachinePrefix/);
  });

  it('let only the MCP endpoint and capsule runs (whose tool calls are the MCP path: runs and plans’ nodes) invoke functions, exactly those of protected routes (the MCP endpoint not), with their prefix in ROUTE_FUNCTION_PREFIX', () => {
    const invokers = Object.keys(config.functions).filter((name) =>
      statements(name).some((statement) => statement.Action.includes('lambda:InvokeFunction')),
    );
    assert.deepEqual(invokers.sort(), ['capsulesPlanNode', 'capsulesRuns', 'mcpServer']);
    assert.deepEqual(
      statements('capsulesRuns').find((statement) => statement.Action.includes('lambda:InvokeFunction')),
      statements('mcpServer').find((statement) => statement.Action.includes('lambda:InvokeFunction')),
    );
    assert.equal((config.functions.capsulesRuns as Fn).environment?.ROUTE_FUNCTION_PREFIX, 'autonomy-test-');
    const granted = statements('mcpServer').find((statement) => statement.Action.includes('lambda:InvokeFunction'));
    assert.ok(granted, 'the MCP endpoint has an InvokeFunction statement');
    const names = (granted.Resource as Array<{ 'Fn::Sub': string }>).map((resource) => resource['Fn::Sub'].split(':function:')[1]);
    const expected = engines.flatMap((engine) =>
      Object.entries(engine.actions)
        .filter(
          ([action, spec]) =>
            (spec.routes ?? []).some((route) => route.permission !== 'public') &&
            engine.name !== 'mcp' &&
            // Functions that start capsule runs are never invoked: capsule runs and plans are not tools.
            !(engine.name === 'capsules' && (action === 'runs' || action === 'plans')),
        )
        .map(([action]) => `autonomy-test-${functionName(engine.name, action)}`),
    );
    assert.deepEqual(names, expected);
    assert.ok(
      names.includes('autonomy-test-governanceProposals') &&
        !names.some(
          (name) =>
            name.includes('mcp') || name.includes('platformHealth') || name.includes('capsulesRuns') || name.includes('capsulesPlans'),
        ),
    );
    assert.equal((config.functions.mcpServer as Fn).environment?.ROUTE_FUNCTION_PREFIX, 'autonomy-test-');
  });

  it('turn needs into statements on exactly the named resource', () => {
    assert.deepEqual(statementOf(need.index('state', 'gsi1', ['Query'])).Resource, {
      'Fn::Join': ['', [{ 'Fn::GetAtt': ['StateTable', 'Arn'] }, '/index/gsi1']],
    });
    assert.deepEqual(statementOf(need.objects('artifacts', ['GetObject'], ['*/audit/payloads/*'])).Resource, {
      'Fn::Join': ['', [{ 'Fn::GetAtt': ['ArtifactsBucket', 'Arn'] }, '/*/audit/payloads/*']],
    });
    assert.deepEqual(statementOf(need.listObjects('artifacts', ['*/x/*'])).Condition, { StringLike: { 's3:prefix': ['*/x/*'] } });
  });

  it('refuse a manifest that is ambiguous', () => {
    const spec = (engine: string, action: string, path?: string) =>
      defineRoute({
        engine,
        action,
        method: 'GET',
        permission: `${engine}:read`,
        summary: 's',
        parameters: z.object({}),
        result: z.object({}),
        ...(path ? { path } : {}),
      });
    assert.throws(
      () => defineEngine({ name: 'x', description: 'd', actions: { a: { description: 'a', needs: [] } } }),
      /exactly one trigger kind/,
    );
    assert.throws(
      () =>
        defineEngine({
          name: 'x',
          description: 'd',
          actions: { a: { description: 'a', needs: [], routes: [spec('x', 'a')], task: true } },
        }),
      /exactly one trigger kind/,
    );
    assert.throws(
      () => defineEngine({ name: 'x', description: 'd', actions: { a: { description: 'a', needs: [], routes: [spec('y', 'a')] } } }),
      /belongs to engine 'y'/,
    );
    assert.throws(
      () =>
        defineEngine({
          name: 'x',
          description: 'd',
          actions: { a: { description: 'a', needs: [], routes: [spec('x', 'a'), spec('x', 'b')] } },
        }),
      /one function serves one path/,
    );
    assert.throws(
      () => defineEngine({ name: 'x', description: 'd', actions: { A_b: { description: 'a', needs: [], task: true } } }),
      /kebab-case/,
    );
    assert.throws(
      () =>
        serverlessConfig(
          [engines[0], engines[0]].filter((e) => e !== undefined),
          { param: () => 'rate(1 minute)', secretNamePrefix: 'autonomy/test/' },
        ),
      /declared twice/,
    );
  });
});
