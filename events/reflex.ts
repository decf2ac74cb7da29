/**
 * Events of the Reflex engine (`autonomy.reflex`): an Observation incident diagnosed (the ranked
 * probable causes), the recovery playbook chosen for it (the case match, and the governance
 * proposal it became), whether the playbook recovered it (with the evidence) and how the incident's
 * self-repair loop ended. Each is saved with the incident it reports (an outbox), recorded in the
 * tenant's ledger (stream `events.reflex`) and published after it, so it is published at least once
 * (events/delivery.ts).
 *
 * The shapes come from lib/reflex/schemas.ts (zod and events/ only), so the catalog and the engine
 * cannot drift apart.
 */
import { z } from 'zod';
import {
  caseMatchSchema,
  componentIdSchema,
  diagnosisSchema,
  incidentIdSchema,
  loopOutcomeSchema,
  MAX_EXECUTION_NAME_LENGTH,
  playbookSchema,
  recoveryEvidenceSchema,
  recoveryOutcomeSchema,
  signatureSchema,
} from '../lib/reflex/schemas.ts';
import { defineEvent, detailSchema, isoTimestampSchema } from './common.ts';
import { actorSchema, seriesNameSchema } from './ids.ts';

/** `reflex.incident.diagnosed` v1: the probable causes of an incident, ranked, with evidence and confidence. */
export const incidentDiagnosed = defineEvent({
  source: 'autonomy.reflex',
  detailType: 'reflex.incident.diagnosed',
  version: '1',
  description:
    'An Observation incident was diagnosed: the components with open incidents ranked as probable causes (upstream, onset, correlation), or no component when its series belongs to none.',
  schema: detailSchema('1', {
    incidentId: incidentIdSchema,
    series: seriesNameSchema,
    /** The component the incident's series describes; absent when none does. */
    component: componentIdSchema.optional(),
    diagnosis: diagnosisSchema,
    diagnosedAt: isoTimestampSchema,
  }),
});
/** The detail of `reflex.incident.diagnosed`. */
export type IncidentDiagnosed = z.infer<typeof incidentDiagnosed.schema>;

/** `reflex.playbook.chosen` v1: a recovery step chosen for an incident and proposed to governance (or people asked). */
export const playbookChosen = defineEvent({
  source: 'autonomy.reflex',
  detailType: 'reflex.playbook.chosen',
  version: '1',
  description:
    'A recovery playbook was chosen for an incident from its past cases (Beta posterior per playbook and case cluster) and proposed to governance, escalated to people when confidence is low or playbooks keep failing.',
  schema: detailSchema('1', {
    incidentId: incidentIdSchema,
    /** The attempt (1 for the first playbook, +1 after each that did not recover). */
    round: z.number().int().min(1).max(20),
    /** The component acted on: the diagnosis' most probable cause. */
    target: componentIdSchema,
    /** Null when no bound playbook is left (people are asked without one). */
    playbook: playbookSchema.nullable(),
    escalated: z.boolean(),
    signature: signatureSchema,
    match: caseMatchSchema.pick({ cluster: true, posteriors: true, confidence: true, reasons: true }),
    /** The governance proposal it became, with its route and status then; absent when none was made. */
    proposalId: z.string().min(1).max(64).optional(),
    route: z.enum(['autonomous', 'l3-validation', 'human-approval']).optional(),
    proposalStatus: z.string().min(1).max(32).optional(),
    /** Why governance refused it (kill switch, policy), when it did. */
    refused: z.string().max(1000).optional(),
    chosenAt: isoTimestampSchema,
  }),
});
/** The detail of `reflex.playbook.chosen`. */
export type PlaybookChosen = z.infer<typeof playbookChosen.schema>;

/** `reflex.recovery.verified` v1: whether a playbook recovered its incident, with the evidence; the case base learned it. */
export const recoveryVerified = defineEvent({
  source: 'autonomy.reflex',
  detailType: 'reflex.recovery.verified',
  version: '1',
  description:
    "A playbook's outcome on its incident: recovered or not, observed on the component's series after the action (or the incident's close, a failed run, a person's report); the case base learned it.",
  schema: detailSchema('1', {
    incidentId: incidentIdSchema,
    round: z.number().int().min(1).max(20),
    target: componentIdSchema,
    playbook: playbookSchema,
    proposalId: z.string().min(1).max(64).optional(),
    outcome: recoveryOutcomeSchema,
    /** Who established it: the self-repair loop (`system:self-repair`), Reflex on the incident's close, or a person. */
    actor: actorSchema,
    evidence: recoveryEvidenceSchema,
    detail: z.string().max(2000),
    verifiedAt: isoTimestampSchema,
  }),
});
/** The detail of `reflex.recovery.verified`. */
export type RecoveryVerified = z.infer<typeof recoveryVerified.schema>;

/** `reflex.loop.completed` v1: an incident's self-repair loop (statemachines/self-repair.asl.json) ended, and how. */
export const loopCompleted = defineEvent({
  source: 'autonomy.reflex',
  detailType: 'reflex.loop.completed',
  version: '1',
  description:
    "An incident's self-repair loop ended: recovered, closed on its own, escalated to people, rejected, timed out at the gate, halted by a kill switch, refused by policy, or failed.",
  schema: detailSchema('1', {
    incidentId: incidentIdSchema,
    /** The loop's Step Functions execution name. */
    execution: z.string().min(1).max(MAX_EXECUTION_NAME_LENGTH),
    outcome: loopOutcomeSchema,
    /** Playbooks it ran. */
    rounds: z.number().int().min(0).max(20),
    reason: z.string().max(2000),
    completedAt: isoTimestampSchema,
  }),
});
/** The detail of `reflex.loop.completed`. */
export type LoopCompleted = z.infer<typeof loopCompleted.schema>;
