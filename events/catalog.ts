/**
 * The event catalog: every event the product puts on its bus, with its source, detail-type,
 * version and detail schema. The publisher refuses anything not listed here; samples of each
 * event live in `events/samples/<detail-type>/` and a unit test parses every one of them.
 */
import type { z } from 'zod';
import { checkpointSigned, findingRaised } from './audit.ts';
import {
  authorKeyChanged,
  capsuleInstalled,
  capsuleUninstalled,
  planCompleted,
  planNodeEnded,
  planReviewed,
  planStarted,
  reviewCompleted,
  runEnded,
  runStarted,
  runToolCalled,
  versionDeprecated,
  versionPublished,
  versionRejected,
  versionSubmitted,
} from './capsules.ts';
import { closurePolicyChanged, closureStepCompleted, terminationCompleted, terminationRequested } from './closure.ts';
import type { EventDefinition } from './common.ts';
import { compressionConfigChanged, compressionLoopCompleted, contextCompressed } from './compression.ts';
import { analysisCompleted, exposureFailed, interfaceExposed } from './encapsulation.ts';
import { evolutionDecisionMade, evolutionLoopStepped } from './evolution.ts';
import { runCompleted } from './execution.ts';
import { templateChanged, tenantPaused } from './gateway.ts';
import {
  approvalDecided,
  approvalEscalated,
  approvalRequested,
  autonomyChanged,
  breakGlassUsed,
  configChanged,
  constitutionChanged,
  killSwitchChanged,
  policyPublished,
  proposalEvaluated,
  proposalSettled,
} from './governance.ts';
import { runCompleted as migrationRunCompleted, planCreated, stepCompleted } from './migration.ts';
import { anomalyDetected, incidentClosed, incidentOpened, seriesConfigured } from './observation.ts';
import { heartbeatEmitted } from './platform.ts';
import { canaryJudged, promotionEnded, promotionStarted, trafficShifted } from './promotion.ts';
import { incidentDiagnosed, loopCompleted, playbookChosen, recoveryVerified } from './reflex.ts';
import { decisionMade } from './replication.ts';
import { versionTagged, versionUpdated } from './versioning.ts';

/** Every catalogued event, one entry per (source, detail-type). */
export const eventCatalog = [
  heartbeatEmitted,
  proposalEvaluated,
  proposalSettled,
  approvalRequested,
  approvalDecided,
  approvalEscalated,
  killSwitchChanged,
  policyPublished,
  breakGlassUsed,
  autonomyChanged,
  configChanged,
  constitutionChanged,
  runCompleted,
  anomalyDetected,
  incidentOpened,
  incidentClosed,
  seriesConfigured,
  incidentDiagnosed,
  playbookChosen,
  recoveryVerified,
  loopCompleted,
  evolutionDecisionMade,
  evolutionLoopStepped,
  decisionMade,
  findingRaised,
  checkpointSigned,
  tenantPaused,
  templateChanged,
  authorKeyChanged,
  reviewCompleted,
  versionSubmitted,
  versionPublished,
  versionRejected,
  versionDeprecated,
  capsuleInstalled,
  capsuleUninstalled,
  runStarted,
  runToolCalled,
  runEnded,
  planStarted,
  planReviewed,
  planNodeEnded,
  planCompleted,
  promotionStarted,
  trafficShifted,
  canaryJudged,
  promotionEnded,
  versionTagged,
  versionUpdated,
  contextCompressed,
  compressionConfigChanged,
  compressionLoopCompleted,
  planCreated,
  stepCompleted,
  migrationRunCompleted,
  analysisCompleted,
  interfaceExposed,
  exposureFailed,
  terminationRequested,
  closureStepCompleted,
  terminationCompleted,
  closurePolicyChanged,
] as const;

/** A catalog entry. */
export type CatalogEntry = (typeof eventCatalog)[number];
/** The detail-type of a catalogued event. */
export type CatalogDetailType = CatalogEntry['detailType'];
/** The catalog entry of one detail-type. */
export type CatalogEntryOf<T extends CatalogDetailType> = Extract<CatalogEntry, { detailType: T }>;
/** The detail a publisher passes for `T` (schema input). */
export type DetailOf<T extends CatalogDetailType> = z.input<CatalogEntryOf<T>['schema']>;

const byKey = new Map<string, EventDefinition>(eventCatalog.map((entry) => [`${entry.source}\u0000${entry.detailType}`, entry]));
const byDetailType = new Map<string, CatalogEntry>(eventCatalog.map((entry) => [entry.detailType, entry]));

/** The entry for (source, detail-type), or undefined when the pair is not catalogued. */
export function findCatalogEntry(source: string, detailType: string): EventDefinition | undefined {
  return byKey.get(`${source}\u0000${detailType}`);
}

/** The entry of a catalogued detail-type (detail-types are unique across sources). */
export function catalogEntry<T extends CatalogDetailType>(detailType: T): CatalogEntryOf<T> {
  return byDetailType.get(detailType) as CatalogEntryOf<T>;
}
