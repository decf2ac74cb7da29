/**
 * How many times one fact may reach the bus. Most events are published once per fact; a second
 * copy can come only from delivery itself (a rule target's retry, a queue's redelivery), and it
 * keeps the event id. Events saved to an outbox first are different: observation writes a series'
 * anomaly and configuration events with its state in one conditional write and publishes them
 * after, and any later writer that still finds them in the outbox (the first one crashed, or has
 * not cleared it yet) publishes them again, so they are published at least once, each copy with a
 * new event id and the same source, detail-type and detail. Consumers recognise those copies by
 * their content: the audit ledger keeps one entry per detail for these (lib/audit/engine.ts). Every
 * governance event goes through an outbox the same way (lib/governance/proposals.ts).
 */
import type { CatalogDetailType } from './catalog.ts';

/** Detail-types published at least once through an outbox: a copy has a new id and the same detail. */
export const OUTBOX_DETAIL_TYPES: ReadonlySet<CatalogDetailType> = new Set<CatalogDetailType>([
  'observation.anomaly.detected',
  'observation.incident.opened',
  'observation.incident.closed',
  'observation.series.configured',
  'governance.proposal.evaluated',
  'governance.proposal.settled',
  'governance.approval.requested',
  'governance.approval.decided',
  'governance.approval.escalated',
  'governance.killswitch.changed',
  'governance.policy.published',
  'governance.breakglass.used',
  'governance.autonomy.changed',
  'governance.config.changed',
  'governance.constitution.changed',
  'reflex.incident.diagnosed',
  'reflex.playbook.chosen',
  'reflex.recovery.verified',
  'reflex.loop.completed',
  'evolution.decision.made',
  'evolution.loop.stepped',
  'replication.decision.made',
  'execution.run.completed',
  'gateway.tenant.paused',
  'gateway.template.changed',
  'capsules.author-key.changed',
  'capsules.review.completed',
  'capsules.version.submitted',
  'capsules.version.published',
  'capsules.version.rejected',
  'capsules.version.deprecated',
  'capsules.capsule.installed',
  'capsules.capsule.uninstalled',
  'capsules.run.started',
  'capsules.run-tool.called',
  'capsules.run.ended',
  'capsules.plan.started',
  'capsules.plan.reviewed',
  'capsules.plan-node.ended',
  'capsules.plan.completed',
  'promotion.canary.started',
  'promotion.traffic.shifted',
  'promotion.canary.judged',
  'promotion.canary.ended',
  'versioning.version.tagged',
  'versioning.version.updated',
  'compression.context.compressed',
  'compression.config.changed',
  'compression.loop.completed',
  'migration.plan.created',
  'migration.step.completed',
  'migration.run.completed',
  'encapsulation.analysis.completed',
  'encapsulation.interface.exposed',
  'encapsulation.exposure.failed',
  'closure.termination.requested',
  'closure.step.completed',
  'closure.termination.completed',
  'closure.policy.changed',
]);

/**
 * Whether copies of an event are recognised by their content rather than their id.
 * @example publishedAtLeastOnce('observation.anomaly.detected') // true
 */
export function publishedAtLeastOnce(detailType: string): boolean {
  return (OUTBOX_DETAIL_TYPES as ReadonlySet<string>).has(detailType);
}
