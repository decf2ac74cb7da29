/**
 * Every engine of the product, in documentation order: the one registry that deployment
 * (infra/serverless/), the OpenAPI document and the route tests read.
 */
import { auditEngine } from '../audit/manifest.ts';
import { capsulesEngine } from '../capsules/manifest.ts';
import { closureEngine } from '../closure/manifest.ts';
import { compressionEngine } from '../compression/manifest.ts';
import { demoEngine } from '../demo/manifest.ts';
import { encapsulationEngine } from '../encapsulation/manifest.ts';
import { evolutionEngine } from '../evolution/manifest.ts';
import { executionEngine } from '../execution/manifest.ts';
import { gatewayEngine } from '../gateway/manifest.ts';
import { governanceEngine } from '../governance/manifest.ts';
import { identityEngine } from '../identity/manifest.ts';
import { mcpEngine } from '../mcp/manifest.ts';
import { migrationEngine } from '../migration/manifest.ts';
import { observationEngine } from '../observation/manifest.ts';
import { platformEngine } from '../platform/manifest.ts';
import { promotionEngine } from '../promotion/manifest.ts';
import { reflexEngine } from '../reflex/manifest.ts';
import { replicationEngine } from '../replication/manifest.ts';
import { versioningEngine } from '../versioning/manifest.ts';
import type { EngineManifest } from './manifest.ts';

export const engines: readonly EngineManifest[] = [
  platformEngine,
  identityEngine,
  governanceEngine,
  observationEngine,
  reflexEngine,
  executionEngine,
  replicationEngine,
  migrationEngine,
  encapsulationEngine,
  closureEngine,
  evolutionEngine,
  versioningEngine,
  promotionEngine,
  gatewayEngine,
  auditEngine,
  mcpEngine,
  capsulesEngine,
  compressionEngine,
  demoEngine,
];
