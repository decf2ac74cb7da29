/**
 * `npm start`: boots the local cloud with the `local` stage, prints what is up and where, and stops
 * every child cleanly on Ctrl-C. Data lives in `.local/` and survives restarts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JWKS_PATH } from './idp.ts';
import { startLocalCloud } from './cloud.ts';
import { JavaMissingError } from './dynamodb.ts';
import { defaultPorts } from './ports.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const started = performance.now();
const log = (line: string) => console.log(`[local-cloud] ${line}`);

try {
  const cloud = await startLocalCloud({ root, dataDir: path.join(root, '.local'), ports: defaultPorts(), log });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const lines = [
    '',
    `Autonomy local cloud — stage ${cloud.stage}, region ${cloud.region}, data in .local/`,
    `  HTTP API            ${cloud.apiUrl}   (${cloud.resources.routes.length} routes; ${cloud.apiUrl}/openapi.json)`,
    `  Identity provider   ${cloud.apiUrl}${JWKS_PATH}   tokens: npm run token -- --tenant acme --roles admin`,
    `  EventBridge         ${cloud.env.AWS_ENDPOINT_URL_EVENTBRIDGE}   buses: ${Object.values(cloud.resources.buses).map((arn) => arn.split('/').pop()).join(', ')}`,
    `  Step Functions      ${cloud.env.AWS_ENDPOINT_URL_SFN}   ${Object.values(cloud.resources.stateMachines).map((arn) => arn.split(':').pop()).join(', ')}`,
    `  Lambda (Invoke)     ${cloud.env.AWS_ENDPOINT_URL_LAMBDA}   ${Object.values(cloud.resources.functions).length} functions`,
    ...Object.entries(cloud.resources.functionUrls).map(([id, url]) => `  Function URL        ${url}   ${id.replace(/LambdaFunctionUrl$/, '')}`),
    `  SageMaker runtime   ${cloud.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME}   endpoints: echo, standin-a, standin-b, standin-tgi, standin-embed (stand-ins, not models)`,
    `  Stand-ins over HTTP ${cloud.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME}/v1 (OpenAI-compatible), ${cloud.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME}/api (Ollama)`,
    `  Secrets Manager     ${cloud.env.AWS_ENDPOINT_URL_SECRETS_MANAGER}   ${Object.keys(cloud.resources.secrets).length} secrets`,
    `  DynamoDB Local      ${cloud.env.AWS_ENDPOINT_URL_DYNAMODB}   (pid ${cloud.pids.dynamodb}) tables: ${Object.values(cloud.resources.tables).join(', ')}`,
    `  S3 + SQS (fauxqs)   ${cloud.env.AWS_ENDPOINT_URL_S3}   queues: ${Object.keys(cloud.resources.queues).length}, buckets: ${Object.values(cloud.resources.buckets).join(', ')}`,
    '',
    'Point the AWS SDK or CLI at it:',
    ...Object.entries(cloud.env).filter(([key]) => key.startsWith('AWS_ENDPOINT_URL_')).map(([key, value]) => `  export ${key}=${value}`),
    '',
    `Ready in ${seconds} s. Try: curl ${cloud.apiUrl}/health     (Ctrl-C to stop)`,
  ];
  console.log(lines.join('\n'));
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping…`);
    await cloud.stop();
    log('stopped; data kept in .local/');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
} catch (error) {
  if (error instanceof JavaMissingError) console.error(`Cannot start: ${error.message}`);
  else console.error(`Cannot start the local cloud: ${(error as Error).message}`);
  process.exit(1);
}
