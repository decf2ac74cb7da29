/**
 * The MCP endpoint's ports in a deployed function: each `tools/call` invokes the route's own
 * function through the Lambda API (`<service>-<stage>-<function>`, the prefix in
 * ROUTE_FUNCTION_PREFIX) with the API Gateway event its HTTP request would have been, and is
 * recorded in the tenant's ledger with the Audit engine's `record`. Built once per container.
 */
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv-provider.js';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { config } from '../../config.ts';
import { engines } from '../../engines/index.ts';
import { deployedTo } from '../../engines/manifest.ts';
import { DependencyError } from '../../errors.ts';
import { ledgerCallRecorder, RouteFailedError, type RouteInvoker, type RouteReply } from '../../mcp/calls.ts';
import type { McpHandlerDeps } from '../../mcp/http.ts';
import type { McpServerDeps } from '../../mcp/server.ts';
import { routeTools } from '../../mcp/tools.ts';
import { recordDeps } from './audit-deps.ts';
import { lambdaClient } from './clients.ts';
import { engineDeps } from './engine-deps.ts';
import { mappedSend } from './errors.ts';

/**
 * Invokes route functions synchronously. A function error (unhandled, timeout) is a
 * {@link RouteFailedError}, as API Gateway would answer 500; Lambda's throttling and outages are
 * `DependencyError`s (the shared AWS error mapping); a reply that is not an API Gateway result is a
 * RouteFailedError too.
 */
export function lambdaRouteInvoker(prefix: string): RouteInvoker {
  const send = mappedSend(lambdaClient(), 'Lambda');
  return {
    async invoke(functionName: string, event: APIGatewayProxyEventV2): Promise<RouteReply> {
      const output = await send(
        new InvokeCommand({
          FunctionName: `${prefix}${functionName}`,
          InvocationType: 'RequestResponse',
          Payload: Buffer.from(JSON.stringify(event)),
        }),
      );
      if (output.StatusCode === 429) throw new DependencyError(`Lambda Invoke of ${functionName} throttled`, { retryAfterSeconds: 1 });
      if (output.FunctionError) throw new RouteFailedError(`${functionName} failed: ${output.FunctionError}`);
      let payload: unknown;
      try {
        payload = JSON.parse(Buffer.from(output.Payload ?? new Uint8Array()).toString('utf8'));
      } catch {
        throw new RouteFailedError(`${functionName} replied with no JSON`);
      }
      const result = payload as Partial<RouteReply> | null;
      if (result === null || typeof result !== 'object' || typeof result.statusCode !== 'number')
        throw new RouteFailedError(`${functionName} replied with no status`);
      return { statusCode: result.statusCode, headers: result.headers ?? {}, body: typeof result.body === 'string' ? result.body : '' };
    },
  };
}

let server: McpServerDeps | undefined;

/** The MCP server's dependencies in this function: every route's tool, Lambda, the ledger, the stage's Cedar gate. */
export function mcpServerDeps(): McpServerDeps {
  if (server) return server;
  const cfg = config();
  if (!cfg.ROUTE_FUNCTION_PREFIX)
    throw new Error('Invalid function environment: ROUTE_FUNCTION_PREFIX is not set (lib/mcp/manifest.ts, need.invokeRoutes)');
  server = {
    // The engines of this stage only: the demo engine's functions exist on local and dev alone.
    tools: routeTools(engines.filter((engine) => deployedTo(engine, cfg.STAGE))),
    invoker: lambdaRouteInvoker(cfg.ROUTE_FUNCTION_PREFIX),
    recorder: ledgerCallRecorder(recordDeps()),
    policyGate: engineDeps().policyGate?.(),
    serverInfo: { name: 'autonomy-plane', version: cfg.SERVICE_VERSION },
    jsonSchemaValidator: new AjvJsonSchemaValidator(),
    now: () => new Date(),
  };
  return server;
}

/** Dependencies of {@link mcpHandler} in a deployed function. */
export function mcpDeps(): McpHandlerDeps {
  const cfg = config();
  const base = engineDeps();
  return {
    auth: base.auth,
    server: mcpServerDeps,
    ...(base.rateLimiter ? { rateLimiter: base.rateLimiter } : {}),
    allowedOrigins: cfg.MCP_ALLOWED_ORIGINS.split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
  };
}
