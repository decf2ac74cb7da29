/**
 * SageMaker endpoints declared from models.json (`deploy` on a SageMaker model): the template
 * resources infra/serverless/model-endpoints.ts generates, the execution role's scope, and the
 * configuration's checks.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { endpointLogicalName, endpointResources, MODEL_EXECUTION_ROLE } from '../../infra/serverless/model-endpoints.ts';
import { declaredEndpoints, ModelConfigError, stageModels } from '../../lib/gateway/models.ts';

const TGI_IMAGE =
  '763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04';
const TEI_IMAGE = '683313688378.dkr.ecr.us-east-1.amazonaws.com/tei:2.0.1-tei1.2.3-gpu-py310-cu122-ubuntu22.04';

const model = (name: string, endpoint: string, deploy?: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  name,
  provider: 'sagemaker',
  endpoint,
  format: 'messages',
  contextTokens: 8192,
  maxOutputTokens: 2048,
  priceInputPer1k: 0.0003,
  priceOutputPer1k: 0.0006,
  tokenizer: 'approx',
  ...(deploy ? { deploy } : {}),
  ...extra,
});

const models = stageModels(
  {
    stages: {
      dev: [
        model('llama3', 'chat-llama3', {
          image: TGI_IMAGE,
          instanceType: 'ml.g5.2xlarge',
          environment: { HF_MODEL_ID: 'meta-llama/Llama-3.1-8B-Instruct', SM_NUM_GPUS: '1' },
          startupTimeoutSeconds: 900,
        }),
        model('llama3-fast', 'chat-llama3'),
        model(
          'embed',
          'embed-bge',
          { image: TEI_IMAGE, instanceType: 'ml.g5.xlarge', instanceCount: 2, modelDataUrl: 's3://models-bucket/bge/model.tar.gz' },
          { format: 'tei', chat: false, embeddings: true, maxOutputTokens: 1, contextTokens: 512 },
        ),
        model('existing', 'already-there'),
      ],
    },
  },
  'dev',
);

describe('declared SageMaker endpoints', () => {
  it('declares a model, an endpoint config and an endpoint named as configured, per endpoint with deploy', () => {
    const declared = declaredEndpoints(models);
    assert.deepEqual(
      declared.map((entry) => [entry.endpoint, entry.model]),
      [
        ['chat-llama3', 'llama3'],
        ['embed-bge', 'embed'],
      ],
    );
    const resources = endpointResources(declared);
    assert.deepEqual(Object.keys(resources).sort(), [
      'ChatLlama3SageMakerEndpoint',
      'ChatLlama3SageMakerEndpointConfig',
      'ChatLlama3SageMakerModel',
      'EmbedBgeSageMakerEndpoint',
      'EmbedBgeSageMakerEndpointConfig',
      'EmbedBgeSageMakerModel',
      MODEL_EXECUTION_ROLE,
    ]);
    assert.deepEqual(resources.ChatLlama3SageMakerModel, {
      Type: 'AWS::SageMaker::Model',
      Properties: {
        ExecutionRoleArn: { 'Fn::GetAtt': [MODEL_EXECUTION_ROLE, 'Arn'] },
        PrimaryContainer: { Image: TGI_IMAGE, Environment: { HF_MODEL_ID: 'meta-llama/Llama-3.1-8B-Instruct', SM_NUM_GPUS: '1' } },
        Tags: [{ Key: 'gateway-model', Value: 'llama3' }],
      },
    });
    assert.deepEqual(resources.EmbedBgeSageMakerEndpointConfig?.Properties, {
      ProductionVariants: [
        {
          VariantName: 'AllTraffic',
          ModelName: { 'Fn::GetAtt': ['EmbedBgeSageMakerModel', 'ModelName'] },
          InstanceType: 'ml.g5.xlarge',
          InitialInstanceCount: 2,
          InitialVariantWeight: 1,
        },
      ],
    });
    assert.deepEqual(resources.ChatLlama3SageMakerEndpoint?.Properties, {
      EndpointName: 'chat-llama3',
      EndpointConfigName: { 'Fn::GetAtt': ['ChatLlama3SageMakerEndpointConfig', 'EndpointConfigName'] },
    });
    const config = resources.ChatLlama3SageMakerEndpointConfig as { Properties: { ProductionVariants: Array<Record<string, unknown>> } };
    assert.equal(config.Properties.ProductionVariants[0]?.ContainerStartupHealthCheckTimeoutInSeconds, 900);
  });

  it('lets SageMaker pull exactly the images, read exactly the artifacts and write exactly the endpoints’ logs', () => {
    const role = endpointResources(declaredEndpoints(models))[MODEL_EXECUTION_ROLE] as { Properties: Record<string, unknown> };
    assert.deepEqual((role.Properties.AssumeRolePolicyDocument as { Statement: Array<{ Principal: unknown }> }).Statement[0]?.Principal, {
      Service: ['sagemaker.amazonaws.com'],
    });
    const statements =
      (role.Properties.Policies as Array<{ PolicyDocument: { Statement: Array<{ Action: string[]; Resource: unknown }> } }>)[0]
        ?.PolicyDocument.Statement ?? [];
    const on = (action: string) => statements.find((statement) => statement.Action.includes(action))?.Resource;
    assert.deepEqual(on('ecr:BatchGetImage'), [
      { 'Fn::Sub': 'arn:${AWS::Partition}:ecr:us-east-1:763104351884:repository/huggingface-pytorch-tgi-inference' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:ecr:us-east-1:683313688378:repository/tei' },
    ]);
    assert.deepEqual(on('s3:GetObject'), [{ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::models-bucket/bge/model.tar.gz' }]);
    assert.deepEqual(on('logs:PutLogEvents'), [
      { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/sagemaker/Endpoints/chat-llama3:*' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/sagemaker/Endpoints/embed-bge:*' },
    ]);
    assert.equal(on('ecr:GetAuthorizationToken'), '*', 'AWS offers no resource scope for it');
  });

  it('declares nothing for a stage without deploy entries (the local and dev stages today)', async () => {
    assert.deepEqual(endpointResources([]), {});
    const load = createRequire(import.meta.url)('../../infra/serverless/model-endpoints.cjs') as (options: {
      resolveVariable: (name: string) => Promise<string>;
    }) => Promise<unknown>;
    for (const stage of ['local', 'dev', 'prod'])
      assert.deepEqual(await load({ resolveVariable: async () => stage }), { resources: { Resources: {} } }, stage);
  });

  it('refuses an endpoint declared twice, a bad image or instance type, and colliding logical names', () => {
    const file = (list: unknown[]) => ({ stages: { dev: list } });
    const deploy = { image: TGI_IMAGE, instanceType: 'ml.g5.xlarge' };
    assert.throws(
      () => stageModels(file([model('a', 'x', deploy), model('b', 'x', deploy)]), 'dev'),
      (error: unknown) =>
        error instanceof ModelConfigError && /stages\.dev\[1\]\.deploy: endpoint x is already declared by a/.test(error.message),
    );
    assert.throws(
      () => stageModels(file([model('a', 'x', { ...deploy, image: 'docker.io/library/tgi:latest' })]), 'dev'),
      /deploy\.image: must be an ECR image URI/,
    );
    assert.throws(() => stageModels(file([model('a', 'x', { ...deploy, instanceType: 'g5.xlarge' })]), 'dev'), /deploy\.instanceType/);
    assert.equal(endpointLogicalName('chat-llama-3'), 'ChatLlama3');
    assert.throws(
      () => endpointResources(declaredEndpoints(stageModels(file([model('a', 'chat-x', deploy), model('b', 'chatX', deploy)]), 'dev'))),
      /endpoints chat-x and chatX would share the logical id ChatX/,
    );
  });
});
