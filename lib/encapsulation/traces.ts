/**
 * Call traces from the audit ledger: the dependencies components showed at run time, and the
 * payloads they were called with. The ledger stores a correlation id on every entry
 * (`LedgerEntry.correlationId`: the `x-correlation-id` of the request that recorded it through
 * `POST /audit/record`, or a bus event's `detail.correlationId`); entries sharing one are one trace.
 *
 * The rule, per trace (entries with the same non-empty correlation id):
 * 1. An entry takes part when its payload names the component that recorded it: `payload.component`,
 *    else `payload.detail.component` (a bus event's detail), a string.
 * 2. The entries are ordered by timestamp, then stream, then seq (the ledger's own order within a stream).
 * 3. An entry whose payload names its `caller` (a string) adds the edge caller → component (a span
 *    that knows its parent). Otherwise it adds the edge from the component of the entry before it in
 *    the trace, when that is another component (a call chain; a component's successive entries add nothing).
 * 4. Each edge counts once per occurrence; the counts are summed over traces.
 * An entry's `payload.request` / `payload.response` (any JSON) are samples of the component's
 * interface, under `payload.operation` (a string; `invoke` when absent).
 *
 * Pure: plain data in, plain data out.
 */

/** What the rule reads of one ledger entry and its payload. */
export interface TraceEntry {
  stream: string;
  seq: number;
  timestamp: string;
  correlationId: string | null;
  payload: Readonly<Record<string, unknown>>;
}

/** A caller → callee edge with how many times it was seen. */
export interface ObservedEdge {
  from: string;
  to: string;
  calls: number;
}

/** A payload seen at a component's entry point. */
export interface PayloadSample {
  component: string;
  operation: string;
  request?: unknown;
  response?: unknown;
}

/** What {@link edgesFromEntries} derives. */
export interface ObservedTraces {
  edges: ObservedEdge[];
  samples: PayloadSample[];
  /** Traces (correlation ids) with at least one component entry. */
  traces: number;
  /** Entries that named a component. */
  entries: number;
}

/** Longest component id or operation name taken from a payload; longer ones are skipped. */
const MAX_NAME = 200;

const name = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME ? value : undefined;

function componentOf(payload: Readonly<Record<string, unknown>>): string | undefined {
  const own = name(payload.component);
  if (own) return own;
  const detail = payload.detail;
  return typeof detail === 'object' && detail !== null ? name((detail as Record<string, unknown>).component) : undefined;
}

/**
 * Derives caller → callee edges with counts, and interface samples, from ledger entries (see the
 * module comment for the rule). Edges sorted by caller then callee.
 * @example
 * edgesFromEntries([
 *   { stream: 'traces', seq: 0, timestamp: 't1', correlationId: 'r1', payload: { component: 'web' } },
 *   { stream: 'traces', seq: 1, timestamp: 't2', correlationId: 'r1', payload: { component: 'api', request: { id: 1 } } },
 * ]).edges // [{ from: 'web', to: 'api', calls: 1 }]
 */
export function edgesFromEntries(entries: readonly TraceEntry[]): ObservedTraces {
  const traces = new Map<string, { entry: TraceEntry; component: string }[]>();
  let counted = 0;
  for (const entry of entries) {
    if (entry.correlationId === null || entry.correlationId.trim() === '') continue;
    const component = componentOf(entry.payload);
    if (!component) continue;
    counted += 1;
    const trace = traces.get(entry.correlationId) ?? [];
    trace.push({ entry, component });
    traces.set(entry.correlationId, trace);
  }
  const counts = new Map<string, ObservedEdge>();
  const count = (from: string, to: string) => {
    const key = `${from}\u0000${to}`;
    const edge = counts.get(key) ?? { from, to, calls: 0 };
    edge.calls += 1;
    counts.set(key, edge);
  };
  const samples: PayloadSample[] = [];
  for (const trace of traces.values()) {
    trace.sort(
      (a, b) =>
        (a.entry.timestamp < b.entry.timestamp ? -1 : a.entry.timestamp > b.entry.timestamp ? 1 : 0) ||
        (a.entry.stream < b.entry.stream ? -1 : a.entry.stream > b.entry.stream ? 1 : 0) ||
        a.entry.seq - b.entry.seq,
    );
    let previous: string | undefined;
    for (const { entry, component } of trace) {
      const caller = name(entry.payload.caller);
      if (caller) count(caller, component);
      else if (previous !== undefined && previous !== component) count(previous, component);
      previous = component;
      const { request, response } = entry.payload;
      if (request !== undefined || response !== undefined)
        samples.push({
          component,
          operation: name(entry.payload.operation) ?? 'invoke',
          ...(request !== undefined ? { request } : {}),
          ...(response !== undefined ? { response } : {}),
        });
    }
  }
  const edges = [...counts.values()].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : a.to < b.to ? -1 : a.to > b.to ? 1 : 0));
  return { edges, samples, traces: traces.size, entries: counted };
}
