/**
 * Rule target of `observation.incident.opened` and `.closed`: an opened incident is diagnosed, a
 * playbook chosen from past cases and proposed to governance; a closed one is recorded (a recovery
 * when its playbook was executed).
 */
import { reflexDeps } from '../../lib/adapters/aws/reflex-deps.ts';
import { logger } from '../../lib/observability.ts';
import { onIncidentClosed, onIncidentOpened } from '../../lib/reflex/incidents.ts';
import { incidentClosedSchema, incidentOpenedSchema } from '../../lib/reflex/schemas.ts';
import { ruleHandler } from '../../lib/triggers/rule.ts';

const opened = ruleHandler(incidentOpenedSchema, async (detail) => {
  const incident = await onIncidentOpened(detail, reflexDeps(new Date()));
  const attempt = incident.attempts.at(-1);
  logger.info('incident diagnosed', {
    tenant: incident.tenant,
    incidentId: incident.incidentId,
    state: incident.state,
    cause: incident.diagnosis?.causes[0]?.component,
    playbook: attempt?.playbook,
    proposalId: attempt?.proposalId,
  });
});

const closed = ruleHandler(incidentClosedSchema, async (detail) => {
  const incident = await onIncidentClosed(detail, reflexDeps(new Date()));
  logger.info('incident closed', { tenant: detail.tenant, incidentId: detail.incidentId, state: incident?.state ?? 'unknown to reflex' });
});

export const handler: typeof opened = (event, context) =>
  event['detail-type'] === 'observation.incident.closed' ? closed(event, context) : opened(event, context);
