/**
 * Server-sent events (the WHATWG `text/event-stream` format) of a streamed chat reply: one `delta`
 * event per piece of text as the model sent it, then one `done` event whose data is the same object
 * the JSON reply carries as `result`. Each event is `event: <name>` and one `data:` line of JSON (JSON
 * text never holds a raw newline, so one line always suffices), ended by a blank line.
 *
 * Behind API Gateway's HTTP API a Lambda reply is buffered: the caller of `POST /gateway/chat` with
 * `stream: true` receives every event at once when the request ends. The gateway's streamed chat
 * (functions/gateway/chat-stream.ts, a function URL in RESPONSE_STREAM mode) sends the same events as
 * they are released, with a `request` event (`{ requestId, conversationId }`) before the first delta
 * and an `error` event (the engine API's error body) if the request fails after the stream began.
 */

/** The media type of a streamed reply. */
export const EVENT_STREAM_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

/** One event: its name and its data as JSON. */
export function sseEvent(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The whole stream of a reply: `delta` events `{ "text": … }` in order, then `done` with `result`.
 * @example sseStream(['Hel', 'lo'], { text: 'Hello' }) // 'event: delta\ndata: {"text":"Hel"}\n\nevent: delta\n…event: done\ndata: {"text":"Hello"}\n\n'
 */
export function sseStream(deltas: readonly string[], result: unknown): string {
  return `${deltas.map((text) => sseEvent('delta', { text })).join('')}${sseEvent('done', result)}`;
}

/** One parsed event. */
export interface ParsedEvent {
  event: string;
  data: string;
}

/**
 * Parses a `text/event-stream` body into its events (`event` defaults to `message`; several `data:`
 * lines join with newlines; comments and other fields are ignored), as a browser's EventSource would.
 */
export function parseSse(body: string): ParsedEvent[] {
  const events: ParsedEvent[] = [];
  for (const block of body.replace(/\r\n?/g, '\n').split('\n\n')) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) events.push({ event, data: data.join('\n') });
  }
  return events;
}
