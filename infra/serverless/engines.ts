/**
 * The engines deployment is generated from: the product's registry, or (projection tests only) the
 * module named by `AUTONOMY_ENGINES`, whose actions all run one stand-in handler.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { engines as productEngines } from '../../lib/engines/index.ts';
import { deployedTo, functionName, type EngineManifest } from '../../lib/engines/manifest.ts';
import { lambdaLogicalId } from './functions.ts';

/**
 * The engines to deploy, and the handler that stands in for every action when projecting; given a
 * stage, only the engines deployed to it (an engine's `stages`: the demo engine stays out of prod).
 */
export async function loadEngines(stage?: string): Promise<{ engines: readonly EngineManifest[]; standInHandler?: string }> {
  const forStage = (engines: readonly EngineManifest[]) => (stage === undefined ? engines : engines.filter((engine) => deployedTo(engine, stage)));
  const projection = process.env.AUTONOMY_ENGINES;
  if (!projection) return { engines: forStage(productEngines) };
  const module = (await import(pathToFileURL(path.resolve(projection)).href)) as { engines: readonly EngineManifest[]; standInHandler: string };
  return { engines: forStage(module.engines), standInHandler: module.standInHandler };
}

/** Most functions one nested stack holds (about 6 resources each, so ~240 of the 400 budgeted). */
export const FUNCTIONS_PER_STACK = 40;

/** Function logical id → stack key: the engine's name, with `-2`, `-3`… for engines past {@link FUNCTIONS_PER_STACK}. */
export function placement(engines: readonly EngineManifest[]): Map<string, string> {
  const placed = new Map<string, string>();
  for (const engine of engines) {
    Object.keys(engine.actions).forEach((action, index) => {
      const part = Math.floor(index / FUNCTIONS_PER_STACK);
      placed.set(lambdaLogicalId(functionName(engine.name, action)), part === 0 ? engine.name : `${engine.name}-${part + 1}`);
    });
  }
  return placed;
}

/** `audit` → `AuditEngineStack`, `audit-2` → `Audit2EngineStack`. */
export const stackLogicalId = (key: string): string => `${key.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('')}EngineStack`;
/** The nested template's file, beside the root template in the package directory. */
export const stackFileName = (key: string): string => `cloudformation-template-engine-${key}.json`;
