/**
 * A tenant's self-repair settings (`GET`/`PUT /reflex/config`): whether incidents of registered
 * components start the self-repair loop (lib/reflex/loop.ts), how long and how often a playbook's
 * effect is watched, what counts as back within the band, and after how many failed playbooks people
 * are asked. One record per tenant, written conditionally on its version; a tenant that set nothing
 * gets {@link DEFAULT_LOOP_CONFIG}.
 */
import { z } from 'zod';
import { isoTimestampSchema } from '../../events/common.ts';
import { ConflictError } from '../errors.ts';

/**
 * A tenant's self-repair settings (`PUT /reflex/config`): whether incidents start the loop, how long
 * and how often a playbook's effect is watched, what counts as back within the band, and after how
 * many failed playbooks people are asked.
 */
export const loopConfigSchema = z.strictObject({
  /** Incidents of registered components start the loop (off: Reflex only diagnoses and proposes). */
  enabled: z.boolean(),
  /** Seconds after a run within which the incident must end (or the series come back within the band). */
  recoveryWindowSeconds: z.number().int().min(1).max(86_400),
  /** Seconds between two looks at the series while the window is open. */
  verifyIntervalSeconds: z.number().int().min(1).max(3_600),
  /** Consecutive points since the run within the detector's band that count as recovered before Observation closes the incident. */
  calmPoints: z.number().int().min(1).max(256),
  /** Failed playbooks on one incident after which the next one waits for people. */
  maxFailedPlaybooks: z.number().int().min(1).max(6),
});
/** Self-repair settings. */
export type LoopConfig = z.infer<typeof loopConfigSchema>;

/** The settings of a tenant that set none: watch five minutes (minutely series close an incident after three calm points), every 10 s. */
export const DEFAULT_LOOP_CONFIG: LoopConfig = {
  enabled: true,
  recoveryWindowSeconds: 300,
  verifyIntervalSeconds: 10,
  calmPoints: 5,
  maxFailedPlaybooks: 3,
};

/** The settings as stored, with who changed them last. */
export const storedLoopConfigSchema = loopConfigSchema.extend({
  version: z.number().int().min(0).max(1e9),
  updatedAt: isoTimestampSchema.optional(),
  updatedBy: z.string().max(256).optional(),
});
/** Stored self-repair settings (version 0: the defaults, never written). */
export type StoredLoopConfig = z.infer<typeof storedLoopConfigSchema>;

/** `PUT /reflex/config`: the settings to change; the others keep their value. */
export const loopConfigPatchSchema = loopConfigSchema.partial();

/** The tenants' self-repair settings. */
export interface LoopConfigStore {
  /** The stored settings, or the defaults at version 0. */
  loopConfig(tenant: string): Promise<StoredLoopConfig>;
  /** @throws ConflictError when the stored settings are not at `expectedVersion` (0: none stored). */
  putLoopConfig(tenant: string, next: StoredLoopConfig, expectedVersion: number): Promise<void>;
}

/**
 * Changes some of a tenant's self-repair settings (re-read and retried when someone wrote first).
 * @throws ConflictError after 5 lost races.
 * @example
 * await updateLoopConfig('acme', { recoveryWindowSeconds: 120 }, 'alice', { store, now: new Date() });
 */
export async function updateLoopConfig(
  tenant: string,
  patch: Partial<LoopConfig>,
  actor: string,
  deps: { store: LoopConfigStore; now: Date },
): Promise<StoredLoopConfig> {
  for (let attempt = 1; ; attempt += 1) {
    const current = await deps.store.loopConfig(tenant);
    const next: StoredLoopConfig = {
      ...current,
      ...patch,
      version: current.version + 1,
      updatedAt: deps.now.toISOString(),
      updatedBy: actor,
    };
    try {
      await deps.store.putLoopConfig(tenant, next, current.version);
      return next;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= 5) throw error;
    }
  }
}
