/**
 * /reflex/incidents: incidents with their diagnosis, case match and attempts (GET); the outcome of an
 * incident's latest playbook (PUT), which the case base learns from and which proposes the next playbook.
 */
import { engineDeps } from '../../lib/adapters/aws/engine-deps.ts';
import { loopConfigStore, reflexDeps } from '../../lib/adapters/aws/reflex-deps.ts';
import { engineHandler, route } from '../../lib/api/engine-handler.ts';
import { NotFoundError } from '../../lib/errors.ts';
import { reportIncidentOutcome } from '../../lib/reflex/incidents.ts';
import { getIncidentsRoute, reportIncidentRoute } from '../../lib/reflex/routes.ts';
import type { Incident } from '../../lib/reflex/schemas.ts';

const view = ({ version: _version, ...incident }: Incident) => incident;

export const handler = engineHandler(
  engineDeps(),
  route(getIncidentsRoute, async (params, ctx) => {
    const deps = reflexDeps(ctx.now());
    if (params.incidentId) {
      const incident = await deps.incidents.incident(ctx.tenant, params.incidentId);
      if (!incident) throw new NotFoundError(`Incident ${params.incidentId} not found`);
      return { result: { incidents: [view(incident)] } };
    }
    return {
      result: {
        incidents: (await deps.incidents.incidents(ctx.tenant, { open: params.status === 'open', limit: params.limit })).map(view),
      },
    };
  }),
  route(reportIncidentRoute, async (params, ctx) => {
    const { maxFailedPlaybooks } = await loopConfigStore().loopConfig(ctx.tenant);
    const incident = await reportIncidentOutcome(ctx.tenant, params, reflexDeps(ctx.now()), {
      actor: ctx.principal?.subject ?? 'unknown',
      maxFailedPlaybooks,
    });
    const last = incident.attempts.at(-1);
    ctx.log(`incident ${incident.incidentId}: ${incident.state}${last ? `, round ${last.round} ${last.playbook} on ${last.target}` : ''}`);
    return { result: view(incident) };
  }),
);
