/**
 * Events of the Reflex engine (`autonomy.reflex`): an Observation incident diagnosed (the ranked
 * probable causes) and the recovery playbook chosen for it (the case match, and the governance
 * proposal it became). Each is saved with the incident it reports (an outbox), recorded in the
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
  playbookSchema,
  signatureSchema,
} from '../lib/reflex/schemas.ts';
import { defineEvent, detailSchema, isoTimestampSchema } from './common.ts';
import { seriesNameSchema } from './ids.ts';

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
