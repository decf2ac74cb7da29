/**
 * In-memory implementations of the Governance engine's ports (lib/governance/approvals.ts and
 * lib/governance/proposals.ts), for the unit tests of its pure logic. They keep the contracts the
 * DynamoDB adapter keeps (lib/adapters/aws/governance-store.ts): every write is conditional on the
 * version read (a ConflictError otherwise) and saves its events in an outbox together with the
 * state; `deliver` publishes and clears entries, `discard` clears them. Records are copied in and
 * out, so no test passes by sharing an object with the engine. Delivered events are checked
 * against the event catalog (`validateEvents`), so an event the engine builds wrong fails the test.
 */
import { ConflictError } from '../../lib/errors.ts';
import { type BusEvent, validateEvents } from '../../lib/events/publisher.ts';
import {
  type Approval,
  type ApprovalOutbox,
  type ApprovalStore,
  GateClosedError,
  type WorkflowCallbacks,
} from '../../lib/governance/approvals.ts';
import type { GateWait, GateWaitStore } from '../../lib/governance/gate-wait.ts';
import type { PolicyDecision, ProposalState } from '../../lib/governance/model.ts';
import {
  type ActuationPolicyRequest,
  type ComponentGraph,
  type GateInput,
  type GatePort,
  type GovernanceStore,
  type LedgerRef,
  OUTCOME_HISTORY,
  type OutboxEntry,
  type OutboxPort,
  type PolicyPort,
  type Proposal,
} from '../../lib/governance/proposals.ts';
import { defaultSettings, type TenantSettings } from '../../lib/governance/settings.ts';

/** The outbox table shared by the stores of one test: entries saved with a write, until delivered or discarded. */
export interface MemoryOutbox extends ApprovalOutbox, OutboxPort {
  /** Entries written and neither delivered nor discarded (what the sweep would find). */
  waiting: Map<string, OutboxEntry>;
  /** Events published, in order. */
  published: BusEvent[];
  /** Entries discarded (a write taken back). */
  discarded: OutboxEntry[];
  /** Entries recorded in the "ledger", in order. */
  recorded: OutboxEntry[];
  /** Saves the entries of one write (the stores call it). */
  save(tenant: string, events: readonly BusEvent[]): OutboxEntry[];
}

/** An outbox: `deliver` validates every event against the catalog, then publishes and clears. */
export function memoryOutbox(): MemoryOutbox {
  const waiting = new Map<string, OutboxEntry>();
  const published: BusEvent[] = [];
  const discarded: OutboxEntry[] = [];
  const recorded: OutboxEntry[] = [];
  let counter = 0;
  return {
    waiting,
    published,
    discarded,
    recorded,
    save(tenant, events) {
      return events.map((event) => {
        counter += 1;
        const entry = { tenant, id: `entry-${String(counter).padStart(4, '0')}`, event: structuredClone(event) };
        waiting.set(entry.id, entry);
        return entry;
      });
    },
    async deliver(entries) {
      validateEvents(entries.map((entry) => entry.event));
      for (const entry of entries) {
        if (!waiting.delete(entry.id)) throw new Error(`outbox entry ${entry.id} delivered twice or never saved`);
        published.push(entry.event);
      }
    },
    async discard(entries) {
      for (const entry of entries) {
        waiting.delete(entry.id);
        discarded.push(entry);
      }
    },
    async record(entry): Promise<LedgerRef | undefined> {
      recorded.push(entry);
      return { tenant: entry.tenant, stream: 'governance', seq: recorded.length - 1 };
    },
  };
}

/** Runs before each read or write, to interleave concurrent callers (see {@link barrier}). */
type Hook = () => Promise<void>;

/** An approval store on a Map, conditional on versions; `conflicts` counts the writes it refused. */
export interface MemoryApprovalStore extends ApprovalStore {
  items: Map<string, Approval>;
  conflicts: number;
  writes: number;
  beforeGet?: Hook;
}

/** An in-memory {@link ApprovalStore} whose entries go to `outbox`. */
export function memoryApprovalStore(outbox: MemoryOutbox): MemoryApprovalStore {
  const items = new Map<string, Approval>();
  const key = (tenant: string, id: string) => `${tenant}/${id}`;
  const store: MemoryApprovalStore = {
    items,
    conflicts: 0,
    writes: 0,
    async get(tenant, approvalId) {
      await store.beforeGet?.();
      const item = items.get(key(tenant, approvalId));
      return item && structuredClone(item);
    },
    async put(next, expectedVersion, events) {
      const current = items.get(key(next.tenant, next.approvalId));
      if (current?.version !== expectedVersion) {
        store.conflicts += 1;
        throw new ConflictError(`Approval ${next.approvalId} was changed concurrently; read it again`);
      }
      store.writes += 1;
      items.set(key(next.tenant, next.approvalId), structuredClone(next));
      return outbox.save(next.tenant, events);
    },
    async list(tenant, status, limit) {
      return [...items.values()]
        .filter((item) => item.tenant === tenant && item.status === status)
        .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt))
        .slice(0, limit)
        .map((item) => structuredClone(item));
    },
  };
  return store;
}

/** One call to the workflow port. */
export type WorkflowCall =
  | { kind: 'succeed'; token: string; output: unknown }
  | { kind: 'fail'; token: string; error: string; cause: string }
  | { kind: 'heartbeat'; token: string };

/** Workflow callbacks that record each call; `closed` makes every call answer as Step Functions does for a task that stopped waiting. */
export function recordingWorkflow(): WorkflowCallbacks & { calls: WorkflowCall[]; closed: boolean; failWith?: Error } {
  const workflow = {
    calls: [] as WorkflowCall[],
    closed: false,
    failWith: undefined as Error | undefined,
    async check() {
      if (workflow.failWith) throw workflow.failWith;
      if (workflow.closed) throw new GateClosedError('The gate does not wait any more (TaskTimedOut)');
    },
    async succeed(token: string, output: unknown) {
      await workflow.check();
      workflow.calls.push({ kind: 'succeed', token, output: structuredClone(output) });
    },
    async fail(token: string, error: string, cause: string) {
      await workflow.check();
      workflow.calls.push({ kind: 'fail', token, error, cause });
    },
    async heartbeat(token: string) {
      await workflow.check();
      workflow.calls.push({ kind: 'heartbeat', token });
    },
  };
  return workflow;
}

/**
 * A hook that holds its first `parties` callers until all of them arrived, then lets everyone
 * through: two readers that both pass it have read the same version before either writes.
 */
export function barrier(parties: number): Hook {
  let arrived = 0;
  let release: () => void = () => {};
  const open = new Promise<void>((resolve) => {
    release = resolve;
  });
  return async () => {
    arrived += 1;
    if (arrived === parties) release();
    if (arrived <= parties) await open;
  };
}

/** A governance store (settings, proposals, outcomes) on Maps, conditional on versions. */
export interface MemoryGovernanceStore extends GovernanceStore {
  settingsOf: Map<string, TenantSettings>;
  items: Map<string, Proposal>;
  history: Map<string, ('executed' | 'failed')[]>;
}

/** An in-memory {@link GovernanceStore} whose entries go to `outbox`. */
export function memoryGovernanceStore(outbox: MemoryOutbox): MemoryGovernanceStore {
  const settingsOf = new Map<string, TenantSettings>();
  const items = new Map<string, Proposal>();
  const history = new Map<string, ('executed' | 'failed')[]>();
  const key = (tenant: string, id: string) => `${tenant}/${id}`;
  return {
    settingsOf,
    items,
    history,
    async settings(tenant) {
      return structuredClone(settingsOf.get(tenant) ?? defaultSettings(tenant));
    },
    async putSettings(next, expectedVersion, events) {
      if ((settingsOf.get(next.tenant)?.version ?? 0) !== expectedVersion)
        throw new ConflictError(`The governance settings of ${next.tenant} were changed concurrently`);
      settingsOf.set(next.tenant, structuredClone(next));
      return outbox.save(next.tenant, events);
    },
    async globalKillSwitch() {
      return structuredClone(settingsOf.get('system')?.killSwitch);
    },
    async proposal(tenant, proposalId) {
      const item = items.get(key(tenant, proposalId));
      return item && structuredClone(item);
    },
    async putProposal(next, expectedVersion, events) {
      if (items.get(key(next.tenant, next.proposalId))?.version !== expectedVersion)
        throw new ConflictError(`Proposal ${next.proposalId} was changed concurrently`);
      items.set(key(next.tenant, next.proposalId), structuredClone(next));
      return outbox.save(next.tenant, events);
    },
    async proposals(tenant, status: ProposalState, limit) {
      return [...items.values()]
        .filter((item) => item.tenant === tenant && item.status === status)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
        .slice(0, limit)
        .map((item) => structuredClone(item));
    },
    async outcomes(tenant, outcomeKey) {
      return (history.get(key(tenant, outcomeKey)) ?? []).slice(0, OUTCOME_HISTORY);
    },
    async addOutcome(tenant, outcomeKey, outcome) {
      history.set(key(tenant, outcomeKey), [outcome, ...(history.get(key(tenant, outcomeKey)) ?? [])].slice(0, OUTCOME_HISTORY));
    },
  };
}

/** A Cedar stand-in: answers `decision` and records each request it was asked. */
export function fixedPolicy(
  decision: PolicyDecision,
): PolicyPort & { asked: Array<{ tenant: string; policyVersion: number; request: ActuationPolicyRequest }>; decision: PolicyDecision } {
  const port = {
    decision,
    asked: [] as Array<{ tenant: string; policyVersion: number; request: ActuationPolicyRequest }>,
    async evaluateActuation(tenant: string, policyVersion: number, request: ActuationPolicyRequest) {
      port.asked.push({ tenant, policyVersion, request: structuredClone(request) });
      return structuredClone(port.decision);
    },
  };
  return port;
}

/** A component graph given as a map from target to its dependents. */
export function staticGraph(dependents: Record<string, string[]> = {}): ComponentGraph {
  return {
    async dependents(_tenant, target) {
      return dependents[target] ?? [];
    },
  };
}

/** A gate port that records each start and answers an execution ARN named after it, or fails with `failWith`. */
export function recordingGate(): GatePort & { started: Array<{ name: string; input: GateInput }>; failWith?: Error } {
  const gate = {
    started: [] as Array<{ name: string; input: GateInput }>,
    failWith: undefined as Error | undefined,
    async start(name: string, input: GateInput) {
      if (gate.failWith) throw gate.failWith;
      gate.started.push({ name, input: structuredClone(input) });
      return `arn:aws:states:us-east-1:000000000000:execution:autonomy-test-governance-gate:${name}`;
    },
  };
  return gate;
}

/** An in-memory {@link GateWaitStore} keeping the DynamoDB adapter's contract: one owner per proposal, removal only while the token is the one kept. */
export function memoryGateWaits(): GateWaitStore & { items: Map<string, GateWait> } {
  const items = new Map<string, GateWait>();
  const key = (tenant: string, proposalId: string) => `${tenant}/${proposalId}`;
  return {
    items,
    async put(wait) {
      const held = items.get(key(wait.tenant, wait.proposalId));
      if (held && held.owner !== wait.owner) throw new ConflictError(`Proposal ${wait.proposalId} is awaited by ${held.owner}`);
      items.set(key(wait.tenant, wait.proposalId), structuredClone(wait));
    },
    async get(tenant, proposalId) {
      const wait = items.get(key(tenant, proposalId));
      return wait && structuredClone(wait);
    },
    async remove(tenant, proposalId, taskToken) {
      if (items.get(key(tenant, proposalId))?.taskToken === taskToken) items.delete(key(tenant, proposalId));
    },
  };
}
