/**
 * JSON-RPC 2.0 framing (https://www.jsonrpc.org/specification), exactly: a body is parsed once,
 * each message is checked against the specification's object rules, and what cannot be
 * dispatched gets the specification's reply (`-32700 Parse error`, `-32600 Invalid Request`, id
 * null where it cannot be read). Batches are answered per member when enabled; the MCP revisions
 * this server speaks (2025-06-18 and later) removed batching, so the MCP endpoint refuses a batch
 * as a whole (one `-32600` naming the reason). With `mcp: true` the MCP restrictions on top of
 * JSON-RPC apply too: a request id is a string or an integer, never null.
 *
 * Pure: no transport, no SDK; the MCP endpoint frames with {@link frameJsonRpc} and hands the one
 * valid message to the MCP SDK, and {@link respondJsonRpc} dispatches every message of a body.
 */

/** The error codes the specification reserves. */
export const JSONRPC_ERROR = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
} as const;

/** The specification's message for each reserved code (details go in `data`). */
const MESSAGES: Record<number, string> = {
  [JSONRPC_ERROR.parseError]: 'Parse error',
  [JSONRPC_ERROR.invalidRequest]: 'Invalid Request',
  [JSONRPC_ERROR.methodNotFound]: 'Method not found',
  [JSONRPC_ERROR.invalidParams]: 'Invalid params',
  [JSONRPC_ERROR.internalError]: 'Internal error',
};

/** A request id: a string or a number (null only in replies that could not read one). */
export type JsonRpcId = string | number;
/** Structured params: by position or by name. */
export type JsonRpcParams = unknown[] | Record<string, unknown>;

/** A call that expects a reply. */
export interface JsonRpcRequest {
  jsonrpc: '2.0';
  method: string;
  params?: JsonRpcParams;
  /** JSON-RPC allows null (discouraged); MCP does not. */
  id: JsonRpcId | null;
}
/** A call without an id: the receiver never replies. */
export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: JsonRpcParams;
}
/** The error member of an error reply. */
export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}
/** A reply: `result` or `error`, never both. */
export type JsonRpcResponse =
  | { jsonrpc: '2.0'; id: JsonRpcId | null; result: unknown }
  | { jsonrpc: '2.0'; id: JsonRpcId | null; error: JsonRpcErrorObject };
/** An error reply. */
export type JsonRpcErrorResponse = Extract<JsonRpcResponse, { error: JsonRpcErrorObject }>;
/** Any well-formed message: a peer may also send replies (to requests the other side made). */
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

/** Options of {@link frameJsonRpc}. */
export interface FramingOptions {
  /** Whether an array body is a batch (JSON-RPC) or refused as a whole (MCP 2025-06-18 and later). */
  batches: boolean;
  /** MCP's restrictions on top of JSON-RPC: a request id is a string or an integer, never null. */
  mcp?: boolean;
  /** Whether replies (messages with `result` or `error`) are accepted as input; default true. */
  acceptResponses?: boolean;
}

/** What a body frames to: messages to dispatch (and replies for the members that are not), or one reply for the whole body. */
export type Framed =
  | { kind: 'messages'; batch: boolean; messages: JsonRpcMessage[]; rejected: JsonRpcErrorResponse[] }
  | { kind: 'refused'; response: JsonRpcErrorResponse };

/** An error reply with the specification's message for `code` (or `message` for codes it does not name). */
export function jsonRpcError(id: JsonRpcId | null, code: number, detail?: string, message?: string): JsonRpcErrorResponse {
  return {
    jsonrpc: '2.0',
    id,
    error: { code, message: message ?? MESSAGES[code] ?? 'Server error', ...(detail ? { data: { detail } } : {}) },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validId(value: unknown, mcp: boolean): value is JsonRpcId {
  if (typeof value === 'string') return true;
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  return !mcp || Number.isInteger(value);
}

/**
 * One member checked: the message, or the reply it gets. The id of an invalid request is echoed
 * when it is itself valid, null otherwise ("if there was an error in detecting the id … it MUST be Null").
 */
function checkMessage(value: unknown, options: FramingOptions): { message: JsonRpcMessage } | { rejected: JsonRpcErrorResponse } {
  const mcp = options.mcp ?? false;
  if (!isObject(value)) return { rejected: jsonRpcError(null, JSONRPC_ERROR.invalidRequest, 'a message is a JSON object') };
  const hasId = 'id' in value;
  const echoedId = hasId && validId(value.id, mcp) ? value.id : null;
  const invalid = (detail: string) => ({ rejected: jsonRpcError(echoedId, JSONRPC_ERROR.invalidRequest, detail) });
  if (value.jsonrpc !== '2.0') return invalid('"jsonrpc" must be exactly "2.0"');
  if ('method' in value) {
    if (typeof value.method !== 'string') return invalid('"method" must be a string');
    if ('params' in value && !(isObject(value.params) || Array.isArray(value.params)))
      return invalid('"params" must be an object or an array');
    // A notification is never answered, not even with an error: MCP's object-only params bind requests.
    if (!hasId) return { message: value as unknown as JsonRpcNotification };
    if (mcp && 'params' in value && Array.isArray(value.params)) return invalid('MCP params are an object');
    if (value.id === null && mcp) return invalid('an MCP request id must be a string or an integer, not null');
    if (value.id !== null && !validId(value.id, mcp))
      return invalid(mcp ? '"id" must be a string or an integer' : '"id" must be a string, a number or null');
    return { message: value as unknown as JsonRpcRequest };
  }
  const isReply = 'result' in value || 'error' in value;
  if (!isReply) return invalid('a message has a "method" (a request or notification), or a "result" or "error" (a reply)');
  if (options.acceptResponses === false) return invalid('replies are not accepted here');
  if ('result' in value && 'error' in value) return invalid('a reply has "result" or "error", not both');
  if (!hasId || !(value.id === null || validId(value.id, mcp))) return invalid('a reply carries the "id" of the request it answers');
  if ('error' in value) {
    const error = value.error;
    if (!isObject(error) || typeof error.code !== 'number' || !Number.isInteger(error.code) || typeof error.message !== 'string') {
      return invalid('"error" is an object with an integer "code" and a string "message"');
    }
  }
  return { message: value as unknown as JsonRpcResponse };
}

/**
 * Frames a body: parses it and checks each message.
 * @example frameJsonRpc('{"jsonrpc":"2.0","method":"ping","id":1}', { batches: false, mcp: true })
 */
export function frameJsonRpc(text: string, options: FramingOptions): Framed {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { kind: 'refused', response: jsonRpcError(null, JSONRPC_ERROR.parseError, 'the body is not valid JSON') };
  }
  if (!Array.isArray(body)) {
    const checked = checkMessage(body, options);
    if ('rejected' in checked) return { kind: 'refused', response: checked.rejected };
    return { kind: 'messages', batch: false, messages: [checked.message], rejected: [] };
  }
  if (body.length === 0) return { kind: 'refused', response: jsonRpcError(null, JSONRPC_ERROR.invalidRequest, 'an empty batch') };
  if (!options.batches) {
    return {
      kind: 'refused',
      response: jsonRpcError(
        null,
        JSONRPC_ERROR.invalidRequest,
        'JSON-RPC batches are not supported: MCP 2025-06-18 and later send one message per request',
      ),
    };
  }
  const messages: JsonRpcMessage[] = [];
  const rejected: JsonRpcErrorResponse[] = [];
  for (const member of body) {
    const checked = checkMessage(member, options);
    if ('rejected' in checked) rejected.push(checked.rejected);
    else messages.push(checked.message);
  }
  return { kind: 'messages', batch: true, messages, rejected };
}

/** Whether a message is a request (it has a method and an id). */
export function isRequest(message: JsonRpcMessage): message is JsonRpcRequest {
  return 'method' in message && 'id' in message;
}

/** Whether a message is a notification (a method, no id). */
export function isNotification(message: JsonRpcMessage): message is JsonRpcNotification {
  return 'method' in message && !('id' in message);
}

/**
 * Answers a body: frames it, dispatches every valid message (concurrently, as a batch allows),
 * and returns the reply: one response, an array for a batch, or undefined when nothing is owed
 * (notifications only). `dispatch` returns a request's reply; what it returns for a notification
 * or a reply is dropped, and what it throws becomes `-32603 Internal error` without its message.
 * @example await respondJsonRpc(body, async (message) => ({ jsonrpc: '2.0', id: message.id, result: 'pong' }), { batches: true })
 */
export async function respondJsonRpc(
  text: string,
  dispatch: (message: JsonRpcMessage) => Promise<JsonRpcResponse | undefined>,
  options: FramingOptions,
): Promise<JsonRpcResponse | JsonRpcResponse[] | undefined> {
  const framed = frameJsonRpc(text, options);
  if (framed.kind === 'refused') return framed.response;
  const replies = await Promise.all(
    framed.messages.map(async (message): Promise<JsonRpcResponse | undefined> => {
      let reply: JsonRpcResponse | undefined;
      try {
        reply = await dispatch(message);
      } catch {
        reply = isRequest(message) ? jsonRpcError(message.id, JSONRPC_ERROR.internalError) : undefined;
      }
      return isRequest(message) ? (reply ?? jsonRpcError(message.id, JSONRPC_ERROR.internalError, 'no reply was produced')) : undefined;
    }),
  );
  const all = [...replies.filter((reply): reply is JsonRpcResponse => reply !== undefined), ...framed.rejected];
  if (!framed.batch) return all[0];
  return all.length > 0 ? all : undefined;
}

/** Thrown by a {@link dispatchTable} method whose params do not fit: the caller gets `-32602 Invalid params`. */
export class InvalidParamsError extends Error {
  override name = 'InvalidParamsError';
}

/**
 * A dispatcher from a table of methods, for {@link respondJsonRpc}: an unknown method is
 * `-32601 Method not found`, an {@link InvalidParamsError} is `-32602 Invalid params` (its message
 * in `data`), a method's return value is the result. Notifications run the method and get nothing.
 * @example respondJsonRpc(body, dispatchTable({ ping: async () => ({}) }), { batches: false })
 */
export function dispatchTable(methods: Readonly<Record<string, (params: JsonRpcParams | undefined) => Promise<unknown>>>) {
  return async (message: JsonRpcMessage): Promise<JsonRpcResponse | undefined> => {
    if (!('method' in message)) return undefined;
    const method = Object.hasOwn(methods, message.method) ? methods[message.method] : undefined;
    const id = 'id' in message ? message.id : null;
    if (!method) return isRequest(message) ? jsonRpcError(id, JSONRPC_ERROR.methodNotFound) : undefined;
    try {
      const result = await method(message.params);
      return isRequest(message) ? { jsonrpc: '2.0', id, result } : undefined;
    } catch (error) {
      if (!isRequest(message)) return undefined;
      if (error instanceof InvalidParamsError) return jsonRpcError(id, JSONRPC_ERROR.invalidParams, error.message);
      return jsonRpcError(id, JSONRPC_ERROR.internalError);
    }
  };
}
