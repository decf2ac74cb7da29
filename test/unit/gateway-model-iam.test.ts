/**
 * What `need.invokeModels()` grants (infra/serverless/functions.ts, infra/serverless/engines.cjs):
 * sagemaker:InvokeEndpoint and InvokeEndpointWithResponseStream on exactly the packaged stage's
 * configured endpoints (infra/gateway/models.json), GetSecretValue on exactly its API-key secrets,
 * and nothing for a stage without models.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { modelStatements, roleLogicalId, serverlessConfig } from '../../infra/serverless/functions.ts';
import { defineEngine, need } from '../../lib/engines/manifest.ts';

type Statement = { Action: string[]; Resource: unknown };
type Role = { Properties: { Policies: Array<{ PolicyDocument: { Statement: Statement[] } }> } };

const statementsOf = (role: unknown): Statement[] =>
  (role as Role).Properties.Policies.flatMap((policy) => policy.PolicyDocument.Statement);
const endpointArn = (name: string) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:sagemaker:\${AWS::Region}:\${AWS::AccountId}:endpoint/${name}`,
});

const caller = defineEngine({
  name: 'probe',
  description: 'probe',
  actions: {
    call: { description: 'calls models', task: true, needs: [need.invokeModels()] },
    other: { description: 'does not', task: true, needs: [need.publish()] },
  },
});

describe('need.invokeModels()', () => {
  it('grants invoking exactly the given endpoints (lower-cased, as SageMaker ARNs are) and reading exactly the API-key secrets', () => {
    const { resources } = serverlessConfig([caller], {
      param: () => '',
      models: { endpoints: ['standin-a', 'Chat-Llama3'], apiKeySecrets: ['autonomy/dev/openai'] },
    });
    const statements = statementsOf(resources.Resources[roleLogicalId('probeCall')]);
    const invoke = statements.filter((statement) => statement.Action.some((action) => action.startsWith('sagemaker:')));
    assert.deepEqual(invoke, [
      {
        Effect: 'Allow',
        Action: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointWithResponseStream'],
        Resource: [endpointArn('standin-a'), endpointArn('chat-llama3')],
      },
    ]);
    const secrets = statements.filter((statement) => statement.Action.includes('secretsmanager:GetSecretValue'));
    assert.deepEqual(secrets, [
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue'],
        Resource: [
          { 'Fn::Sub': 'arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:autonomy/dev/openai-??????' },
        ],
      },
    ]);
    const other = statementsOf(resources.Resources[roleLogicalId('probeOther')]);
    assert.ok(!JSON.stringify(other).includes('sagemaker:'), 'a function without the need gets nothing');
  });

  it('grants nothing (never a wildcard) on a stage without models, and refuses to guess when the models are not given', () => {
    assert.deepEqual(modelStatements({ endpoints: [], apiKeySecrets: [] }), []);
    assert.throws(() => serverlessConfig([caller], { param: () => '' }), /needs GenerateOptions\.models/);
  });

  it('is wired by engines.cjs from infra/gateway/models.json: the local stage gets its four stand-in endpoints, dev none', async () => {
    const previous = process.env.AUTONOMY_ENGINES;
    process.env.AUTONOMY_ENGINES = 'test/fixtures/gateway-models/engines.ts';
    try {
      const load = createRequire(import.meta.url)('../../infra/serverless/engines.cjs') as (options: {
        resolveVariable: (name: string) => Promise<string>;
      }) => Promise<{
        resources: { Resources: Record<string, unknown> };
      }>;
      const packaged = async (stage: string) => {
        const config = await load({
          resolveVariable: async (name) => (name === 'sls:stage' ? stage : name === 'self:service' ? 'autonomy' : ''),
        });
        return statementsOf(config.resources.Resources[roleLogicalId('modelcallerCall')]).filter((statement) =>
          statement.Action.some((action) => action.startsWith('sagemaker:')),
        );
      };
      assert.deepEqual(
        (await packaged('local')).flatMap((statement) => statement.Resource as unknown[]),
        ['standin-a', 'standin-b', 'standin-tgi', 'standin-embed'].map(endpointArn),
      );
      assert.deepEqual(await packaged('dev'), []);
    } finally {
      if (previous === undefined) delete process.env.AUTONOMY_ENGINES;
      else process.env.AUTONOMY_ENGINES = previous;
    }
  });
});
