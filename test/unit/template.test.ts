/**
 * The packaged CloudFormation template (`sls package --stage dev`) has the properties we promise:
 * least-privilege roles per function, DLQs, encrypted and recoverable tables, state machines bound;
 * and it deploys as nested stacks, each within budget (headroom printed), for today's product and a
 * projection of it with 20 more engines.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { flattenStacks, templateFilesLoader } from '../../infra/local/stacks.ts';
import { type CfnTemplate, IntrinsicResolver, packageStacks, packageTemplate, resourcesOfType } from '../../infra/local/template.ts';
import { placement, stackFileName, stackLogicalId } from '../../infra/serverless/engines.ts';
import { lambdaLogicalId } from '../../infra/serverless/functions.ts';
import { BUDGET, headroom, LIMITS, splitStacks, type Template } from '../../infra/serverless/stacks.ts';
import { allRoutes } from '../../lib/api/routes.ts';
import { ARCHIVE_RETENTION_CLASSES, lifecycleRuleId, RETENTION_TAG_KEY, retentionTagValue } from '../../lib/closure/archive-retention.ts';
import { engines } from '../../lib/engines/index.ts';
import { deployedTo, functionName } from '../../lib/engines/manifest.ts';
import { ENGINES, engines as projection, ROUTES_PER_ENGINE } from '../fixtures/projection/engines.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
let template: CfnTemplate;

const DATA_SERVICES = ['dynamodb', 's3', 'sqs'];

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}

function statementsOf(role: Record<string, unknown>): Statement[] {
  const policies = (role.Policies ?? []) as Array<{ PolicyDocument: { Statement: Statement[] } }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

describe('packaged template (stage dev)', () => {
  before(async () => {
    template = await packageTemplate(root, 'dev', path.join(root, '.local', 'package', 'dev'));
  });

  it('lets every function behind a protected route read API keys and count requests, and nothing more of those keys', () => {
    const integrations = new Map(
      resourcesOfType(template, 'AWS::ApiGatewayV2::Integration').map(([id, p]) => [id, JSON.stringify(p.IntegrationUri)]),
    );
    const allows = (statements: Statement[], action: string, leadingKey: string) =>
      statements.some((statement) => {
        const actions = ([] as string[]).concat(statement.Action);
        const keys = ([] as string[]).concat(statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] ?? []);
        return (
          statement.Effect === 'Allow' &&
          actions.includes(action) &&
          JSON.stringify(statement.Resource).includes('StateTable') &&
          (keys.length === 0 || keys.includes(leadingKey))
        );
      });
    let checked = 0;
    for (const [, route] of resourcesOfType(template, 'AWS::ApiGatewayV2::Route')) {
      const spec = allRoutes.find((candidate) => `${candidate.method} ${candidate.path}` === route.RouteKey);
      assert.ok(spec, `${String(route.RouteKey)} is in lib/api/routes.ts`);
      if (spec.permission === 'public') continue;
      const integrationId = JSON.stringify(route.Target).match(/"Ref":"([^"]+)"/)?.[1] ?? '';
      const functionId = integrations.get(integrationId)?.match(/"([A-Za-z0-9]+LambdaFunction)"/)?.[1] ?? '';
      const roleId = ((template.Resources[functionId]?.Properties?.Role as { 'Fn::GetAtt': [string] } | undefined)?.['Fn::GetAtt'] ?? [
        '',
      ])[0];
      const statements = statementsOf(template.Resources[roleId]?.Properties ?? {});
      assert.ok(allows(statements, 'dynamodb:GetItem', '*#apikey'), `${functionId} (${String(route.RouteKey)}) cannot read API keys`);
      assert.ok(
        allows(statements, 'dynamodb:UpdateItem', '*#ratelimit'),
        `${functionId} (${String(route.RouteKey)}) cannot count requests`,
      );
      checked += 1;
    }
    assert.ok(checked >= 20, `only ${checked} protected routes checked`);
  });

  it('gives every function its own role, never the shared one', () => {
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    assert.ok(functions.length >= 5, 'expected the platform and governance functions');
    const roles = functions.map(([, p]) => JSON.stringify(p.Role));
    assert.equal(new Set(roles).size, functions.length, 'two functions share a role');
    for (const [id, p] of functions) {
      const roleId = (p.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      assert.notEqual(roleId, 'IamRoleLambdaExecution', `${id} uses the shared role`);
      assert.equal(template.Resources[roleId]?.Type, 'AWS::IAM::Role', `${id}'s role is missing`);
    }
  });

  it('grants no wildcard resource or wildcard action on a data service in any role', () => {
    for (const [id, role] of resourcesOfType(template, 'AWS::IAM::Role')) {
      for (const statement of statementsOf(role)) {
        const actions = ([] as string[]).concat(statement.Action);
        const onData = actions.filter((action) => DATA_SERVICES.includes(action.split(':')[0] ?? ''));
        if (onData.length === 0 || statement.Effect !== 'Allow') continue;
        for (const action of onData) assert.ok(!action.endsWith(':*') && action !== '*', `${id} grants ${action}`);
        const resources = ([] as unknown[]).concat(statement.Resource);
        for (const resource of resources) assert.notEqual(resource, '*', `${id} grants ${onData.join(',')} on *`);
      }
    }
  });

  it('runs every function on nodejs22.x with X-Ray tracing and a log retention', () => {
    for (const [id, p] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      assert.equal(p.Runtime, 'nodejs22.x', id);
      assert.deepEqual(p.TracingConfig, { Mode: 'Active' }, id);
    }
    for (const [id, p] of resourcesOfType(template, 'AWS::Logs::LogGroup')) {
      assert.ok(Number(p.RetentionInDays) > 0, `${id} keeps logs forever`);
    }
  });

  it('gives every queue a dead-letter queue (or makes it one)', () => {
    const queues = resourcesOfType(template, 'AWS::SQS::Queue');
    assert.ok(queues.length > 0);
    const dlqIds = new Set(
      queues.flatMap(([, p]) => {
        const target = (p.RedrivePolicy as { deadLetterTargetArn?: { 'Fn::GetAtt': [string] } } | undefined)?.deadLetterTargetArn;
        return target ? [target['Fn::GetAtt'][0]] : [];
      }),
    );
    for (const [id, p] of queues) {
      const redrive = p.RedrivePolicy as { maxReceiveCount?: number } | undefined;
      assert.ok(dlqIds.has(id) || (redrive && Number(redrive.maxReceiveCount) >= 1), `${id} has no DLQ`);
      assert.equal(p.SqsManagedSseEnabled, true, `${id} is not encrypted`);
    }
  });

  it('encrypts every table and turns on point-in-time recovery', () => {
    const tables = resourcesOfType(template, 'AWS::DynamoDB::Table');
    assert.ok(tables.length >= 2);
    for (const [id, p] of tables) {
      assert.deepEqual(p.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true }, id);
      assert.deepEqual(p.SSESpecification, { SSEEnabled: true }, id);
    }
  });

  it('encrypts the buckets, blocks public access and denies plain HTTP', () => {
    for (const [id, p] of resourcesOfType(template, 'AWS::S3::Bucket')) {
      if (id === 'ServerlessDeploymentBucket') continue;
      assert.ok(p.BucketEncryption, `${id} is not encrypted`);
      assert.deepEqual(
        p.PublicAccessBlockConfiguration,
        { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        id,
      );
    }
    const policies = resourcesOfType(template, 'AWS::S3::BucketPolicy').map(([, p]) => JSON.stringify(p));
    assert.ok(policies.some((policy) => policy.includes('aws:SecureTransport')));
  });

  it('expires closure archives by their retention tag: one rule per class, after its days, the expired version a day later', () => {
    const lifecycle = template.Resources.ArtifactsBucket?.Properties?.LifecycleConfiguration as
      | { Rules: Array<Record<string, unknown>> }
      | undefined;
    const rules = lifecycle?.Rules ?? [];
    for (const days of ARCHIVE_RETENTION_CLASSES) {
      const rule = rules.find((candidate) => candidate.Id === lifecycleRuleId(days));
      assert.deepEqual(
        rule,
        {
          Id: lifecycleRuleId(days),
          Status: 'Enabled',
          TagFilters: [{ Key: RETENTION_TAG_KEY, Value: retentionTagValue(days) }],
          ExpirationInDays: days,
          NoncurrentVersionExpiration: { NoncurrentDays: 1 },
        },
        `the lifecycle rule of ${days}-day archives`,
      );
    }
    const closure = rules.filter((rule) => String(rule.Id).startsWith('expire-closure-archives-'));
    assert.equal(closure.length, ARCHIVE_RETENTION_CLASSES.length, 'no rule for a class that does not exist');
  });

  it('defines the state machines with every placeholder bound, and no task that waits for a token without a timeout', () => {
    const machines = resourcesOfType(template, 'AWS::StepFunctions::StateMachine');
    let waits = 0;
    assert.ok(machines.some(([id]) => id === 'GovernanceGateStateMachine'));
    assert.ok(!machines.some(([id]) => id === 'ActionGateStateMachine'), 'the v1 action gate is gone');
    for (const [id, p] of machines) {
      const definition = String(p.DefinitionString);
      const placeholders = [...definition.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((match) => match[1]);
      const bound = Object.keys((p.DefinitionSubstitutions ?? {}) as object);
      for (const name of placeholders) assert.ok(bound.includes(name ?? ''), `${id}: \${${name}} is not bound`);
      assert.ok(!definition.includes('"QueryLanguage": "JSONata"'), `${id} uses JSONata`);
      assert.deepEqual(p.TracingConfiguration, { Enabled: true }, id);
      const states = (
        JSON.parse(definition) as { States: Record<string, { Resource?: string; TimeoutSeconds?: number; TimeoutSecondsPath?: string }> }
      ).States;
      for (const [name, state] of Object.entries(states)) {
        if (!state.Resource?.endsWith('.waitForTaskToken')) continue;
        waits += 1;
        assert.ok(
          state.TimeoutSeconds !== undefined || state.TimeoutSecondsPath !== undefined,
          `${id}.${name} waits for a task token with no timeout`,
        );
      }
    }
    assert.ok(waits >= 2, 'the governance gate waits for approvers, then for admins');
  });

  it('alarms on every function (errors, throttles) and every dead-letter queue, all to the stage topic, with a dashboard', () => {
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([id, p]) => ({ id, p, text: JSON.stringify(p) }));
    const toTopic = (text: string) => text.includes('"AlarmActions":[{"Ref":"AlertsTopic"}]');
    for (const { id, text } of alarms) assert.ok(toTopic(text), `${id} does not notify the stage's topic`);
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    assert.ok(functions.length >= 20);
    for (const [fn] of functions) {
      for (const metric of ['Errors', 'Throttles']) {
        assert.ok(
          alarms.some(
            ({ p }) =>
              p.MetricName === metric && JSON.stringify(p.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: { Ref: fn } }]),
          ),
          `${fn} has no ${metric} alarm`,
        );
      }
    }
    const queues = resourcesOfType(template, 'AWS::SQS::Queue');
    const dlqs = queues.filter(([id]) => queues.some(([, p]) => JSON.stringify(p.RedrivePolicy ?? {}).includes(`"${id}"`)));
    assert.ok(dlqs.length >= 2, 'expected the audit and observation dead-letter queues');
    for (const [dlq] of dlqs) {
      assert.ok(
        alarms.some(({ p }) => p.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(p.Dimensions).includes(`"${dlq}"`)),
        `${dlq} has no depth alarm`,
      );
    }
    for (const id of ['ApprovalBacklogAlarm', 'AuditCheckpointFailuresAlarm', 'ApiErrorBudgetBurnAlarm'])
      assert.ok(
        alarms.some((alarm) => alarm.id === id),
        `${id} missing`,
      );
    assert.equal(template.Resources.AlertsTopic?.Type, 'AWS::SNS::Topic');
    const dashboard = resourcesOfType(template, 'AWS::CloudWatch::Dashboard');
    assert.equal(dashboard.length, 1);
    const body = JSON.stringify(dashboard[0]?.[1].DashboardBody);
    for (const [fn] of functions) assert.ok(body.includes(fn), `the dashboard does not show ${fn}`);
  });

  it('keeps the ledger table append-only: no role may update, delete or batch-write it', () => {
    const ledger = template.Resources.LedgerTable;
    assert.ok(ledger, 'LedgerTable missing');
    assert.deepEqual(ledger.Properties?.KeySchema, [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'seq', KeyType: 'RANGE' },
    ]);
    const forbidden =
      /^dynamodb:(\*|UpdateItem|DeleteItem|BatchWriteItem|PartiQLUpdate|PartiQLDelete|PartiQLInsert|DeleteTable|UpdateTable|RestoreTable.*|ImportTable)$/;
    let writers = 0;
    for (const [id, role] of resourcesOfType(template, 'AWS::IAM::Role')) {
      for (const statement of statementsOf(role)) {
        if (statement.Effect !== 'Allow') continue;
        const onLedger = ([] as unknown[])
          .concat(statement.Resource)
          .some((resource) => resource === '*' || JSON.stringify(resource).includes('"LedgerTable"'));
        if (!onLedger) continue;
        const actions = ([] as string[]).concat(statement.Action);
        for (const action of actions) assert.doesNotMatch(action, forbidden, `${id} grants ${action} on the ledger table`);
        if (actions.includes('dynamodb:PutItem')) writers += 1;
      }
    }
    assert.ok(writers >= 2, 'the appenders (bus and POST /audit/record) hold PutItem on the ledger table');
  });

  it('feeds every autonomy.* event to the audit queue (with a DLQ after 5 receives) and the queue to auditAppend', () => {
    const rule = template.Resources.AuditRule;
    assert.deepEqual(rule?.Properties?.EventPattern, { source: [{ prefix: 'autonomy.' }] });
    assert.deepEqual(((rule?.Properties?.Targets ?? []) as Array<{ Arn: unknown }>)[0]?.Arn, { 'Fn::GetAtt': ['AuditQueue', 'Arn'] });
    assert.equal(
      (template.Resources.AuditQueue?.Properties?.RedrivePolicy as { maxReceiveCount?: number } | undefined)?.maxReceiveCount,
      5,
    );
    const policy = JSON.stringify(template.Resources.AuditQueuePolicy?.Properties);
    assert.ok(policy.includes('"AuditRule"'), 'the queue policy admits the rule');
    const mapping = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping').find(([, p]) =>
      JSON.stringify(p.EventSourceArn).includes('"AuditQueue"'),
    );
    assert.ok(mapping, 'no function reads the audit queue');
    assert.deepEqual(mapping[1].FunctionResponseTypes, ['ReportBatchItemFailures']);
    assert.deepEqual(
      resourcesOfType(template, 'AWS::SecretsManager::Secret'),
      [],
      'signing keys are secrets per tenant, created at run time, not one stage-wide secret',
    );
  });
});

/** The root and nested templates as `sls package` wrote them into `dir`. */
async function packagedStacks(dir: string): Promise<Record<string, Template>> {
  const files = (await readdir(dir)).filter(
    (file) => file === 'cloudformation-template-update-stack.json' || /^cloudformation-template-engine-.+\.json$/.test(file),
  );
  return Object.fromEntries(
    await Promise.all(files.map(async (file) => [file, JSON.parse(await readFile(path.join(dir, file), 'utf8')) as Template] as const)),
  );
}

/** Checks every stack against the budget and prints its headroom; returns the stacks. */
function checkHeadroom(label: string, stacks: Record<string, Template>): void {
  const rows = Object.entries(stacks).map(([file, stack]) => ({ file, ...headroom(stack) }));
  console.log(
    `stack headroom (${label}): budget ${BUDGET.resources} resources, ${BUDGET.templateBytes} bytes; CloudFormation's limits ${LIMITS.resources} and ${LIMITS.templateBytes}`,
  );
  for (const row of rows) {
    console.log(
      `  ${row.file.padEnd(52)} ${String(row.resources).padStart(4)} resources (${BUDGET.resources - row.resources} spare)  ${String(row.templateBytes).padStart(8)} bytes (${Math.round((100 * row.templateBytes) / LIMITS.templateBytes)} % of the limit)  ${row.parameters} parameters  ${row.outputs} outputs`,
    );
  }
  for (const row of rows) assert.ok(row.withinBudget, `${label}: ${row.file} is over budget: ${JSON.stringify(row)}`);
}

/** Every resource of `template` resolved to plain values, with each resource's physical id and attributes faked from its id. */
function resolvedResources(template: CfnTemplate): Record<string, unknown> {
  const resolver = new IntrinsicResolver({ region: 'eu-west-1', accountId: '123456789012', stackName: 'autonomy-test' });
  for (const id of Object.keys(template.Resources))
    resolver.physical.set(id, { ref: `ref:${id}`, attributes: new Proxy({}, { get: (_, attribute) => `att:${id}.${String(attribute)}` }) });
  return Object.fromEntries(
    Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type !== 'AWS::CloudFormation::Stack')
      .map(([id, resource]) => [id, { Type: resource.Type, Properties: resolver.resolve(resource.Properties ?? {}) }]),
  );
}

describe('nested stacks', () => {
  const devDir = path.join(root, '.local', 'package', 'dev');

  it('puts each engine in its own stack, every stack within budget (headroom printed)', async () => {
    await packageTemplate(root, 'dev', devDir);
    const stacks = await packagedStacks(devDir);
    checkHeadroom('stage dev', stacks);
    const rootStack = stacks['cloudformation-template-update-stack.json'];
    assert.ok(rootStack, 'no root template');
    assert.equal(resourcesOfType(rootStack as CfnTemplate, 'AWS::Lambda::Function').length, 0, 'a function stayed in the root stack');
    for (const engine of engines) {
      const nested = stacks[stackFileName(engine.name)];
      assert.ok(nested, `no stack for engine ${engine.name}`);
      assert.equal(rootStack.Resources[stackLogicalId(engine.name)]?.Type, 'AWS::CloudFormation::Stack');
      const functions = Object.entries(nested.Resources)
        .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
        .map(([id]) => id)
        .sort();
      assert.deepEqual(
        functions,
        Object.keys(engine.actions)
          .map((action) => lambdaLogicalId(functionName(engine.name, action)))
          .sort(),
        `${engine.name}'s stack holds exactly its functions`,
      );
    }
  });

  it('splits so that inlining the nested stacks again gives back every resource, resolved to the same values', async () => {
    const inlined = await packageTemplate(root, 'dev', devDir);
    // The stage as one template, before splitting: the inlined resources without the stack resources.
    const whole: CfnTemplate = {
      ...inlined,
      Resources: Object.fromEntries(
        Object.entries(inlined.Resources).filter(([, resource]) => resource.Type !== 'AWS::CloudFormation::Stack'),
      ),
    };
    const placed = placement(engines);
    const split = splitStacks(whole as Template, {
      placeFunction: (id) => placed.get(id),
      stackId: stackLogicalId,
      fileName: stackFileName,
      templateUrl: (file) => `https://example.invalid/${file}`,
    });
    const again = flattenStacks(split.root as CfnTemplate, templateFilesLoader(split.nested as Record<string, CfnTemplate>));
    assert.deepEqual(resolvedResources(again.template), resolvedResources(whole));
    assert.equal(again.stacks.length, engines.length);
  });

  it('projects the product grown by 20 engines of 8 routes (plus a queue consumer, a rule target and a schedule each) within every limit', async () => {
    const dir = path.join(root, '.local', 'package', 'projection');
    const previous = process.env.AUTONOMY_ENGINES;
    process.env.AUTONOMY_ENGINES = 'test/fixtures/projection/engines.ts';
    let flat: Awaited<ReturnType<typeof packageStacks>>;
    try {
      flat = await packageStacks(root, 'projection', dir);
    } finally {
      if (previous === undefined) delete process.env.AUTONOMY_ENGINES;
      else process.env.AUTONOMY_ENGINES = previous;
    }
    const stacks = await packagedStacks(dir);
    checkHeadroom(`projection: ${projection.length} engines`, stacks);
    assert.equal(
      Object.keys(stacks).length,
      projection.filter((engine) => deployedTo(engine, 'projection')).length + 1,
      'a root and one stack per engine deployed to the stage',
    );
    const routes = resourcesOfType(flat.template, 'AWS::ApiGatewayV2::Route').length;
    assert.equal(routes, allRoutes.length + ENGINES * ROUTES_PER_ENGINE, 'every route of every engine is deployed');
    const total = Object.values(stacks).reduce((sum, stack) => sum + Object.keys(stack.Resources).length, 0);
    assert.ok(total > LIMITS.resources, `the projection (${total} resources) would not fit one stack`);
  });
});
