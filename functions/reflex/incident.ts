/**
 * Rule target of `observation.incident.opened` and `.closed`. An opened incident of a registered
 * component starts its self-repair loop (statemachines/self-repair.asl.json, one execution per
 * incident, named after it: a repeated event starts nothing new), whose first step diagnoses it and
 * proposes a playbook. With the tenant's loop off (`PUT /reflex/config`) it is diagnosed and proposed
 * here, and people or another engine carry it on; an incident of no component is recorded here as
 * unassigned. A closed one is recorded (a recovery when its playbook was executed; before its record
 * exists, kept for it), and a loop still waiting at the gate for its proposal stops waiting (the
 * proposal withdrawn, the loop resumed to end `closed`).
 */
import { gateDeps, loopConfigStore, loopStarter, reflexDeps, registryStore } from '../../lib/adapters/aws/reflex-deps.ts';
import { logger } from '../../lib/observability.ts';
import { onIncidentClosed, onIncidentOpened } from '../../lib/reflex/incidents.ts';
import { loopExecutionName, loopInputOf, stopWaiting } from '../../lib/reflex/loop.ts';
import { ComponentIndex } from '../../lib/reflex/registry.ts';
import { incidentClosedSchema, incidentOpenedSchema } from '../../lib/reflex/schemas.ts';
import { ruleHandler } from '../../lib/triggers/rule.ts';

const opened = ruleHandler(incidentOpenedSchema, async (detail) => {
  const [settings, registry] = await Promise.all([loopConfigStore().loopConfig(detail.tenant), registryStore().registry(detail.tenant)]);
  // Only an incident of a registered component has something to repair; the others are recorded below (unassigned).
  if (settings.enabled && new ComponentIndex(registry.components).ofSeries(detail.series)) {
    const input = loopInputOf(detail);
    const executionArn = await loopStarter().start(loopExecutionName(detail.tenant, input.incidentId), input);
    logger.info('self-repair loop started', { tenant: detail.tenant, incidentId: input.incidentId, executionArn });
    return;
  }
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
  // A loop waiting for people on this incident's proposal has nothing left to repair: it stops waiting.
  const waiting = incident?.attempts.at(-1);
  const loop =
    waiting?.proposalId && !waiting.outcome ? await stopWaiting(detail.tenant, waiting.proposalId, gateDeps(new Date())) : 'none';
  logger.info('incident closed', {
    tenant: detail.tenant,
    incidentId: detail.incidentId,
    // No record yet: the close is kept, and the record is made closed when the incident's opened event comes.
    state: incident?.state ?? 'kept for its record to come',
    loop,
  });
});

export const handler: typeof opened = (event, context) =>
  event['detail-type'] === 'observation.incident.closed' ? closed(event, context) : opened(event, context);
