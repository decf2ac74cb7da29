/**
 * Events of the Encapsulation engine (`autonomy.encapsulation`): an analysis of a tenant's components
 * completed (cycles, modules, modularity, the best reusability scores and a hash of the result), and a
 * module's interface exposed (the L3 proposal that validated it and the version the Versioning engine
 * tagged), or its exposure failed (not approved, or the tag failed). Saved with the state they report (an outbox), recorded in the tenant's ledger (stream
 * `events.encapsulation`) and published after it (events/delivery.ts).
 */
import { z } from 'zod';
import { componentIdSchema } from '../lib/reflex/schemas.ts';
import { artifactIdSchema, bumpSchema, semverSchema } from '../lib/versioning/schemas.ts';
import { defineEvent, detailSchema } from './common.ts';

const count = z.number().int().min(0).max(1e9);
const hash = z
  .string()
  .max(64)
  .regex(/^[0-9a-f]{64}$/);

/** `encapsulation.analysis.completed` v1. */
export const analysisCompleted = defineEvent({
  source: 'autonomy.encapsulation',
  detailType: 'encapsulation.analysis.completed',
  version: '1',
  description:
    "An analysis of a tenant's components completed: graph size, cycles, modules found by community detection with their modularity and seed, the best reusability scores, and the SHA-256 of the result's canonical JSON.",
  schema: detailSchema('1', {
    analysisId: z.string().min(1).max(64),
    source: z.enum(['registry', 'explicit']),
    nodes: count,
    edges: count,
    traces: count,
    cycles: count,
    modules: count,
    modularity: z.number().min(-1).max(1),
    seed: count,
    scores: z
      .array(z.strictObject({ module: z.string().max(32), name: componentIdSchema, score: z.number().min(0).max(1), members: count }))
      .max(20),
    hash,
    analysedBy: z.string().min(1).max(256),
  }),
});

/** `encapsulation.interface.exposed` v1. */
export const interfaceExposed = defineEvent({
  source: 'autonomy.encapsulation',
  detailType: 'encapsulation.interface.exposed',
  version: '1',
  description:
    "A module's interface was exposed: the governance proposal (L3 validation) that validated it, and the version of the schema artifact the Versioning engine tagged (bump, breaking, its approval proposal when breaking).",
  schema: detailSchema('1', {
    analysisId: z.string().min(1).max(64),
    module: z.string().min(1).max(32),
    name: componentIdSchema,
    artifact: artifactIdSchema,
    artifactVersion: semverSchema,
    bump: bumpSchema,
    breaking: z.boolean(),
    hash,
    proposalId: z.string().min(1).max(64),
    route: z.string().min(1).max(32),
    proposalStatus: z.string().min(1).max(32),
    versionApproval: z.strictObject({ proposalId: z.string().min(1).max(64), status: z.string().min(1).max(32) }).optional(),
    exposedBy: z.string().min(1).max(256),
  }),
});

/** `encapsulation.exposure.failed` v1. */
export const exposureFailed = defineEvent({
  source: 'autonomy.encapsulation',
  detailType: 'encapsulation.exposure.failed',
  version: '1',
  description:
    "A module's interface was not exposed: its L3 proposal was not approved (rejected, timed out, refused, failed), so nothing was tagged; or it was approved and tagging the version failed (the exposure waits as `tag-failed` and the next call retries the tag).",
  schema: detailSchema('1', {
    analysisId: z.string().min(1).max(64),
    module: z.string().min(1).max(32),
    name: componentIdSchema,
    artifact: artifactIdSchema,
    hash,
    status: z.enum(['rejected', 'tag-failed']),
    proposalId: z.string().min(1).max(64),
    proposalStatus: z.string().min(1).max(32),
    reasons: z.array(z.string().max(1000)).max(20),
    settledBy: z.string().min(1).max(256),
  }),
});
