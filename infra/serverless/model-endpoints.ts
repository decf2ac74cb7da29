/**
 * The SageMaker endpoints a stage's stack declares, from the models in infra/gateway/models.json
 * that have `deploy` (lib/gateway/models.ts): per endpoint an `AWS::SageMaker::Model`, an
 * `AWS::SageMaker::EndpointConfig` (one variant `AllTraffic`) and an `AWS::SageMaker::Endpoint`
 * named as configured, plus one execution role SageMaker runs them with — pulling exactly their
 * images, reading exactly their model artifacts, writing exactly their endpoints' logs. A stage
 * without declared endpoints gets no resources.
 */
import type { EndpointDeployment } from '../../lib/gateway/models.ts';

type Cfn = Record<string, unknown>;

/** The execution role's logical id. */
export const MODEL_EXECUTION_ROLE = 'ModelEndpointsExecutionRole';

/** `chat-llama3` → `ChatLlama3`: the endpoint's part of its resources' logical ids. */
export function endpointLogicalName(endpoint: string): string {
  return endpoint
    .split('-')
    .filter(Boolean)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** The ECR repository ARN of an image URI `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repo>:<tag>`. */
function repositoryArn(image: string): Cfn {
  const match = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9._/-]+?)(?::[\w.-]+|@sha256:[a-f0-9]{64})$/.exec(
    image,
  );
  if (!match) throw new Error(`not an ECR image URI: ${image}`);
  const [, account, region, repository] = match;
  return { 'Fn::Sub': `arn:\${AWS::Partition}:ecr:${region}:${account}:repository/${repository}` };
}

/** The S3 object ARN(s) of `s3://bucket/key` (a prefix ending in `/` covers what is under it). */
function artifactArn(url: string): Cfn {
  const path = url.slice('s3://'.length);
  return { 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${path}${path.endsWith('/') ? '*' : ''}` };
}

/**
 * The resources of the declared endpoints.
 * @throws Error when two endpoints' logical names collide (`a-b` and `ab`).
 * @example endpointResources([{ endpoint: 'chat-llama3', model: 'llama3', deploy }]) // { ModelEndpointsExecutionRole, ChatLlama3SageMakerModel, … }
 */
export function endpointResources(
  declared: ReadonlyArray<{ endpoint: string; model: string; deploy: EndpointDeployment }>,
): Record<string, Cfn> {
  if (declared.length === 0) return {};
  const resources: Record<string, Cfn> = {};
  const seen = new Map<string, string>();
  for (const { endpoint, model, deploy } of declared) {
    const id = endpointLogicalName(endpoint);
    const clash = seen.get(id);
    if (clash) throw new Error(`endpoints ${clash} and ${endpoint} would share the logical id ${id}; rename one`);
    seen.set(id, endpoint);
    const container: Cfn = {
      Image: deploy.image,
      ...(deploy.modelDataUrl ? { ModelDataUrl: deploy.modelDataUrl } : {}),
      ...(Object.keys(deploy.environment).length > 0 ? { Environment: deploy.environment } : {}),
    };
    resources[`${id}SageMakerModel`] = {
      Type: 'AWS::SageMaker::Model',
      Properties: {
        ExecutionRoleArn: { 'Fn::GetAtt': [MODEL_EXECUTION_ROLE, 'Arn'] },
        PrimaryContainer: container,
        Tags: [{ Key: 'gateway-model', Value: model }],
      },
    };
    resources[`${id}SageMakerEndpointConfig`] = {
      Type: 'AWS::SageMaker::EndpointConfig',
      Properties: {
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: { 'Fn::GetAtt': [`${id}SageMakerModel`, 'ModelName'] },
            InstanceType: deploy.instanceType,
            InitialInstanceCount: deploy.instanceCount,
            InitialVariantWeight: 1,
            ...(deploy.startupTimeoutSeconds ? { ContainerStartupHealthCheckTimeoutInSeconds: deploy.startupTimeoutSeconds } : {}),
          },
        ],
      },
    };
    resources[`${id}SageMakerEndpoint`] = {
      Type: 'AWS::SageMaker::Endpoint',
      Properties: { EndpointName: endpoint, EndpointConfigName: { 'Fn::GetAtt': [`${id}SageMakerEndpointConfig`, 'EndpointConfigName'] } },
    };
  }
  const unique = <T>(items: T[]): T[] => [...new Map(items.map((item) => [JSON.stringify(item), item])).values()];
  const repositories = unique(declared.map(({ deploy }) => repositoryArn(deploy.image)));
  const artifacts = unique(declared.flatMap(({ deploy }) => (deploy.modelDataUrl ? [artifactArn(deploy.modelDataUrl)] : [])));
  const statements: Cfn[] = [
    // GetAuthorizationToken has no resource-level permissions (AWS documents `*`).
    { Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: '*' },
    {
      Effect: 'Allow',
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
      Resource: repositories,
    },
    ...(artifacts.length > 0 ? [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: artifacts }] : []),
    {
      Effect: 'Allow',
      Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      Resource: declared.map(({ endpoint }) => ({
        'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/sagemaker/Endpoints/${endpoint}:*`,
      })),
    },
    {
      Effect: 'Allow',
      Action: ['cloudwatch:PutMetricData'],
      Resource: '*',
      Condition: { StringLike: { 'cloudwatch:namespace': ['/aws/sagemaker/*', 'AWS/SageMaker'] } },
    },
  ];
  resources[MODEL_EXECUTION_ROLE] = {
    Type: 'AWS::IAM::Role',
    Properties: {
      Description:
        `SageMaker runs the gateway's declared endpoints with this role: ${declared.map(({ endpoint }) => endpoint).join(', ')}`.slice(
          0,
          1000,
        ),
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: ['sagemaker.amazonaws.com'] }, Action: ['sts:AssumeRole'] }],
      },
      Policies: [{ PolicyName: 'model-endpoints', PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
    },
  };
  return resources;
}
