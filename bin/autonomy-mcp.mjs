#!/usr/bin/env node
// autonomy-mcp --endpoint <url> (--key <api key> | --token <jwt>)
//
// The stdio bridge for MCP clients that only speak stdio (Claude Desktop): each JSON-RPC message
// read from stdin (one per line, as the MCP stdio transport frames them) is POSTed to the Autonomy
// Plane's Streamable HTTP endpoint (`POST /mcp`) with the credentials, and what the endpoint answers
// is written to stdout, one message per line. Notifications pass (a 202 writes nothing). Whatever
// goes wrong on the HTTP side (a 401, a 5xx, an unreachable endpoint, a body that is not JSON-RPC)
// becomes a JSON-RPC error carrying the request's id, never a stack. stdout carries only the
// protocol; logs go to stderr.
//
// Plain JavaScript with no dependency on purpose: `npx autonomy-mcp` must run on plain Node 22
// (type stripping is off inside node_modules), without the repo's TypeScript or build.
import { createInterface } from 'node:readline';

const USAGE = `Usage: autonomy-mcp --endpoint <url> [--key <api key> | --token <jwt>]

Bridges an MCP client that speaks stdio (Claude Desktop, ...) to the Autonomy Plane's MCP endpoint.

  --endpoint <url>  the MCP endpoint, e.g. https://api.example.com/mcp   (env AUTONOMY_MCP_ENDPOINT)
  --key <api key>   an API key apk_...; sent as x-api-key                  (env AUTONOMY_API_KEY)
  --token <jwt>     a bearer token from the stage's issuer                 (env AUTONOMY_TOKEN)
  --help            this text

Prefer the environment variables for secrets: a command line is visible to other local users.`;

/** JSON-RPC 2.0 error codes the bridge answers with. */
const PARSE_ERROR = -32700;
/** Implementation-defined server error (JSON-RPC reserves -32000 to -32099): the HTTP side failed. */
const TRANSPORT_ERROR = -32000;

/** The protocol revision the bridge sends before `initialize` has negotiated one. */
const DEFAULT_PROTOCOL_VERSION = '2025-06-18';

const log = (line) => process.stderr.write(`autonomy-mcp: ${line}\n`);

/**
 * The bridge's settings from argv and the environment (flags win over variables), or an `error`
 * naming what is missing or wrong.
 */
function parseArgs(argv, env) {
  const options = { endpoint: env.AUTONOMY_MCP_ENDPOINT, key: env.AUTONOMY_API_KEY, token: env.AUTONOMY_TOKEN, help: false };
  const flags = { '--endpoint': 'endpoint', '--key': 'key', '--token': 'token' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { ...options, help: true };
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg];
    const name = flags[flag];
    if (!name) return { error: `unknown argument ${JSON.stringify(arg)}` };
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') return { error: `${flag} needs a value` };
    options[name] = value;
  }
  if (!options.endpoint) return { error: 'the endpoint is missing: pass --endpoint <url> or set AUTONOMY_MCP_ENDPOINT' };
  let url;
  try {
    url = new URL(options.endpoint);
  } catch {
    return { error: `--endpoint ${JSON.stringify(options.endpoint)} is not a URL` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { error: `--endpoint must be an http(s) URL, not ${url.protocol}` };
  if (options.key && options.token) return { error: 'give either an API key or a token, not both' };
  if (!options.key && !options.token) return { error: 'no credentials: pass --key <api key> or --token <jwt> (or set AUTONOMY_API_KEY)' };
  return { endpoint: url, key: options.key, token: options.token, help: false };
}

/** A JSON-RPC error response. */
function rpcError(id, code, message, data) {
  const error = data === undefined ? { code, message } : { code, message, data };
  return { jsonrpc: '2.0', id, error };
}

/** The id of a request (`undefined` for a notification or anything that is not a request). */
function requestId(message) {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return undefined;
  if (typeof message.method !== 'string') return undefined;
  return typeof message.id === 'string' || typeof message.id === 'number' ? message.id : undefined;
}

/** The JSON-RPC messages in an SSE body (each event's `data` lines joined). */
function sseMessages(text) {
  const messages = [];
  for (const event of text.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data.trim() !== '') messages.push(JSON.parse(data));
  }
  return messages;
}

/** A JSON-RPC 2.0 message object (the API's own error envelope, `{ error, message }`, is not one). */
function isMessage(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && value.jsonrpc === '2.0';
}

/** A JSON-RPC response object (a message with a `result` or an `error`). */
function isResponse(value) {
  return isMessage(value) && ('result' in value || 'error' in value);
}

/** Why an HTTP reply failed, in words a person reading the client's error can act on. */
function describeFailure(status, statusText, body, headers) {
  let detail = '';
  if (body && typeof body === 'object') {
    if (typeof body.message === 'string')
      detail = body.error && typeof body.error === 'string' ? `${body.error}: ${body.message}` : body.message;
    else if (body.error && typeof body.error.message === 'string') detail = body.error.message;
  }
  const hint =
    status === 401
      ? ' (check the API key or token: AUTONOMY_API_KEY, --key or --token)'
      : status === 403
        ? ' (the credentials are valid but not allowed this)'
        : '';
  const data = { httpStatus: status };
  const challenge = headers.get('www-authenticate');
  if (challenge) data.wwwAuthenticate = challenge;
  const correlationId =
    headers.get('x-correlation-id') ?? (body && typeof body.correlationId === 'string' ? body.correlationId : undefined);
  if (correlationId) data.correlationId = correlationId;
  return { message: `HTTP ${status}${statusText ? ` ${statusText}` : ''}${detail ? `: ${detail}` : ''}${hint}`, data };
}

/**
 * The bridge: `handleLine` takes one line from stdin and resolves when every message it produced
 * has been passed to `write` (one JSON-RPC message object at a time).
 */
function createBridge({ endpoint, key, token, write, fetchImpl = fetch }) {
  const credentials = key ? { 'x-api-key': key } : { authorization: `Bearer ${token}` };
  let protocolVersion = DEFAULT_PROTOCOL_VERSION;
  let sessionId;
  let initializing = Promise.resolve();

  async function forward(message) {
    const id = requestId(message);
    const fail = (code, text, data) => {
      if (id !== undefined) write(rpcError(id, code, text, data));
      else log(`a message without an id failed: ${text}`);
    };
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': protocolVersion,
      ...credentials,
    };
    if (sessionId) headers['mcp-session-id'] = sessionId;
    let response;
    let text;
    try {
      response = await fetchImpl(endpoint, { method: 'POST', headers, body: JSON.stringify(message) });
      text = await response.text();
    } catch (error) {
      const reason = error?.cause?.code ?? error?.cause?.message ?? error?.message ?? String(error);
      log(`cannot reach ${endpoint.origin}: ${reason}`);
      return fail(TRANSPORT_ERROR, `Cannot reach the MCP endpoint ${endpoint.origin}: ${reason}`);
    }
    const session = response.headers.get('mcp-session-id');
    if (session) sessionId = session;
    let replies = [];
    let body;
    if (text.trim() !== '') {
      try {
        if ((response.headers.get('content-type') ?? '').includes('text/event-stream')) replies = sseMessages(text);
        else {
          body = JSON.parse(text);
          replies = Array.isArray(body) ? body : [body];
        }
      } catch {
        log(`HTTP ${response.status} with a body that is not JSON (${text.slice(0, 120).replace(/\s+/g, ' ')})`);
        replies = [];
        body = undefined;
      }
    }
    const rpcReplies = replies.filter(isResponse);
    if (!response.ok) {
      // The endpoint's own JSON-RPC error (e.g. 403 Origin, 400 framing) passes with the request's
      // id; any other failure (the API's 401 envelope, a gateway's 502 page) becomes one.
      const own = rpcReplies.length === 1 ? rpcReplies[0] : undefined;
      const { message: text2, data } = describeFailure(response.status, response.statusText, own ?? body, response.headers);
      if (own?.error) {
        write({ ...own, id: id ?? own.id ?? null, error: { ...own.error, data: { ...data, ...(own.error.data ?? {}) } } });
        return;
      }
      log(text2);
      return fail(TRANSPORT_ERROR, text2, data);
    }
    if (id !== undefined && !rpcReplies.some((reply) => reply.id === id)) {
      if (response.status === 202 && text.trim() === '')
        return fail(TRANSPORT_ERROR, 'The MCP endpoint accepted the request but sent no reply');
      if (rpcReplies.length === 0) {
        return fail(TRANSPORT_ERROR, `The MCP endpoint answered HTTP ${response.status} without a JSON-RPC reply`, {
          httpStatus: response.status,
        });
      }
    }
    // Only JSON-RPC goes to stdout.
    for (const reply of replies.filter(isMessage)) {
      if (reply?.result && typeof reply.result.protocolVersion === 'string' && message?.method === 'initialize') {
        protocolVersion = reply.result.protocolVersion;
      }
      write(reply);
    }
  }

  return {
    async handleLine(line) {
      if (line.trim() === '') return;
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        write(rpcError(null, PARSE_ERROR, 'Parse error: a line on stdin is not JSON (one JSON-RPC message per line)'));
        return;
      }
      try {
        if (message?.method === 'initialize') {
          const work = forward(message);
          initializing = work.catch(() => {});
          await work;
        } else {
          // Later messages wait for a pending initialize: they carry the version it negotiates.
          await initializing;
          await forward(message);
        }
      } catch (error) {
        log(`unexpected: ${error?.message ?? String(error)}`);
        const id = requestId(message);
        if (id !== undefined) write(rpcError(id, -32603, 'Internal error in the stdio bridge'));
      }
    },
  };
}

/** Runs the bridge on this process's stdin and stdout until stdin ends; the exit code. */
async function main(argv = process.argv.slice(2), env = process.env) {
  const options = parseArgs(argv, env);
  if (options.help) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  if (options.error) {
    log(options.error);
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const write = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
  const bridge = createBridge({ endpoint: options.endpoint, key: options.key, token: options.token, write });
  log(`bridging stdio to ${options.endpoint.href} with ${options.key ? 'an API key' : 'a bearer token'}`);
  const pending = new Set();
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    const work = bridge.handleLine(line).finally(() => pending.delete(work));
    pending.add(work);
  }
  await Promise.all(pending);
  return 0;
}

const [major = 0] = process.versions.node.split('.').map(Number);
if (major < 18) {
  process.stderr.write(`autonomy-mcp needs Node.js 18 or newer (for fetch); this is ${process.version}.\n`);
  process.exit(2);
}
process.exitCode = await main();
