/**
 * One Lambda execution environment: a worker thread with the function's own environment, which
 * loads the handler module once (the cold start) and runs one invocation at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

interface InvokeMessage {
  id: string;
  event: unknown;
  context: { functionName: string; functionVersion: string; awsRequestId: string; deadlineMs: number; invokedFunctionArn: string; memoryLimitInMB: string; logGroupName: string };
}

type Handler = (event: unknown, context: unknown) => unknown;

const { file, exportName } = workerData as { file: string; exportName: string };

async function loadHandler(): Promise<Handler> {
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const handler = module[exportName];
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${file} does not export a function named ${exportName}`), { name: 'Runtime.HandlerNotFound' });
  }
  return handler as Handler;
}

// Init, as Lambda runs it when it creates an environment: the handler module loads before any
// invocation arrives, and the runtime hears when it is done (it does not count init against the timeout).
const handlerPromise: Promise<Handler> = loadHandler();
handlerPromise.then(
  () => parentPort?.postMessage({ type: 'init' }),
  () => parentPort?.postMessage({ type: 'init' }),
);

function serialiseError(error: unknown): { errorType: string; errorMessage: string; trace: string[] } {
  if (error instanceof Error) {
    return { errorType: error.name || 'Error', errorMessage: error.message, trace: (error.stack ?? '').split('\n') };
  }
  return { errorType: 'Error', errorMessage: String(error), trace: [] };
}

parentPort?.on('message', async (message: InvokeMessage) => {
  const { context } = message;
  const lambdaContext = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    awsRequestId: context.awsRequestId,
    logGroupName: context.logGroupName,
    logStreamName: `local/${context.functionName}`,
    getRemainingTimeInMillis: () => Math.max(0, context.deadlineMs - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
  try {
    const handler = await handlerPromise;
    const result = await handler(message.event, lambdaContext);
    // A Lambda reply is JSON: round-trip it so the caller sees exactly what AWS would serialise.
    const payload = result === undefined ? null : JSON.parse(JSON.stringify(result));
    parentPort?.postMessage({ id: message.id, ok: true, payload });
  } catch (error) {
    parentPort?.postMessage({ id: message.id, ok: false, error: serialiseError(error) });
  }
});
