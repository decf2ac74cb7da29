/**
 * Every engine of the product, in documentation order: the one registry that deployment
 * (infra/serverless/), the OpenAPI document and the route tests read.
 */
import { auditEngine } from '../audit/engine-manifest.ts';
import { governanceEngine } from '../governance/engine.ts';
import { identityEngine } from '../identity/engine.ts';
import { observationEngine } from '../observation/engine.ts';
import { platformEngine } from '../platform/engine.ts';
import type { EngineManifest } from './manifest.ts';

export const engines: readonly EngineManifest[] = [platformEngine, identityEngine, governanceEngine, observationEngine, auditEngine];
