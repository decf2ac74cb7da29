/**
 * Waiting at a governance gate with a Step Functions task token: one mechanism for every state
 * machine that waits for a proposal's decision (the self-repair loop, KAMACHIQ plans' review gate,
 * Loop 4's migration runs). The owner's gate step (a `.waitForTaskToken` task) calls
 * {@link awaitSettlement}: the wait (tenant, proposal, owner, task token, the output its machine
 * expects back, an expiry) is kept first, then the proposal is read, so a decision landing in between
 * is seen by one side or the other. Settled already → the token goes back at once; pending → on
 * `governance.proposal.settled` the one rule target functions/governance/gate-resume.ts
 * ({@link resumeSettled}) sends it back for whichever owner waits. Every settled state resumes the
 * task with the owner's output (SendTaskSuccess); the owner's next step reads the decision
 * ({@link gateDecision}), as it reads the proposal anyway just before acting. A proposal that does
 * not exist fails the task (SendTaskFailure, {@link PROPOSAL_NOT_FOUND}); a task that stopped
 * waiting is left alone (`gone`).
 */
import { z } from 'zod';
import { tenantSchema } from '../../events/ids.ts';
import { ValidationError } from '../errors.ts';
import { GateClosedError, type WorkflowCallbacks } from './approvals.ts';
import type { ProposalState } from './model.ts';
import type { GovernanceStore, Proposal } from './proposals.ts';

/** Seconds a kept wait outlives its machine's own timeout before its record may go (TTL). */
export const GATE_WAIT_GRACE_SECONDS = 86_400;
/** The largest output a wait keeps (bytes of its JSON); Step Functions takes 256 KiB. */
export const MAX_GATE_OUTPUT_BYTES = 64 * 1024;
/** The error a task fails with when the proposal it waits for does not exist. */
export const PROPOSAL_NOT_FOUND = 'ProposalNotFound';

/** A task waiting at a gate for one proposal. */
export const gateWaitSchema = z.object({
  tenant: tenantSchema,
  proposalId: z.string().min(1).max(64),
  taskToken: z.string().min(1).max(2048),
  /** Who waits: `<engine>:<machine>`, e.g. `reflex:self-repair`. */
  owner: z
    .string()
    .max(64)
    .regex(/^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/, 'expected <engine>:<machine>'),
  /** What the task resumes with: its machine's gate output. */
  output: z
    .record(z.string().max(128), z.unknown())
    .refine(
      (output) => Buffer.byteLength(JSON.stringify(output)) <= MAX_GATE_OUTPUT_BYTES,
      `at most ${MAX_GATE_OUTPUT_BYTES} bytes of JSON`,
    ),
  /** Epoch seconds after which the record may go (TTL). */
  expiresAt: z.number().int().min(0),
});
/** A kept wait. */
export type GateWait = z.infer<typeof gateWaitSchema>;
/** What a gate step asks for: the wait without its expiry, and the seconds its machine may wait. */
export type GateWaitRequest = Omit<GateWait, 'expiresAt'> & { timeoutSeconds: number };

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

/** What happened to a task: resumed, still waiting, or it had stopped waiting (timed out, resumed before, stopped). */
export type GateWaitOutcome = 'resumed' | 'waiting' | 'gone';

/** What a wait sends back: its output, or a failure. */
export type GateSettlement = { kind: 'succeed'; output: Record<string, unknown> } | { kind: 'fail'; error: string; cause: string };

/**
 * The wait a gate step keeps, its expiry its machine's timeout plus {@link GATE_WAIT_GRACE_SECONDS}.
 * @throws ValidationError naming the field at fault (an output over {@link MAX_GATE_OUTPUT_BYTES} among them).
 * @example gateWaitOf({ tenant: 'acme', proposalId: 'p-1', taskToken: 't', owner: 'reflex:self-repair', output: { state }, timeoutSeconds: 900 }, now)
 */
export function gateWaitOf({ timeoutSeconds, ...request }: GateWaitRequest, now: Date): GateWait {
  const expiresAt = Math.floor(now.getTime() / 1000) + timeoutSeconds + GATE_WAIT_GRACE_SECONDS;
  const parsed = gateWaitSchema.safeParse({ ...request, expiresAt });
  if (!parsed.success)
    throw new ValidationError(parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })));
  return parsed.data;
}

/** What a wait sends back for a proposal in `state`: nothing while it is pending (keep waiting), a failure when there is none. */
export function settlementOf(
  wait: Pick<GateWait, 'tenant' | 'proposalId' | 'output'>,
  state: ProposalState | undefined,
): GateSettlement | undefined {
  if (state === undefined)
    return { kind: 'fail', error: PROPOSAL_NOT_FOUND, cause: `Proposal ${wait.proposalId} of tenant ${wait.tenant} does not exist` };
  return state === 'pending' ? undefined : { kind: 'succeed', output: wait.output };
}

/** A gate's decision as the owner's next step reads it: approved (also once executed or failed), pending, or why not. */
export type GateDecision =
  | { decision: 'approved' }
  | { decision: 'pending' }
  | { decision: 'rejected' | 'timed-out' | 'refused' | 'missing'; reason: string };

/** The gate's decision on `proposal`. @example gateDecision({ proposalId: 'p-1', status: 'rejected', reasons: ['not now'] }).decision // 'rejected' */
export function gateDecision(proposal: Pick<Proposal, 'proposalId' | 'status' | 'reasons'> | undefined): GateDecision {
  if (!proposal) return { decision: 'missing', reason: 'the proposal was not found' };
  const why = proposal.reasons.at(-1) ?? proposal.status;
  switch (proposal.status) {
    case 'pending':
      return { decision: 'pending' };
    case 'rejected':
    case 'refused':
      return { decision: proposal.status, reason: `proposal ${proposal.proposalId} was ${proposal.status}: ${why}` };
    case 'timed-out':
      return {
        decision: 'timed-out',
        reason: `no decision on proposal ${proposal.proposalId} before the gate's timeouts, after its escalation to admins`,
      };
    default:
      return { decision: 'approved' };
  }
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
 * switch); otherwise {@link resumeSettled} resumes it.
 * @throws ValidationError for a request out of bounds; ConflictError when another owner waits for the proposal.
 */
export async function awaitSettlement(
  request: GateWaitRequest,
  deps: GateWaitDeps,
  stopWaiting?: () => Promise<boolean>,
): Promise<GateWaitOutcome> {
  const wait = gateWaitOf(request, deps.now);
  await deps.waits.put(wait);
  const proposal = await deps.proposals.proposal(wait.tenant, wait.proposalId);
  const settlement = settlementOf(wait, proposal?.status) ?? ((await stopWaiting?.()) ? settlementOf(wait, 'approved') : undefined);
  return settlement ? send(wait, settlement, deps) : 'waiting';
}

/** On `governance.proposal.settled`: resumes whichever task waits for the proposal (none when none waits). */
export async function resumeSettled(
  event: { tenant: string; proposalId: string; status: ProposalState },
  deps: Pick<GateWaitDeps, 'waits' | 'callbacks'>,
): Promise<'none' | GateWaitOutcome> {
  const wait = await deps.waits.get(event.tenant, event.proposalId);
  const settlement = wait && settlementOf(wait, event.status);
  return !wait ? 'none' : settlement ? send(wait, settlement, deps) : 'waiting';
}

/** Resumes `owner`'s task waiting for the proposal now, whatever its state (its subject ended: a cancelled run); none when `owner` keeps no wait. */
export async function wake(
  tenant: string,
  proposalId: string,
  owner: string,
  deps: Pick<GateWaitDeps, 'waits' | 'callbacks'>,
): Promise<'none' | 'resumed' | 'gone'> {
  const wait = await deps.waits.get(tenant, proposalId);
  return wait?.owner === owner ? send(wait, { kind: 'succeed', output: wait.output }, deps) : 'none';
}
