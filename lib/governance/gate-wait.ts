/**
 * Waiting at a governance gate with a Step Functions task token: one mechanism for every state
 * machine that waits for a proposal's decision (the self-repair loop, KAMACHIQ plans' review gate,
 * Loop 4's migration runs).
 *
 *   The owner's gate step (a `.waitForTaskToken` task) calls {@link awaitSettlement}: the wait is
 *   kept under the tenant and proposal (who waits, the task token, the output its machine expects
 *   back, an expiry), then the proposal is read. Settled already (an autonomous approval, a
 *   refusal) → the token goes back at once; pending → the wait stays until
 *   `governance.proposal.settled`, whose one rule target (functions/governance/gate-resume.ts,
 *   {@link resumeSettled}) sends the token back for whichever owner waits.
 *
 * The wait is kept before the proposal is read, so a decision landing in between is seen by one
 * side or the other; sending twice is harmless (a task that no longer waits is `gone`). A settled
 * proposal, whatever its state, resumes the task with the owner's output (SendTaskSuccess): the
 * owner's next step reads the proposal and decides (it must read it anyway, just before acting).
 * A proposal that does not exist fails the task (SendTaskFailure, {@link PROPOSAL_NOT_FOUND}).
 */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { ValidationError } from '../errors.ts';
import { GateClosedError, type WorkflowCallbacks } from './approvals.ts';
import type { ProposalState } from './model.ts';
import type { GovernanceStore } from './proposals.ts';

/** Seconds a kept wait outlives its machine's own timeout before its record may go (TTL). */
export const GATE_WAIT_GRACE_SECONDS = 86_400;
/** The largest output a wait keeps (UTF-8 bytes of its JSON); Step Functions takes 256 KiB. */
export const MAX_GATE_OUTPUT_BYTES = 64 * 1024;
/** The error a task fails with when the proposal it waits for does not exist. */
export const PROPOSAL_NOT_FOUND = 'ProposalNotFound';

/** Who waits: `<engine>:<machine>`, e.g. `reflex:self-repair`. */
export const gateOwnerSchema = z
  .string()
  .max(64)
  .regex(/^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/, 'expected <engine>:<machine>');

/** A task waiting at a gate for one proposal. */
export const gateWaitSchema = z.object({
  tenant: tenantSchema,
  proposalId: z.string().min(1).max(64),
  taskToken: z.string().min(1).max(2048),
  owner: gateOwnerSchema,
  /** What the task resumes with (its machine's gate output), JSON. */
  output: z.record(z.string().max(128), z.unknown()),
  /** Epoch seconds after which the record may go (TTL). */
  expiresAt: z.number().int().min(0),
});
/** A kept wait. */
export type GateWait = z.infer<typeof gateWaitSchema>;

/** A gate step's request: the wait without its expiry, and how long its machine may wait. */
export const gateWaitRequestSchema = gateWaitSchema.omit({ expiresAt: true }).extend({
  timeoutSeconds: z.number().int().min(1).max(31_536_000),
});
/** What a gate step asks for. */
export type GateWaitRequest = z.input<typeof gateWaitRequestSchema>;

/** The waits, one per tenant and proposal. */
export interface GateWaitStore {
  /** Keeps the wait (replacing the same owner's earlier one). @throws ConflictError when another owner waits for the proposal. */
  put(wait: GateWait): Promise<void>;
  get(tenant: string, proposalId: string): Promise<GateWait | undefined>;
  /** Removes the wait while it still holds `taskToken` (a later registration stays). */
  remove(tenant: string, proposalId: string, taskToken: string): Promise<void>;
}

/** What the gate steps and the resume need. */
export interface GateWaitDeps {
  waits: GateWaitStore;
  proposals: Pick<GovernanceStore, 'proposal'>;
  callbacks: WorkflowCallbacks;
  now: Date;
}

/** What a wait sends back: its output, or a failure. */
export type GateSettlement = { kind: 'succeed'; output: Record<string, unknown> } | { kind: 'fail'; error: string; cause: string };

/** What happened to a task: resumed, still waiting, or it had stopped waiting (timed out, resumed before, stopped). */
export type GateWaitOutcome = 'resumed' | 'waiting' | 'gone';

/**
 * The wait a gate step keeps, its expiry its machine's timeout plus {@link GATE_WAIT_GRACE_SECONDS}.
 * @throws ValidationError naming the field at fault (an output over {@link MAX_GATE_OUTPUT_BYTES} among them).
 * @example gateWaitOf({ tenant: 'acme', proposalId: 'p-1', taskToken: 't', owner: 'reflex:self-repair', output: { state }, timeoutSeconds: 900 }, now).expiresAt
 */
export function gateWaitOf(request: GateWaitRequest, now: Date): GateWait {
  const parsed = gateWaitRequestSchema.safeParse(request);
  if (!parsed.success)
    throw new ValidationError(parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })));
  const { timeoutSeconds, ...wait } = parsed.data;
  const bytes = Buffer.byteLength(JSON.stringify(wait.output), 'utf8');
  if (bytes > MAX_GATE_OUTPUT_BYTES)
    throw new ValidationError([{ path: 'output', message: `${bytes} bytes; at most ${MAX_GATE_OUTPUT_BYTES}` }]);
  return { ...wait, expiresAt: Math.floor(now.getTime() / 1000) + timeoutSeconds + GATE_WAIT_GRACE_SECONDS };
}

/**
 * What a wait sends back for a proposal in `state`: its output once the proposal left `pending`,
 * a {@link PROPOSAL_NOT_FOUND} failure when there is no proposal, nothing (keep waiting) while it is pending.
 */
export function settlementOf(
  wait: Pick<GateWait, 'tenant' | 'proposalId' | 'output'>,
  state: ProposalState | undefined,
): GateSettlement | undefined {
  if (state === undefined)
    return { kind: 'fail', error: PROPOSAL_NOT_FOUND, cause: `Proposal ${wait.proposalId} of tenant ${wait.tenant} does not exist` };
  return state === 'pending' ? undefined : { kind: 'succeed', output: wait.output };
}

/** Sends the settlement and drops the wait; a task that stopped waiting is `gone`. */
async function send(
  wait: GateWait,
  settlement: GateSettlement,
  deps: Pick<GateWaitDeps, 'waits' | 'callbacks'>,
): Promise<'resumed' | 'gone'> {
  let outcome: 'resumed' | 'gone' = 'resumed';
  try {
    if (settlement.kind === 'succeed') await deps.callbacks.succeed(wait.taskToken, settlement.output);
    else await deps.callbacks.fail(wait.taskToken, settlement.error, settlement.cause);
  } catch (error) {
    if (!(error instanceof GateClosedError)) throw error;
    outcome = 'gone';
  }
  await deps.waits.remove(wait.tenant, wait.proposalId, wait.taskToken);
  return outcome;
}

/**
 * The gate step: keeps the wait, then resumes the task at once when the proposal is settled already,
 * or when `stopWaiting` says the owner has nothing left to wait for (its subject ended, a kill
 * switch): the owner's next step reads why. Otherwise {@link resumeSettled} resumes it.
 * @throws ValidationError for a request out of bounds; ConflictError when another owner waits for the proposal.
 * @example await awaitSettlement({ tenant, proposalId, taskToken, owner: 'migration:run', output: { state }, timeoutSeconds }, deps) // 'waiting'
 */
export async function awaitSettlement(
  request: GateWaitRequest,
  deps: GateWaitDeps,
  stopWaiting?: () => Promise<boolean>,
): Promise<GateWaitOutcome> {
  const wait = gateWaitOf(request, deps.now);
  await deps.waits.put(wait);
  const proposal = await deps.proposals.proposal(wait.tenant, wait.proposalId);
  const settlement =
    settlementOf(wait, proposal?.status) ?? ((await stopWaiting?.()) ? ({ kind: 'succeed', output: wait.output } as const) : undefined);
  return settlement ? send(wait, settlement, deps) : 'waiting';
}

/**
 * On `governance.proposal.settled`: resumes whichever task waits for the proposal.
 * @returns none waits, it still waits (a pending state), it resumed, or it had stopped waiting.
 */
export async function resumeSettled(
  event: { tenant: string; proposalId: string; status: ProposalState },
  deps: Pick<GateWaitDeps, 'waits' | 'callbacks'>,
): Promise<'none' | GateWaitOutcome> {
  const wait = await deps.waits.get(event.tenant, event.proposalId);
  if (!wait) return 'none';
  const settlement = settlementOf(wait, event.status);
  return settlement ? send(wait, settlement, deps) : 'waiting';
}

/**
 * Resumes `owner`'s task waiting for the proposal now, whatever the proposal's state (its subject
 * ended: a cancelled run); its next step reads why.
 * @returns none when `owner` keeps no wait for the proposal.
 */
export async function wake(
  tenant: string,
  proposalId: string,
  owner: string,
  deps: Pick<GateWaitDeps, 'waits' | 'callbacks'>,
): Promise<'none' | 'resumed' | 'gone'> {
  const wait = await deps.waits.get(tenant, proposalId);
  if (wait?.owner !== owner) return 'none';
  return send(wait, { kind: 'succeed', output: wait.output }, deps);
}
