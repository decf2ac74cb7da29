/** Routes of the Reflex engine: the component registry, incidents (with outcomes), the case base and the self-repair settings. */
import { z } from 'zod';
import { MAX_TEXT_LENGTH } from '../../events/common.ts';
import { defineRoute } from '../api/route.ts';
import {
  caseSchema,
  componentSchema,
  cycleSchema,
  incidentIdSchema,
  incidentSchema,
  MAX_COMPONENTS,
  playbookSchema,
  putComponentsSchema,
} from './schemas.ts';
import { loopConfigPatchSchema, storedLoopConfigSchema } from './settings.ts';

/** PUT /reflex/components: replace the tenant's registry (operator, admin). */
export const putComponentsRoute = defineRoute({
  engine: 'reflex',
  action: 'components',
  method: 'PUT',
  permission: 'reflex:configure',
  summary:
    "Replace the tenant's component registry: kinds, dependencies, series and executor bindings per playbook (400 naming unknown dependencies; cycles are allowed and reported; ifGeneration: 409 unless still at it)",
  parameters: putComponentsSchema,
  result: z.object({
    generation: z.number().int().min(1).max(1e9),
    count: z.number().int().min(0).max(MAX_COMPONENTS),
    removed: z.array(z.string().max(200)).max(MAX_COMPONENTS).describe('Ids registered before and not now'),
    cycles: z.array(cycleSchema).max(50),
  }),
});

/** GET /reflex/components: the registry. */
export const getComponentsRoute = defineRoute({
  engine: 'reflex',
  action: 'components',
  method: 'GET',
  permission: 'reflex:read',
  summary: "The tenant's component registry (generation 0 and no components before the first PUT), with its dependency cycles",
  parameters: z.object({}),
  result: z.object({
    generation: z.number().int().min(0).max(1e9),
    components: z.array(componentSchema).max(MAX_COMPONENTS),
    cycles: z.array(cycleSchema).max(50),
    updatedAt: z.string().max(64).optional(),
    updatedBy: z.string().max(256).optional(),
  }),
});

/** An incident as shown: everything but the write version. */
export const incidentViewSchema = incidentSchema.omit({ version: true });

/** GET /reflex/incidents: one incident, or the newest open (or closed) ones. */
export const getIncidentsRoute = defineRoute({
  engine: 'reflex',
  action: 'incidents',
  method: 'GET',
  permission: 'reflex:read',
  summary: 'An incident with its diagnosis, case match and attempts (incidentId), or the newest open or closed incidents',
  parameters: z.object({
    incidentId: incidentIdSchema.optional(),
    status: z.enum(['open', 'closed']).default('open'),
    limit: z.coerce.number().int().min(1).max(100).default(50),
  }),
  result: z.object({ incidents: z.array(incidentViewSchema).max(100) }),
});

/** PUT /reflex/incidents: the outcome of the incident's latest playbook. */
export const reportIncidentRoute = defineRoute({
  engine: 'reflex',
  action: 'incidents',
  method: 'PUT',
  permission: 'reflex:write',
  summary:
    "Report whether the incident's latest playbook recovered it: written to the case base; not-recovered proposes the next playbook, or asks people after repeated failures",
  parameters: z.object({
    incidentId: incidentIdSchema,
    outcome: z.enum(['recovered', 'not-recovered']),
    detail: z.string().max(MAX_TEXT_LENGTH).default(''),
  }),
  result: incidentViewSchema,
});

/** A cluster's record per playbook, as shown. */
const clusterRecordSchema = z.array(
  z.object({
    playbook: playbookSchema,
    successes: z.number().int().min(0).max(1e12),
    failures: z.number().int().min(0).max(1e12),
    mean: z.number().min(0).max(1).describe('Posterior mean of success, Beta(1 + successes, 1 + failures)'),
  }),
);

/** GET /reflex/cases: the case base. */
export const getCasesRoute = defineRoute({
  engine: 'reflex',
  action: 'cases',
  method: 'GET',
  permission: 'reflex:read',
  summary:
    "The tenant's newest cases (signature, playbook, outcome), and a cluster's record per playbook when cluster (kind|direction|shape) is given",
  parameters: z.object({
    cluster: z.string().min(1).max(300).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  }),
  result: z.object({
    cases: z.array(caseSchema).max(200),
    cluster: z.object({ cluster: z.string().max(300), playbooks: clusterRecordSchema.max(6) }).optional(),
  }),
});

/** The self-repair settings as shown. */
const loopConfigViewSchema = storedLoopConfigSchema;

/** GET /reflex/config: the tenant's self-repair settings. */
export const getConfigRoute = defineRoute({
  engine: 'reflex',
  action: 'config',
  method: 'GET',
  permission: 'reflex:read',
  summary:
    "The tenant's self-repair settings: whether incidents start the loop, the recovery window and how often it looks, the calm points that count as back within the band, and the failed playbooks after which people are asked (version 0: the defaults)",
  parameters: z.object({}),
  result: loopConfigViewSchema,
});

/** PUT /reflex/config: change some self-repair settings (operator, admin). */
export const putConfigRoute = defineRoute({
  engine: 'reflex',
  action: 'config',
  method: 'PUT',
  permission: 'reflex:configure',
  summary:
    'Change self-repair settings (the fields given; the others keep their value): enabled, recoveryWindowSeconds (1-86400), verifyIntervalSeconds (1-3600), calmPoints (1-256), maxFailedPlaybooks (1-6). Loops already running keep the settings they started with',
  parameters: loopConfigPatchSchema,
  result: loopConfigViewSchema,
});
